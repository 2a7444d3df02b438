/**
 * AI Credit Subscription tiers with their charges, and manual grants, on the time-skipping
 * server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { changeCreditTierUpdate, grantCreditsUpdate, recordUsageUpdate, summaryQuery } from '../../workflows/messages';

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite();
});
afterAll(async () => {
  await suite?.teardown();
});

const chargesOf = (accountId: string) => suite.acts.charges.filter((c) => c.accountId === accountId);

describe('credit tiers', () => {
  it('charges the tier at each cycle start; an upgrade charges full price now; a downgrade waits', async () => {
    const h = await suite.open({ accountId: 'tier-1', plan: 'growth', users: 2, creditTier: 'tier-2' }, 3);
    expect((await h.query(summaryQuery)).credits.available).toBe(3000 + 3200);
    await waitFor(() => chargesOf('tier-1').length === 1, 'the first tier charge');
    expect(chargesOf('tier-1').map((c) => [c.tierId, c.amountCents, c.reason])).toEqual([['tier-2', 5000, 'cycle_start']]);

    await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 1000, idempotencyKey: 'u1' }] });
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-4' }] })).toEqual({
      effective: 'now',
      chargedCents: 15000,
      creditsGranted: 11400,
    });
    const upgraded = await h.query(summaryQuery);
    expect(upgraded.tier).toEqual({ id: 'tier-4', name: 'Tier 4', priceCents: 15000, credits: 11400 });
    expect(upgraded.credits.available).toBe(3000 + 3200 - 1000 + 11400);
    const cycleEnd = upgraded.cycle.end;

    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-1' }] })).toEqual({
      effective: 'next_cycle',
      chargedCents: 0,
      creditsGranted: 0,
    });
    expect((await h.query(summaryQuery)).pendingTier).toEqual({ tier: 'tier-1', effectiveAt: cycleEnd });
    await waitFor(() => chargesOf('tier-1').length === 2, 'the upgrade charge');

    await suite.env.sleep(Date.parse(cycleEnd) - (await suite.now()) + 1000);
    const next = await h.query(summaryQuery);
    expect(next.cycle.start).toBe(cycleEnd);
    expect(next.tier?.id).toBe('tier-1');
    expect(next.pendingTier).toBeNull();
    expect(next.credits.available).toBe(3000 + 1200);
    await waitFor(() => chargesOf('tier-1').length === 3, 'the next cycle charge');
    expect(chargesOf('tier-1').map((c) => [c.tierId, c.amountCents, c.reason])).toEqual([
      ['tier-2', 5000, 'cycle_start'],
      ['tier-4', 15000, 'upgrade'],
      ['tier-1', 2000, 'cycle_start'],
    ]);
    // Each charge was asked for once: no retry billed twice.
    expect(chargesOf('tier-1').every((c) => suite.acts.chargeAttempts.get(c.chargeId) === 1)).toBe(true);
  });

  it('cancelling ends the subscription at the next cycle; an upgrade before then cancels the cancellation', async () => {
    const h = await suite.open({ accountId: 'tier-2', plan: 'growth', users: 1, creditTier: 'tier-3' });
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: null }] })).toMatchObject({ effective: 'next_cycle' });
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-5' }] })).toMatchObject({ effective: 'now', chargedCents: 20000 });
    expect((await h.query(summaryQuery)).pendingTier).toBeNull();
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: null }] })).toMatchObject({ effective: 'next_cycle' });
    await suite.env.sleep('31 days');
    const s = await h.query(summaryQuery);
    expect(s.tier).toBeNull();
    expect(s.credits.available).toBe(1500);
  });
});

describe('manual grants', () => {
  it('grant credits for N cycles, idempotently', async () => {
    const h = await suite.open({ accountId: 'grant-1', plan: 'solo', users: 1 });
    const input = { credits: 250, reason: 'service credit for outage', validForCycles: 2, idempotencyKey: 'ticket-42' };
    const first = await h.executeUpdate(grantCreditsUpdate, { args: [input] });
    const again = await h.executeUpdate(grantCreditsUpdate, { args: [input] });
    expect(again).toEqual({ ...first, duplicate: true });
    const s = await h.query(summaryQuery);
    expect(s.credits.available).toBe(750);
    const cycleAfterNext = new Date(Date.parse(s.cycle.end));
    expect(Date.parse(first.expiresAt)).toBeGreaterThan(cycleAfterNext.getTime());
    await suite.env.sleep(Date.parse(s.cycle.end) - (await suite.now()) + 1000);
    expect((await h.query(summaryQuery)).credits.available).toBe(750);
    await suite.env.sleep(Date.parse(first.expiresAt) - (await suite.now()) + 1000);
    expect((await h.query(summaryQuery)).credits.available).toBe(500);
  });
});
