import { describe, expect, it } from 'vitest';
import { CreditAccount } from '../../domain/account';
import type { AccountStartInput } from '../../domain/wire-contract';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const T0 = Date.parse('2026-06-10T12:00:00.000Z');
const ANCHOR = '2026-06-03T00:00:00.000Z';
const open = (over: Partial<AccountStartInput> = {}, now = T0) =>
  CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 5, cycleAnchor: ANCHOR, ...over }, rules, now, 'e1');
let key = 0;
const use = (a: CreditAccount, feature: string, quantity: number, now = T0) =>
  a.recordUsage({ feature, quantity, idempotencyKey: `k${++key}` }, now);

function invariant(a: CreditAccount) {
  // Calls' overage past zero is written off when credits are added, not taken from them.
  expect(a.available()).toBe(a.state.cycleGranted - a.state.cycleUsed + (a.state.callOverage ?? 0));
}

describe('included credits by plan', () => {
  it.each([
    ['Solo', 3, 500],
    ['Starter', 1, 500],
    ['Essentials', 4, 4000],
    ['basic', 12, 10000],
    ['Growth', 5, 7500],
    ['Professional', 10, 15000],
    ['Scale', 20, 20000],
    ['enterprise', 2, 4000],
  ])('%s with %i users starts with %i credits', (plan, users, credits) => {
    const a = open({ plan, users });
    expect(a.available()).toBe(credits);
    expect(a.summary(T0).cycle).toEqual({ index: 0, start: ANCHOR, end: '2026-07-03T00:00:00.000Z' });
    invariant(a);
  });

  it('a trial gets the fixed 1,000 credits whatever the users', () => {
    expect(open({ trial: true, users: 7, plan: 'scale' }).available()).toBe(1000);
  });
});

describe('mid-cycle user changes', () => {
  it('grants the added users at once, up to the cap, and takes nothing back', () => {
    const a = open({ users: 8 });
    expect(a.setUsers(9, T0)).toEqual({ users: 9, creditsGranted: 1500 });
    expect(a.setUsers(14, T0)).toEqual({ users: 14, creditsGranted: 1500 });
    expect(a.setUsers(12, T0)).toEqual({ users: 12, creditsGranted: 0 });
    expect(a.available()).toBe(15000);
    expect(a.setUsers(3, T0)).toEqual({ users: 3, creditsGranted: 0 });
    expect(a.setUsers(10, T0)).toEqual({ users: 10, creditsGranted: 0 });
    expect(a.available()).toBe(15000);
    invariant(a);
  });

  it('the next cycle uses the new count', () => {
    const a = open({ users: 8 });
    a.setUsers(3, T0);
    a.startNextCycle(rules);
    expect(a.available()).toBe(4500);
  });

  it('knows a grant has expired from its end on, before it is expired', () => {
    const a = open({ trial: true });
    const end = Date.parse(a.state.grants.find((g) => g.source === 'trial')?.expiresAt ?? '');
    expect(a.hasExpiredGrants(end - 1)).toBe(false);
    expect(a.hasExpiredGrants(end)).toBe(true);
    a.expireGrants(end);
    expect(a.hasExpiredGrants(end)).toBe(false);
    expect(a.available()).toBe(0);
  });

  it('at the reset, each expiring grant steps the ledger balance down by its own remainder', () => {
    const a = open({ users: 3, creditTier: 'tier-1' });
    const before = a.available();
    a.state.outbox = [];
    a.startNextCycle(rules);
    const expiries = a.state.outbox.flatMap((o) => (o.type === 'ledger' && o.entry.kind === 'expiry' ? [o.entry] : []));
    expect(expiries.length).toBe(2);
    expect(expiries.map((e) => e.credits).reduce((x, y) => x + y, 0)).toBe(before);
    expect(expiries.map((e) => e.balanceAfter)).toEqual([before - (expiries[0]?.credits ?? 0), 0]);
  });
});

