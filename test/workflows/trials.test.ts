/**
 * Trials on the time-skipping server (issue 9, item 4): a conversion with a tier, a manual
 * grant and a promotion keeps them all and charges the tier once per period; the CRM anchor
 * of a conversion and its refusals; a trial at and past a reset, and past its length.
 *
 * The promotion is moved to start three days before the server's clock (through the real DSL),
 * so an account opened now is inside its window; the conversion test runs first, before any
 * test moves the clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { runHistories, workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { patchIds } from '../helpers/patch-markers';
import { rulesWithPromotionOn } from '../helpers/rules-variants';
import { changeCreditTierUpdate, changePlanUpdate, grantCreditsUpdate, recordUsageUpdate, summaryQuery } from '../../workflows/messages';
import {
  LEDGER_BATCH_PATCH,
  LEDGER_DELTA_PATCH,
  LEDGER_LINGER_ON_STEP_PATCH,
  LEDGER_LINGER_PATCH,
  QUIET_BEFORE_CONTINUE_PATCH,
  START_GUARD_PATCH,
  TRIAL_CONVERSION_PATCH,
  UPDATE_ANSWERS_PATCH,
  WEBHOOKS_PATCH,
  CONVERSION_KEEPS_ANSWERS_PATCH,
  TIER_PAID_IN_PART_PATCH,
  LEDGER_FACTS_PATCH,
} from '../../workflows/account-credits';
import { SEARCH_ATTRIBUTES_PATCH, SEARCH_BALANCE_ON_STEP_PATCH, SEARCH_BALANCE_THROTTLE_PATCH } from '../../workflows/search-attributes';
import { RECORDED_CLOCK_PATCH } from '../../workflows/recorded-clock';

const DAY = 86_400_000;
const promotionDay = new Date(Date.now() - 3 * DAY).toISOString().slice(0, 10);

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite(rulesWithPromotionOn(promotionDay));
});
afterAll(async () => {
  await suite?.teardown();
});

const chargesOf = (accountId: string) => suite.acts.charges.filter((c) => c.accountId === accountId);
const ledgerOf = (accountId: string) => suite.acts.ledger.filter((e) => e.accountId === accountId);

/** The ApplicationFailure type an update was refused with. */
async function refusal(update: Promise<unknown>): Promise<string | undefined> {
  try {
    await update;
    return undefined;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) return `${err.cause.type ?? ''}: ${err.cause.message}`;
    throw err;
  }
}

async function sleepPast(h: WorkflowHandle, instant: string): Promise<void> {
  await suite.env.sleep(Date.parse(instant) - (await suite.now()) + 1000);
  await h.query(summaryQuery);
}

