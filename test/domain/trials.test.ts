/**
 * Trials (issue 9, item 4): trial credits granted once per trial and never at a reset, a trial
 * length after which an unconverted trial holds nothing, a conversion that forfeits the trial
 * credits and nothing else without charging a tier twice, the conversion's cycle anchor, and
 * every feature for a trial whatever plan it trials.
 */
import { describe, expect, it } from 'vitest';
import { AccountStateError, CreditAccount } from '../../domain/account';
import type { ChargeRequest, LedgerEntry } from '../../domain/effects';
import type { AccountStartInput } from '../../domain/wire-contract';
import type { Rules, TrialRule } from '../../ruleset/types';
import { shippedRules } from '../helpers/shipped-rules';

const shipped = shippedRules();
const ANCHOR = '2026-06-03T00:00:00.000Z';
const DAY = 86_400_000;
const at = (text: string) => Date.parse(text);

/** The shipped rules with the trial section replaced. */
function withTrial(trial: TrialRule): Rules {
  return { ...shipped, trial };
}
const { lengthDays: _length, ...trialWithoutLength } = shipped.trial;
const untilConversion = withTrial(trialWithoutLength);

function openTrial(over: Partial<AccountStartInput> = {}, nowMs = at('2026-06-10T12:00:00.000Z'), rules = shipped): CreditAccount {
  return CreditAccount.open({ accountId: 'acme', plan: 'essentials', users: 3, trial: true, cycleAnchor: ANCHOR, ...over }, rules, nowMs, 'e1');
}
const ledger = (a: CreditAccount): LedgerEntry[] => a.state.outbox.flatMap((e) => (e.type === 'ledger' ? [e.entry] : []));
const charges = (a: CreditAccount): ChargeRequest[] => a.state.outbox.flatMap((e) => (e.type === 'charge' ? [e.charge] : []));
const trialGrants = (a: CreditAccount) => ledger(a).filter((e) => e.kind === 'grant' && e.source === 'trial');
let key = 0;
const use = (a: CreditAccount, feature: string, quantity: number, nowMs: number) => a.recordUsage({ feature, quantity, idempotencyKey: `k${++key}` }, nowMs);

describe('trial credits are granted once per trial', () => {
  it('a trial without a length keeps its one grant across resets, never granted again', () => {
    const a = openTrial({}, at('2026-06-10T12:00:00.000Z'), untilConversion);
    expect(a.available()).toBe(1000);
    use(a, 'enrichment', 300, at('2026-06-11T00:00:00.000Z'));
    for (let i = 0; i < 3; i++) a.startNextCycle(untilConversion);
    expect(a.state.cycle.index).toBe(3);
    expect(a.available()).toBe(700);
    expect(a.state.cycleGranted - a.state.cycleUsed).toBe(700);
    expect(trialGrants(a)).toHaveLength(1);
    const grant = a.state.grants.find((g) => g.source === 'trial');
    // Carried: dated to the current cycle's end, so it is still spent first among what expires then.
    expect(grant?.expiresAt).toBe(a.state.cycle.end);
    expect(a.state.trialGrant).toEqual({ grantId: grant?.grantId, startedAt: '2026-06-10T12:00:00.000Z', endsAt: null });
    expect(ledger(a).some((e) => e.kind === 'expiry' && e.source === 'trial')).toBe(false);
  });

  it('a state carried from before trials were recorded has had its grant: a reset grants nothing', () => {
    const a = openTrial({}, at('2026-06-10T12:00:00.000Z'), untilConversion);
    delete a.state.trialGrant;
    a.startNextCycle(untilConversion);
    expect(a.available()).toBe(0);
    expect(trialGrants(a)).toHaveLength(1);
    expect(a.state.trialGrant).toBeUndefined();
  });

  it('a user added to a trial grants nothing (trial credits are fixed)', () => {
    const a = openTrial();
    expect(a.setUsers(9, at('2026-06-11T00:00:00.000Z'))).toEqual({ users: 9, creditsGranted: 0 });
    a.startNextCycle(shipped);
    expect(trialGrants(a)).toHaveLength(1);
  });
});