describe('usage', () => {
  it('charges credit-based features their rounded cost, from one pooled balance', () => {
    const a = open();
    expect(use(a, 'enrichment', 10)).toEqual({ accepted: true, credits: 10, balance: 7490, duplicate: false });
    expect(use(a, 'auto-updates', 3)).toEqual({ accepted: true, credits: 6, balance: 7484, duplicate: false });
    invariant(a);
  });

  it('answers a repeated idempotency key with the first answer and charges nothing', () => {
    const a = open();
    const first = a.recordUsage({ feature: 'enrichment', quantity: 5, idempotencyKey: 'same' }, T0);
    const again = a.recordUsage({ feature: 'enrichment', quantity: 50, idempotencyKey: 'same' }, T0);
    // The second use sent another quantity: still the first answer, flagged as a mismatch.
    expect(again).toEqual({ ...first, duplicate: true, payloadMismatch: true });
    expect(a.available()).toBe(7495);
  });

  it('keeps free features working at zero balance and refuses credit-based ones', () => {
    const a = open({ plan: 'solo', users: 1 });
    expect(use(a, 'enrichment', 500).balance).toBe(0);
    expect(use(a, 'enrichment', 1)).toMatchObject({ accepted: false, reason: 'credits_exhausted', credits: 0 });
    expect(use(a, 'notetaker', 1)).toMatchObject({ accepted: true, credits: 0 });
    expect(use(a, 'chloe-chat', 1)).toMatchObject({ accepted: true, credits: 0 });
  });

  it('gates Growth-and-above free features by plan', () => {
    expect(use(open({ plan: 'essentials' }), 'lead-summaries', 1)).toMatchObject({ accepted: false, reason: 'not_in_plan' });
    expect(use(open({ plan: 'growth' }), 'lead-summaries', 1)).toMatchObject({ accepted: true, credits: 0 });
    expect(use(open({ plan: 'scale' }), 'suggested-actions', 1)).toMatchObject({ accepted: true, credits: 0 });
  });

  it('accepts telephony-billed features with no credits', () => {
    const a = open();
    expect(use(a, 'sms', 3)).toEqual({ accepted: true, credits: 0, balance: 7500, duplicate: false });
  });

  it('refuses a disabled feature until it is enabled again', () => {
    const a = open();
    a.setFeatureEnabled('enrichment', false, T0);
    expect(use(a, 'enrichment', 1)).toMatchObject({ accepted: false, reason: 'feature_disabled' });
    a.setFeatureEnabled('enrichment', true, T0);
    expect(use(a, 'enrichment', 1)).toMatchObject({ accepted: true });
  });

  // Issue 9 changed this: a usage costing more than the balance used to be charged in full
  // (balance -3); it is now refused whole and the balance stays.
  it('refuses a usage that costs more than the balance, whole, and says what it would cost', () => {
    const a = open({ plan: 'solo', users: 1 });
    use(a, 'enrichment', 499);
    expect(use(a, 'auto-updates', 2)).toEqual({ accepted: false, reason: 'insufficient_credits', credits: 0, cost: 4, balance: 1, duplicate: false });
    expect(a.summary(T0).credits).toMatchObject({ available: 1, overdraft: 0, used: 499 });
    invariant(a);
  });
});

