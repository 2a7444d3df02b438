/**
 * The admin page end to end: the real account workflow on the time-skipping server, the real
 * activities writing to an embedded ledger in a temporary directory, the admin server on a
 * free port, and headless Chromium reading the page the way an admin would (text, chart,
 * banner colours in a screenshot, the CSV download, marking a notification read).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../admin/server';
import { BANNER_COLOURS, BAR_COLOUR } from '../../admin/styles';
import { CreditsClient, type AccountStartInput, type AccountSummary } from '../../client';
import { CSV_COLUMNS } from '../../ledger/csv-export';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { projectRoot } from '../../infra/project-root';
import { colourShare } from './browser';
import { startAdminStack, type AdminStack } from './stack';

/** Screenshots land here for a person to look at; git ignores /tmp/. */
const SCREENSHOTS = join(projectRoot(), 'tmp', 'admin-screenshots');

let env: TestWorkflowEnvironment;
let store: LedgerStore;
let credits: CreditsClient;
let admin: AdminServer;
let page: Page;
let stack: AdminStack | undefined;

beforeAll(async () => {
  stack = await startAdminStack();
  ({ env, store, credits, admin } = stack);
  page = await stack.browser.newPage({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await stack?.close();
});

/** Opens a Growth account anchored two days ago by both the server's and this machine's clock. */
async function openAccount(accountId: string, extra: Partial<AccountStartInput> = {}): Promise<AccountSummary> {
  const now = Math.min(Date.now(), (await env.currentTimeMs()) as number);
  const input = { accountId, plan: 'growth', users: 1, cycleAnchor: new Date(now - 2 * 86_400_000).toISOString(), ...extra };
  const started = await credits.startAccount(input);
  return started.summary as AccountSummary;
}

/**
 * Lets the workflow's outbox reach the ledger until `ready()` holds: ledger writes linger a
 * couple of seconds of workflow time, and the time-skipping server only skips time when asked.
 */
async function untilLedger(what: string, ready: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if (await ready()) return;
    await env.sleep('3 seconds');
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the ledger never got ${what}`);
}

async function openPage(accountId: string): Promise<void> {
  const response = await page.goto(`${admin.url}/accounts/${accountId}`);
  expect(response?.status()).toBe(200);
}

async function text(selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

async function barWidth(feature: string): Promise<number> {
  return Number(await page.locator(`rect.bar[data-feature="${feature}"]`).getAttribute('width'));
}

/** Screenshot of the viewport with the banner; checks the banner's box is mostly `background`. */
async function expectBannerColour(name: string, background: string, border: string): Promise<void> {
  const bannerBox = await page.getByRole('alert').boundingBox();
  expect(bannerBox).not.toBeNull();
  const box = bannerBox as NonNullable<typeof bannerBox>;
  expect(box.width).toBeGreaterThan(400);
  const png = await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
  // The text covers part of the box; the rest must be the banner's fill.
  expect(colourShare(png, box, background)).toBeGreaterThan(0.6);
  // The thick left border, in the state's stronger colour.
  expect(colourShare(png, { x: box.x + 1, y: box.y + 8, width: 4, height: box.height - 16 }, border)).toBeGreaterThan(0.9);
}

describe('the Settings > AI Credits page', () => {
  it('shows a fresh account: credits remaining, cycle and reset date, no banner', async () => {
    const summary = await openAccount('fresh');
    await openPage('fresh');
    expect(await page.title()).toBe('AI Credits · fresh');
    expect(await text('#credits-remaining')).toBe('1,500');
    expect(await text('[data-field="granted"]')).toBe('1,500');
    expect(await text('[data-field="used"]')).toBe('0');
    const start = summary.cycle.start.slice(0, 10);
    const end = summary.cycle.end.slice(0, 10);
    expect(await text('#cycle')).toContain(`Current cycle ${start} → ${end}`);
    expect(await text('#reset-date')).toBe(end);
    expect(await text('#crm-plan')).toBe('Growth · 1 user');
    expect(await text('#usage-table tbody')).toBe('No usage recorded this cycle.');
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await barWidth('enrichment')).toBe(0);
  });

  it('shows recorded usage in the numbers, the table and the chart after a reload', async () => {
    await openAccount('busy', { users: 2 });
    await openPage('busy');
    expect(await text('#credits-remaining')).toBe('3,000');

    await credits.recordUsage('busy', { feature: 'enrichment', quantity: 300, idempotencyKey: 'busy-1', userId: 'ann' });
    await credits.recordUsage('busy', { feature: 'auto-updates', quantity: 50, idempotencyKey: 'busy-2', userId: 'bob' });
    await page.reload();

    expect(await text('#credits-remaining')).toBe('2,600');
    expect(await text('[data-field="used"]')).toBe('400');
    expect(await text('#used-percent')).toBe('13% used this cycle');
    expect(await text('#usage-table tr[data-feature="enrichment"]')).toBe('Enrichment 300 fields 300 1 0');
    expect(await text('#usage-table tr[data-feature="auto-updates"]')).toBe('Auto Updates 50 calls 100 1 0');
    // The longest bar spans the chart; the others in proportion; unused features have none.
    const enrichment = await barWidth('enrichment');
    expect(enrichment).toBeGreaterThan(300);
    expect(await barWidth('auto-updates')).toBeCloseTo(enrichment / 3, 0);
    expect(await barWidth('voice-agent')).toBe(0);
    const drawn = await page.locator('rect.bar[data-feature="enrichment"]').boundingBox();
    expect(drawn?.width).toBeGreaterThan(200);
    expect(drawn?.height).toBeGreaterThan(10);
    expect(await page.locator('svg.chart text', { hasText: '300 credits' }).count()).toBe(1);
  });

  it('shows the amber warning banner once 75% is used early in the cycle', async () => {
    const summary = await openAccount('warn');
    const used = await credits.recordUsage('warn', { feature: 'enrichment', quantity: 1_200, idempotencyKey: 'warn-1' });
    expect(used.accepted).toBe(true);
    await openPage('warn');

    const banner = page.getByRole('alert');
    expect(await banner.isVisible()).toBe(true);
    expect(await banner.getAttribute('data-state')).toBe('warning');
    expect((await banner.textContent())?.replace(/\s+/g, ' ')).toContain(
      `You've used ≥75% of your credits and are on pace to run out before ${summary.cycle.end.slice(0, 10)}.`,
    );
    expect(await text('#used-percent')).toBe('80% used this cycle');
    await expectBannerColour('warning', BANNER_COLOURS.warning.background, BANNER_COLOURS.warning.border);
  });

  it("lists the warning's in-app notification and marks it read", async () => {
    await untilLedger('the warning notification', async () => (await store.listNotifications('warn')).length > 0);
    await openPage('warn');
    const item = page.locator('#notifications li').first();
    expect(await item.getAttribute('class')).toBe('unread');
    expect(await text('#notifications li .headline')).toBe('AI credits running low: 80% used');
    expect(await text('#unread-count')).toBe('1 unread');
    await page.screenshot({ path: join(SCREENSHOTS, 'warning-full.png'), fullPage: true });

    await item.getByRole('button', { name: 'Mark as read' }).click();
    await page.waitForURL(/\/accounts\/warn#notifications$/);
    expect(await page.locator('#notifications li').first().getAttribute('class')).toBe('read');
    expect(await text('#notifications li .badge-read')).toMatch(/^Read \d{4}-\d{2}-\d{2}$/);
    expect(await page.locator('#unread-count').count()).toBe(0);
    const [stored] = await store.listNotifications('warn');
    expect(stored?.readAt).not.toBeNull();

    // Marking it again changes nothing; a post from another site is refused.
    const url = `${admin.url}/accounts/warn/notifications/${encodeURIComponent(stored?.alertId ?? '')}/read`;
    const again = await fetch(url, { method: 'POST', headers: { accept: 'application/json' } });
    expect(await again.json()).toEqual({ notification: expect.objectContaining({ alertId: stored?.alertId, readAt: stored?.readAt }) });
    const forged = await fetch(url, { method: 'POST', headers: { origin: 'https://evil.example', accept: 'application/json' } });
    expect(forged.status).toBe(403);
    const missing = await fetch(`${admin.url}/accounts/warn/notifications/nope/read`, { method: 'POST', headers: { accept: 'application/json' } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'notification_not_found', message: 'account warn has no notification "nope"' } });
  });

  it('shows the red exhausted banner when credits are fully depleted', async () => {
    const summary = await openAccount('broke');
    const used = await credits.recordUsage('broke', { feature: 'enrichment', quantity: 1_500, idempotencyKey: 'broke-1' });
    expect(used).toMatchObject({ accepted: true, balance: 0 });
    await openPage('broke');
    const banner = page.getByRole('alert');
    expect(await banner.getAttribute('data-state')).toBe('exhausted');
    expect((await banner.textContent())?.replace(/\s+/g, ' ')).toContain(
      'Credits are fully depleted: Chloe Voice Agents, Enrichment and Auto Updates are paused until credits are added; free features keep working.',
    );
    expect(await text('#credits-remaining')).toBe('0');
    expect(await text('#credit-banner')).toContain(`Credits reset on ${summary.cycle.end.slice(0, 10)}`);
    await expectBannerColour('exhausted', BANNER_COLOURS.exhausted.background, BANNER_COLOURS.exhausted.border);
  });

  it('shows a tier downgrade waiting for the next cycle', async () => {
    const summary = await openAccount('tiered', { creditTier: 'tier-4' });
    const change = await credits.changeCreditTier('tiered', { tier: 'tier-1' });
    expect(change.effective).toBe('next_cycle');
    await openPage('tiered');
    expect(await text('#tier')).toContain('Tier 4: $150/month for 11,400 credits');
    expect(await text('#pending-tier')).toBe(`Tier 4 → Tier 1 on ${summary.cycle.end.slice(0, 10)}`);
    expect(await text('#credits-remaining')).toBe('12,900');
    expect(await text('#grants tbody')).toContain('Tier 4');
    expect(await text('[data-toggle="enrichment"]')).toBe('On');
    await page.screenshot({ path: join(SCREENSHOTS, 'tiered.png') });
  });
});

