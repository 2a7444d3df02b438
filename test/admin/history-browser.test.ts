/**
 * The account page's "over time" sections in headless Chromium, against a real ledger (embedded
 * PGlite) with a known history: the daily chart drawn to scale (checked in a screenshot), the
 * run-out date inside the warning banner, billing history and the credit ledger, paged.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../admin/server';
import { BANNER_COLOURS, BAR_COLOUR } from '../../admin/styles';
import { projectRoot } from '../../infra/project-root';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { historyCharges, historyEntries } from '../ledger/history-fixtures';
import { colourShare, launchChromium } from './browser';
import { busySummary, summaryClient } from './history-fixtures';

/** Screenshots land here for a person to look at; git ignores /tmp/. */
const SCREENSHOTS = join(projectRoot(), 'tmp', 'admin-screenshots');

let store: LedgerStore;
let admin: AdminServer;
let browser: Browser;
let page: Page;
beforeAll(async () => {
  [store, browser] = await Promise.all([openLedgerStore({ url: 'pglite:memory' }), launchChromium()]);
  await store.appendEntries(historyEntries('busy'));
  for (const charge of historyCharges('busy')) await store.recordCharge(charge);
  admin = await startAdminServer({ client: summaryClient([busySummary('busy')]), store, port: 0, log: () => undefined });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await admin?.close();
  await store?.close();
});

async function text(selector: string): Promise<string> {
  return (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim();
}

describe('the page over time', () => {
  it('shows the run-out date inside the warning banner', async () => {
    expect((await page.goto(`${admin.url}/accounts/busy`))?.status()).toBe(200);
    const note = page.locator('#credit-banner #run-out');
    expect(await note.isVisible()).toBe(true);
    expect(await text('#run-out')).toBe("Projected to run out on 2026-06-20 at 06:00 UTC, 13 days before the reset, at this cycle's pace so far.");
    const png = await page.screenshot({ path: join(SCREENSHOTS, 'history-banner.png') });
    const box = await note.boundingBox();
    expect(box).not.toBeNull();
    // The note sits on the banner's fill, not outside it.
    expect(colourShare(png, box as NonNullable<typeof box>, BANNER_COLOURS.warning.background)).toBeGreaterThan(0.5);
  });

  it('draws usage by day to scale, the highest day full height', async () => {
    const chart = page.locator('#daily-chart');
    await chart.scrollIntoViewIfNeeded();
    expect(await page.locator('#daily-chart rect.bar').count()).toBe(30);
    const highest = await page.locator('rect.bar[data-day="2026-06-06"]').boundingBox();
    const third = await page.locator('rect.bar[data-day="2026-06-03"]').boundingBox();
    const empty = await page.locator('rect.bar[data-day="2026-06-04"]').getAttribute('height');
    expect(highest?.height).toBeGreaterThan(120);
    expect((third?.height ?? 0) / (highest?.height ?? 1)).toBeCloseTo(12 / 21, 1);
    expect(empty).toBe('0');
    const png = await page.screenshot({ path: join(SCREENSHOTS, 'history-daily-chart.png') });
    const bar = highest as NonNullable<typeof highest>;
    // The bar is drawn in the bar colour, not just present in the markup.
    expect(colourShare(png, { x: bar.x + 2, y: bar.y + 2, width: bar.width - 4, height: bar.height - 4 }, BAR_COLOUR)).toBeGreaterThan(0.9);
    expect(await text('#usage-by-day-total')).toContain('33 credits in 4 uses, 1 refused');
  });

  it('shows usage by user, billing history and the newest credit movements', async () => {
    expect(await text('#usage-by-user-table tr[data-user="user-b"]')).toBe('user-b 7 1 1');
    expect(await text('#next-charge')).toBe('Next charge: $100 for Tier 3 on 2026-07-03 (the downgrade waiting for the next cycle).');
    expect(await text('#billing-table tbody')).toBe('2026-06-10 Tier 5 Upgrade $200 1 2026-06-03 Tier 3 Monthly renewal $100 1');
    expect(await page.locator('#credit-ledger-table tbody tr').count()).toBe(5);
    expect(await text('#credit-ledger-table tr[data-kind="void"]')).toBe('2026-06-07 09:00 UTC Usage voided -3 9,986 voided: duplicate 1');
    await page.locator('#billing-history').screenshot({ path: join(SCREENSHOTS, 'history-billing.png') });
    await page.locator('#credit-ledger').screenshot({ path: join(SCREENSHOTS, 'history-ledger.png') });
  });

  it('pages the credit ledger through its own page', async () => {
    await page.goto(`${admin.url}/accounts/busy/credit-ledger?limit=2`);
    expect(await page.locator('tr[data-seq]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-seq')))).toEqual(['11', '9']);
    await page.locator('#ledger-older').click();
    await page.waitForURL(/before=9/);
    expect(await page.locator('tr[data-seq]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-seq')))).toEqual(['8', '7']);
    await page.locator('#ledger-older').click();
    await page.waitForURL(/before=7/);
    expect(await page.locator('tr[data-seq]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-seq')))).toEqual(['1']);
    expect(await page.locator('#ledger-older').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'history-ledger-last-page.png'), fullPage: true });
  });
});