describe('voice agent calls', () => {
  it('completes a call in progress past zero and charges it in full', () => {
    const a = open({ plan: 'solo', users: 1 });
    expect(a.startCall({ callId: 'c1', agentId: 'chloe' }, T0)).toEqual({ authorized: true, balance: 500 });
    use(a, 'enrichment', 490);
    expect(a.endCall({ callId: 'c1', minutes: 3 }, T0 + 3 * 60_000)).toEqual({ credits: 60, balance: -50, minutesCharged: 3, capped: false });
    expect(a.startCall({ callId: 'c2', agentId: 'chloe' }, T0)).toEqual({ authorized: false, reason: 'credits_exhausted', balance: -50 });
    expect(a.summary(T0).telephonyMinutes).toBe(3);
    // Issue 9 changed this: new credits used to settle the overdraft first (available 50); now
    // they are usable in full and the call's 50 past zero is written off as call overage.
    a.grantCredits({ credits: 100, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'g1' }, T0);
    expect(a.available()).toBe(100);
    expect(a.summary(T0).credits).toMatchObject({ overdraft: 0, callOverage: 50 });
    invariant(a);
  });

  it('does not authorize a deactivated agent', () => {
    const a = open();
    a.setVoiceAgentActive('bot-7', false, T0);
    expect(a.startCall({ callId: 'c1', agentId: 'bot-7' }, T0)).toMatchObject({ authorized: false, reason: 'agent_inactive' });
    expect(a.endCall({ callId: 'c1', minutes: 5 }, T0)).toEqual({ credits: 0, balance: 7500, minutesCharged: 0, capped: false });
  });
});

describe('credit tiers', () => {
  it('buys at full price, upgrades at full price on top, and defers a downgrade', () => {
    const a = open();
    expect(a.changeCreditTier('tier-3', T0)).toEqual({ tier: 'tier-3', effective: 'now', chargedCents: 10000, creditsGranted: 7000 });
    expect(a.available()).toBe(14500);
    expect(a.changeCreditTier('tier-5', T0)).toEqual({ tier: 'tier-5', effective: 'now', chargedCents: 20000, creditsGranted: 16000 });
    expect(a.available()).toBe(30500);
    expect(a.changeCreditTier('tier-2', T0)).toEqual({ tier: 'tier-2', effective: 'next_cycle', chargedCents: 0, creditsGranted: 0 });
    expect(a.summary(T0).pendingTier).toEqual({ tier: 'tier-2', effectiveAt: '2026-07-03T00:00:00.000Z' });
    const charges = a.state.outbox.flatMap((e) => (e.type === 'charge' ? [e.charge] : []));
    expect(charges.map((c) => [c.tierId, c.amountCents, c.reason])).toEqual([
      ['tier-3', 10000, 'purchase'],
      ['tier-5', 20000, 'upgrade'],
    ]);
    a.startNextCycle(rules);
    expect(a.summary(T0).tier?.id).toBe('tier-2');
    expect(a.available()).toBe(7500 + 3200);
  });

  it('an upgrade cancels a pending downgrade', () => {
    const a = open({ creditTier: 'tier-4' });
    a.changeCreditTier(null, T0);
    expect(a.summary(T0).pendingTier).toMatchObject({ tier: null });
    expect(a.changeCreditTier('tier-6', T0)).toMatchObject({ effective: 'now', chargedCents: 30000 });
    expect(a.summary(T0).pendingTier).toBeNull();
  });
});

