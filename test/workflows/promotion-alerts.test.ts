/**
 * Alerts when a promotion's credits end with a reset, on the time-skipping server: a trial,
 * which gets no included credits at a reset, is left with none and must be told; a paid account
 * is topped up by the same reset and is not. Its own file: the promotion date is set relative to
 * the test server's clock, which this test moves by months.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { promotionOpenSince } from '../helpers/rules-variants';
import { recordUsageUpdate, summaryQuery } from '../../workflows/messages';

// The promotion began 20 days ago; its window (two cycles) ends in about 40 days.
const { ruleSet, anchor } = promotionOpenSince(20);

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite(ruleSet);
});
afterAll(async () => {
  await suite?.teardown();
});

const alertsOf = (accountId: string) => suite.acts.alerts.filter((a) => a.accountId === accountId);


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
  }, 240_000);
});