describe('a trial converting', () => {
  it('forfeits only the trial credits: the tier, a manual grant and the promotion survive, and the tier is not charged twice', async () => {
    const h = await suite.open({ accountId: 'conv-1', plan: 'essentials', users: 2, trial: true, tags: ['chloe-beta'] });
    const trial = await h.query(summaryQuery);
    expect(trial.grants.map((g) => [g.source, g.amount])).toEqual([
      ['trial', 1000],
      ['promotion', 100000],
    ]);
    // An Essentials trial uses the Growth-and-above free features.
    expect(await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'lead-summaries', quantity: 1, idempotencyKey: 'ls-1' }] })).toMatchObject({ accepted: true });
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-5' }] })).toEqual({ tier: 'tier-5', effective: 'now', chargedCents: 20000, creditsGranted: 16000 });
    const manual = await h.executeUpdate(grantCreditsUpdate, { args: [{ credits: 2500, reason: 'onboarding help', validForCycles: 2, idempotencyKey: 'm-1' }] });
    await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 300, idempotencyKey: 'e-1' }] });
    const before = await h.query(summaryQuery);
    const expiryOf = (source: string) => before.grants.find((g) => g.source === source)?.expiresAt;

    await suite.env.sleep('5 days');
    const at = await suite.now();
    expect(await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth' }] })).toEqual({ plan: 'growth', effective: 'now', creditsGranted: 3000 });
    const paid = await h.query(summaryQuery);
    expect(paid.trial).toBe(false);
    expect(Math.abs(Date.parse(paid.cycle.start) - at)).toBeLessThan(60_000);
    expect(paid.cycle.index).toBe(trial.cycle.index + 1);
    const bySource = Object.fromEntries(paid.grants.map((g) => [g.source, g]));
    expect(Object.keys(bySource).sort()).toEqual(['included', 'manual', 'promotion', 'subscription']);
    expect(bySource.promotion).toMatchObject({ remaining: 100000, expiresAt: expiryOf('promotion') });
    expect(bySource.manual).toMatchObject({ grantId: manual.grantId, remaining: 2500, expiresAt: manual.expiresAt });
    // Tier 5 was paid for the trial's cycle; that charge covers the first paid cycle.
    expect(bySource.subscription).toMatchObject({ remaining: 16000, expiresAt: paid.cycle.end });
    expect(paid.tier?.id).toBe('tier-5');
    expect(paid.credits.available).toBe(100000 + 2500 + 16000 + 3000);

    const forfeit = await waitFor(() => ledgerOf('conv-1').find((e) => e.kind === 'forfeit'), 'the forfeited trial credits');
    expect(forfeit).toMatchObject({ credits: 700, source: 'trial' });
    await waitFor(() => ledgerOf('conv-1').some((e) => e.kind === 'tier_change' && e.note?.includes('paid through')), 'the tier carried over');
    expect(chargesOf('conv-1').map((c) => [c.tierId, c.reason])).toEqual([['tier-5', 'purchase']]);
    // The conversion ran the patched path: its marker is in the history, after the markers
    // recorded at the start guard and once the account opened (larger ledger batches, quiet continue-as-new, the busy
    // ledger linger, search attributes), the one of the tier purchase's answer remembered by
    // update id, the one of the tier charge's webhook event, and the conversion's note naming
    // its anchor.
    const patches = patchIds(await h.fetchHistory());
    expect(patches).toEqual([
      START_GUARD_PATCH,
      LEDGER_BATCH_PATCH,
      LEDGER_DELTA_PATCH,
      QUIET_BEFORE_CONTINUE_PATCH,
      LEDGER_LINGER_PATCH,
      LEDGER_LINGER_ON_STEP_PATCH,
      RECORDED_CLOCK_PATCH,
      SEARCH_ATTRIBUTES_PATCH,
      SEARCH_BALANCE_THROTTLE_PATCH,
      SEARCH_BALANCE_ON_STEP_PATCH,
      UPDATE_ANSWERS_PATCH,
      WEBHOOKS_PATCH,
      TRIAL_CONVERSION_PATCH,
      LEDGER_FACTS_PATCH,
    ]);

    // The paid calendar's first reset charges the tier once; the old calendar's end expires nothing paid.
    await sleepPast(h, paid.cycle.end);
    await waitFor(() => chargesOf('conv-1').length === 2, 'the first paid cycle charge');
    expect(chargesOf('conv-1').map((c) => [c.tierId, c.reason, c.at])).toEqual([
      ['tier-5', 'purchase', expect.any(String)],
      ['tier-5', 'cycle_start', paid.cycle.end],
    ]);
    expect(chargesOf('conv-1').every((c) => suite.acts.chargeAttempts.get(c.chargeId) === 1)).toBe(true);
    const next = await h.query(summaryQuery);
    expect(next.grants.filter((g) => g.source === 'subscription').map((g) => g.remaining)).toEqual([16000]);
    expect(next.grants.some((g) => g.source === 'trial')).toBe(false);
  });

  it('anchors the paid calendar at the CRM anchor given, and refuses one in the future, before the trial or on a paid account', async () => {
    const h = await suite.open({ accountId: 'conv-2', plan: 'growth', users: 1, trial: true });
    const opened = await suite.now();
    await suite.env.sleep('2 days');
    const now = await suite.now();
    expect(await refusal(h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth', cycleAnchor: new Date(now + DAY).toISOString() }] }))).toMatch(/^InvalidInput: cycleAnchor .* is in the future/);
    expect(await refusal(h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth', cycleAnchor: new Date(opened - DAY).toISOString() }] }))).toMatch(/^InvalidInput: cycleAnchor .* is before the trial started/);
    expect(await refusal(h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth', cycleAnchor: 'tomorrow' }] }))).toMatch(/^InvalidInput: cycleAnchor must be an ISO-8601/);
    expect((await h.query(summaryQuery)).trial).toBe(true);

    const anchor = new Date(now - DAY).toISOString();
    await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth', cycleAnchor: anchor }] });
    const paid = await h.query(summaryQuery);
    expect(paid.trial).toBe(false);
    expect(paid.cycle.start).toBe(anchor);
    expect(await refusal(h.executeUpdate(changePlanUpdate, { args: [{ plan: 'scale', cycleAnchor: anchor }] }))).toBe(
      'InvalidInput: cycleAnchor is taken only when a trial converts; this account is on a paid plan',
    );
    expect((await h.query(summaryQuery)).plan.id).toBe('growth');
    // The ledger names the anchor, for a replay of it (patch ledger-replay-facts).
    const converted = await waitFor(() => ledgerOf('conv-2').find((e) => e.kind === 'plan_change'), 'the conversion entry');
    expect(converted.note).toBe(`trial growth -> paid growth, anchor ${anchor}`);
    expect(patchIds(await h.fetchHistory())).toContain(LEDGER_FACTS_PATCH);
  });

  // The server answers a repeated update id only within the run that applied it; the account
  // remembers a conversion's answer by update id for the run after (UPDATE_ANSWERS_PATCH).
  it('answers a trial conversion with a CRM anchor with its first answer, instead of refusing the anchor on a paid account', async () => {
    const id = 'retry-convert-1';
    const h = await suite.open({ accountId: id, plan: 'growth', users: 1, trial: true });
    await suite.env.sleep('2 days');
    const anchor = new Date((await suite.now()) - DAY).toISOString();
    const converted = await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth', cycleAnchor: anchor }], updateId: 'convert-1' });
    expect(converted).toMatchObject({ effective: 'now' });
    const paid = await h.query(summaryQuery);
    expect(paid.trial).toBe(false);
    expect(paid.cycle.start).toBe(anchor);

    const runBefore = (await h.describe()).runId;
    await sleepPast(h, paid.cycle.end);
    const next = await waitFor(async () => {
      const s = await h.query(summaryQuery);
      return s.cycle.index === paid.cycle.index + 1 && s;
    }, 'the reset');
    expect((await h.describe()).runId).not.toBe(runBefore);
    expect(await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth', cycleAnchor: anchor }], updateId: 'convert-1' })).toEqual(converted);
    const after = await h.query(summaryQuery);
    expect(after.cycle).toEqual(next.cycle);
    expect(after.credits).toEqual(next.credits);
    // A new request with that anchor is still refused: only the retry is answered.
    expect(await refusal(h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth', cycleAnchor: anchor }] }))).toBe(
      'InvalidInput: cycleAnchor is taken only when a trial converts; this account is on a paid plan',
    );
    expect(patchIds(await h.fetchHistory())).toContain(UPDATE_ANSWERS_PATCH);
  });
});

describe('a trial over time', () => {
  it('is not granted trial credits again at a reset, and holds none past its 14 days', async () => {
    const h = await suite.open({ accountId: 'trial-reset', plan: 'essentials', users: 4, trial: true }, 29);
    const first = await h.query(summaryQuery);
    expect(first.credits.available).toBe(1000);
    const trialEnd = first.grants[0]?.expiresAt ?? '';
    expect(Date.parse(trialEnd) - Date.parse(first.grants[0]?.grantedAt ?? '')).toBe(14 * DAY);
    await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 200, idempotencyKey: 't-1' }] });

    // At the reset: the same grant goes on; nothing new is granted.
    await sleepPast(h, first.cycle.end);
    const reset = await h.query(summaryQuery);
    expect(reset.cycle.index).toBe(first.cycle.index + 1);
    expect(reset.credits.available).toBe(800);
    expect(reset.grants.map((g) => [g.source, g.remaining, g.expiresAt])).toEqual([['trial', 800, trialEnd]]);

    // Past the trial's length: no credits; credit-based usage is refused, free features still work.
    await sleepPast(h, trialEnd);
    const ended = await h.query(summaryQuery);
    expect(ended.trial).toBe(true);
    expect(ended.credits.available).toBe(0);
    expect(ended.grants).toEqual([]);
    expect(await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 1, idempotencyKey: 't-2' }] })).toMatchObject({
      accepted: false,
      reason: 'credits_exhausted',
    });
    expect(await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'email-thread-summaries', quantity: 1, idempotencyKey: 't-3' }] })).toMatchObject({ accepted: true });

    // And past the next reset: still nothing.
    await sleepPast(h, ended.cycle.end);
    const later = await h.query(summaryQuery);
    expect(later.cycle.index).toBe(first.cycle.index + 2);
    expect(later.credits.available).toBe(0);
    await waitFor(() => ledgerOf('trial-reset').some((e) => e.kind === 'expiry' && e.source === 'trial' && e.credits === 800), 'the expired trial credits');
    expect(ledgerOf('trial-reset').filter((e) => e.kind === 'grant' && e.source === 'trial')).toHaveLength(1);
  });

  it('converting seconds after a reset, still answers a retry of a grant made before it (patch conversion-keeps-answers)', async () => {
    const h = await suite.open({ accountId: 'trial-convert-after-reset', plan: 'growth', users: 1, trial: true }, 20);
    const first = await h.query(summaryQuery);
    // A grant that ends with this cycle: after the reset only the answer window knows its key.
    const grant = { credits: 400, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'before-reset' };
    const granted = await h.executeUpdate(grantCreditsUpdate, { args: [grant] });
    await sleepPast(h, first.cycle.end);
    expect(await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth' }] })).toMatchObject({ effective: 'now' });
    const retried = await h.executeUpdate(grantCreditsUpdate, { args: [grant] });
    expect(retried).toEqual({ ...granted, duplicate: true });
    await waitFor(() => ledgerOf('trial-convert-after-reset').some((e) => e.kind === 'plan_change'), 'the conversion entry');
    expect(ledgerOf('trial-convert-after-reset').filter((e) => e.kind === 'grant' && e.source === 'manual')).toHaveLength(1);
    const runs = await Promise.all([h.fetchHistory(), suite.env.client.workflow.getHandle(h.workflowId).fetchHistory()]);
    expect(runs.flatMap((r) => patchIds(r))).toContain(CONVERSION_KEEPS_ANSWERS_PATCH);
  });

  it('converting on a calendar anchored half a day before its last reset, is charged the tier at the first paid reset, which its trial charge paid half a day into (patch tier-paid-in-part)', async () => {
    const h = await suite.open({ accountId: 'trial-tier-part', plan: 'growth', users: 2, trial: true }, 29);
    await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-1' }] });
    await sleepPast(h, (await h.query(summaryQuery)).cycle.end);
    await waitFor(() => chargesOf('trial-tier-part').length === 2, "the trial's renewal");
    // The CRM anchor, half a day before the trial's last reset: the first paid cycle ends half
    // a day before the trial's cycle that the renewal paid for.
    const renewed = await h.query(summaryQuery);
    const crmAnchor = new Date(Date.parse(renewed.cycle.start) - DAY / 2).toISOString();
    await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth', cycleAnchor: crmAnchor }] });
    const paid = await h.query(summaryQuery);
    await sleepPast(h, paid.cycle.end);
    await suite.env.sleep(DAY);
    const later = await h.query(summaryQuery);
    await waitFor(() => chargesOf('trial-tier-part').length === 3, 'the charge at the first paid reset');
    expect(chargesOf('trial-tier-part').map((c) => [c.reason, c.tierId, c.at])).toEqual([
      ['purchase', 'tier-1', expect.any(String)],
      ['cycle_start', 'tier-1', expect.any(String)],
      ['cycle_start', 'tier-1', paid.cycle.end],
    ]);
    expect(later.grants.filter((g) => g.source === 'subscription').map((g) => [g.amount, g.expiresAt])).toEqual([[1_200, later.cycle.end]]);
    expect(later.tier).toMatchObject({ id: 'tier-1' });
    const patches: string[] = [];
    for await (const run of runHistories(suite.env.client, h.workflowId, h.firstExecutionRunId)) patches.push(...patchIds(run));
    expect(patches).toContain(TIER_PAID_IN_PART_PATCH);
  });
});

