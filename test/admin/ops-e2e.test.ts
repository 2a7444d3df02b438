/**
 * Both audiences of the admin page end to end, in headless Chromium, against everything real:
 * the Temporal dev server with the accounts' search attributes (its visibility store answers
 * the ops view's filters, which the time-skipping server cannot), a worker running the real
 * workflow and the real activities over an embedded ledger in a temporary directory, and the
 * admin server with access control on (an operator key, a portal secret). An operator signs in
 * and filters the account list; a customer admin opens their own account through a signed
 * link, reads its history, switches Enrichment off and buys a tier; a screenshot is checked.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { startAdminServer, type AdminServer } from '../../admin/server';
import { BANNER_COLOURS, BAR_COLOUR } from '../../admin/styles';
import { generateApiKey, hashApiKey } from '../../api/keys';
import { CreditsClient, mintPortalLink, type AccountSummary } from '../../client';
import { projectRoot } from '../../infra/project-root';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { defaultRulesPath } from '../../ruleset';
import { waitFor } from '../helpers/wait-for';
import { devServerEnv, startWorker } from '../helpers/workflow-harness';
import { colourShare, launchChromium } from './browser';

/** Screenshots land here for a person to look at; git ignores /tmp/. */
const SCREENSHOTS = join(projectRoot(), 'tmp', 'admin-screenshots');
const SECRET = 'e'.repeat(48);
const OPERATOR_KEY = generateApiKey();
/** Generous: two shared cores, and visibility and the ledger both lag the workflow by a moment. */
const SETTLE_MS = 30_000;

const ledgerDir = mkdtempSync(join(tmpdir(), 'ops-e2e-ledger-'));
let env: TestWorkflowEnvironment | undefined;
let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
let store: LedgerStore | undefined;
let admin: AdminServer | undefined;
let browser: Browser | undefined;
let credits: CreditsClient;
let warned: AccountSummary;
const logged: string[] = [];

beforeAll(async () => {
  let ledger: LedgerStore;
  let server: TestWorkflowEnvironment;
  [server, ledger, browser] = await Promise.all([devServerEnv(), openLedgerStore({ url: `pglite:${ledgerDir}` }), launchChromium()]);
  env = server;
  store = ledger;
  const quiet = { info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };
  worker = await startWorker(server, createActivities({ store: ledger, rules: defaultRulesPath(), mailer: null, log: quiet }));
  credits = new CreditsClient(server.client, { taskQueue: worker.taskQueue });
  admin = await startAdminServer({
    client: credits,
    store: ledger,
    port: 0,
    log: (message) => logged.push(message),
    access: { operatorKeys: [{ hash: Buffer.from(hashApiKey(OPERATOR_KEY), 'hex') }], portalSecret: SECRET },
  });
  mkdirSync(SCREENSHOTS, { recursive: true });

  // Anchored two days ago, so 80% used by now is on pace to run out long before the reset.
  const cycleAnchor = new Date(Date.now() - 2 * 86_400_000).toISOString();
  await Promise.all([
    credits.startAccount({ accountId: 'e2e-warn', plan: 'growth', users: 1, cycleAnchor, tags: ['pilot'] }),
    credits.startAccount({ accountId: 'e2e-big', plan: 'growth', users: 2, cycleAnchor, creditTier: 'tier-3', tags: ['chloe-beta'] }),
    credits.startAccount({ accountId: 'e2e-scale', plan: 'scale', users: 1, cycleAnchor, creditTier: 'tier-3', trial: true }),
  ]);
  const used = await credits.recordUsage('e2e-warn', { feature: 'enrichment', quantity: 1_200, idempotencyKey: 'e2e-warn-1', userId: 'ann' });
  expect(used.accepted).toBe(true);
  warned = await credits.summary('e2e-warn');
  expect(warned.alert).toBe('warning');
  expect(warned.projectedRunOutAt).toEqual(expect.any(String));
});
afterAll(async () => {
  await browser?.close();
  await admin?.close();
  await worker?.stop();
  await env?.teardown();
  await store?.close();
  rmSync(ledgerDir, { recursive: true, force: true });
});

/** Rendered text, table cells apart (textContent runs a row's cells together). */
async function shown(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim();
}

