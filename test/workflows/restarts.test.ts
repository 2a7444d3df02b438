/**
 * A closed account restarted on purpose, on the time-skipping server: inside a promotion's
 * window (granted once per account) and inside a billing period its earlier workflow paid a
 * tier for. Its own file: the promotion date is set relative to the test server's clock, which
 * must not move while these tests run (restarts go through a client that never skips time).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAccount, untilOpen, workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { patchIds } from '../helpers/patch-markers';
import { RESTART_FACTS_PATCH } from '../../workflows/account-credits';
import { waitFor } from '../helpers/wait-for';
import { promotionOpenSince } from '../helpers/rules-variants';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { changeCreditTierUpdate, summaryQuery } from '../../workflows/messages';
import type { AccountStartInput } from '../../domain/wire-contract';

// The promotion began 20 days ago; its window (two cycles) ends in about 40 days.
const { ruleSet, anchor } = promotionOpenSince(20);

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite(ruleSet);
});
afterAll(async () => {
  await suite?.teardown();
});

/**
 * A client that never lets the time-skipping server skip time: the environment's own client
 * may, around a workflow that closes, and the server then jumps to the next timer (years
 * ahead), past the promotion window and the billing period these tests restart in.
 */
const plainClient = () => new Client({ connection: suite.env.connection, namespace: suite.env.namespace ?? 'default' });

