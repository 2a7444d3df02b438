/**
 * The activities as Temporal runs them (MockActivityEnvironment), over an embedded ledger, a
 * temporary copy of the shipped rules and a local SMTP server started by this file.
 */
import { ApplicationFailure } from '@temporalio/common';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { CreditActivities, RestartFacts } from '../../activities/credit-activities';
import type { LedgerEntry } from '../../domain/effects';
import { encodeLedgerBatch } from '../../domain/ledger-batch';
import { openLedgerStore } from '../../ledger/open-store';
import { openPostgresClient } from '../../ledger/postgres-client';
import { openSqlLedgerStore } from '../../ledger/sql-store';
import type { LedgerStore } from '../../ledger/store';
import { alertMessageId, createSmtpMailer, type AlertMailer } from '../../notify/email';
import { RULES_RECHECK_MS, defaultRulesPath, type Rules } from '../../ruleset';
import { quietActivityEnvironment, type LogLine } from '../helpers/activity-environment';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server';
import { tierCharge, usageEntries, usageEntry, warningAlert } from '../ledger/entry-fixtures';
import { shippedRules } from '../helpers/shipped-rules';

const FROM = 'AI Credits <credits@example.com>';
const rulesDir = mkdtempSync(join(tmpdir(), 'credits-rules-'));
const shippedFile = join(defaultRulesPath(), '2026-06-03.yaml');
copyFileSync(shippedFile, join(rulesDir, '2026-06-03.yaml'));

let store: LedgerStore;
let smtp: TestSmtpServer;
let mailer: AlertMailer;
let activities: CreditActivities;
const logs: LogLine[] = [];
const env = quietActivityEnvironment(logs);

/** The failure an activity call ended with. */
async function failureOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

beforeAll(async () => {
  store = await openLedgerStore({ url: 'pglite:memory' });
  smtp = await startSmtpServer();
  mailer = createSmtpMailer({ url: smtp.url, from: FROM });
  activities = createActivities({ store, rules: rulesDir, mailer, log: env.context.log });
});
afterAll(async () => {
  mailer?.close();
  await smtp?.close();
  await store?.close();
  rmSync(rulesDir, { recursive: true, force: true });
});
afterEach(() => smtp.refuse(null));

/** Past the interval within which the worker's rules source does not look at the files again. */
const lookAgain = () => new Promise((resolve) => setTimeout(resolve, RULES_RECHECK_MS + 50));

