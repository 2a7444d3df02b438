/**
 * The admin server's "over time" routes against a real ledger (embedded PGlite) holding a known
 * history: usage by day and by user, billing history and the credit ledger as JSON, as CSV and
 * on the page, an empty account, and bad queries and unknown accounts refused in words.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../admin/server';
import { CSV_COLUMNS } from '../../ledger/csv-export';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { FORMULA_USER, historyCharges, historyEntries } from '../ledger/history-fixtures';
import { busySummary, historySummary, summaryClient } from './history-fixtures';

let store: LedgerStore;
let admin: AdminServer;
beforeAll(async () => {
  store = await openLedgerStore({ url: 'pglite:memory' });
  await store.appendEntries(historyEntries('busy'));
  for (const charge of historyCharges('busy')) await store.recordCharge(charge);
  const paidPast = busySummary('paid-past');
  // A converted trial whose charge pays into the next cycle: the workflow says when it is charged.
  const tier = { ...paidPast.tier!, paidThrough: '2026-07-10T00:00:00.000Z', nextChargeAt: '2026-07-03T00:00:00.000Z' };
  const client = summaryClient([busySummary('busy'), historySummary('empty'), busySummary('gone'), { ...paidPast, tier, pendingTier: null }], ['gone']);
  admin = await startAdminServer({ client, store, port: 0, log: () => undefined });
});
afterAll(async () => {
  await admin?.close();
  await store?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
async function json(path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${admin.url}${path}`, { headers: { accept: 'application/json' } });
  return { status: response.status, body: await response.json() };
}

async function csv(path: string): Promise<{ lines: string[]; type: string | null; disposition: string | null }> {
  const response = await fetch(`${admin.url}${path}`);
  expect(response.status).toBe(200);
  const text = await response.text();
  expect(text.endsWith('\r\n')).toBe(true);
  return { lines: text.slice(0, -2).split('\r\n'), type: response.headers.get('content-type'), disposition: response.headers.get('content-disposition') };
}

describe('usage by day', () => {
  it('has every day of the current cycle, with the exact sums', async () => {
    const { status, body } = await json('/api/accounts/busy/usage-by-day');
    expect(status).toBe(200);
    expect(body.period).toEqual({ kind: 'cycle', cycleIndex: 0, current: true });
    expect(body.days).toHaveLength(30);
    expect(body.days[0]).toEqual({ day: '2026-06-03', credits: 12, uses: 2, refused: 0 });
    expect(body.days[29]).toEqual({ day: '2026-07-02', credits: 0, uses: 0, refused: 0 });
    expect(body.days.filter((d: { credits: number }) => d.credits !== 0)).toEqual([
      { day: '2026-06-03', credits: 12, uses: 2, refused: 0 },
      { day: '2026-06-05', credits: 3, uses: 1, refused: 1 },
      { day: '2026-06-06', credits: 21, uses: 2, refused: 0 },
      { day: '2026-06-07', credits: -3, uses: -1, refused: 0 },
    ]);
    expect(body.total).toEqual({ credits: 33, uses: 4, refused: 1 });
  });

  it('covers a range of dates, the end date included', async () => {
    const { body } = await json('/api/accounts/busy/usage-by-day?from=2026-06-05&to=2026-06-06');
    expect(body.period).toEqual({ kind: 'range', from: '2026-06-05T00:00:00.000Z', to: '2026-06-07T00:00:00.000Z' });
    expect(body.days).toEqual([
      { day: '2026-06-05', credits: 3, uses: 1, refused: 1 },
      { day: '2026-06-06', credits: 21, uses: 2, refused: 0 },
    ]);
    expect(body.total).toEqual({ credits: 24, uses: 3, refused: 1 });
  });

  it('downloads as CSV, negative numbers kept as numbers', async () => {
    const { lines, type, disposition } = await csv('/accounts/busy/usage-by-day.csv');
    expect(type).toBe('text/csv; charset=utf-8');
    expect(disposition).toBe('attachment; filename="ai-credits-usage-by-day-busy-cycle-0.csv"');
    expect(lines).toHaveLength(31);
    expect(lines.slice(0, 6)).toEqual(['day,credits,uses,refused', '2026-06-03,12,2,0', '2026-06-04,0,0,0', '2026-06-05,3,1,1', '2026-06-06,21,2,0', '2026-06-07,-3,-1,0']);
  });
});

describe('usage by user', () => {
  it('sums each user, voids counting for the user they reverse', async () => {
    const { body } = await json('/api/accounts/busy/usage-by-user');
    expect(body.users).toEqual([
      { userId: null, credits: 20, uses: 1, refused: 0 },
      { userId: 'user-b', credits: 7, uses: 1, refused: 1 },
      { userId: 'user-a', credits: 5, uses: 1, refused: 0 },
      { userId: FORMULA_USER, credits: 1, uses: 1, refused: 0 },
    ]);
    expect(body.total).toEqual({ credits: 33, uses: 4, refused: 1 });
  });

  it('downloads as CSV with formula-like user ids escaped', async () => {
    const { lines } = await csv('/accounts/busy/usage-by-user.csv?cycle=1');
    expect(lines).toEqual(['user,credits,uses,refused', ',20,1,0', 'user-b,7,1,1', 'user-a,5,1,0', "'=SUM(A1),1,1,0"]);
  });
});

describe('billing history', () => {
  it('lists the charges made newest first and the next one due', async () => {
    const { body } = await json('/api/accounts/busy/billing-history');
    expect(body).toEqual({
      accountId: 'busy',
      currency: 'USD',
      charges: [
        { chargeId: 'busy:charge:1', at: '2026-06-10T15:30:00.000Z', tierId: 'tier-5', tierName: 'Tier 5', amountCents: 20_000, currency: 'USD', reason: 'upgrade', cycleIndex: 0 },
        { chargeId: 'busy:charge:0', at: '2026-06-03T00:00:00.000Z', tierId: 'tier-3', tierName: 'Tier 3', amountCents: 10_000, currency: 'USD', reason: 'cycle_start', cycleIndex: 0 },
      ],
      totalCents: 30_000,
      next: { at: '2026-07-03T00:00:00.000Z', tierId: 'tier-3', tierName: 'Tier 3', amountCents: 10_000, currency: 'USD', basis: 'pending_downgrade' },
      noneDue: null,
    });
  });

  it('downloads as CSV, the charge due first', async () => {
    const { lines } = await csv('/accounts/busy/billing-history.csv');
    expect(lines).toEqual([
      'status,time,tier,tier_name,reason,amount_cents,currency,cycle,charge_id',
      'due,2026-07-03T00:00:00.000Z,tier-3,Tier 3,cycle_start,10000,USD,,',
      'charged,2026-06-10T15:30:00.000Z,tier-5,Tier 5,upgrade,20000,USD,1,busy:charge:1',
      'charged,2026-06-03T00:00:00.000Z,tier-3,Tier 3,cycle_start,10000,USD,1,busy:charge:0',
    ]);
  });

  it('says a closed account takes no further charge', async () => {
    const { body } = await json('/api/accounts/gone/billing-history');
    expect(body).toMatchObject({ next: null, noneDue: 'The account is closed: it takes no further charge.' });
    const { lines } = await csv('/accounts/gone/billing-history.csv');
    expect(lines[0]).toBe('status,time,tier,tier_name,reason,amount_cents,currency,cycle,charge_id');
    expect(lines.some((l) => l.startsWith('due,'))).toBe(false);
  });

  it('dates the next charge when the workflow says (a paid period settled at a reset), not at the paid period\'s end', async () => {
    const { body } = await json('/api/accounts/paid-past/billing-history');
    expect(body.next).toMatchObject({ at: '2026-07-03T00:00:00.000Z', tierId: 'tier-5', basis: 'current_tier' });
  });
});

describe('credit ledger', () => {
  it('pages grants, expiries, write-offs and voids newest first', async () => {
    const first = await json('/api/accounts/busy/credit-ledger?limit=2');
    expect(first.body.entries.map((e: { seq: number; kind: string; credits: number }) => [e.seq, e.kind, e.credits])).toEqual([
      [11, 'expiry', 100],
      [9, 'call_overage', 4],
    ]);
    expect(first.body).toMatchObject({ limit: 2, beforeSeq: null, nextBeforeSeq: 9, nextBeforeId: first.body.entries[1].entryId });
    const rest = await json('/api/accounts/busy/credit-ledger?limit=5&before=9');
    expect(rest.body.entries.map((e: { seq: number }) => e.seq)).toEqual([8, 7, 1]);
    expect(rest.body.nextBeforeSeq).toBeNull();
    expect((await json('/api/accounts/busy/credit-ledger')).body.limit).toBe(25);
  });

  it('pages on its own HTML page with a link to the older entries', async () => {
    const response = await fetch(`${admin.url}/accounts/busy/credit-ledger?limit=2`);
    const page = await response.text();
    expect(response.status).toBe(200);
    const older = /href="(\/accounts\/busy\/credit-ledger\?before=9&amp;beforeId=[^"&]+&amp;limit=2)"/.exec(page)?.[1];
    expect(older).toBeDefined();
    expect(page.match(/<tr data-seq="(\d+)"/g)).toEqual(['<tr data-seq="11"', '<tr data-seq="9"']);
    const next = await (await fetch(`${admin.url}${(older ?? '').replaceAll('&amp;', '&')}`)).text();
    expect(next.match(/<tr data-seq="(\d+)"/g)).toEqual(['<tr data-seq="8"', '<tr data-seq="7"']);
  });

  it('downloads every movement as CSV in the ledger export columns, text escaped', async () => {
    const { lines } = await csv('/accounts/busy/credit-ledger.csv');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines.slice(1).map((l) => l.split(',')[13])).toEqual(['grant', 'void', 'grant', 'call_overage', 'expiry']);
    const manual = lines[3]?.split(',') ?? [];
    expect(manual[6]).toBe('500');
    expect(manual[17]).toBe("'-goodwill");
    expect(lines[2]?.split(',')[6]).toBe('-3');
  });
});

describe('the account page', () => {
  it('shows the run-out date in the warning banner and the four sections', async () => {
    const page = await (await fetch(`${admin.url}/accounts/busy`)).text();
    const banner = page.slice(page.indexOf('id="credit-banner"'), page.indexOf('</div>', page.indexOf('id="credit-banner"')));
    expect(banner).toContain('Projected to run out on <b><time datetime="2026-06-20T06:00:00.000Z">2026-06-20</time></b> at 06:00 UTC, 13 days before the reset');
    for (const id of ['usage-by-day', 'daily-chart', 'usage-by-user', 'billing-history', 'next-charge', 'credit-ledger']) expect(page).toContain(`id="${id}"`);
    expect(page).toContain('data-day="2026-06-06" data-credits="21"');
    expect(page).toContain('$100</strong> for Tier 3 on <strong><time datetime="2026-07-03T00:00:00.000Z">');
  });
});

describe('an empty account', () => {
  it('has zero days, no users, no charges due and an empty ledger', async () => {
    const days = (await json('/api/accounts/empty/usage-by-day')).body;
    expect(days.days).toHaveLength(30);
    expect(days.days.every((d: { credits: number; uses: number }) => d.credits === 0 && d.uses === 0)).toBe(true);
    expect(days.total).toEqual({ credits: 0, uses: 0, refused: 0 });
    expect((await json('/api/accounts/empty/usage-by-user')).body).toMatchObject({ users: [], total: { credits: 0, uses: 0, refused: 0 } });
    expect((await json('/api/accounts/empty/billing-history')).body).toEqual({
      accountId: 'empty',
      currency: 'USD',
      charges: [],
      totalCents: 0,
      next: null,
      noneDue: 'No AI credit subscription: nothing is charged.',
    });
    expect((await json('/api/accounts/empty/credit-ledger')).body).toEqual({ accountId: 'empty', entries: [], limit: 25, beforeSeq: null, nextBeforeSeq: null, nextBeforeId: null });
    expect((await csv('/accounts/empty/usage-by-user.csv')).lines).toEqual(['user,credits,uses,refused']);
    expect((await csv('/accounts/empty/credit-ledger.csv')).lines).toEqual([CSV_COLUMNS.join(',')]);
    const page = await (await fetch(`${admin.url}/accounts/empty`)).text();
    expect(page).not.toContain('id="run-out"');
    expect(page).toContain('No tier charges yet.');
    expect(page).toContain('No grants, expiries, write-offs or voids yet.');
  });
});

describe('bad requests', () => {
  it.each([
    ['/api/accounts/busy/usage-by-day?from=2026-13-01&to=2026-06-10', 'from must be a date like 2026-06-01'],
    ['/api/accounts/busy/usage-by-day?from=2026-06-01', 'from and to go together'],
    ['/api/accounts/busy/usage-by-day?cycle=3', 'cycle 3 has not started yet'],
    ['/api/accounts/busy/usage-by-user?kinds=all', 'kinds applies to usage.csv only'],
    ['/accounts/busy/usage-by-user.csv?bogus=1', 'unknown query parameter bogus'],
    ['/api/accounts/busy/billing-history?cycle=0', 'billing history takes none'],
    ['/api/accounts/busy/credit-ledger?before=abc', 'before must be a whole number'],
    ['/api/accounts/busy/credit-ledger?limit=0', 'limit must be a whole number from 1 to 200'],
    ['/api/accounts/busy/credit-ledger?limit=201', 'limit must be a whole number from 1 to 200'],
    ['/api/accounts/busy/credit-ledger?page=2', 'unknown query parameter page'],
  ])('%s is a 400 saying what is wrong', async (path, message) => {
    const { status, body } = await json(path);
    expect(status).toBe(400);
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toContain(message);
  });

  it('answers an unknown account with 404, as JSON and as a page', async () => {
    for (const view of ['usage-by-day', 'usage-by-user', 'billing-history', 'credit-ledger']) {
      const { status, body } = await json(`/api/accounts/nobody/${view}`);
      expect(status).toBe(404);
      expect(body.error).toEqual({ code: 'account_not_found', message: 'account nobody does not exist' });
    }
    const page = await fetch(`${admin.url}/accounts/nobody/usage-by-day.csv`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('account nobody does not exist');
    expect((await json('/api/accounts/bad%20id!/usage-by-day')).status).toBe(404);
  });
});