describe('plans', () => {
  it('an upgrade grants the difference at once; a downgrade waits for the next cycle', () => {
    const a = open({ plan: 'essentials', users: 4 });
    expect(a.changePlan('scale', T0)).toEqual({ plan: 'scale', effective: 'now', creditsGranted: 4000 });
    expect(a.available()).toBe(8000);
    expect(a.changePlan('solo', T0)).toEqual({ plan: 'solo', effective: 'next_cycle', creditsGranted: 0 });
    a.startNextCycle(rules);
    expect(a.summary(T0).plan.id).toBe('solo');
    expect(a.available()).toBe(500);
  });

  it('a trial converting seconds after a reset still answers retries from before the reset, under the patch only', () => {
    for (const keep of [true, false]) {
      const a = open({ trial: true, plan: 'growth', users: 1 });
      // Ends with the reset: only the answer window can tell its retry.
      const grant = { credits: 100, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'g-before' };
      const first = a.grantCredits(grant, T0);
      a.startNextCycle(rules); // Jul 3
      let asked = 0;
      const converted = a.convertTrial('growth', rules, Date.parse('2026-07-03T00:00:05.000Z'), undefined, () => (asked += 1) > 0 && keep);
      expect(converted.effective).toBe('now');
      expect(asked).toBe(1);
      const retried = a.grantCredits(grant, Date.parse('2026-07-03T00:00:06.000Z'));
      // Kept: the retry is answered with the first grant; forgotten: it grants again.
      expect(retried.grantId === first.grantId).toBe(keep);
    }
  });

  it('a tier bought after a conversion whose paid-through period runs past the cycle is charged and granted at the next reset', () => {
    // A trial started Jun 5 on the Jun 3 calendar: its tier renewed at the Jul 3 reset.
    const a = open({ trial: true, plan: 'growth', users: 1, creditTier: 'tier-2' }, Date.parse('2026-06-05T00:00:00.000Z'));
    a.startNextCycle(rules); // Jul 3
    // Converted two seconds later, backdated to the trial's start: the paid cycle (Jun 5 -
    // Jul 5) ends before the tier's paid period (to Aug 3).
    const convertAt = Date.parse('2026-07-03T00:00:02.000Z');
    a.convertTrial('growth', rules, convertAt, '2026-06-05T00:00:00.000Z');
    expect(Date.parse(a.state.tierPaidThrough ?? '')).toBeGreaterThan(Date.parse(a.state.cycle.end));
    let asked = 0;
    a.changeCreditTier('tier-5', convertAt, () => (asked += 1) > 0);
    expect(asked).toBe(1);
    a.state.outbox = [];
    a.startNextCycle(rules);
    const charges = a.state.outbox.flatMap((e) => (e.type === 'charge' ? [[e.charge.reason, e.charge.tierId]] : []));
    expect(charges).toEqual([['cycle_start', 'tier-5']]);
    expect(a.state.grants.filter((g) => g.source === 'subscription').map((g) => g.amount)).toContain(16000);
  });

  describe('a converted trial whose tier charge pays into a paid cycle but not through it', () => {
    /** A trial on tier-2 since Jun 3, renewed at the Jul 3 reset (paid through Aug 3), converted seconds later on a calendar anchored at `paidAnchor`. */
    const converted = (paidAnchor: string): CreditAccount => {
      const a = open({ trial: true, plan: 'growth', users: 1, creditTier: 'tier-2' }, Date.parse(ANCHOR));
      a.startNextCycle(rules);
      a.convertTrial('growth', rules, Date.parse('2026-07-03T00:00:02.000Z'), paidAnchor);
      expect(a.state.tierPaidThrough).toBe('2026-08-03T00:00:00.000Z');
      a.state.outbox = [];
      return a;
    };
    const charges = (a: CreditAccount) => a.state.outbox.flatMap((e) => (e.type === 'charge' ? [[e.charge.reason, e.charge.tierId, e.charge.at]] : []));
    const tierCredits = (a: CreditAccount) => a.state.grants.filter((g) => g.source === 'subscription').map((g) => [g.remaining, g.expiresAt]);

    it('is charged at the reset when the paid part is at most half the cycle, and the earlier tier credits end there', () => {
      // Paid calendar from Jul 2: the Aug 2 - Sep 2 cycle is paid for its first day only.
      const a = converted('2026-07-02T00:00:00.000Z');
      let asked = 0;
      a.startNextCycle(rules, undefined, undefined, () => (asked++, true));
      expect(asked).toBe(1);
      expect(a.state.cycle.start).toBe('2026-08-02T00:00:00.000Z');
      expect(charges(a)).toEqual([['cycle_start', 'tier-2', '2026-08-02T00:00:00.000Z']]);
      expect(tierCredits(a)).toEqual([[3200, '2026-09-02T00:00:00.000Z']]);
      expect(a.state.tierPaidThrough).toBeUndefined();
      expect(a.available()).toBe(a.state.cycleGranted - a.state.cycleUsed);
    });

    it('is granted without a charge when the paid part is over half the cycle, and charged at the next reset', () => {
      // Paid calendar from Jun 4: the Jul 4 - Aug 4 cycle is paid for all but its last day.
      const a = converted('2026-06-04T00:00:00.000Z');
      a.startNextCycle(rules);
      expect(a.state.cycle.start).toBe('2026-07-04T00:00:00.000Z');
      expect(charges(a)).toEqual([]);
      expect(tierCredits(a)).toEqual([[3200, '2026-08-04T00:00:00.000Z']]);
      expect(a.summary(Date.parse('2026-08-03T12:00:00.000Z')).credits.available).toBe(1500 + 3200);
      a.startNextCycle(rules);
      expect(charges(a)).toEqual([['cycle_start', 'tier-2', '2026-08-04T00:00:00.000Z']]);
    });

    it('in runs before the patch, is neither charged nor granted, as those runs were', () => {
      const a = converted('2026-07-02T00:00:00.000Z');
      a.startNextCycle(rules, undefined, undefined, () => false);
      expect(charges(a)).toEqual([]);
      expect(tierCredits(a)).toEqual([[3200, '2026-08-03T00:00:00.000Z']]);
    });
  });

  it('a trial converting forfeits its credits and starts a paid cycle now', () => {
    const a = open({ trial: true, plan: 'growth', users: 3 });
    use(a, 'enrichment', 100);
    const convertAt = Date.parse('2026-06-20T15:30:00.000Z');
    expect(a.convertTrial('growth', rules, convertAt)).toEqual({ plan: 'growth', effective: 'now', creditsGranted: 4500 });
    const s = a.summary(convertAt);
    expect(s.trial).toBe(false);
    expect(s.cycle).toEqual({ index: 1, start: '2026-06-20T15:30:00.000Z', end: '2026-07-20T15:30:00.000Z' });
    expect(s.credits.available).toBe(4500);
    expect(a.state.outbox.some((e) => e.type === 'ledger' && e.entry.kind === 'forfeit' && e.entry.credits === 900)).toBe(true);
  });
});

