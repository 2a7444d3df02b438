/**
 * Ledger batches in version 2 of the compact form (patch `ledger-batch-delta`, time-skipping
 * server): a busy account's usage entries leave as differences from the entry before, a small
 * part of version 1's bytes in the history, and decode to exactly the entries of the account.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerAppendInput } from '../../activities/credit-activities';
import { decodeLedgerBatch, encodeLedgerBatch } from '../../domain/ledger-batch';
import { jsonBytes } from '../../domain/state-budget';
import { ACCOUNT_UPDATES } from '../../workflows/messages';
import { waitFor } from '../helpers/wait-for';
import { fakeActivities, startAccount, startWorker, timeSkippingEnv, untilOpen, type FakeActivities } from '../helpers/workflow-harness';

let env: TestWorkflowEnvironment;
let acts: FakeActivities;
let worker: Awaited<ReturnType<typeof startWorker>>;
const inputs: LedgerAppendInput[] = [];

beforeAll(async () => {
  env = await timeSkippingEnv();
  acts = fakeActivities();
  const write = acts.appendLedger.bind(acts);
  worker = await startWorker(env, {
    ...acts,
    appendLedger: async (input) => {
      inputs.push(input);
      return write(input);
    },
  });
});
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

describe('ledger batches in version 2', () => {
  it("carry a busy account's usage as differences, decoding to exactly its entries", async () => {
    const anchor = new Date((await env.currentTimeMs()) - 2 * 86_400_000).toISOString();
    const h = await startAccount(env.client, worker.taskQueue, { accountId: 'delta-1', plan: 'scale', users: 10, cycleAnchor: anchor });
    await untilOpen(h);
    const events = Array.from({ length: 300 }, (_, i) => ({ feature: 'enrichment', quantity: 1, idempotencyKey: `delta-${i}` }));
    await h.executeUpdate(ACCOUNT_UPDATES.recordUsageBatch.definition, { args: [{ events }] });
    await env.sleep('3 seconds');
    await waitFor(() => acts.ledger.filter((e) => e.accountId === 'delta-1' && e.kind === 'usage').length === 300, 'the usage in the ledger');

    const batches = inputs.map((i) => i.batch).filter((b) => b?.a === 'delta-1');
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.every((b) => b?.v === 2)).toBe(true);
    const usage = batches.find((b) => (b?.x.length ?? 0) >= 300);
    if (!usage) throw new Error('no batch carried the usage');
    const entries = decodeLedgerBatch(usage);
    expect(entries.filter((e) => e.kind === 'usage').map((e) => e.idempotencyKey)).toEqual(events.map((e) => e.idempotencyKey));
    expect(entries).toEqual(acts.ledger.filter((e) => e.accountId === 'delta-1' && entries.some((x) => x.entryId === e.entryId)));
    // The same entries in version 1 weigh several times more.
    expect(jsonBytes(usage) * 4).toBeLessThan(jsonBytes(encodeLedgerBatch(entries, 1)));
  });
});