async function listedAccounts(page: Page): Promise<string[]> {
  return (await page.locator('#accounts tbody tr[data-account]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-account') ?? ''))).sort();
}

/**
 * Reloads the ops list until it shows exactly `expected`: the list reads the visibility store,
 * which catches up with the workflows' search attributes a moment after they change.
 */
async function untilListed(page: Page, expected: string[]): Promise<void> {
  let last: string[] = [];
  await waitFor(
    async () => {
      last = await listedAccounts(page);
      if (JSON.stringify(last) === JSON.stringify(expected)) return true;
      await page.reload();
      return false;
    },
    `the list to show ${expected.join(', ')} (last showed ${last.join(', ') || 'none'})`,
    SETTLE_MS,
  );
}

describe('the admin page end to end on the dev server', () => {
  it('lets an operator sign in with the key and filter the accounts by tier and by alert', async () => {
    const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      const base = (admin as AdminServer).url;
      // Signed out, the list is refused with a page, not shown.
      expect((await page.goto(`${base}/ops/accounts`))?.status()).toBe(401);

      await page.goto(`${base}/login`);
      await page.getByLabel('Operator key').fill(OPERATOR_KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${base}/`);
      await page.locator('#ops-link').click();
      await page.waitForURL(`${base}/ops/accounts`);
      await untilListed(page, ['e2e-big', 'e2e-scale', 'e2e-warn']);

      await page.locator('#ops-filters input[name="tier"]').fill('tier-3');
      await page.locator('#ops-filters button[type="submit"]').click();
      await page.waitForURL(/\/ops\/accounts\?(.*&)?tier=tier-3/);
      await untilListed(page, ['e2e-big', 'e2e-scale']);
      expect(await shown(page, '#accounts tr[data-account="e2e-scale"]')).toMatch(/^e2e-scale scale tier-3 trial /);

      await page.locator('#ops-filters input[name="tier"]').fill('');
      await page.locator('#ops-filters select[name="alert"]').selectOption('warning');
      await page.locator('#ops-filters button[type="submit"]').click();
      await page.waitForURL(/\/ops\/accounts\?(.*&)?alert=warning/);
      await untilListed(page, ['e2e-warn']);
      expect(await shown(page, '#accounts tr[data-account="e2e-warn"]')).toContain('warning');

      // Each row opens the account, with the operators' actions on it.
      await page.getByRole('link', { name: 'e2e-warn' }).click();
      await page.waitForURL(`${base}/accounts/e2e-warn`);
      expect(await page.locator('#grant-form').count()).toBe(1);
    } finally {
      await context.close();
    }
  });

  it("opens a customer admin's account through a signed link: history, a switch, a tier bought, a screenshot", async () => {
    const ledger = store as LedgerStore;
    const base = (admin as AdminServer).url;
    await waitFor(async () => (await ledger.usageByUser({ accountId: 'e2e-warn' })).length === 1, "e2e-warn's usage in the ledger", SETTLE_MS);

    // A fresh context: no operator session, only what the link gives.
    const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 1000 } });
    try {
      const page = await context.newPage();
      const link = await mintPortalLink('e2e-warn', { secret: SECRET, baseUrl: base, adminEmail: 'ann@example.com' });
      await page.goto(link.url);
      await page.waitForURL(`${base}/accounts/e2e-warn`);
      expect(page.url()).not.toContain('token');
      expect(await shown(page, '#account-id')).toBe('e2e-warn');
      expect(await page.locator('#grant-form').count()).toBe(0);
      expect(logged.some((l) => l.includes('opened e2e-warn for ann@example.com'))).toBe(true);
      // The link opens this account only.
      expect((await page.goto(`${base}/accounts/e2e-big`))?.status()).toBe(403);
      await page.goto(`${base}/accounts/e2e-warn`);

      // The warning with its projected run-out date, and usage by day to the credit.
      expect(await page.locator('#credit-banner').getAttribute('data-state')).toBe('warning');
      expect(await page.locator('#credit-banner #run-out').isVisible()).toBe(true);
      expect(await shown(page, '#run-out')).toContain(`Projected to run out on ${(warned.projectedRunOutAt ?? '').slice(0, 10)} at `);
      const bars = () => page.locator('#daily-chart rect.bar').evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('data-credits'))));
      expect((await bars()).reduce((a, b) => a + b, 0)).toBe(1_200);
      expect(await shown(page, '#usage-by-user-table tr[data-user="ann"]')).toBe('ann 1,200 1 0');
      const warningPng = await page.screenshot({ path: join(SCREENSHOTS, 'ops-e2e-warning.png') });
      const bannerBox = await page.locator('#credit-banner').boundingBox();
      expect(colourShare(warningPng, bannerBox as NonNullable<typeof bannerBox>, BANNER_COLOURS.warning.background)).toBeGreaterThan(0.5);

      // Enrichment off.
      expect(await shown(page, '[data-switch="enrichment"]')).toBe('On');
      await page.locator('#switch-enrichment').click();
      await page.waitForURL(/\/accounts\/e2e-warn#actions$/);
      expect(await shown(page, '#action-result')).toBe('Enrichment is now off.');
      expect(await shown(page, '[data-switch="enrichment"]')).toBe('Off');

      // Buy Tier 2 through the confirm step, which states the price before anything is charged.
      await page.locator('#tier-form select[name="tier"]').selectOption('tier-2');
      await page.locator('#tier-form button').click();
      await page.waitForURL(/\/accounts\/e2e-warn\/actions\/tier\?/);
      expect(await shown(page, '#tier-preview')).toBe(
        'Buy Tier 2: $50 charged now, and 3,200 credits added at once (no proration; the cycle does not move).',
      );
      expect((await credits.summary('e2e-warn')).tier).toBeFalsy();
      await page.locator('#confirm-tier').click();
      await page.waitForURL(/\/accounts\/e2e-warn#actions$/);
      expect(await shown(page, '#action-result')).toBe('Tier 2: $50 charged now; 3,200 credits added.');

      const summary = await credits.summary('e2e-warn');
      expect(summary.features.find((f) => f.feature === 'enrichment')?.enabled).toBe(false);
      expect(summary.tier?.id).toBe('tier-2');
      expect(summary.credits).toMatchObject({ granted: 1_500 + 3_200, used: 1_200, available: 1_500 + 3_200 - 1_200 });
      expect(summary.alert).toBe('ok');

      // The charge and the tier's grant reach the ledger a moment later; then the page shows them.
      await waitFor(async () => (await ledger.listCharges('e2e-warn')).length === 1, "e2e-warn's tier charge in the ledger", SETTLE_MS);
      await waitFor(
        async () => {
          await page.goto(`${base}/accounts/e2e-warn`);
          return (await page.locator('#credit-ledger-table tr[data-kind="grant"]').count()) === 2;
        },
        "the tier's grant in the credit ledger view",
        SETTLE_MS,
      );
      expect(await shown(page, '#billing-table tbody')).toMatch(/^\d{4}-\d{2}-\d{2} Tier 2 \S.* \$50 1$/);
      expect(await shown(page, '#next-charge')).toBe(`Next charge: $50 for Tier 2 on ${summary.cycle.end.slice(0, 10)}.`);
      expect(await page.locator('#credit-banner').count()).toBe(0);
      expect((await bars()).reduce((a, b) => a + b, 0)).toBe(1_200);

      const chart = page.locator('#daily-chart');
      await chart.scrollIntoViewIfNeeded();
      const png = await page.screenshot({ path: join(SCREENSHOTS, 'ops-e2e-portal.png') });
      const image = PNG.sync.read(png);
      expect([image.width, image.height]).toEqual([1280, 1000]);
      // Not blank: not all white.
      expect(colourShare(png, { x: 0, y: 0, width: 1280, height: 1000 }, '#ffffff')).toBeLessThan(0.95);
      // The one day with usage is drawn, in the bar colour.
      const highest = await page.locator('#daily-chart rect.bar[data-credits="1200"]').boundingBox();
      expect(highest?.height).toBeGreaterThan(20);
      const bar = highest as NonNullable<typeof highest>;
      expect(colourShare(png, { x: bar.x + 2, y: bar.y + 2, width: bar.width - 4, height: bar.height - 4 }, BAR_COLOUR)).toBeGreaterThan(0.9);
      await page.screenshot({ path: join(SCREENSHOTS, 'ops-e2e-portal-full.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });
});