describe('loadRules', () => {
  // MockActivityEnvironment.run does not infer the result type of an activity taking an object.
  const rulesAt = (at: string): Promise<Rules> => env.run(activities.loadRules, { at }) as Promise<Rules>;

  it('returns the version in force, the earliest before them all, and picks up new files', async () => {
    const june = await rulesAt('2026-06-10T00:00:00.000Z');
    expect(june.effectiveFrom).toBe('2026-06-03T00:00:00.000Z');
    const before = await rulesAt('2020-01-01T00:00:00.000Z');
    expect(before.version).toBe(june.version);

    // The pricing team drops a new dated version into the directory: running workers see it.
    const september = readFileSync(shippedFile, 'utf8').replace(/^effectiveFrom: .*$/m, 'effectiveFrom: 2026-09-01T00:00:00Z');
    writeFileSync(join(rulesDir, '2026-09-01.yaml'), september);
    await lookAgain();
    const autumn = await rulesAt('2026-09-15T00:00:00.000Z');
    expect(autumn.effectiveFrom).toBe('2026-09-01T00:00:00.000Z');
    expect((await rulesAt('2026-07-01T00:00:00.000Z')).version).toBe(june.version);

    // A broken file does not stop the worker: the last good rules stay in use, and it says so.
    writeFileSync(join(rulesDir, '2026-10-01.yaml'), 'schemaVersion: 1\nplans: [');
    await lookAgain();
    expect((await rulesAt('2026-10-15T00:00:00.000Z')).effectiveFrom).toBe(autumn.effectiveFrom);
    expect(logs.some((l) => l.level === 'ERROR' && l.message.includes('still using the previous rules'))).toBe(true);
    rmSync(join(rulesDir, '2026-10-01.yaml'));
  });

  it('refuses an unreadable instant for good', async () => {
    const failure = await failureOf(env.run(activities.loadRules, { at: 'next tuesday' }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('at must be an ISO-8601 instant');
  });
});

describe('appendLedger and chargeTier', () => {
  it('writes a batch once however often it is retried', async () => {
    const batch = usageEntries('act', 1, 3);
    expect(await env.run(activities.appendLedger, { entries: batch })).toEqual({ written: 3 });
    expect(await env.run(activities.appendLedger, { entries: batch })).toEqual({ written: 0 });
  });

  // Changed with issue 8: a malformed entry used to fail its whole batch for good (and the
  // workflow parked all of it); now only that entry is refused and its neighbours are written.
  it('writes a batch around a malformed entry and reports exactly that entry, naming the problem', async () => {
    const bad = { ...usageEntry('act', 9), credits: 1.5 } as LedgerEntry;
    const result = await env.run(activities.appendLedger, { entries: [usageEntry('act', 8), bad, usageEntry('act', 10)] });
    expect(result).toEqual({ written: 2, refused: [{ entryId: 'act:9', error: 'ledger entry act:9: credits must be an integer (got 1.5)' }] });
    const stored = [];
    for await (const e of store.streamEntries({ accountId: 'act' })) stored.push(e.entryId);
    expect(stored).toContain('act:8');
    expect(stored).toContain('act:10');
    expect(stored).not.toContain('act:9');
  });

  it('finds every poison of a large batch by splitting it, whatever the database refuses', async () => {
    const batch = usageEntries('split', 1, 500);
    const poison = new Map<number, Partial<LedgerEntry>>([
      [7, { userId: 'nul\u0000' }],
      [250, { idempotencyKey: 'lone-\udfff' }],
      [499, { balanceAfter: 2 ** 70 }],
    ]);
    const entries = batch.map((e, i) => ({ ...e, ...poison.get(i) }));
    const result = (await env.run(activities.appendLedger, { entries })) as { written: number; refused?: { entryId: string; error: string }[] };
    expect(result.written).toBe(497);
    expect(result.refused?.map((r) => r.entryId)).toEqual(['split:8', 'split:251', 'split:500']);
    expect(result.refused?.map((r) => r.error)).toEqual([
      expect.stringContaining('userId must not contain NUL'),
      expect.stringContaining('idempotencyKey must not contain a lone UTF-16 surrogate'),
      expect.stringContaining('balanceAfter is out of range'),
    ]);
    // Retried (say, after a crash before the answer), it writes nothing twice and refuses the same.
    expect(await env.run(activities.appendLedger, { entries })).toMatchObject({ written: 0, refused: result.refused });
  });

  it('writes compact batches of either version exactly, and once however often retried', async () => {
    for (const [version, account] of [[1, 'act-v1'], [2, 'act-v2']] as const) {
      const batch = usageEntries(account, 1, 40);
      const input = { batch: encodeLedgerBatch(batch, version) };
      expect(await env.run(activities.appendLedger, input)).toEqual({ written: 40 });
      expect(await env.run(activities.appendLedger, input)).toEqual({ written: 0 });
      const stored: LedgerEntry[] = [];
      for await (const e of store.streamEntries({ accountId: account })) stored.push(e);
      expect(stored).toEqual(batch);
    }
    const failure = await failureOf(env.run(activities.appendLedger, { batch: { ...encodeLedgerBatch(usageEntries('act-v3', 1, 2)), v: 3 } as never }));
    expect([failure.nonRetryable, failure.type, failure.message]).toEqual([true, 'invalid_input', 'batch must be a compact ledger batch (version 1 or 2)']);
  });

  it('fails a batch holding an entry without an id for good, writing none of it', async () => {
    const batch: unknown[] = usageEntries('act-unnamed', 1, 40);
    batch[30] = { ...usageEntries('act-unnamed', 31, 1)[0], entryId: 31, credits: 1.5 };
    const failure = await failureOf(env.run(activities.appendLedger, { entries: batch as LedgerEntry[] }));
    expect([failure.nonRetryable, failure.type, failure.message]).toEqual([
      true,
      'invalid_input',
      'ledger batch refused whole: entry 30 (of 40) has no entryId string; nothing was written',
    ]);
    const stored = [];
    for await (const e of store.streamEntries({ accountId: 'act-unnamed' })) stored.push(e.entryId);
    expect(stored).toEqual([]);
  });

  it("tells whether an account's ledger holds an earlier workflow's entries (the start guard)", async () => {
    expect(await env.run(activities.earlierEpoch, { accountId: 'act-epochs', epoch: 'e2' })).toBeNull();
    const earlier = usageEntries('act-epochs', 1, 3).map((e) => ({ ...e, entryId: `act-epochs:e1:${e.seq}` }));
    await env.run(activities.appendLedger, { entries: earlier });
    expect(await env.run(activities.earlierEpoch, { accountId: 'act-epochs', epoch: 'e2' })).toEqual({ epoch: 'e1', entryId: 'act-epochs:e1:3', at: earlier[2]?.at });
    expect(await env.run(activities.earlierEpoch, { accountId: 'act-epochs', epoch: 'e1' })).toBeNull();
  });

  it("tells a restart the promotions the account's earlier workflows were granted, and the period's latest tier charge", async () => {
    const facts = (epoch: string, periodStart = '2026-06-03T00:00:00.000Z') => env.run(activities.restartFacts, { accountId: 'act-promos', epoch, periodStart });
    expect(await facts('e2')).toEqual({ promotions: { ids: [], names: [] }, paidThisPeriod: null });
    const [first] = usageEntries('act-promos', 1, 1);
    const grant = { ...first!, kind: 'grant' as const, credits: 100_000, source: 'promotion' as const, grantId: 'g1' };
    await env.run(activities.appendLedger, {
      entries: [
        // Granted under the shipped version: known by its id, whatever its name is now.
        { ...grant, entryId: 'act-promos:e1:1', note: 'Chloe beta thank-you', rulesVersion: shippedRules().version },
        // Under a version no longer in the files: known by name only.
        { ...grant, entryId: 'act-promos:e1:2', seq: 2, note: 'Gone promotion', rulesVersion: '2020-01-01.000000000000' },
      ],
    });
    await env.run(activities.chargeTier, tierCharge('act-promos', { chargeId: 'act-promos:tier:2026-06-03T00:00:00.000Z', at: '2026-06-03T00:00:00.000Z', tierId: 'tier-1', amountCents: 2_000, reason: 'cycle_start' }));
    await env.run(activities.chargeTier, tierCharge('act-promos', { chargeId: 'act-promos:e1:charge:1', at: '2026-06-10T00:00:00.000Z', tierId: 'tier-4', amountCents: 15_000, reason: 'upgrade' }));
    expect(await facts('e2')).toEqual({
      promotions: { ids: ['chloe-beta-2026'], names: ['Gone promotion'] },
      paidThisPeriod: { chargeId: 'act-promos:e1:charge:1', tierId: 'tier-4', amountCents: 15_000, reason: 'upgrade' },
    });
    // Its own epoch's grants are not earlier ones; charges before the period are another period's.
    expect(await facts('e1', '2026-07-03T00:00:00.000Z')).toEqual({ promotions: { ids: [], names: [] }, paidThisPeriod: null });
  });

  it('tells a restart on another calendar the charge whose paid period holds its instant', async () => {
    const facts = async (periodStart: string, at?: string) =>
      ((await env.run(activities.restartFacts, { accountId: 'act-anchor', epoch: 'e2', periodStart, ...(at === undefined ? {} : { at }) })) as RestartFacts).paidThisPeriod;
    const renewal = { chargeId: 'act-anchor:tier:2026-06-03T00:00:00.000Z', tierId: 'tier-2', amountCents: 5_000, reason: 'cycle_start' as const };
    // The earlier workflow ran on the 3rd's calendar: its June renewal pays through July 3.
    await env.run(activities.chargeTier, tierCharge('act-anchor', { ...renewal, at: '2026-06-03T00:00:00.000Z', paidThrough: '2026-07-03T00:00:00.000Z' }));
    // Restarted June 20 on the 15th's calendar: its period began June 15, after the charge.
    expect(await facts('2026-06-15T00:00:00.000Z', '2026-06-20T00:00:00.000Z')).toEqual({ ...renewal, paidThrough: '2026-07-03T00:00:00.000Z' });
    // A restart that did not say when it ran counts only the charges of its own period.
    expect(await facts('2026-06-15T00:00:00.000Z')).toBeNull();
    // Once the paid period has ended, nothing pays for the tier: the restart buys it.
    expect(await facts('2026-06-15T00:00:00.000Z', '2026-07-03T00:00:00.000Z')).toBeNull();
  });

  it('fails a batch that is not a list for good', async () => {
    const failure = await failureOf(env.run(activities.appendLedger, { entries: 'nope' as unknown as LedgerEntry[] }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('invalid_input');
  });

  it('refuses a charge or an alert the ledger cannot store for good, and retries one it cannot reach', async () => {
    const charge = await failureOf(env.run(activities.chargeTier, tierCharge('act-bad', { currency: 'usd\u0000' })));
    expect([charge.nonRetryable, charge.type]).toEqual([true, 'invalid_input']);
    const alert = await failureOf(env.run(activities.sendAlert, warningAlert('act-bad', { admins: ['\ud800@example.com'] })));
    expect([alert.nonRetryable, alert.type]).toEqual([true, 'invalid_input']);

    // Nothing listens on port 1: the database is down, which a retry may outlive.
    const down = await openSqlLedgerStore(openPostgresClient('postgres://nobody@127.0.0.1:1/none', { connectTimeoutMs: 2000 }), { skipMigrations: true });
    try {
      const unreachable = createActivities({ store: down, rules: rulesDir, mailer: null, log: env.context.log });
      const transient = await failureOf(env.run(unreachable.chargeTier, tierCharge('act-down')));
      expect([transient.nonRetryable, transient.type]).toEqual([false, 'database_unavailable']);
    } finally {
      await down.close();
    }
  });
  it('charges a charge id once', async () => {
    const charge = tierCharge('act');
    expect(await env.run(activities.chargeTier, charge)).toEqual({ chargeId: charge.chargeId, charged: true });
    expect(await env.run(activities.chargeTier, charge)).toEqual({ chargeId: charge.chargeId, charged: false });
    expect(await store.listCharges('act')).toHaveLength(1);
  });
});

describe('sendAlert', () => {
  it('stores the in-app notification and e-mails the admins once, however often retried', async () => {
    const alert = warningAlert('mail');
    const before = smtp.received.length;
    expect(await env.run(activities.sendAlert, alert)).toEqual({ delivered: true });
    expect(await env.run(activities.sendAlert, alert)).toEqual({ delivered: true });
    expect(smtp.received.length).toBe(before + 1);

    const mail = smtp.received.at(-1);
    expect(mail?.envelopeTo).toEqual(alert.admins);
    expect(mail?.headers.get('subject')).toBe('AI credits running low: 80% used (account mail)');
    expect(mail?.headers.get('message-id')).toBe(alertMessageId(alert.alertId, FROM));
    expect(mail?.text).toContain('before your credits reset on 2026-07-03 00:00 UTC');
    expect(mail?.text).toContain('Available: 3,000 credits. Used this billing cycle: 12,000 of 15,000 granted (80%).');
    expect(mail?.html).toContain('<h2>AI credits running low: 80% used</h2>');

    const [note] = await store.listNotifications('mail');
    expect(note).toMatchObject({ alertId: alert.alertId, state: 'warning', readAt: null });
    expect(note?.deliveries).toMatchObject([{ channel: 'email', status: 'sent', attempts: 1 }]);
  });

  it('retries a refused e-mail until the server accepts it, then sends it exactly once', async () => {
    const alert = warningAlert('refused', { state: 'exhausted', available: 0, used: 15_000, projectedRunOutAt: null });
    const before = smtp.received.length;
    smtp.refuse({ code: 451, message: '4.3.0 Try again later' });

    const failure = await failureOf(env.run(activities.sendAlert, alert));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe('smtp_refused');
    expect(failure.message).toContain(`SMTP server smtp://127.0.0.1:${smtp.port} refused the alert e-mail`);
    expect(failure.message).toContain('451 4.3.0 Try again later');
    // Nothing is lost: the admins already see it in-app, and the e-mail is owed.
    const [pending] = await store.listNotifications('refused');
    expect(pending?.deliveries).toMatchObject([{ status: 'failed', lastError: expect.stringContaining('451') }]);

    smtp.refuse(null);
    expect(await env.run(activities.sendAlert, alert)).toEqual({ delivered: true });
    expect(await env.run(activities.sendAlert, alert)).toEqual({ delivered: true });
    expect(smtp.received.length).toBe(before + 1);
    expect(smtp.received.at(-1)?.text).toContain('are paused until credits are added');
  });

  it('gives up at once on an e-mail the server refuses for good (5xx): the alert is done, the in-app notification stands', async () => {
    const alert = warningAlert('gone', { state: 'exhausted', available: 0, used: 15_000, projectedRunOutAt: null });
    const before = smtp.received.length;
    smtp.refuse({ code: 550, message: '5.7.1 Sender not allowed' });
    // Answered, not thrown: the account's effects queued behind this alert must not wait on it.
    expect(await env.run(activities.sendAlert, alert)).toEqual({ delivered: true });
    smtp.refuse(null);
    expect(await env.run(activities.sendAlert, alert)).toEqual({ delivered: true });
    expect(smtp.received.length).toBe(before);
    const [note] = await store.listNotifications('gone');
    expect(note).toMatchObject({ alertId: alert.alertId, readAt: null });
    expect(note?.deliveries).toMatchObject([
      { channel: 'email', status: 'abandoned', attempts: 1, lastError: expect.stringMatching(/550 5\.7\.1 Sender not allowed.*; refused for good, not retried$/) },
    ]);
  });

  it('gives up when every admin mailbox is refused, and sends to the others when only some are', async () => {
    smtp.unknownMailboxes.add('gone@example.com');
    try {
      const before = smtp.received.length;
      const lone = warningAlert('all-gone', { admins: ['gone@example.com'] });
      expect(await env.run(activities.sendAlert, lone)).toEqual({ delivered: true });
      expect((await store.listNotifications('all-gone'))[0]?.deliveries).toMatchObject([{ status: 'abandoned', lastError: expect.stringContaining('550') }]);
      expect(smtp.received.length).toBe(before);

      const pair = warningAlert('one-gone', { admins: ['ok@example.com', 'gone@example.com'] });
      expect(await env.run(activities.sendAlert, pair)).toEqual({ delivered: true });
      expect(smtp.received.at(-1)?.envelopeTo).toEqual(['ok@example.com']);
      expect((await store.listNotifications('one-gone'))[0]?.deliveries).toMatchObject([{ status: 'sent', lastError: 'refused recipients: gone@example.com' }]);
    } finally {
      smtp.unknownMailboxes.clear();
    }
  });

  it('sends only to admin addresses that are one plain address, never to what the mailer would read out of the others', async () => {
    const admins = ['ok@example.com', 'ops,attacker@evil.test', 'Boss<attacker@evil.test>', 'grp:attacker@evil.test;', 'ops@acme.test>,<x'];
    const alert = warningAlert('odd-admins', { admins });
    expect(await env.run(activities.sendAlert, alert)).toEqual({ delivered: true });
    expect(smtp.received.at(-1)?.envelopeTo).toEqual(['ok@example.com']);
    expect(smtp.received.at(-1)?.headers.get('to')).toBe('ok@example.com');
    const [note] = await store.listNotifications('odd-admins');
    expect(note?.deliveries).toMatchObject([
      {
        status: 'sent',
        lastError: 'not sent to "ops,attacker@evil.test", "Boss<attacker@evil.test>", "grp:attacker@evil.test;", "ops@acme.test>,<x": not one plain e-mail address',
      },
    ]);

    const before = smtp.received.length;
    expect(await env.run(activities.sendAlert, warningAlert('only-odd', { admins: ['ops;attacker@evil.test'] }))).toEqual({ delivered: true });
    expect(smtp.received.length).toBe(before);
    expect((await store.listNotifications('only-odd'))[0]?.deliveries).toMatchObject([{ status: 'abandoned', lastError: expect.stringContaining('not one plain e-mail address') }]);
  });

  it('sends one copy to addresses that differ only in case, under the first spelling', async () => {
    const before = smtp.received.length;
    const alert = warningAlert('cased-admins', { admins: ['Ops@Acme.test', 'ops@acme.test', 'OPS@ACME.TEST', 'finance@acme.test'] });
    expect(await env.run(activities.sendAlert, alert)).toEqual({ delivered: true });
    expect(smtp.received.length).toBe(before + 1);
    // The mailer writes domains in lower case; the local part is as given.
    expect(smtp.received.at(-1)?.headers.get('to')).toBe('Ops@acme.test, finance@acme.test');
    expect(smtp.received.at(-1)?.envelopeTo).toEqual(['Ops@acme.test', 'finance@acme.test']);
    expect((await store.listNotifications('cased-admins'))[0]?.deliveries).toMatchObject([{ status: 'sent', lastError: null }]);
  });

  it('retries a passing failure only within the give-up span, counted from the first attempt', async () => {
    const alert = warningAlert('outage');
    smtp.refuse({ code: 451, message: '4.3.0 Try again later' });
    const patient = createActivities({ store, rules: rulesDir, mailer, log: env.context.log, emailGiveUpAfterMs: 60 * 60_000 });
    expect((await failureOf(env.run(patient.sendAlert, alert))).type).toBe('smtp_refused');
    expect((await store.listNotifications('outage'))[0]?.deliveries).toMatchObject([{ status: 'failed' }]);
    // The same alert's next attempt, once its first is older than the span.
    const impatient = createActivities({ store, rules: rulesDir, mailer, log: env.context.log, emailGiveUpAfterMs: 0 });
    expect(await env.run(impatient.sendAlert, alert)).toEqual({ delivered: true });
    expect((await store.listNotifications('outage'))[0]?.deliveries).toMatchObject([
      { status: 'abandoned', attempts: 2, lastError: expect.stringMatching(/451 4\.3\.0 Try again later.*; given up after 0 minutes of attempts$/) },
    ]);
  });

  it('does not send while another attempt holds the delivery', async () => {
    const alert = warningAlert('busy');
    await store.recordNotification(alert);
    expect((await store.claimDelivery(alert.alertId, 'email')).claimed).toBe(true);
    const before = smtp.received.length;
    const failure = await failureOf(env.run(activities.sendAlert, alert));
    expect(failure.type).toBe('delivery_in_progress');
    expect(failure.nonRetryable).toBe(false);
    expect(smtp.received.length).toBe(before);
  });

  it('delivers in-app only when there are no admins or no SMTP server', async () => {
    const before = smtp.received.length;
    const lonely = warningAlert('lonely', { admins: [] });
    expect(await env.run(activities.sendAlert, lonely)).toEqual({ delivered: true });
    expect((await store.listNotifications('lonely'))[0]?.deliveries).toMatchObject([
      { channel: 'email', status: 'skipped', lastError: 'the account has no admins' },
    ]);

    const saved = process.env.SMTP_URL;
    delete process.env.SMTP_URL;
    const lines: LogLine[] = [];
    const quiet = quietActivityEnvironment(lines);
    try {
      const inAppOnly = createActivities({ store, rules: rulesDir, log: quiet.context.log });
      expect(lines.map((l) => l.message)).toEqual([
        'SMTP_URL is not set: low-credit alerts are delivered in-app only, not by e-mail',
      ]);
      expect(await quiet.run(inAppOnly.sendAlert, warningAlert('nosmtp'))).toEqual({ delivered: true });
    } finally {
      if (saved !== undefined) process.env.SMTP_URL = saved;
    }
    expect((await store.listNotifications('nosmtp'))[0]?.deliveries).toMatchObject([{ status: 'skipped' }]);
    expect(smtp.received.length).toBe(before);
  });

  it('fails a malformed alert for good', async () => {
    const failure = await failureOf(env.run(activities.sendAlert, warningAlert('bad', { state: 'ok' as never })));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('alert bad:alert:0:warning: state must be one of warning, exhausted');
  });
});