describe('a closed account restarted inside the window', () => {
  it('is not granted the promotion its earlier workflow was granted', async () => {
    const input = { accountId: 'promo-restart', plan: 'growth', users: 1, tags: ['chloe-beta'], cycleAnchor: anchor };
    const first = await suite.open(input);
    expect((await first.query(summaryQuery)).grants.filter((g) => g.source === 'promotion').map((g) => g.amount)).toEqual([100_000]);
    await waitFor(() => suite.acts.ledger.some((e) => e.accountId === 'promo-restart' && e.source === 'promotion'), "the first workflow's promotion entry");
    const client = plainClient();
    await client.workflow.getHandle(first.workflowId).terminate('closed by ops');

    const again = await startAccount(client, suite.taskQueue, { ...input, restartClosed: true });
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
  /** The account's charges as [reason, tier, cents]. */
  const chargesOf = (accountId: string) => suite.acts.charges.filter((c) => c.accountId === accountId).map((c) => [c.reason, c.tierId, c.amountCents]);

  /** Starts the account again with `creditTier`, and the refusal it failed with. */
  async function refusedRestart(input: AccountStartInput, creditTier: string | null): Promise<unknown> {
    const other = await startAccount(plainClient(), suite.taskQueue, { ...input, creditTier, restartClosed: true });
    const err = await other.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    return (err as WorkflowFailedError).cause;
  }

  it('starts only on the tier it paid for, which it gets without paying again; a tier change after it is charged as any is', async () => {
    const input = { accountId: 'tier-restart', plan: 'growth', users: 1, creditTier: 'tier-4', cycleAnchor: anchor };
    const first = await suite.open(input);
    const { cycle } = await first.query(summaryQuery);
    const periodCharge = `tier-restart:tier:${cycle.start}`;
    await waitFor(() => suite.acts.charges.some((c) => c.chargeId === periodCharge), "the period's tier charge");
    const client = plainClient();
    await client.workflow.getHandle(first.workflowId).terminate('closed by ops');

    // On another tier, or none: refused before opening, nothing granted or charged.
    for (const creditTier of ['tier-6', null]) {
      expect(await refusedRestart(input, creditTier)).toMatchObject({
        type: 'InvalidStartInput',
        message:
          `account tier-restart was billed for tier-4 this billing period (its renewal, charge ${periodCharge}, 15000 cents) under an earlier workflow: ` +
          `restart it with creditTier "tier-4" (--tier in the CLI; ${creditTier === null ? 'this start has no tier' : 'this start asks for "tier-6"'}), ` +
          'which is not charged again this period, then change the tier: an upgrade is charged in full at once, a downgrade applies at the next cycle',
      });
    }
    expect(chargesOf('tier-restart')).toHaveLength(1);

    const again = await startAccount(client, suite.taskQueue, { ...input, restartClosed: true });
    await untilOpen(again);
    const restarted = await again.query(summaryQuery);
    expect(restarted.tier).toMatchObject({ id: 'tier-4', paidThrough: restarted.cycle.end });
    expect(restarted.grants.map((g) => [g.source, g.amount])).toEqual([
      ['included', 1_500],
      ['subscription', 11_400],
    ]);
    expect(await again.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-6' }] })).toMatchObject({ tier: 'tier-6', effective: 'now', chargedCents: 30_000 });
    await waitFor(() => chargesOf('tier-restart').length === 2, 'the upgrade charge');
    expect(chargesOf('tier-restart')).toEqual([
      ['cycle_start', 'tier-4', 15_000],
      ['upgrade', 'tier-6', 30_000],
    ]);
    await again.terminate('done');
  });

  it('on another calendar, inside the period the earlier charge paid for: starts on that tier, not charged for it again', async () => {
    // The earlier workflow renewed tier-2 ten days ago on its calendar, through twenty days
    // from now (its ledger and workflow are gone from this server; its charge is the record).
    const now = await suite.now();
    const day = 86_400_000;
    const paidFrom = new Date(now - 10 * day).toISOString();
    const paidThrough = new Date(now + 20 * day).toISOString();
    suite.acts.charges.push({
      ...{ chargeId: `anchor-restart:tier:${paidFrom}`, accountId: 'anchor-restart', at: paidFrom, tierId: 'tier-2', amountCents: 5_000, currency: 'USD' },
      ...{ reason: 'cycle_start', cycleIndex: 3, rulesVersion: ruleSet.at(paidFrom).version, paidThrough },
    });
    // Restarted on a calendar five days later: its period began after the charge.
    const moved = new Date(now - 5 * day).toISOString();
    const input = { accountId: 'anchor-restart', plan: 'growth', users: 1, creditTier: 'tier-2', cycleAnchor: moved };
    expect(await refusedRestart(input, 'tier-6')).toMatchObject({ type: 'InvalidStartInput', message: expect.stringContaining('was billed for tier-2') });
    const again = await startAccount(plainClient(), suite.taskQueue, { ...input, restartClosed: true });
    await untilOpen(again);
    const restarted = await again.query(summaryQuery);
    expect(restarted.cycle.start).toBe(moved);
    expect(restarted.tier).toMatchObject({ id: 'tier-2', paidThrough: restarted.cycle.end });
    expect(restarted.grants.map((g) => g.source)).toEqual(['included', 'subscription']);
    await suite.env.sleep('2 seconds');
    expect(chargesOf('anchor-restart')).toEqual([['cycle_start', 'tier-2', 5_000]]);
    const note = suite.acts.ledger.find((e) => e.accountId === 'anchor-restart' && e.kind === 'tier_change')?.note;
    expect(note).toContain(`(paid through ${paidThrough}; next charged at this cycle's end, ${restarted.cycle.end})`);
    await again.terminate('done');
  });

  it('after a purchase or an upgrade this period: starts on the tier last bought, not charged for it again', async () => {
    const input = { accountId: 'upgrade-restart', plan: 'growth', users: 1, creditTier: 'tier-1', cycleAnchor: anchor };
    const first = await suite.open(input);
    expect(await first.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-3' }] })).toMatchObject({ chargedCents: 10_000 });
    await waitFor(() => chargesOf('upgrade-restart').length === 2, 'the upgrade charge');
    const client = plainClient();
    await client.workflow.getHandle(first.workflowId).terminate('closed by ops');

    // The renewal was tier-1, but the period's latest charge is the upgrade to tier-3.
    expect(await refusedRestart(input, 'tier-1')).toMatchObject({
      type: 'InvalidStartInput',
      message: expect.stringMatching(/^account upgrade-restart was billed for tier-3 this billing period \(its upgrade, charge upgrade-restart:\w+:charge:1, 10000 cents\)/),
    });
    const again = await startAccount(client, suite.taskQueue, { ...input, creditTier: 'tier-3', restartClosed: true });
    await untilOpen(again);
    expect((await again.query(summaryQuery)).tier).toMatchObject({ id: 'tier-3', paidThrough: expect.any(String) });
    await suite.env.sleep('2 seconds');
    expect(chargesOf('upgrade-restart')).toEqual([
      ['cycle_start', 'tier-1', 2_000],
      ['upgrade', 'tier-3', 10_000],
    ]);
    await again.terminate('done');
  });
});
