/**
 * The `recordUsageBatch` update on the time-skipping server with the real workflow: order,
 * duplicates inside one batch and across batches, refusals mid-batch, per-event rule problems,
 * the validator's refusal of a malformed batch, a batch across a reset and batches across
 * continue-as-new by history size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CreditsClient } from '../../client';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { grantCreditsUpdate, recordUsageBatchUpdate, recordUsageUpdate, summaryQuery } from '../../workflows/messages';
import { EVENTS_PER_RUN, HISTORY_BYTES_PER_RUN_LARGE } from '../../workflows/account-credits';
import type { RecordUsageInput } from '../../domain/wire-contract';

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite();
});
afterAll(async () => {
  await suite?.teardown();
});

const ev = (idempotencyKey: string, quantity = 1, feature = 'enrichment'): RecordUsageInput => ({ feature, quantity, idempotencyKey });
const batch = (events: RecordUsageInput[]) => ({ args: [{ events }] as [{ events: RecordUsageInput[] }] });

describe('recordUsageBatch', () => {
  it('answers each event in order as recordUsage would, duplicates inside and across batches, refusals mid-batch', async () => {
    const h = await suite.open({ accountId: 'batch-1', plan: 'solo', users: 1 });
    const { results } = await h.executeUpdate(recordUsageBatchUpdate, batch([ev('a', 400), ev('a', 400), ev('b', 200), ev('x', 1, 'teleportation'), ev('c', 100)]));
    expect(results).toEqual([
      { accepted: true, credits: 400, balance: 100, duplicate: false },
      { accepted: true, credits: 400, balance: 100, duplicate: true },
      { accepted: false, reason: 'insufficient_credits', credits: 0, cost: 200, balance: 100, duplicate: false },
      expect.objectContaining({ accepted: false, reason: 'invalid_event', code: 'UnknownFeature', credits: 0, balance: 100, duplicate: false }),
      { accepted: true, credits: 100, balance: 0, duplicate: false },
    ]);
    // Across batches, and from the one-event update: the same window.
    const again = await h.executeUpdate(recordUsageBatchUpdate, batch([ev('c', 100), ev('d', 1, 'notetaker')]));
    expect(again.results).toEqual([
      { accepted: true, credits: 100, balance: 0, duplicate: true },
      { accepted: true, credits: 0, balance: 0, duplicate: false },
    ]);
    expect(await h.executeUpdate(recordUsageUpdate, { args: [ev('a', 400)] })).toEqual({ accepted: true, credits: 400, balance: 100, duplicate: true });
    const s = await h.query(summaryQuery);
    expect(s.credits.used).toBe(500);
    expect(s.usage.find((u) => u.feature === 'enrichment')).toMatchObject({ credits: 500, count: 2, rejected: 1 });
    // Every decision reached the ledger once, in order; the invalid event left no entry.
    const keys = await waitFor(
      () => {
        const found = suite.acts.ledger.filter((e) => e.accountId === 'batch-1' && e.kind === 'usage').map((e) => e.idempotencyKey);
        return found.length === 4 ? found : undefined;
      },
      'the ledger entries',
    );
    expect(keys).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses a malformed batch as a whole, naming each bad event, with nothing applied', async () => {
    const h = await suite.open({ accountId: 'batch-bad', plan: 'solo', users: 1 });
    const bad: unknown[] = [ev('ok-1'), { feature: 'enrichment', quantity: 1 }, ev('ok-2'), { ...ev('k'), quantity: 0 }];
    const err = await h.executeUpdate(recordUsageBatchUpdate, { args: [{ events: bad as RecordUsageInput[] }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const failure = (err as WorkflowUpdateFailedError).cause as ApplicationFailure;
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toMatch(/2 of 4 events malformed: events\[1\]: MissingIdempotencyKey, .*; events\[3\]: InvalidQuantity, /);
    for (const input of [{ events: [] }, { events: 'x' }, { events: [ev('a')], more: true }]) {
      const refused = await h.executeUpdate(recordUsageBatchUpdate, { args: [input as { events: RecordUsageInput[] }] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(((refused as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('InvalidInput');
    }
    expect((await h.query(summaryQuery)).credits.used).toBe(0);
    const events = (await h.fetchHistory()).events ?? [];
    expect(events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);
  });

  it('waits for the reset when it arrives after the cycle ended, and counts all its events in the new cycle', async () => {
    const h = await suite.open({ accountId: 'batch-reset', plan: 'solo', users: 1 }, 29);
    await h.executeUpdate(recordUsageBatchUpdate, batch([ev('r-1', 500)]));
    const firstRun = (await h.describe()).runId;
    await suite.env.sleep('2 days');
    const { results } = await h.executeUpdate(recordUsageBatchUpdate, batch([ev('r-2', 100), ev('r-1', 500), ev('r-3', 50)]));
    // r-1 was charged in the last cycle: still a duplicate after the reset, charging nothing.
    expect(results).toEqual([
      { accepted: true, credits: 100, balance: 400, duplicate: false },
      { accepted: true, credits: 500, balance: 0, duplicate: true },
      { accepted: true, credits: 50, balance: 350, duplicate: false },
    ]);
    const s = await h.query(summaryQuery);
    expect(s.cycle.index).toBe(1);
    expect(s.credits.used).toBe(150);
    expect((await h.describe()).runId).not.toBe(firstRun);
  });

  it('continues as new by history size under full batches, losing no event and no key', async () => {
    const h = await suite.open({ accountId: 'batch-can', plan: 'scale', users: 10 });
    await h.executeUpdate(grantCreditsUpdate, { args: [{ credits: 100_000, reason: 'load test', validForCycles: 1, idempotencyKey: 'g-1' }] });
    const firstRun = (await h.describe()).runId;
    // Full batches of long keys: each is about 130 KB of input, so the history budget fills
    // after a few dozen, far before the update count would.
    const pad = 'p'.repeat(180);
    const perBatch = 500;
    // Each event weighs about 480 bytes in the history: its input, its answer and its (compact) ledger entry, each with the long key.
    const batches = Math.ceil((HISTORY_BYTES_PER_RUN_LARGE * 1.1) / (perBatch * 480));
    let admitted = 0;
    // Through the client library: a batch that arrives while the run hands over to the next is
    // refused (AccountContinuing) and sent again to the new run.
    const credits = new CreditsClient(suite.env.client, { taskQueue: suite.taskQueue });
    for (let b = 0; b < batches; b++) {
      const events = Array.from({ length: perBatch }, (_, i) => ev(`${pad}-${b}-${i}`));
      const { results } = await credits.recordUsageBatch('batch-can', { events });
      expect(results).toHaveLength(perBatch);
      admitted += results.filter((r) => r.accepted && !r.duplicate).length;
    }
    expect(admitted).toBe(batches * perBatch);
    await waitFor(async () => (await h.describe()).runId !== firstRun, 'a new run');
    // The first run continued as new with far fewer events and updates than their limits: its
    // history's size ended it (that history is too large to fetch in one page of the client's
    // 4 MiB gRPC limit, so it is described, not read).
    const first = await suite.env.client.workflow.getHandle(h.workflowId, firstRun).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    expect(first.historyLength).toBeLessThan(EVENTS_PER_RUN);
    // A key of the first run is a duplicate in the new one; the balance is exact.
    const repeat = await credits.recordUsageBatch('batch-can', { events: [ev(`${pad}-0-0`), ev('fresh')] });
    expect(repeat.results).toEqual([
      { accepted: true, credits: 1, balance: 120000 - admitted, duplicate: true },
      { accepted: true, credits: 1, balance: 120000 - admitted - 1, duplicate: false },
    ]);
    expect((await h.query(summaryQuery)).credits.used).toBe(admitted + 1);
  }, 120_000);
});
