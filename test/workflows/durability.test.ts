/**
 * Durability: state carried across continue-as-new at a reset (time-skipping server), and on
 * the real dev server (the Temporal CLI's `start-dev`), a stream of updates that forces
 * continue-as-new mid-cycle. That one runs on the dev server because updates in flight while
 * a run continues as new are retried by the client, which the time-skipping server counts as
 * still pending and then never skips time again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import {
  devServerEnv,
  entriesOf,
  timeSkippingEnv,
  fakeActivities,
  startAccount,
  startWorker,
  untilOpen,
  workflowSuite,
  type WorkflowSuite,
} from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { CreditsClient } from '../../client';
import { recordUsageUpdate, startCallUpdate, endCallUpdate, summaryQuery } from '../../workflows/messages';
import { EVENTS_PER_RUN, UPDATES_PER_RUN } from '../../workflows/account-credits';
import { RECENT_USAGE_WINDOW } from '../../domain/answers';

describe('continue-as-new at a reset', () => {
  let suite: WorkflowSuite;
  beforeAll(async () => {
    suite = await workflowSuite();
  });
  afterAll(async () => {
    await suite?.teardown();
  });

  it('keeps an open call across continue-as-new and charges it once, each cycle its part', async () => {
    const h = await suite.open({ accountId: 'busy-2', plan: 'growth', users: 1 });
    // Started a minute before the reset: the closing cycle pays for that minute at the reset
    // (test/workflows/calls-across-reset.test.ts looks at the parts), the new one for the rest.
    const resetMs = Date.parse((await h.query(summaryQuery)).cycle.end);
    await suite.env.sleep(resetMs - (await suite.now()) - 60_000);
    await h.executeUpdate(startCallUpdate, { args: [{ callId: 'long', agentId: 'chloe' }] });
    const before = (await h.describe()).runId;
    await suite.env.sleep('2 minutes');
    await waitFor(async () => (await h.describe()).runId !== before, 'continue-as-new at the reset');
    expect((await h.query(summaryQuery)).openCalls).toBe(1);
    const end = await h.executeUpdate(endCallUpdate, { args: [{ callId: 'long', minutes: 2 }] });
    expect(end).toMatchObject({ minutesCharged: 2, capped: false, balance: 1500 - end.credits });
    expect(end.credits).toBeGreaterThanOrEqual(20);
    expect(end.credits).toBeLessThanOrEqual(21);
    expect((await h.query(summaryQuery)).openCalls).toBe(0);
  });
});

describe('an effect refused for good', () => {
  it('is parked, and the effects after it still flow', async () => {
    const env = await timeSkippingEnv();
    const acts = fakeActivities();
    const appendLedger = acts.appendLedger.bind(acts);
    acts.appendLedger = async (input) => {
      if (entriesOf(input).some((e) => e.idempotencyKey === 'poison')) {
        throw ApplicationFailure.nonRetryable('entry refused by the ledger', 'invalid_input');
      }
      return appendLedger(input);
    };
    const worker = await startWorker(env, acts);
    try {
      const anchor = new Date((await env.currentTimeMs()) - 86_400_000).toISOString();
      const h = await startAccount(env.client, worker.taskQueue, { accountId: 'parked-1', plan: 'growth', users: 1, cycleAnchor: anchor });
      await untilOpen(h);
      await waitFor(() => acts.ledger.length >= 2, 'the opening entries');
      await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 1, idempotencyKey: 'poison' }] });
      await waitFor(async () => (await h.query(summaryQuery)).parkedEffects === 1, 'the poisoned batch to be parked');
      await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 2, idempotencyKey: 'fine' }] });
      await waitFor(() => acts.ledger.some((e) => e.idempotencyKey === 'fine'), 'the next entry in the ledger');
      expect(acts.ledger.some((e) => e.idempotencyKey === 'poison')).toBe(false);
      expect((await h.query(summaryQuery)).credits.used).toBe(3);
    } finally {
      await worker.stop();
      await env.teardown();
    }
  });
});

describe('on the real dev server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await devServerEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

it('continues as new before the per-run update limit, losing no usage and no idempotency key', async () => {
    const acts = fakeActivities();
    const worker = await startWorker(env, acts);
    const anchor = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const h = await startAccount(env.client, worker.taskQueue, { accountId: 'busy-1', plan: 'scale', users: 10, cycleAnchor: anchor });
    await untilOpen(h);
    const firstRun = (await h.describe()).runId;
    const total = UPDATES_PER_RUN + 100;
    // One update per call (coalescing off): this test is about the per-run update limit.
    const credits = new CreditsClient(env.client, { taskQueue: worker.taskQueue, coalesce: false });
    // At most 8 updates in flight: the server allows 10 per workflow.
    let next = 0;
    const answers: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          const i = next++;
          // Through the client library, as product services call: a transient failure while a
          // run hands over to the next (a workflow task failed or timed out on a loaded
          // machine) is sent again with the same key, and must never be charged twice.
          const r = await credits.recordUsage('busy-1', { feature: 'enrichment', quantity: 1, idempotencyKey: `u-${i}` });
          if (r.accepted) answers.push(i);
        }
      }),
    );
    expect(answers).toHaveLength(total);
    const s = await h.query(summaryQuery);
    expect(s.credits.used).toBe(total);
    expect(s.credits.available).toBe(20000 - total);
    await waitFor(async () => (await h.describe()).runId !== firstRun, 'a new run');
    // A key answered in the first run is still recognised in the new one.
    const repeat = await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 1, idempotencyKey: 'u-3' }] });
    expect(repeat).toMatchObject({ duplicate: true, credits: 1 });
    // Every decision reached the ledger exactly once.
    await waitFor(
      () => acts.ledger.filter((e) => e.accountId === 'busy-1' && e.kind === 'usage').length === total,
      'every usage entry in the ledger',
      60_000,
    );
    const seqs = acts.ledger.filter((e) => e.accountId === 'busy-1').map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    // Batched: the first run wrote its ledger in far fewer activity calls than it had updates.
    const history = await env.client.workflow.getHandle(h.workflowId, firstRun).fetchHistory();
    const events = history.events ?? [];
    const updates = events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
    const writes = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'appendLedger').length;
    // The run was kept short (continue-as-new by history length, for fast recovery after a
    // worker restart), yet held hundreds of updates, written in far fewer ledger calls.
    expect(events.length).toBeLessThan(EVENTS_PER_RUN + 100);
    expect(updates).toBeGreaterThan(200);
    expect(writes).toBeLessThan(updates / 4);
    await h.terminate('test over');
    await worker.stop();
  }, 180_000);

  it('recognises a credit-charging key after free usage pushed its answer out and the run continued as new', async () => {
    const acts = fakeActivities();
    const worker = await startWorker(env, acts);
    try {
      const anchor = new Date(Date.now() - 2 * 86_400_000).toISOString();
      const h = await startAccount(env.client, worker.taskQueue, { accountId: 'dup-window-1', plan: 'scale', users: 10, cycleAnchor: anchor });
      await untilOpen(h);
      const firstRun = (await h.describe()).runId;
      const first = await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 2, idempotencyKey: 'keep-1', userId: 'ann' }] });
      expect(first).toMatchObject({ accepted: true, credits: 2, duplicate: false });
      // More free usage than the recent window holds, enough to continue as new on the way.
      const total = RECENT_USAGE_WINDOW + 200;
      // Through the client library: an update that meets a run handing over to the next (the
      // server refuses that run's completion when updates arrive meanwhile) is sent again.
      const credits = new CreditsClient(env.client, { taskQueue: worker.taskQueue, coalesce: false });
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < total) {
            const i = next++;
            await credits.recordUsage('dup-window-1', { feature: 'notetaker', quantity: 1, idempotencyKey: `free-${i}` });
          }
        }),
      );
      await waitFor(async () => (await h.describe()).runId !== firstRun, 'a new run');
      const repeat = await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 2, idempotencyKey: 'keep-1', userId: 'ann' }] });
      expect(repeat).toEqual({ accepted: true, credits: 2, balance: 20000 - 2, duplicate: true });
      const other = await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 9, idempotencyKey: 'keep-1', userId: 'ann' }] });
      expect(other).toEqual({ ...repeat, payloadMismatch: true });
      expect((await h.query(summaryQuery)).credits.used).toBe(2);
      await h.terminate('test over');
    } finally {
      await worker.stop();
    }
  }, 180_000);

  it('admits usage, answers duplicates and writes the ledger through a real worker', async () => {
    const acts = fakeActivities();
    const worker = await startWorker(env, acts);
    try {
      const anchor = new Date(Date.now() - 5 * 86_400_000).toISOString();
      const h = await startAccount(env.client, worker.taskQueue, {
        accountId: 'dev-1',
        plan: 'Growth',
        users: 3,
        cycleAnchor: anchor,
        creditTier: 'tier-1',
        admins: ['admin@dev.test'],
      });
      await untilOpen(h);
      const r1 = await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 12, idempotencyKey: 'd1' }] });
      const r2 = await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 12, idempotencyKey: 'd1' }] });
      expect(r1).toEqual({ accepted: true, credits: 12, balance: 4500 + 1200 - 12, duplicate: false });
      expect(r2).toEqual({ ...r1, duplicate: true });
      const s = await h.query(summaryQuery);
      expect(s.tier?.id).toBe('tier-1');
      expect(s.rulesVersion).toMatch(/^2026-06-03\.[0-9a-f]{12}$/);
      await waitFor(() => acts.charges.length === 1, 'the tier charge');
      expect(acts.charges[0]).toMatchObject({ tierId: 'tier-1', amountCents: 2000, reason: 'cycle_start' });
      await waitFor(() => acts.ledger.some((e) => e.kind === 'usage' && e.idempotencyKey === 'd1'), 'the usage entry');
      expect(acts.ledger.filter((e) => e.idempotencyKey === 'd1')).toHaveLength(1);
      await h.terminate('test over');
    } finally {
      await worker.stop();
    }
  });
});
