/**
 * The "over time" sections end to end: the real account workflow on the time-skipping server,
 * the real activities writing the ledger (embedded PGlite in a temporary directory), the admin
 * server, and headless Chromium reading the chart, the run-out date in the warning banner,
 * usage by user, billing history and the credit ledger as an admin would.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { startAdminServer, type AdminServer } from '../../admin/server';
import { BAR_COLOUR } from '../../admin/styles';
import { CreditsClient, type AccountSummary } from '../../client';
import { projectRoot } from '../../infra/project-root';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { defaultRulesPath } from '../../ruleset';
import { startWorker, timeSkippingEnv } from '../helpers/workflow-harness';
import { colourShare, launchChromium } from './browser';

const SCREENSHOTS = join(projectRoot(), 'tmp', 'admin-screenshots');

let env: TestWorkflowEnvironment;
let worker: Awaited<ReturnType<typeof startWorker>>;
let store: LedgerStore;
let credits: CreditsClient;
let admin: AdminServer;
let browser: Browser;
let page: Page;
const ledgerDir = mkdtempSync(join(tmpdir(), 'admin-history-'));

beforeAll(async () => {
  [env, store, browser] = await Promise.all([timeSkippingEnv(), openLedgerStore({ url: `pglite:${ledgerDir}` }), launchChromium()]);
  const quiet = { info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };
  worker = await startWorker(env, createActivities({ store, rules: defaultRulesPath(), mailer: null, log: quiet }));
  credits = new CreditsClient(env.client, { taskQueue: worker.taskQueue });
  admin = await startAdminServer({ client: credits, store, port: 0 });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await admin?.close();
  await worker?.stop();
  await env?.teardown();
  await store?.close();
  rmSync(ledgerDir, { recursive: true, force: true });
});

async function text(selector: string): Promise<string> {
  return (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim();
}

describe('the account over time, end to end', () => {
  it('shows the chart, run-out date, usage by user, billing history and ledger from the real workflow and ledger', async () => {
    const now = Math.min(Date.now(), (await env.currentTimeMs()) as number);
    // Growth, 1 user (1,500 credits) and Tier 1 (1,200 credits, $20), opened two days ago.
    await credits.startAccount({ accountId: 'history', plan: 'growth', users: 1, creditTier: 'tier-1', cycleAnchor: new Date(now - 2 * 86_400_000).toISOString() });
    expect((await credits.recordUsage('history', { feature: 'enrichment', quantity: 1_800, idempotencyKey: 'h-1', userId: 'ann' })).accepted).toBe(true);
    expect((await credits.recordUsage('history', { feature: 'auto-updates', quantity: 150, idempotencyKey: 'h-2', userId: 'bob' })).accepted).toBe(true);
    const summary = (await credits.summary('history')) as AccountSummary;
    expect(summary.alert).toBe('warning');
    expect(summary.projectedRunOutAt).toEqual(expect.any(String));

    // Ledger writes linger a few seconds of workflow time; the time-skipping server skips only when asked.
    for (let i = 0; i < 40 && (await store.usageByUser({ accountId: 'history' })).length < 2; i++) {
      await env.sleep('3 seconds');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await store.listCharges('history')).length).toBe(1);

    expect((await page.goto(`${admin.url}/accounts/history`))?.status()).toBe(200);
    expect(await page.locator('#credit-banner #run-out').isVisible()).toBe(true);
    expect(await text('#run-out')).toContain(`Projected to run out on ${(summary.projectedRunOutAt ?? '').slice(0, 10)} at `);

    const credited = await page.locator('#daily-chart rect.bar').evaluateAll((bars) => bars.map((b) => Number(b.getAttribute('data-credits'))));
    expect(credited.reduce((a, b) => a + b, 0)).toBe(2_100);
    expect(await text('#usage-by-user-table tr[data-user="ann"]')).toBe('ann 1,800 1 0');
    expect(await text('#usage-by-user-table tr[data-user="bob"]')).toBe('bob 300 1 0');
    expect(await text('#billing-table tbody')).toContain('Tier 1');
    expect(await text('#billing-table tbody')).toContain('$20');
    expect(await text('#next-charge')).toBe(`Next charge: $20 for Tier 1 on ${summary.cycle.end.slice(0, 10)}.`);
    expect(await page.locator('#credit-ledger-table tr[data-kind="grant"]').count()).toBe(2);

    const highest = page.locator('#daily-chart rect.bar[data-credits="2100"]');
    await highest.scrollIntoViewIfNeeded();
    const box = await highest.boundingBox();
    expect(box?.height).toBeGreaterThan(120);
    const png = await page.screenshot({ path: join(SCREENSHOTS, 'history-e2e.png') });
    const bar = box as NonNullable<typeof box>;
    expect(colourShare(png, { x: bar.x + 2, y: bar.y + 2, width: bar.width - 4, height: bar.height - 4 }, BAR_COLOUR)).toBeGreaterThan(0.9);
    await page.screenshot({ path: join(SCREENSHOTS, 'history-e2e-full.png'), fullPage: true });
  });
});
