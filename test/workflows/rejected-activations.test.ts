/**
 * A rejected update's activation is never replayed (the update leaves nothing in the history),
 * yet the SDK evaluates every blocked condition after it. A decision that comes due there only
 * because the history grew or time passed must wait for a step the history records; taken
 * there, it would issue commands a replay cannot reproduce and the account would be stuck on a
 * nondeterminism error at the next worker restart. The time-skipping server records every
 * workflow task, a rejected update's too, so rejected updates alone carry a run past its
 * history bound there; on the dev server a refused update's task is speculative (dropped
 * unless it issues a command), and time alone makes a backlog spill due.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ACCOUNT_UPDATES } from '../../workflows/messages';
import { EVENTS_PER_RUN, SPILL_AFTER_MS } from '../../workflows/account-credits';
import { SPILL_AT_ENTRIES } from '../../domain/state-budget';
import { devServerEnv, fakeActivities, replayRuns, startAccount, startWorker, timeSkippingEnv, untilOpen } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';

let env: TestWorkflowEnvironment;
let worker: Awaited<ReturnType<typeof startWorker>>;
beforeAll(async () => {
  env = await timeSkippingEnv();
  worker = await startWorker(env, fakeActivities());
});
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

async function historyLength(handle: WorkflowHandle): Promise<number> {
  return (await handle.describe()).historyLength;
}

describe('decisions that come due in a rejected update’s activation', () => {
  it('wait for a recorded step: the run continues as new at the next accepted update, and every run replays', async () => {
    const anchor = new Date((await env.currentTimeMs()) - 2 * 86_400_000).toISOString();
    const handle = await startAccount(env.client, worker.taskQueue, { accountId: 'rejected-activations', plan: 'scale', users: 5, cycleAnchor: anchor });
    await untilOpen(handle);
    const firstRun = handle.firstExecutionRunId;

    // Accepted updates bring the run close to its bound; then every timer and write settles,
    // so nothing but the rejected updates below adds to the history.
    for (let users = 6; (await historyLength(handle)) < EVENTS_PER_RUN - 80; users = users === 6 ? 7 : 6) {
      await handle.executeUpdate(ACCOUNT_UPDATES.setUsers.definition, { args: [{ users }] });
    }
    await env.sleep(30_000);
    const settled = await historyLength(handle);
    expect(settled).toBeLessThan(EVENTS_PER_RUN);

    // Refused by the validator (a negative user count): each adds an empty workflow task here.
    let rejected = 0;
    for (let d = await handle.describe(); d.runId === firstRun && d.historyLength < EVENTS_PER_RUN + 6 && rejected < 100; d = await handle.describe()) {
      const refusal = await handle.executeUpdate(ACCOUNT_UPDATES.setUsers.definition, { args: [{ users: -1 }] }).catch((err: unknown) => err);
      expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
      rejected += 1;
    }
    expect(rejected).toBeGreaterThan(0);
    // Past the bound, but no recorded step since: the same run goes on, and its history replays.
    const past = await handle.describe();
    expect(past.runId, 'continued as new in a rejected update’s activation').toBe(firstRun);
    expect(past.historyLength).toBeGreaterThanOrEqual(EVENTS_PER_RUN + 6);
    expect(past.status.name).toBe('RUNNING');
    expect(await replayRuns(env, handle)).toHaveLength(1);

    // The next accepted update is a recorded step: the run continues as new from it.
    await handle.executeUpdate(ACCOUNT_UPDATES.setUsers.definition, { args: [{ users: 5 }] });
    let next = firstRun;
    for (let i = 0; i < 100 && next === firstRun; i++) {
      await env.sleep(1_000);
      next = (await handle.describe()).runId;
    }
    expect(next).not.toBe(firstRun);
    const [first, second] = await replayRuns(env, handle);
    expect(first?.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId).toBe(next);
    expect(second).toBeDefined();
  }, 180_000);
});

describe('a backlog spill that comes due while the ledger is down (dev server)', () => {
  it('is not started by a refused update; the next accepted one starts it, and the run replays', async () => {
    const dev = await devServerEnv();
    const acts = fakeActivities();
    acts.appendLedger = async () => {
      throw ApplicationFailure.retryable('ledger database unavailable', 'database_unavailable');
    };
    const devWorker = await startWorker(dev, acts);
    try {
      const anchor = new Date(Date.now() - 2 * 86_400_000).toISOString();
      const h = await startAccount(dev.client, devWorker.taskQueue, { accountId: 'rejected-spill', plan: 'scale', users: 5, cycleAnchor: anchor });
      await untilOpen(h);
      // The opening entries' write is stuck; a backlog past the spill bound waits behind it.
      await waitFor(async () => ((await h.describe()).raw.pendingActivities?.length ?? 0) > 0, 'the stuck ledger write');
      const events = Array.from({ length: SPILL_AT_ENTRIES + 50 }, (_, i) => ({ feature: 'enrichment', quantity: 1, idempotencyKey: `rs-${i}` }));
      await h.executeUpdate(ACCOUNT_UPDATES.recordUsageBatch.definition, { args: [{ events }] });
      const childStarts = async () =>
        ((await h.fetchHistory()).events ?? []).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length;
      // Past SPILL_AFTER_MS with nothing recorded since (the balance's throttle timer fired long before).
      await new Promise((resolve) => setTimeout(resolve, SPILL_AFTER_MS + 3_000));
      expect(await childStarts()).toBe(0);

      const refusal = await h.executeUpdate(ACCOUNT_UPDATES.setUsers.definition, { args: [{ users: -1 }] }).catch((err: unknown) => err);
      expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(await childStarts(), 'a spill started in a refused update’s activation').toBe(0);
      expect(await replayRuns(dev, h)).toHaveLength(1);

      await h.executeUpdate(ACCOUNT_UPDATES.recordUsage.definition, { args: [{ feature: 'enrichment', quantity: 1, idempotencyKey: 'rs-next' }] });
      await waitFor(async () => (await childStarts()) > 0, 'the spill started at the accepted update');
      expect(await replayRuns(dev, h)).toHaveLength(1);
      await h.terminate('test over');
    } finally {
      await devWorker.stop();
      await dev.teardown();
    }
  }, 120_000);
});
