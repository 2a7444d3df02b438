/**
 * One ledger entry the database can never take must not hold up the account: the real
 * activities on an embedded ledger, with one usage entry poisoned on its way to them (below
 * the workflow's own validators, which refuse such text at the door). The entries written in
 * the same batch land, exactly the poison is parked and counted, and later effects flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import type { CreditActivities } from '../../activities/credit-activities';
import type { LedgerEntry } from '../../domain/effects';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { recordUsageUpdate, summaryQuery } from '../../workflows/messages';
import { waitFor } from '../helpers/wait-for';
import { entriesOf as appendedEntries, startAccount, startWorker, timeSkippingEnv, untilOpen } from '../helpers/workflow-harness';

let env: TestWorkflowEnvironment;
let store: LedgerStore;
beforeAll(async () => {
  env = await timeSkippingEnv();
  store = await openLedgerStore({ url: 'pglite:memory', warn: () => undefined });
});
afterAll(async () => {
  await store?.close();
  await env?.teardown();
});

async function entriesOf(accountId: string): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  for await (const e of store.streamEntries({ accountId })) entries.push(e);
  return entries;
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('a ledger entry the database refuses', () => {
  it('is parked alone: its batch neighbours are written, it is counted, and later entries flow', async () => {
    const real = createActivities({ store, mailer: null, log: quiet });
    const batches: string[][] = [];
    const activities: CreditActivities = {
      ...real,
      // A NUL in a user id: PostgreSQL text cannot hold it, so no retry can ever write it.
      appendLedger: async (input) => {
        const entries = appendedEntries(input);
        batches.push(entries.map((e) => e.idempotencyKey ?? e.kind));
        return real.appendLedger({ entries: entries.map((e) => (e.idempotencyKey === 'u-3' ? { ...e, userId: 'user\u0000' } : e)) });
      },
    };
    const worker = await startWorker(env, activities);
    try {
      const anchor = new Date((await env.currentTimeMs()) - 86_400_000).toISOString();
      const h = await startAccount(env.client, worker.taskQueue, { accountId: 'poison-1', plan: 'growth', users: 2, cycleAnchor: anchor });
      await untilOpen(h);
      await waitFor(async () => (await entriesOf('poison-1')).length >= 2, 'the opening entries');

      for (let i = 1; i <= 5; i++) {
        await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: i, idempotencyKey: `u-${i}` }] });
      }
      await env.sleep('10 seconds');
      const usage = async () => (await entriesOf('poison-1')).filter((e) => e.kind === 'usage').map((e) => e.idempotencyKey);
      await waitFor(async () => (await usage()).length === 4, 'the poison batch written around the poison', 30_000);
      expect(await usage()).toEqual(['u-1', 'u-2', 'u-4', 'u-5']);
      // The poison really shared a batch with entries that were written.
      const poisonBatch = batches.find((b) => b.includes('u-3'));
      expect(poisonBatch?.length).toBeGreaterThan(1);
      expect(batches.filter((b) => b.includes('u-3'))).toHaveLength(1);

      const summary = await h.query(summaryQuery);
      expect(summary.parkedEffects).toBe(1);
      expect(summary.credits.available).toBe(3000 - 15); // the account's own state is untouched

      // Later effects are not stuck behind it.
      await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 6, idempotencyKey: 'u-6' }] });
      await env.sleep('10 seconds');
      await waitFor(async () => (await usage()).includes('u-6'), 'the entry after the poison', 30_000);
      expect(await usage()).toEqual(['u-1', 'u-2', 'u-4', 'u-5', 'u-6']);
      expect((await h.query(summaryQuery)).parkedEffects).toBe(1);
      // Exactly one sequence number is missing from the ledger: the poison's, between u-2 and u-4.
      const all = await entriesOf('poison-1');
      const seqs = new Set(all.map((e) => e.seq));
      const missing = Array.from({ length: Math.max(...seqs) }, (_, i) => i + 1).filter((s) => !seqs.has(s));
      const seqOf = (key: string) => all.find((e) => e.idempotencyKey === key)?.seq ?? NaN;
      expect(missing).toEqual([seqOf('u-2') + 1]);
      expect(seqOf('u-4')).toBe(seqOf('u-2') + 2);
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