describe('a closed account restarted on another calendar inside a paid period', () => {
  // The earlier workflow renewed tier-3 on Jun 3 (its calendar), paid through Jul 3; restarted
  // on Jun 10 on a calendar anchored on the 20th: its first cycle (May 20 - Jun 20) ends first.
  const restart = (paidThrough: string) =>
    CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 1, creditTier: 'tier-3', cycleAnchor: '2026-05-20T00:00:00.000Z', restartClosed: true }, rules, Date.parse('2026-06-10T00:00:00.000Z'), 'e2', {
      promotions: { ids: [], names: [] },
      paidThisPeriod: { chargeId: 'acme:tier:2026-06-03T00:00:00.000Z', tierId: 'tier-3', amountCents: 10_000, reason: 'cycle_start', paidThrough },
    });
  const charges = (a: CreditAccount) => a.state.outbox.flatMap((e) => (e.type === 'charge' ? [[e.charge.reason, e.charge.at]] : []));
  const tierGrants = (a: CreditAccount) => a.state.grants.filter((g) => g.source === 'subscription').map((g) => [g.amount, g.expiresAt]);

  it('is not charged at its start, and settles the cycle the earlier charge pays into at its reset', () => {
    // 13 of the Jun 20 - Jul 20 cycle's 30 days paid: under half, charged at the reset.
    const a = restart('2026-07-03T00:00:00.000Z');
    expect(charges(a)).toEqual([]);
    expect(a.state.tierPaidThrough).toBe('2026-07-03T00:00:00.000Z');
    a.startNextCycle(rules);
    expect(charges(a)).toEqual([['cycle_start', '2026-06-20T00:00:00.000Z']]);
    expect(tierGrants(a)).toEqual([[7000, '2026-07-20T00:00:00.000Z']]);
  });

  it('is granted the cycle the earlier charge pays over half of, and charged at its end', () => {
    // Paid through Jul 15: 25 of 30 days.
    const a = restart('2026-07-15T00:00:00.000Z');
    a.startNextCycle(rules);
    expect(charges(a)).toEqual([]);
    expect(tierGrants(a)).toEqual([[7000, '2026-07-20T00:00:00.000Z']]);
    a.startNextCycle(rules);
    expect(charges(a)).toEqual([['cycle_start', '2026-07-20T00:00:00.000Z']]);
  });
});