describe('a trial length', () => {
  it('expires the trial credits at the trial end, across a reset; an unconverted trial then holds none', () => {
    const opened = at('2026-06-25T08:00:00.000Z');
    const a = openTrial({}, opened);
    const end = new Date(opened + 14 * DAY).toISOString();
    expect(a.state.trialGrant).toMatchObject({ endsAt: end });
    expect(a.state.grants).toEqual([expect.objectContaining({ source: 'trial', amount: 1000, expiresAt: end })]);
    // The cycle ends first: the workflow wakes at the reset, and the trial grant survives it.
    expect(a.nextWakeMs()).toBe(at('2026-07-03T00:00:00.000Z'));
    use(a, 'enrichment', 100, at('2026-06-26T00:00:00.000Z'));
    a.startNextCycle(shipped);
    expect(a.available()).toBe(900);
    expect(a.nextWakeMs()).toBe(Date.parse(end));
    a.expireGrants(Date.parse(end));
    expect(a.available()).toBe(0);
    expect(a.state.cycleGranted - a.state.cycleUsed).toBe(0);
    expect(ledger(a).filter((e) => e.kind === 'expiry' && e.source === 'trial')).toEqual([expect.objectContaining({ credits: 900 })]);
    expect(use(a, 'enrichment', 1, Date.parse(end) + 1)).toMatchObject({ accepted: false, reason: 'credits_exhausted' });
    // Free features keep working after the trial credits are gone.
    expect(use(a, 'lead-summaries', 1, Date.parse(end) + 1)).toMatchObject({ accepted: true });
    a.startNextCycle(shipped);
    expect(a.available()).toBe(0);
    expect(trialGrants(a)).toHaveLength(1);
  });

  it('is fixed by the rules in force when the trial opens', () => {
    const a = openTrial({}, at('2026-06-10T00:00:00.000Z'), withTrial({ ...shipped.trial, lengthDays: 3 }));
    expect(a.state.grants[0]?.expiresAt).toBe('2026-06-13T00:00:00.000Z');
    a.startNextCycle(shipped);
    expect(a.available()).toBe(0);
  });
});

describe('trial features', () => {
  it('an Essentials trial uses the Growth-and-above free features; a paid Essentials account may not', () => {
    const trial = openTrial();
    const paid = CreditAccount.open({ accountId: 'paid', plan: 'essentials', users: 3, cycleAnchor: ANCHOR }, shipped, at('2026-06-10T12:00:00.000Z'), 'e2');
    for (const feature of ['lead-summaries', 'email-thread-summaries', 'ai-rewrite', 'suggested-actions', 'notetaker', 'chloe-chat', 'ai-search', 'ai-knowledge-sources']) {
      expect(use(trial, feature, 1, at('2026-06-11T00:00:00.000Z')), feature).toMatchObject({ accepted: true, credits: 0 });
    }
    expect(use(paid, 'lead-summaries', 1, at('2026-06-11T00:00:00.000Z'))).toMatchObject({ accepted: false, reason: 'not_in_plan' });
  });

  it('a list gives trials exactly those features beyond their plan; without it a trial has its plan\'s', () => {
    const listed = openTrial({}, undefined, withTrial({ ...shipped.trial, features: ['lead-summaries'] }));
    expect(use(listed, 'lead-summaries', 1, at('2026-06-11T00:00:00.000Z'))).toMatchObject({ accepted: true });
    expect(use(listed, 'ai-rewrite', 1, at('2026-06-11T00:00:00.000Z'))).toMatchObject({ accepted: false, reason: 'not_in_plan' });
    const { features: _features, ...noFeatures } = shipped.trial;
    const plain = openTrial({}, undefined, withTrial(noFeatures));
    expect(use(plain, 'lead-summaries', 1, at('2026-06-11T00:00:00.000Z'))).toMatchObject({ accepted: false, reason: 'not_in_plan' });
  });

  it('a converted account follows its paid plan again', () => {
    const a = openTrial();
    a.convertTrial('essentials', shipped, at('2026-06-12T00:00:00.000Z'));
    expect(use(a, 'lead-summaries', 1, at('2026-06-12T01:00:00.000Z'))).toMatchObject({ accepted: false, reason: 'not_in_plan' });
  });
});

