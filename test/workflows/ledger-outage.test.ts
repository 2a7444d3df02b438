/**
 * The ledger database going down under a running account: the real activities on a real
 * PostgreSQL server that the test stops and starts again. The workflow keeps answering usage
 * meanwhile, the activity retries, and once the database is back every entry lands exactly
 * once, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import type { LedgerEntry } from '../../domain/effects';
import { startPostgres, type PostgresServer } from '../../infra/postgres-server';
import { startAccount, startWorker, timeSkippingEnv, untilOpen } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { recordUsageUpdate } from '../../workflows/messages';

let server: PostgresServer;
let env: TestWorkflowEnvironment;
let store: LedgerStore;
beforeAll(async () => {
  server = await startPostgres();
  env = await timeSkippingEnv();
  store = await openLedgerStore({ url: server.url, warn: () => undefined });
});
afterAll(async () => {
  await store?.close();
  await env?.teardown();
  server?.destroy();
});

async function entriesOf(accountId: string): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  for await (const e of store.streamEntries({ accountId })) entries.push(e);
  return entries;
}

describe('ledger database down', () => {
  it('keeps answering usage and writes every entry exactly once when the database is back', async () => {
    const worker = await startWorker(env, createActivities({ store, mailer: null, log: { info: () => undefined, warn: () => undefined, error: () => undefined } }));
    try {
      const anchor = new Date((await env.currentTimeMs()) - 86_400_000).toISOString();
      const h = await startAccount(env.client, worker.taskQueue, { accountId: 'outage-1', plan: 'growth', users: 2, cycleAnchor: anchor });
      await untilOpen(h);
      await waitFor(async () => (await entriesOf('outage-1')).length >= 2, 'the opening entries');

      server.stop();
      for (let i = 1; i <= 5; i++) {
        const r = await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: i, idempotencyKey: `o-${i}` }] });
        expect(r).toMatchObject({ accepted: true, credits: i, duplicate: false });
      }
      // Let the lingering batch go out and fail against the stopped database a few times.
      await env.sleep('10 seconds');
      const failing = await h.describe();
      expect(failing.raw.pendingActivities?.[0]?.activityType?.name).toBe('appendLedger');
      expect(failing.raw.pendingActivities?.[0]?.lastFailure?.message).toMatch(/PostgreSQL at 127\.0\.0\.1/);

      server.start();
      await env.sleep('10 minutes');
      const entries = await waitFor(async () => {
        const all = await entriesOf('outage-1');
        return all.filter((e) => e.kind === 'usage').length === 5 ? all : undefined;
      }, 'the usage entries after the database came back', 60_000);
      expect(entries.filter((e) => e.kind === 'usage').map((e) => e.idempotencyKey)).toEqual(['o-1', 'o-2', 'o-3', 'o-4', 'o-5']);
      expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
      expect(entries.at(-1)?.balanceAfter).toBe(3000 - 15);
    } finally {
      await worker.stop();
    }
  }, 180_000);
});