describe('a closed account restarted in a period paid for a tier the rules no longer hold', () => {
  it('buys the tier it starts on as a purchase: the period renewal id is the earlier charge\'s, and would bill nothing', () => {
    const paid = { chargeId: 'acme:tier:2026-06-03T00:00:00.000Z', tierId: 'tier-retired', amountCents: 900, reason: 'cycle_start' as const };
    const start = { accountId: 'acme', plan: 'growth', users: 1, creditTier: 'tier-5', cycleAnchor: ANCHOR, restartClosed: true };
    const open = (purchase: boolean) =>
      CreditAccount.open(start, rules, T0, 'e2', { promotions: { ids: [], names: [] }, paidThisPeriod: paid }, () => purchase);
    const charged = (a: CreditAccount) => a.state.outbox.flatMap((e) => (e.type === 'charge' ? [[e.charge.reason, e.charge.chargeId, e.charge.tierId]] : []));
    const a = open(true);
    expect(charged(a)).toEqual([['purchase', 'acme:e2:charge:1', 'tier-5']]);
    expect(a.state.grants.filter((g) => g.source === 'subscription').map((g) => g.amount)).toEqual([16_000]);
    // The next reset renews it as any tier.
    a.state.outbox = [];
    a.startNextCycle(rules);
    expect(charged(a)).toEqual([['cycle_start', 'acme:tier:2026-07-03T00:00:00.000Z', 'tier-5']]);
    // Runs before the patch charged it under the period's id, which the billing record already held.
    expect(charged(open(false))).toEqual([['cycle_start', paid.chargeId, 'tier-5']]);
  });
});