describe('a conversion forfeits the trial credits and nothing else', () => {
  /** A beta-tagged Growth trial opened Jun 10 with the promotion, Tier 5 bought Jun 12, and a manual grant. */
  function busyTrial(): CreditAccount {
    const a = openTrial({ plan: 'growth', tags: ['chloe-beta'] });
    expect(a.changeCreditTier('tier-5', at('2026-06-12T00:00:00.000Z'))).toMatchObject({ chargedCents: 20000, creditsGranted: 16000 });
    a.grantCredits({ credits: 2500, reason: 'goodwill', validForCycles: 2, idempotencyKey: 'g-1' }, at('2026-06-13T00:00:00.000Z'));
    use(a, 'enrichment', 400, at('2026-06-14T00:00:00.000Z'));
    return a;
  }

  it('keeps the tier, manual and promotion grants, and does not charge the tier again', () => {
    const a = busyTrial();
    const before = new Map(a.state.grants.map((g) => [g.grantId, { ...g }]));
    const convertAt = at('2026-06-15T09:00:00.000Z');
    expect(a.convertTrial('growth', shipped, convertAt)).toEqual({ plan: 'growth', effective: 'now', creditsGranted: 4500 });
    const s = a.summary(convertAt);
    expect(s.trial).toBe(false);
    expect(s.cycle).toEqual({ index: 1, start: '2026-06-15T09:00:00.000Z', end: '2026-07-15T09:00:00.000Z' });
    const bySource = Object.fromEntries(a.state.grants.map((g) => [g.source, g]));
    expect(Object.keys(bySource).sort()).toEqual(['included', 'manual', 'promotion', 'subscription']);
    // The trial credits expired soonest, so the usage came out of them and the paid grants are whole.
    expect(bySource.promotion).toMatchObject({ remaining: 100000, expiresAt: before.get(bySource.promotion!.grantId)?.expiresAt });
    expect(bySource.manual).toMatchObject({ remaining: 2500, expiresAt: before.get(bySource.manual!.grantId)?.expiresAt });
    // Tier 5 paid for the trial's cycle; that charge covers the first paid cycle, so its credits last through it.
    expect(bySource.subscription).toMatchObject({ remaining: 16000, expiresAt: '2026-07-15T09:00:00.000Z' });
    expect(s.credits.available).toBe(100000 + 2500 + 16000 + 4500);
    expect(s.tier?.id).toBe('tier-5');
    expect(charges(a).map((c) => c.reason)).toEqual(['purchase']);
    expect(ledger(a).filter((e) => e.kind === 'forfeit')).toEqual([expect.objectContaining({ credits: 600, source: 'trial' })]);
    expect(ledger(a).some((e) => e.kind === 'expiry')).toBe(false);
    // The first reset of the paid calendar charges the tier, once, keyed by that period.
    a.startNextCycle(shipped);
    expect(charges(a).map((c) => [c.reason, c.chargeId])).toEqual([
      ['purchase', expect.any(String)],
      ['cycle_start', 'acme:tier:2026-07-15T09:00:00.000Z'],
    ]);
  });

  it('anchors the paid calendar at the CRM subscription\'s anchor when given', () => {
    const a = busyTrial();
    const convertAt = at('2026-06-15T09:00:00.000Z');
    a.convertTrial('growth', shipped, convertAt, '2026-06-11T00:00:00+02:00');
    expect(a.state.cycle).toEqual({ index: 1, start: '2026-06-10T22:00:00.000Z', end: '2026-07-10T22:00:00.000Z' });
    expect(a.state.anchor).toBe('2026-06-10T22:00:00.000Z');
    expect(a.state.rateFrom).toBe('2026-06-15T09:00:00.000Z');
    // The tier grant ran to Jul 3 on the trial calendar; the paid cycle ends later, so it lasts to Jul 10.
    expect(a.state.grants.find((g) => g.source === 'subscription')?.expiresAt).toBe('2026-07-10T22:00:00.000Z');
    a.startNextCycle(shipped);
    expect(a.state.cycle.start).toBe('2026-07-10T22:00:00.000Z');
    expect(charges(a).filter((c) => c.reason === 'cycle_start')).toHaveLength(1);
    // A manual grant made now counts cycles on the paid calendar.
    a.grantCredits({ credits: 1, reason: 'x', validForCycles: 1, idempotencyKey: 'g-2' }, at('2026-07-11T00:00:00.000Z'));
    expect(a.state.grants.find((g) => g.label === 'x')?.expiresAt).toBe('2026-08-10T22:00:00.000Z');
  });

  it('with a paid cycle ending before the trial\'s, the tier is next charged at the first reset after the paid period', () => {
    // Trial cycle Jun 28 - Jul 28 (anchor May 28), Tier 2 charged at its start; the CRM backdates
    // the paid anchor to Jun 5, so the first paid cycle is Jun 5 - Jul 5.
    const a = openTrial({ plan: 'growth', creditTier: 'tier-2', cycleAnchor: '2026-05-28T00:00:00.000Z' }, at('2026-06-05T00:00:00.000Z'));
    a.startNextCycle(shipped);
    a.convertTrial('growth', shipped, at('2026-07-01T00:00:00.000Z'), '2026-06-05T00:00:00.000Z');
    expect(a.state.cycle).toMatchObject({ start: '2026-06-05T00:00:00.000Z', end: '2026-07-05T00:00:00.000Z' });
    expect(a.state.tierPaidThrough).toBe('2026-07-28T00:00:00.000Z');
    // The tier's credits keep their own expiry (never shortened)...
    expect(a.state.grants.find((g) => g.source === 'subscription')).toMatchObject({ remaining: 3200, expiresAt: '2026-07-28T00:00:00.000Z' });
    // ...and the reset of Jul 5 falls inside the paid period: no charge, no second allocation.
    a.startNextCycle(shipped);
    expect(charges(a).map((c) => c.at)).toEqual(['2026-06-05T00:00:00.000Z', '2026-06-28T00:00:00.000Z']);
    expect(a.state.grants.filter((g) => g.source === 'subscription')).toHaveLength(1);
    // Aug 5 is the first reset from Jul 28 on: charged there, and from then on every cycle.
    a.startNextCycle(shipped);
    a.startNextCycle(shipped);
    expect(charges(a).map((c) => c.at)).toEqual(['2026-06-05T00:00:00.000Z', '2026-06-28T00:00:00.000Z', '2026-08-05T00:00:00.000Z', '2026-09-05T00:00:00.000Z']);
    expect(a.state.tierPaidThrough).toBeUndefined();
  });

  it('keeps a pending tier downgrade for the first reset of the paid calendar', () => {
    const a = openTrial({ plan: 'growth', creditTier: 'tier-5' });
    expect(a.changeCreditTier('tier-2', at('2026-06-11T00:00:00.000Z'))).toMatchObject({ effective: 'next_cycle' });
    a.convertTrial('scale', shipped, at('2026-06-12T00:00:00.000Z'));
    expect(a.summary(at('2026-06-12T00:00:00.000Z'))).toMatchObject({ tier: { id: 'tier-5' }, pendingTier: { tier: 'tier-2', effectiveAt: '2026-07-12T00:00:00.000Z' } });
    expect(charges(a).map((c) => c.tierId)).toEqual(['tier-5']);
    a.startNextCycle(shipped);
    expect(a.summary(at('2026-07-12T00:00:00.000Z')).tier?.id).toBe('tier-2');
    expect(charges(a).map((c) => c.tierId)).toEqual(['tier-5', 'tier-2']);
  });

  it('keeps the trial credits when the rules roll them over', () => {
    const rolling = withTrial({ ...shipped.trial, rolloverOnConversion: true });
    const a = openTrial({}, undefined, rolling);
    a.convertTrial('essentials', rolling, at('2026-06-12T00:00:00.000Z'));
    expect(a.available()).toBe(1000 + 3000);
    expect(ledger(a).some((e) => e.kind === 'forfeit')).toBe(false);
  });

  it('refuses an anchor in the future or before the trial started (the validator refuses it first)', () => {
    const a = openTrial();
    const convertAt = at('2026-06-15T00:00:00.000Z');
    expect(() => a.convertTrial('growth', shipped, convertAt, '2026-06-15T00:00:01.000Z')).toThrow(AccountStateError);
    expect(() => a.convertTrial('growth', shipped, convertAt, '2026-06-10T11:59:59.000Z')).toThrow(AccountStateError);
    expect(a.state.trial).toBe(true);
    expect(a.trialStartedAt()).toBe('2026-06-10T12:00:00.000Z');
    a.convertTrial('growth', shipped, convertAt, '2026-06-10T12:00:00.000Z');
    expect(a.trialStartedAt()).toBeNull();
  });

  it('the legacy conversion (replay of older histories only) still ends the cycle\'s grants and charges the tier again', () => {
    const a = busyTrial();
    a.convertTrialLegacy('growth', shipped, at('2026-06-15T09:00:00.000Z'));
    expect(charges(a).map((c) => c.reason)).toEqual(['purchase', 'cycle_start']);
  });
});
