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
      }),
    ).toEqual({
      taskQueue: 'billing',
      rulesPath: '/etc/credits/rules',
      ledgerUrl: 'postgres://db/ledger',
      maxConcurrentActivityTaskExecutions: 8,
      maxConcurrentWorkflowTaskExecutions: 4,
    });
  });

  it.each([['abc'], ['0'], ['2.5'], ['-1']])('refuses CREDITS_MAX_CONCURRENT_ACTIVITIES=%s, naming it', (value) => {
    expect(() => workerSettingsFromEnv({ CREDITS_MAX_CONCURRENT_ACTIVITIES: value })).toThrow(WorkerSettingsError);
    expect(() => workerSettingsFromEnv({ CREDITS_MAX_CONCURRENT_ACTIVITIES: value })).toThrow(
      `CREDITS_MAX_CONCURRENT_ACTIVITIES must be a whole number of at least 1, got "${value}"`,
    );
  });
});
