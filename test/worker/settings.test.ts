import { describe, expect, it } from 'vitest';
import { getHeapStatistics } from 'node:v8';
import { CACHED_ACCOUNT_BYTES, WorkerSettingsError, defaultMaxCachedWorkflows, workerConcurrencyOptions, workerSettingsFromEnv } from '../../worker';

describe('worker settings from the environment', () => {
  it('defaults to the ai-credits task queue, the shipped rules and the embedded ledger', () => {
    expect(workerSettingsFromEnv({})).toEqual({
      taskQueue: 'ai-credits',
      rulesPath: undefined,
      ledgerUrl: undefined,
      maxConcurrentActivityTaskExecutions: 50,
      maxConcurrentWorkflowTaskExecutions: 50,
      workflowThreads: 2,
      maxCachedWorkflows: undefined,
      metricsPort: undefined,
      metricsHost: '127.0.0.1',
      temporalMetricsAddress: '127.0.0.1:9465',
    });
  });

  it('reads every CREDITS_ variable', () => {
    expect(
      workerSettingsFromEnv({
        CREDITS_TASK_QUEUE: 'billing',
        CREDITS_RULES: '/etc/credits/rules',
        CREDITS_LEDGER_URL: 'postgres://db/ledger',
        CREDITS_MAX_CONCURRENT_ACTIVITIES: '8',
        CREDITS_MAX_CONCURRENT_WORKFLOW_TASKS: '4',
        CREDITS_WORKFLOW_THREADS: '3',
        CREDITS_MAX_CACHED_WORKFLOWS: '300',
        CREDITS_WORKER_METRICS_PORT: '9464',
        CREDITS_METRICS_HOST: '0.0.0.0',
        CREDITS_TEMPORAL_METRICS_ADDRESS: '127.0.0.1:19465',
      }),
    ).toEqual({
      taskQueue: 'billing',
      rulesPath: '/etc/credits/rules',
      ledgerUrl: 'postgres://db/ledger',
      maxConcurrentActivityTaskExecutions: 8,
      maxConcurrentWorkflowTaskExecutions: 4,
      workflowThreads: 3,
      maxCachedWorkflows: 300,
      metricsPort: 9464,
      metricsHost: '0.0.0.0',
      temporalMetricsAddress: '127.0.0.1:19465',
    });
  });

  it.each([['abc'], ['0'], ['2.5'], ['-1']])('refuses CREDITS_MAX_CONCURRENT_ACTIVITIES=%s, naming it', (value) => {
    expect(() => workerSettingsFromEnv({ CREDITS_MAX_CONCURRENT_ACTIVITIES: value })).toThrow(WorkerSettingsError);
    expect(() => workerSettingsFromEnv({ CREDITS_MAX_CONCURRENT_ACTIVITIES: value })).toThrow(
      `CREDITS_MAX_CONCURRENT_ACTIVITIES must be a whole number of at least 1, got "${value}"`,
    );
  });

  it('takes CREDITS_WORKER_METRICS_PORT=0 as any free port, and blank as no listener', () => {
    expect(workerSettingsFromEnv({ CREDITS_WORKER_METRICS_PORT: '0' }).metricsPort).toBe(0);
    expect(workerSettingsFromEnv({ CREDITS_WORKER_METRICS_PORT: ' ' }).metricsPort).toBeUndefined();
  });

  it.each([['abc'], ['2.5'], ['-1'], ['65536'], ['70000']])('refuses CREDITS_WORKER_METRICS_PORT=%s, naming it', (value) => {
    expect(() => workerSettingsFromEnv({ CREDITS_WORKER_METRICS_PORT: value })).toThrow(
      `CREDITS_WORKER_METRICS_PORT must be a whole number from 0 to 65535, got "${value}"`,
    );
  });

  it('takes the highest port, and whole numbers with spaces around them', () => {
    expect(workerSettingsFromEnv({ CREDITS_WORKER_METRICS_PORT: '65535' }).metricsPort).toBe(65_535);
    expect(workerSettingsFromEnv({ CREDITS_MAX_CONCURRENT_ACTIVITIES: ' 8 ' }).maxConcurrentActivityTaskExecutions).toBe(8);
  });

  it.each([['abc'], ['1'], ['2.5'], ['-1'], ['1e3'], ['0x10'], ['300.0'], ['+300']])('refuses CREDITS_MAX_CACHED_WORKFLOWS=%s, naming it', (value) => {
    expect(() => workerSettingsFromEnv({ CREDITS_MAX_CACHED_WORKFLOWS: value })).toThrow(`CREDITS_MAX_CACHED_WORKFLOWS must be a whole number of at least 2, got "${value}"`);
  });
});

describe('the Temporal metrics exporter address', () => {
  it.each([['127.0.0.1:9465'], ['0.0.0.0:19465'], ['[::1]:9465'], ['[::]:0']])('takes %s', (address) => {
    expect(workerSettingsFromEnv({ CREDITS_TEMPORAL_METRICS_ADDRESS: address }).temporalMetricsAddress).toBe(address);
  });

  // The runtime binds a socket address: a host name, a missing or out-of-range port, or an IPv6
  // address without brackets would stop it with "invalid socket address syntax", naming nothing.
  it.each([['localhost:9465'], ['127.0.0.1'], ['127.0.0.1:65536'], ['::1:9465'], ['[127.0.0.1]:9465'], ['256.0.0.1:9465'], ['http://127.0.0.1:9465']])(
    'refuses %s, naming the variable and the form it wants',
    (address) => {
      expect(() => workerSettingsFromEnv({ CREDITS_TEMPORAL_METRICS_ADDRESS: address })).toThrow(
        `CREDITS_TEMPORAL_METRICS_ADDRESS must be an IP address and port, such as 127.0.0.1:9465 or [::1]:9465 (not a host name), got "${address}"`,
      );
    },
  );
});

describe('the workflow cache', () => {
  const MiB = 1024 * 1024;

  it('holds as many busy accounts as the heap has room for, beyond what the worker keeps for itself', () => {
    // Node's default heap limit on this machine's 24 GiB: 4,144 MiB.
    expect(defaultMaxCachedWorkflows(4144 * MiB, 50)).toBe(Math.floor((3944 * MiB) / CACHED_ACCOUNT_BYTES));
    expect(defaultMaxCachedWorkflows(4144 * MiB, 50)).toBe(493);
    expect(defaultMaxCachedWorkflows(1224 * MiB, 50)).toBe(128);
  });

  it('keeps a place for every workflow task the worker runs at once, however small the heap', () => {
    expect(defaultMaxCachedWorkflows(256 * MiB, 50)).toBe(50);
    expect(defaultMaxCachedWorkflows(0, 50)).toBe(50);
    expect(defaultMaxCachedWorkflows(0, 1)).toBe(2); // the SDK's least cache
  });

  it('is what the worker is created with: the setting when given, else sized to this process', () => {
    const settings = workerSettingsFromEnv({ CREDITS_MAX_CONCURRENT_WORKFLOW_TASKS: '20' });
    expect(workerConcurrencyOptions(settings).maxCachedWorkflows).toBe(defaultMaxCachedWorkflows(getHeapStatistics().heap_size_limit, 20));
    expect(workerConcurrencyOptions(workerSettingsFromEnv({ CREDITS_MAX_CACHED_WORKFLOWS: '300' })).maxCachedWorkflows).toBe(300);
  });
});