describe('promotions', () => {
  it('grants the beta credits at the first cycle on or after the date, for two cycles', () => {
    const a = open({ tags: ['chloe-beta'], plan: 'growth', users: 2, cycleAnchor: '2026-05-03T00:00:00.000Z' }, Date.parse('2026-05-20T00:00:00.000Z'));
    expect(a.available()).toBe(3000); // cycle May 3 - Jun 3 precedes the promotion
    a.startNextCycle(rules); // Jun 3
    const promo = a.state.grants.find((g) => g.source === 'promotion');
    expect(promo).toMatchObject({ amount: 100000, expiresAt: '2026-08-03T00:00:00.000Z' });
    a.startNextCycle(rules); // Jul 3: still there
    expect(a.state.grants.some((g) => g.source === 'promotion')).toBe(true);
    a.startNextCycle(rules); // Aug 3: gone, and never granted again
    expect(a.state.grants.some((g) => g.source === 'promotion')).toBe(false);
    a.startNextCycle(rules);
    expect(a.available()).toBe(3000);
  });

  it('tells a trial the reset left with no credits that it is exhausted, once; asks the patch only then', () => {
    const a = open({ tags: ['chloe-beta'], trial: true, users: 2 }, Date.parse('2026-07-10T00:00:00.000Z'));
    const alerts = () => a.state.outbox.flatMap((e) => (e.type === 'alert' ? [[e.alert.state, e.alert.cycleIndex]] : []));
    let asked = 0;
    const ask = () => (asked += 1) > 0;
    a.startNextCycle(rules, undefined, ask); // Aug 3: the promotion and the trial's credits end
    expect(a.available()).toBe(0);
    expect(alerts()).toEqual([['exhausted', 2]]);
    a.startNextCycle(rules, undefined, ask); // Sep 3: nothing granted, nothing new to say
    expect(alerts()).toEqual([['exhausted', 2]]);
    expect(asked).toBe(1);
    const paid = open({ tags: ['chloe-beta'], users: 2 }, Date.parse('2026-07-10T00:00:00.000Z'));
    paid.startNextCycle(rules, undefined, ask);
    expect(paid.available()).toBe(3000);
    expect(paid.state.outbox.some((e) => e.type === 'alert')).toBe(false);
    expect(asked).toBe(1);
  });

  it('an account arriving inside the window gets it at once until the window ends; after it, nothing', () => {
    const inside = open({ tags: ['chloe-beta'] }, Date.parse('2026-07-10T00:00:00.000Z'));
    expect(inside.state.grants.find((g) => g.source === 'promotion')?.expiresAt).toBe('2026-08-03T00:00:00.000Z');
    const late = open({ tags: ['chloe-beta'] }, Date.parse('2026-08-10T00:00:00.000Z'));
    expect(late.state.grants.some((g) => g.source === 'promotion')).toBe(false);
    const untagged = open({}, Date.parse('2026-07-10T00:00:00.000Z'));
    expect(untagged.state.grants.some((g) => g.source === 'promotion')).toBe(false);
  });

  it.each([
    [2, '2026-08-10T00:00:00.000Z'],
    [1, undefined],
  ])(
    'a promotion (%i cycles) a later version brings dated before it reaches an account whose first cycle since its date began under the version before only at the next cycle, expiring at %s',
    (validForCycles, expiresAt) => {
      // rules validate warns so (promotionDateWarnings); this pins what the engine does.
      const before = { ...rules, promotions: [] };
      const after = { ...rules, promotions: rules.promotions.map((p) => ({ ...p, validForCycles })) };
      const a = CreditAccount.open(
        { accountId: 'gap', plan: 'growth', users: 2, tags: ['chloe-beta'], cycleAnchor: '2026-06-10T00:00:00.000Z' },
        before,
        Date.parse('2026-06-10T00:00:00.000Z'),
        'e1',
      );
      a.startNextCycle(after); // Jul 10: the second of the promotion's cycles counted from Jun 10
      expect(a.state.grants.find((g) => g.source === 'promotion')?.expiresAt).toBe(expiresAt);
      a.startNextCycle(after);
      expect(a.state.grants.some((g) => g.source === 'promotion')).toBe(false);
    },
  );

  it('consumes the soonest-expiring credits first', () => {
    const a = open({ tags: ['chloe-beta'], users: 2 }, Date.parse('2026-06-10T00:00:00.000Z'));
    use(a, 'enrichment', 3500);
    const byId = Object.fromEntries(a.state.grants.map((g) => [g.source, g.remaining]));
    expect(byId).toEqual({ included: 0, promotion: 99500 });
  });
});

describe('alerts', () => {
  it('warns once per cycle and re-arms exhausted after credits are added', () => {
    const a = open({ plan: 'solo', users: 1 }, Date.parse('2026-06-04T00:00:00.000Z'));
    const t = Date.parse('2026-06-05T00:00:00.000Z');
    use(a, 'enrichment', 380, t);
    use(a, 'enrichment', 10, t);
    use(a, 'enrichment', 110, t);
    a.grantCredits({ credits: 50, reason: 'sorry', validForCycles: 1, idempotencyKey: 'g' }, t);
    use(a, 'enrichment', 50, t);
    const alerts = a.state.outbox.flatMap((e) => (e.type === 'alert' ? [e.alert.state] : []));
    expect(alerts).toEqual(['warning', 'exhausted', 'exhausted']);
  });
});

