/**
 * A closed account restarted on purpose, and a promotion's edges, on the time-skipping server:
 * a restart inside a promotion's window (granted once per account) and inside a billing period
 * its earlier workflow paid a tier for (started on that tier); a promotion's credits ending with
 * a reset (a trial, which gets no included credits at a reset, is left with none and must be
 * told; a paid account is topped up by the same reset and is not). Its own file: the promotion
 * date is set relative to the test server's clock, which the last test moves by months.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAccount, untilOpen, workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { patchIds } from '../helpers/patch-markers';
import { RESTART_FACTS_PATCH } from '../../workflows/account-credits';
import { waitFor } from '../helpers/wait-for';
import { rulesWithPromotionOn } from '../helpers/rules-variants';
import { WorkflowFailedError } from '@temporalio/client';
import { changeCreditTierUpdate, recordUsageUpdate, summaryQuery } from '../../workflows/messages';

const DAY = 86_400_000;
// The promotion began 20 days ago; accounts anchored a month before it have their first cycle
// of the window start on the promotion date, so the window (two cycles) ends in about 40 days.
const promotionDate = new Date(Date.now() - 20 * DAY);
const promotionDay = promotionDate.toISOString().slice(0, 10);
const anchor = new Date(Date.UTC(promotionDate.getUTCFullYear(), promotionDate.getUTCMonth() - 1, promotionDate.getUTCDate())).toISOString();

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite(rulesWithPromotionOn(promotionDay));
});
afterAll(async () => {
  await suite?.teardown();
});

const alertsOf = (accountId: string) => suite.acts.alerts.filter((a) => a.accountId === accountId);

describe('a closed account restarted inside the window', () => {
  it('is not granted the promotion its earlier workflow was granted', async () => {
    const input = { accountId: 'promo-restart', plan: 'growth', users: 1, tags: ['chloe-beta'], cycleAnchor: anchor };
    const first = await suite.open(input);
    expect((await first.query(summaryQuery)).grants.filter((g) => g.source === 'promotion').map((g) => g.amount)).toEqual([100_000]);
    await waitFor(() => suite.acts.ledger.some((e) => e.accountId === 'promo-restart' && e.source === 'promotion'), "the first workflow's promotion entry");
    await first.terminate('closed by ops');

    const again = await startAccount(suite.env.client, suite.taskQueue, { ...input, restartClosed: true });
    await untilOpen(again);
    const restarted = await again.query(summaryQuery);
    expect(restarted.grants.map((g) => g.source)).toEqual(['included']);
    expect(restarted.credits.available).toBe(1_500);
    expect(patchIds(await again.fetchHistory())).toContain(RESTART_FACTS_PATCH);
    const grantsOfPromotion = suite.acts.ledger.filter((e) => e.accountId === 'promo-restart' && e.kind === 'grant' && e.source === 'promotion');
    expect(grantsOfPromotion).toHaveLength(1);
    await again.terminate('done');
  });
});

describe('a closed account restarted inside a billing period it paid a tier for', () => {
  it('starts only on the tier it paid for, charged nothing again; a tier change after it is charged as any is', async () => {
    const input = { accountId: 'tier-restart', plan: 'growth', users: 1, creditTier: 'tier-4', cycleAnchor: anchor };
    const first = await suite.open(input);
    const { cycle } = await first.query(summaryQuery);
    const periodCharge = `tier-restart:tier:${cycle.start}`;
    await waitFor(() => suite.acts.charges.some((c) => c.chargeId === periodCharge), "the period's tier charge");
    await first.terminate('closed by ops');

    // On another tier, or none: refused before opening, nothing granted or charged.
    for (const creditTier of ['tier-6', null]) {
      const other = await startAccount(suite.env.client, suite.taskQueue, { ...input, creditTier, restartClosed: true });
      const err = await other.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).toMatchObject({
        type: 'InvalidStartInput',
        message:
          `account tier-restart was billed for tier-4 this billing period (charge ${periodCharge}, 15000 cents) under its earlier workflow: ` +
          `restart it with creditTier "tier-4" (${creditTier === null ? 'this start has no tier' : 'this start asks for "tier-6"'}), ` +
          'then change the tier: an upgrade is charged in full at once, a downgrade applies at the next cycle',
      });
    }
    expect(suite.acts.charges.filter((c) => c.accountId === 'tier-restart')).toHaveLength(1);

    const again = await startAccount(suite.env.client, suite.taskQueue, { ...input, restartClosed: true });
    await untilOpen(again);
    expect((await again.query(summaryQuery)).tier).toMatchObject({ id: 'tier-4' });
    expect(await again.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-6' }] })).toMatchObject({ tier: 'tier-6', effective: 'now', chargedCents: 30_000 });
    await waitFor(() => suite.acts.charges.filter((c) => c.accountId === 'tier-restart').length === 2, 'the upgrade charge');
    expect(suite.acts.charges.filter((c) => c.accountId === 'tier-restart').map((c) => [c.reason, c.tierId, c.amountCents])).toEqual([
      ['cycle_start', 'tier-4', 15_000],
      ['upgrade', 'tier-6', 30_000],
    ]);
    await again.terminate('done');
  });
});

describe('a promotion ending at a reset', () => {
  it('tells a trial left with no credits that it is exhausted, once, and not a paid account the reset tops up', async () => {
    const trial = await suite.open({ accountId: 'promo-trial', plan: 'growth', users: 1, trial: true, tags: ['chloe-beta'], admins: ['ops@acme.test'], cycleAnchor: anchor });
    const paid = await suite.open({ accountId: 'promo-paid', plan: 'growth', users: 1, tags: ['chloe-beta'], admins: ['ops@acme.test'], cycleAnchor: anchor });
    const opened = await trial.query(summaryQuery);
    const promotion = opened.grants.find((g) => g.source === 'promotion');
    expect(promotion).toMatchObject({ amount: 100_000 });
    await trial.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 600, idempotencyKey: 'u1' }] });

    await suite.env.sleep(Date.parse(promotion?.expiresAt ?? '') - (await suite.now()) + 5_000);
    const after = await trial.query(summaryQuery);
    expect(after.cycle.start).toBe(promotion?.expiresAt);
    expect(after.credits.available).toBe(0);
    expect(after.alert).toBe('exhausted');
    const exhausted = await waitFor(() => alertsOf('promo-trial').find((a) => a.state === 'exhausted'), "promo-trial's exhausted alert");
    expect(exhausted).toMatchObject({ cycleIndex: after.cycle.index, available: 0, granted: 0, used: 0, admins: ['ops@acme.test'], trial: { endsAt: expect.any(String) } });
    expect(alertsOf('promo-trial').map((a) => a.state)).toEqual(['exhausted']);

    const paidAfter = await paid.query(summaryQuery);
    expect(paidAfter.grants.some((g) => g.source === 'promotion')).toBe(false);
    expect(paidAfter.credits.available).toBe(1_500);
    expect(alertsOf('promo-paid')).toEqual([]);

    // The next reset grants the trial nothing again: it was told already.
    await suite.env.sleep(Date.parse(after.cycle.end) - (await suite.now()) + 5_000);
    const later = await trial.query(summaryQuery);
    expect(later.cycle.index).toBe(after.cycle.index + 1);
    await suite.env.sleep('5 seconds');
    expect(alertsOf('promo-trial').map((a) => a.state)).toEqual(['exhausted']);
  }, 120_000);
});
