/**
 * AI Credit Subscription tiers with their charges, and manual grants, on the time-skipping
 * server; and a tier or users change whose answer was lost, retried with the same update id
 * into the account's next run (UPDATE_ANSWERS_PATCH: the server answers a repeated id only
 * within the run that applied it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { patchIds } from '../helpers/patch-markers';
import { changeCreditTierUpdate, grantCreditsUpdate, recordUsageUpdate, setUsersUpdate, summaryQuery } from '../../workflows/messages';
import { UPDATE_ANSWERS_PATCH } from '../../workflows/account-credits';

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite();
});
afterAll(async () => {
  await suite?.teardown();
});

const chargesOf = (accountId: string) => suite.acts.charges.filter((c) => c.accountId === accountId);
const ledgerOf = (accountId: string) => suite.acts.ledger.filter((e) => e.accountId === accountId);

/** Sleep the server's clock past `instant` and wait for the run that the reset continued into. */
async function pastReset(h: WorkflowHandle, instant: string, index: number): Promise<void> {
  const runBefore = (await h.describe()).runId;
  await suite.env.sleep(Date.parse(instant) - (await suite.now()) + 1000);
  await waitFor(async () => (await h.query(summaryQuery)).cycle.index === index, 'the reset');
  expect((await h.describe()).runId).not.toBe(runBefore);
}

describe('credit tiers', () => {
  it('charges the tier at each cycle start; an upgrade charges full price now; a downgrade waits', async () => {
    const h = await suite.open({ accountId: 'tier-1', plan: 'growth', users: 2, creditTier: 'tier-2' }, 3);
    expect((await h.query(summaryQuery)).credits.available).toBe(3000 + 3200);
    await waitFor(() => chargesOf('tier-1').length === 1, 'the first tier charge');
    expect(chargesOf('tier-1').map((c) => [c.tierId, c.amountCents, c.reason])).toEqual([['tier-2', 5000, 'cycle_start']]);

    await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 1000, idempotencyKey: 'u1' }] });
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-4' }] })).toEqual({
      tier: 'tier-4',
      effective: 'now',
      chargedCents: 15000,
      creditsGranted: 11400,
    });
    const upgraded = await h.query(summaryQuery);
    expect(upgraded.tier).toEqual({ id: 'tier-4', name: 'Tier 4', priceCents: 15000, credits: 11400 });
    expect(upgraded.credits.available).toBe(3000 + 3200 - 1000 + 11400);
    const cycleEnd = upgraded.cycle.end;

    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-1' }] })).toEqual({
      tier: 'tier-1',
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

describe('a tier change held to what was shown', () => {
  it('is refused with nothing charged when the account moved since, made when it holds, and a request id sent again gets its first answer', async () => {
    const h = await suite.open({ accountId: 'tier-shown', plan: 'growth', users: 1, creditTier: 'tier-3' });
    await waitFor(() => chargesOf('tier-shown').length === 1, 'the cycle-start charge');
    const downgrade = { effective: 'next_cycle', chargedCents: 0, creditsGranted: 0 } as const;
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-5' }] })).toMatchObject({ chargedCents: 20000 });
    // A page that read "Tier 2: $50 charged now" is refused now that Tier 2 is a downgrade.
    const stale = h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-2', expect: { effective: 'now', chargedCents: 5000, creditsGranted: 3200 } }] });
    await expect(stale).rejects.toMatchObject({ cause: { type: 'TierChangeDiffers' } });
    // A page that still holds goes ahead, once.
    const held = await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-2', expect: downgrade }], updateId: 'confirm-1' });
    expect(held).toEqual({ tier: 'tier-2', ...downgrade });
    // The same confirmation again, after the account moved on: its first answer, nothing checked or done again.
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-6' }] })).toMatchObject({ chargedCents: 30000 });
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-2', expect: downgrade }], updateId: 'confirm-1' })).toEqual(held);
    const s = await h.query(summaryQuery);
    expect(s.tier?.id).toBe('tier-6');
    expect(s.pendingTier).toBeNull();
    await waitFor(() => chargesOf('tier-shown').length === 3, 'the two upgrade charges');
    expect(chargesOf('tier-shown').map((c) => [c.tierId, c.amountCents])).toEqual([
      ['tier-3', 10000],
      ['tier-5', 20000],
      ['tier-6', 30000],
    ]);
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

describe('a tier or users change retried into the next run', () => {
  it('gets its first answer, sets nothing again, and a change made in between stands', async () => {
    const id = 'retry-target-1';
    const h = await suite.open({ accountId: id, plan: 'growth', users: 1 });
    const opened = await h.query(summaryQuery);
    const bought = await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-1' }], updateId: 'buy-tier-1' });
    expect(bought).toEqual({ tier: 'tier-1', effective: 'now', chargedCents: 2000, creditsGranted: 1200 });
    const added = await h.executeUpdate(setUsersUpdate, { args: [{ users: 4 }], updateId: 'users-to-4' });
    expect(added.creditsGranted).toBeGreaterThan(0);

    // Their answers are lost; the cycle ends and the account continues as new. Another admin
    // then cancels the tier and removes two users.
    await pastReset(h, opened.cycle.end, opened.cycle.index + 1);
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: null }] })).toMatchObject({ effective: 'next_cycle', chargedCents: 0 });
    expect(await h.executeUpdate(setUsersUpdate, { args: [{ users: 2 }] })).toEqual({ users: 2, creditsGranted: 0 });
    const between = await h.query(summaryQuery);
    const entriesBetween = await waitFor(() => {
      const entries = ledgerOf(id);
      return entries.some((e) => e.kind === 'tier_change' && e.at >= between.cycle.start) && entries.length;
    }, 'the changes in the ledger');
    const chargesBetween = chargesOf(id).length;

    // The retries, with the same update ids, reach the new run: the first answers, nothing set.
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-1' }], updateId: 'buy-tier-1' })).toEqual(bought);
    expect(await h.executeUpdate(setUsersUpdate, { args: [{ users: 4 }], updateId: 'users-to-4' })).toEqual(added);
    const after = await h.query(summaryQuery);
    expect(after.users).toBe(2);
    expect(after.pendingTier).toEqual({ tier: null, effectiveAt: after.cycle.end });
    expect(after.credits).toEqual(between.credits);
    // Give the workflow a ledger linger to write anything the retries might have queued.
    await suite.env.sleep('5 seconds');
    await h.query(summaryQuery);
    expect(ledgerOf(id).length).toBe(entriesBetween);
    expect(chargesOf(id).length).toBe(chargesBetween);
    expect(chargesOf(id).map((c) => [c.tierId, c.reason])).toEqual([
      ['tier-1', 'purchase'],
      ['tier-1', 'cycle_start'],
    ]);

    // Both runs recorded the patch: the first remembered, the second answered from memory.
    expect(patchIds(await suite.env.client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).fetchHistory())).toContain(UPDATE_ANSWERS_PATCH);
    expect(patchIds(await suite.env.client.workflow.getHandle(h.workflowId).fetchHistory())).toContain(UPDATE_ANSWERS_PATCH);
  });
});