describe('alerts following the balance', () => {
  const alertsOf = (a: CreditAccount) => a.state.outbox.flatMap((e) => (e.type === 'alert' ? [`${e.alert.state}@${e.alert.cycleIndex}`] : []));
  const t = Date.parse('2026-06-05T00:00:00.000Z');

  it('warns again after credits were added and the line is crossed again', () => {
    const a = open({ plan: 'essentials', users: 1 }, Date.parse('2026-06-04T00:00:00.000Z')); // 1,000 credits
    use(a, 'enrichment', 760, t);
    expect(alertsOf(a)).toEqual(['warning@0']);
    const before = a.availableNow();
    a.grantCredits({ credits: 1000, reason: 'top-up', validForCycles: 1, idempotencyKey: 'top' }, t);
    a.afterCommand(before, t);
    expect(a.summary(t).alert).toBe('ok');
    use(a, 'enrichment', 840, t);
    expect(a.summary(t).alert).toBe('warning');
    expect(alertsOf(a)).toEqual(['warning@0', 'warning@0']);
  });

  it('does not warn again when no credits were added, nor when the credits added leave the account in the warning', () => {
    const a = open({ plan: 'essentials', users: 1 }, Date.parse('2026-06-04T00:00:00.000Z'));
    use(a, 'enrichment', 760, t);
    a.afterCommand(a.availableNow(), t);
    use(a, 'enrichment', 10, t);
    const before = a.availableNow();
    a.grantCredits({ credits: 10, reason: 'a little', validForCycles: 1, idempotencyKey: 'little' }, t);
    a.afterCommand(before, t);
    expect(a.summary(t).alert).toBe('warning');
    use(a, 'enrichment', 10, t);
    expect(alertsOf(a)).toEqual(['warning@0']);
  });

  it('keeps the old behaviour where the patch says so', () => {
    const a = open({ plan: 'essentials', users: 1 }, Date.parse('2026-06-04T00:00:00.000Z'));
    use(a, 'enrichment', 760, t);
    const before = a.availableNow();
    a.grantCredits({ credits: 1000, reason: 'top-up', validForCycles: 1, idempotencyKey: 'top' }, t);
    a.afterCommand(before, t, () => false);
    use(a, 'enrichment', 840, t);
    expect(alertsOf(a)).toEqual(['warning@0']);
  });

  it("says a trial is exhausted when its credits expire unused, not only when used up", () => {
    const opened = Date.parse('2026-06-04T00:00:00.000Z');
    const a = open({ plan: 'growth', users: 1, trial: true }, opened);
    use(a, 'enrichment', 500, t);
    expect(alertsOf(a)).toEqual([]);
    const ended = Date.parse(a.state.trialGrant?.endsAt ?? '');
    expect(a.hasExpiredGrants(ended)).toBe(true);
    a.expireGrants(ended);
    expect(a.summary(ended)).toMatchObject({ alert: 'exhausted', credits: { available: 0 } });
    const [alert] = a.state.outbox.flatMap((e) => (e.type === 'alert' ? [e.alert] : []));
    expect(alert).toMatchObject({ state: 'exhausted', available: 0, trial: { endsAt: a.state.trialGrant?.endsAt } });
    // Where the patch says no, the expiry stays silent.
    const quiet = open({ plan: 'growth', users: 1, trial: true }, opened);
    use(quiet, 'enrichment', 500, t);
    quiet.expireGrants(ended, () => false);
    expect(alertsOf(quiet)).toEqual([]);
  });
});

describe('projected run-out date in the summary', () => {
  it('is when the balance reaches zero at the pace so far, and null without usage or once out', () => {
    const a = open({ users: 5 }); // 7,500 credits, opened at T0
    expect(a.summary(T0).projectedRunOutAt).toBeNull();
    const day = T0 + 86_400_000;
    expect(use(a, 'enrichment', 6000, day).accepted).toBe(true);
    // 6,000 credits in a day leave 1,500: a quarter of a day more.
    const summary = a.summary(day);
    expect(summary.alert).toBe('warning');
    expect(summary.projectedRunOutAt).toBe(new Date(day + 6 * 3_600_000).toISOString());
    expect(use(a, 'enrichment', 1500, day).accepted).toBe(true);
    expect(a.summary(day)).toMatchObject({ alert: 'exhausted', projectedRunOutAt: null });
  });
});