describe('the usage CSV download', () => {
  it("downloads this cycle's usage rows with a header row", async () => {
    await untilLedger("busy's usage entries", async () => {
      let rows = 0;
      for await (const entry of store.streamEntries({ accountId: 'busy', kinds: ['usage'] })) rows += entry.decision === 'accepted' ? 1 : 0;
      return rows >= 2;
    });
    await openPage('busy');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv-current').click()]);
    expect(download.suggestedFilename()).toBe('ai-credits-usage-busy-cycle-1.csv');
    const file = await download.path();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(',busy,ann,enrichment,300,field,300,');
    expect(lines[2]).toContain(',busy,bob,auto-updates,50,call,100,');
  });

  it('exports a date range, and refuses bad parameters with a clear 400', async () => {
    const today = new Date((await env.currentTimeMs()) as number).toISOString().slice(0, 10);
    const range = await fetch(`${admin.url}/accounts/busy/usage.csv?from=2020-01-01&to=${today}`);
    expect(range.status).toBe(200);
    expect(range.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(range.headers.get('content-disposition')).toBe(`attachment; filename="ai-credits-usage-busy-2020-01-01_to_${today}.csv"`);
    expect((await range.text()).split('\r\n').filter((l) => l !== '')).toHaveLength(3);

    const empty = await fetch(`${admin.url}/accounts/busy/usage.csv?from=2020-01-01&to=2020-02-01`);
    expect(await empty.text()).toBe(`${CSV_COLUMNS.join(',')}\r\n`);

    const bad = await fetch(`${admin.url}/accounts/busy/usage.csv?cycle=last`, { headers: { accept: 'application/json' } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: { code: 'bad_request', message: 'cycle must be a whole number from 1 to 1, the current cycle (got "last")' },
    });
    const page400 = await page.goto(`${admin.url}/accounts/busy/usage.csv?from=2026-13-01&to=2026-06-01`);
    expect(page400?.status()).toBe(400);
    expect(await text('#error')).toContain('from must be a date like 2026-06-01');
  });
});

describe('the JSON endpoint and errors', () => {
  it('answers the summary and notifications as JSON', async () => {
    const response = await fetch(`${admin.url}/api/accounts/busy`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as { summary: AccountSummary; notifications: unknown[] };
    expect(body.summary).toMatchObject({ accountId: 'busy', credits: { available: 2_600, used: 400 }, alert: 'ok' });
    expect(body.summary.usage.map((u) => u.feature).sort()).toEqual(['auto-updates', 'enrichment']);
    expect(body.notifications).toEqual([]);

    const warned = (await (await fetch(`${admin.url}/api/accounts/warn`)).json()) as { notifications: { state: string }[] };
    expect(warned.notifications).toMatchObject([{ state: 'warning' }]);
  });

  it('answers an unknown account with a 404 page and a JSON error, never a stack trace', async () => {
    const response = await page.goto(`${admin.url}/accounts/nobody`);
    expect(response?.status()).toBe(404);
    expect(await text('h1')).toBe('Account not found');
    expect(await text('#error')).toContain('unknown account nobody');
    expect(await page.content()).not.toMatch(/\n\s+at /);

    const json = await fetch(`${admin.url}/api/accounts/nobody`);
    expect(json.status).toBe(404);
    expect(await json.json()).toEqual({
      error: { code: 'account_not_found', message: expect.stringContaining('unknown account nobody') },
    });
    const invalid = await fetch(`${admin.url}/api/accounts/${encodeURIComponent('no such/id')}`);
    expect(invalid.status).toBe(404);
    const csv = await fetch(`${admin.url}/accounts/nobody/usage.csv`);
    expect(csv.status).toBe(404);
    expect(await fetch(`${admin.url}/nowhere`).then((r) => r.status)).toBe(404);
  });

  it('answers 503 with the reason when the ledger database is unavailable', async () => {
    const closed = await openLedgerStore({ url: 'pglite:memory' });
    await closed.close();
    const degraded = await startAdminServer({ client: credits, store: closed, port: 0, log: () => undefined });
    try {
      const html = await fetch(`${degraded.url}/accounts/busy`);
      expect(html.status).toBe(503);
      expect(await html.text()).toContain('Usage ledger unavailable');
      // The CSV waits for its header row, so a dead database is an error answer, not a broken download.
      const csv = await fetch(`${degraded.url}/accounts/busy/usage.csv`, { headers: { accept: 'application/json' } });
      expect(csv.status).toBe(503);
      expect(await csv.json()).toEqual({ error: { code: 'ledger_unavailable', message: expect.stringContaining('is closed') } });
    } finally {
      await degraded.close();
    }
  });

  it('opens an account from the index form', async () => {
    await page.goto(admin.url);
    await page.getByLabel('Account id').fill('fresh');
    await page.getByRole('button', { name: 'Open' }).click();
    await page.waitForURL(`${admin.url}/accounts/fresh`);
    expect(await text('#account-id')).toBe('fresh');
  });
});

describe('the account over time', () => {
  /** Rendered text, table cells apart (textContent runs a row's cells together). */
  async function shown(selector: string): Promise<string> {
    return (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim();
  }

  it('shows the daily chart, the run-out date, usage by user, billing history and the credit ledger', async () => {
    // Growth, 1 user (1,500 credits) and Tier 1 (1,200 credits, $20).
    await openAccount('history', { creditTier: 'tier-1' });
    expect((await credits.recordUsage('history', { feature: 'enrichment', quantity: 1_800, idempotencyKey: 'h-1', userId: 'ann' })).accepted).toBe(true);
    expect((await credits.recordUsage('history', { feature: 'auto-updates', quantity: 150, idempotencyKey: 'h-2', userId: 'bob' })).accepted).toBe(true);
    const summary = await credits.summary('history');
    expect(summary.alert).toBe('warning');
    expect(summary.projectedRunOutAt).toEqual(expect.any(String));
    await untilLedger('both users and the charge', async () =>
      (await store.usageByUser({ accountId: 'history' })).length === 2 && (await store.listCharges('history')).length === 1);

    await openPage('history');
    expect(await page.locator('#credit-banner #run-out').isVisible()).toBe(true);
    expect(await shown('#run-out')).toContain(`Projected to run out on ${(summary.projectedRunOutAt ?? '').slice(0, 10)} at `);
    const credited = await page.locator('#daily-chart rect.bar').evaluateAll((bars) => bars.map((b) => Number(b.getAttribute('data-credits'))));
    expect(credited.reduce((a, b) => a + b, 0)).toBe(2_100);
    expect(await shown('#usage-by-user-table tr[data-user="ann"]')).toBe('ann 1,800 1 0');
    expect(await shown('#usage-by-user-table tr[data-user="bob"]')).toBe('bob 300 1 0');
    expect(await shown('#billing-table tbody')).toMatch(/^\d{4}-\d{2}-\d{2} Tier 1 \S.* \$20 1$/);
    expect(await shown('#next-charge')).toBe(`Next charge: $20 for Tier 1 on ${summary.cycle.end.slice(0, 10)}.`);
    expect(await page.locator('#credit-ledger-table tr[data-kind="grant"]').count()).toBe(2);

    const highest = page.locator(`#daily-chart rect.bar[data-credits="${Math.max(...credited)}"]`);
    await highest.scrollIntoViewIfNeeded();
    const box = await highest.boundingBox();
    expect(box?.height).toBeGreaterThan(120);
    const png = await page.screenshot({ path: join(SCREENSHOTS, 'history.png') });
    const bar = box as NonNullable<typeof box>;
    expect(colourShare(png, { x: bar.x + 2, y: bar.y + 2, width: bar.width - 4, height: bar.height - 4 }, BAR_COLOUR)).toBeGreaterThan(0.9);
    await page.screenshot({ path: join(SCREENSHOTS, 'history-full.png'), fullPage: true });
  });
});
