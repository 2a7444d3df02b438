/**
 * An account whose only admin's mailbox is refused for good (550) must still be billed: its
 * effects leave in order, so an alert e-mail retried for ever held up the ledger writes and the
 * next cycle's tier charge queued behind it. Real workflow (time-skipping server), real
 * activities, an embedded ledger and the real SMTP mailer against a local SMTP server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { createSmtpMailer, type AlertMailer } from '../../notify/email';
import { defaultRulesPath } from '../../ruleset';
import { recordUsageUpdate, summaryQuery } from '../../workflows/messages';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server';
import { startAccount, startWorker, timeSkippingEnv, untilOpen } from '../helpers/workflow-harness';

let env: TestWorkflowEnvironment;
let store: LedgerStore;
let smtp: TestSmtpServer;
let mailer: AlertMailer;
let worker: Awaited<ReturnType<typeof startWorker>>;

beforeAll(async () => {
  env = await timeSkippingEnv();
  store = await openLedgerStore({ url: 'pglite:memory' });
  smtp = await startSmtpServer();
  smtp.unknownMailboxes.add('gone@acme.test');
  mailer = createSmtpMailer({ url: smtp.url, from: 'AI Credits <credits@example.com>' }, { timeoutMs: 3_000 });
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  worker = await startWorker(env, createActivities({ store, rules: defaultRulesPath(), mailer, log: quiet }));
});
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
  mailer?.close();
  await smtp?.close();
  await store?.close();
});

describe('an alert e-mail refused for good', () => {
  it('holds up neither the ledger nor the next cycle’s tier charge, and the page-facing record says so', async () => {
    const now = await env.currentTimeMs();
    // A cycle that ends in an hour.
    const anchor = new Date(now + 3_600_000);
    anchor.setUTCMonth(anchor.getUTCMonth() - 1);
    const h = await startAccount(env.client, worker.taskQueue, {
      accountId: 'mailbox-gone',
      plan: 'solo',
      users: 1,
      creditTier: 'tier-1',
      cycleAnchor: anchor.toISOString(),
      admins: ['gone@acme.test'],
    });
    await untilOpen(h);
    const first = await h.query(summaryQuery);
    const all = first.credits.available;
    expect(await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: all, idempotencyKey: 'all' }] })).toMatchObject({ accepted: true, balance: 0 });

    await env.sleep(Date.parse(first.cycle.end) - now + 3 * 3_600_000);

    const next = await h.query(summaryQuery);
    expect(next.cycle.index).toBe(first.cycle.index + 1);
    expect((await store.listCharges('mailbox-gone')).map((c) => [c.reason, c.cycleIndex])).toEqual([
      ['cycle_start', first.cycle.index],
      ['cycle_start', first.cycle.index + 1],
    ]);
    const kinds: string[] = [];
    for await (const e of store.streamEntries({ accountId: 'mailbox-gone', cycleIndex: first.cycle.index })) kinds.push(e.kind);
    expect(kinds).toContain('usage');
    const notes = await store.listNotifications('mailbox-gone');
    expect(notes.length).toBeGreaterThan(0);
    for (const n of notes) expect(n.deliveries).toMatchObject([{ channel: 'email', status: 'abandoned', attempts: 1 }]);
    expect(smtp.received).toEqual([]);
    expect(next.parkedEffects).toBe(0);
  }, 300_000);
});
