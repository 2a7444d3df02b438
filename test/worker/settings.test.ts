import { describe, expect, it } from 'vitest';
import { WorkerSettingsError, workerSettingsFromEnv } from '../../worker';

describe('worker settings from the environment', () => {
  it('defaults to the ai-credits task queue, the shipped rules and the embedded ledger', () => {
    expect(workerSettingsFromEnv({})).toEqual({
      taskQueue: 'ai-credits',
      rulesPath: undefined,
      ledgerUrl: undefined,
      maxConcurrentActivityTaskExecutions: 50,
      maxConcurrentWorkflowTaskExecutions: 50,
      workflowThreads: 2,
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

  it.each([['abc'], ['2.5'], ['-1']])('refuses CREDITS_WORKER_METRICS_PORT=%s, naming it', (value) => {
    expect(() => workerSettingsFromEnv({ CREDITS_WORKER_METRICS_PORT: value })).toThrow(
      `CREDITS_WORKER_METRICS_PORT must be a whole number of at least 0, got "${value}"`,
    );
  });
});
