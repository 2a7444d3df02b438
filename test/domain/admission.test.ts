/**
 * Issue 9, items 1, 3 and 6: a usage is admitted only when the balance covers its whole cost
 * (nothing but a call takes the balance below zero), credits added are usable in full at once
 * (a call's overage past zero is written off as `call_overage`, not taken from them), and every
 * quantity and cost is exact integer arithmetic, refused rather than rounded or overflowed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccountStateError, CreditAccount } from '../../domain/account';
import { debit } from '../../domain/credit-pool';
import type { LedgerEntry } from '../../domain/effects';
import type { AccountStartInput } from '../../domain/wire-contract';
import { MAX_USAGE_CREDITS, checkRecordUsage } from '../../domain/input-problems';
import { creditsForMicros, creditsForQuantity, exactMicros, isValidQuantity, toMicros } from '../../domain/pricing';
import type { FeatureCost, Rules } from '../../ruleset/types';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const T0 = Date.parse('2026-06-10T12:00:00.000Z');
const ANCHOR = '2026-06-03T00:00:00.000Z';
const open = (over: Partial<AccountStartInput> = {}, withRules: Rules = rules) =>
  CreditAccount.open({ accountId: 'acme', plan: 'solo', users: 1, cycleAnchor: ANCHOR, ...over }, withRules, T0, 'e1');
let key = 0;
const use = (a: CreditAccount, feature: string, quantity: number) => a.recordUsage({ feature, quantity, idempotencyKey: `k${++key}` }, T0);
const ledger = (a: CreditAccount): LedgerEntry[] => a.state.outbox.flatMap((e) => (e.type === 'ledger' ? [e.entry] : []));

/** The shipped rules with one feature's cost replaced. */
function withCost(featureId: string, cost: FeatureCost): Rules {
  return { ...rules, features: rules.features.map((f) => (f.id === featureId ? { ...f, cost } : f)) };
}

/** `available = granted − used + callOverage`, and the last ledger entry's balance is the balance. */
function consistent(a: CreditAccount): void {
  const c = a.summary(T0).credits;
  expect(c.available).toBe(c.granted - c.used + c.callOverage);
  expect(c.available).toBe(a.state.grants.reduce((sum, g) => sum + g.remaining, 0) - c.overdraft);
  expect(ledger(a).at(-1)?.balanceAfter).toBe(c.available);
}

/** An account of one user whose call ran 50 credits past zero. */
function pastZero(over: Partial<AccountStartInput> = {}): CreditAccount {
  const a = open(over);
  a.startCall({ callId: 'c1', agentId: 'chloe' }, T0);
  use(a, 'enrichment', a.available() - 10);
  // The call ran its three minutes (calls are charged only for the time they ran).
  expect(a.endCall({ callId: 'c1', minutes: 3 }, T0 + 3 * 60_000)).toMatchObject({ credits: 60, balance: -50, capped: false });
  return a;
}

describe('admission: the balance covers the whole cost, or nothing is charged', () => {
  it('admits a cost equal to the balance and refuses one credit more, with the cost and the balance', () => {
    const a = open();
    expect(use(a, 'enrichment', 200)).toMatchObject({ accepted: true, credits: 200, balance: 300 });
    const before = a.state.outbox.length;
    expect(use(a, 'enrichment', 301)).toEqual({ accepted: false, reason: 'insufficient_credits', credits: 0, cost: 301, balance: 300, duplicate: false });
    // Nothing half-applied: no debit, no alert, one rejected usage entry saying why.
    expect(a.state.outbox.slice(before).map((e) => e.type)).toEqual(['ledger']);
    expect(ledger(a).at(-1)).toMatchObject({
      kind: 'usage',
      decision: 'rejected',
      reason: 'insufficient_credits',
      credits: 0,
      balanceAfter: 300,
      note: 'costs 301 credits; 300 available',
    });
    expect(a.summary(T0).usage).toEqual([{ feature: 'enrichment', quantity: 200, credits: 200, count: 1, rejected: 1 }]);
    expect(use(a, 'enrichment', 300)).toEqual({ accepted: true, credits: 300, balance: 0, duplicate: false });
    consistent(a);
  });

  it('compares the rounded cost: 1.4 calls at 2 credits cost 3, more than a balance of 2', () => {
    const a = open();
    use(a, 'enrichment', 498);
    expect(use(a, 'auto-updates', 1.4)).toMatchObject({ accepted: false, reason: 'insufficient_credits', cost: 3, balance: 2 });
    expect(use(a, 'auto-updates', 1)).toMatchObject({ accepted: true, credits: 2, balance: 0 });
  });

  it('says credits_exhausted, not insufficient_credits, when nothing is available', () => {
    const a = open();
    use(a, 'enrichment', 500);
    expect(use(a, 'enrichment', 1)).toEqual({ accepted: false, reason: 'credits_exhausted', credits: 0, balance: 0, duplicate: false });
    expect(use(pastZero(), 'enrichment', 1)).toMatchObject({ accepted: false, reason: 'credits_exhausted', balance: -50 });
  });

  it('a refused key answers the same when retried, and free features are unaffected', () => {
    const a = open();
    const first = a.recordUsage({ feature: 'enrichment', quantity: 1_000_000, idempotencyKey: 'big' }, T0);
    expect(first).toMatchObject({ accepted: false, reason: 'insufficient_credits', cost: 1_000_000, balance: 500 });
    expect(a.recordUsage({ feature: 'enrichment', quantity: 1_000_000, idempotencyKey: 'big' }, T0)).toEqual({ ...first, duplicate: true });
    expect(use(a, 'notetaker', 1_000_000)).toMatchObject({ accepted: true, credits: 0, balance: 500 });
    expect(a.available()).toBe(500);
  });

  it('only a call may debit past zero; any other debit past the balance is a bug, refused before any change', () => {
    const a = open();
    expect(() => debit(a.state, 501, false)).toThrow(AccountStateError);
    expect(a.available()).toBe(500);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, T0);
    use(a, 'enrichment', 500);
    expect(a.endCall({ callId: 'c1', minutes: 1 }, T0 + 60_000)).toMatchObject({ credits: 20, balance: -20, capped: false });
    expect(a.summary(T0).credits).toMatchObject({ available: -20, overdraft: 20, callOverage: 0 });
    consistent(a);
  });
});

describe('credits added are credits usable', () => {
  it.each([
    ['a tier purchase', {}, (a: CreditAccount) => a.changeCreditTier('tier-1', T0).creditsGranted],
    ['a tier upgrade', { creditTier: 'tier-1' }, (a: CreditAccount) => a.changeCreditTier('tier-2', T0).creditsGranted],
    ['a manual grant', {}, (a: CreditAccount) => (a.grantCredits({ credits: 30, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'g' }, T0), 30)],
    ['users added', { plan: 'essentials' }, (a: CreditAccount) => a.setUsers(3, T0).creditsGranted],
    ['a plan upgrade', {}, (a: CreditAccount) => a.changePlan('growth', T0).creditsGranted],
  ])('%s while below zero is usable in full at once', (_what, over: Partial<AccountStartInput>, add) => {
    const a = pastZero(over);
    const granted = add(a);
    expect(granted).toBeGreaterThan(0);
    expect(a.available()).toBe(granted);
    expect(a.summary(T0).credits).toMatchObject({ available: granted, overdraft: 0, callOverage: 50 });
    // The call's overage is on the ledger for finance, before the grant, taking the balance to zero.
    const overage = ledger(a).find((e) => e.kind === 'call_overage');
    expect(overage).toMatchObject({ credits: 50, balanceAfter: 0, note: 'calls ran 50 credits past zero; written off when credits were added' });
    // Credit-based features resume at once, up to everything the answer said was granted.
    expect(use(a, 'enrichment', granted)).toMatchObject({ accepted: true, credits: granted, balance: 0 });
    consistent(a);
  });

  it('a promotion and the included credits of a reset that finds the balance below zero are usable in full', () => {
    const later = { ...rules, promotions: rules.promotions.map((p) => ({ ...p, startsOn: '2026-07-03' })) };
    const a = CreditAccount.open({ accountId: 'acme', plan: 'solo', users: 1, cycleAnchor: ANCHOR, tags: ['chloe-beta'] }, later, T0, 'e1');
    a.startCall({ callId: 'c1', agentId: 'chloe' }, T0);
    use(a, 'enrichment', 500);
    a.endCall({ callId: 'c1', minutes: 1 }, T0 + 60_000);
    a.startNextCycle(later);
    expect(a.available()).toBe(100_500);
    consistent(a);
  });

  it('the reset writes a remaining overage off as call overage, and the new cycle starts clean', () => {
    const a = pastZero();
    a.startNextCycle(rules);
    const entries = ledger(a);
    const overage = entries.find((e) => e.kind === 'call_overage');
    expect(overage).toMatchObject({ credits: 50, balanceAfter: 0, cycleIndex: 0, note: 'calls ran 50 credits past zero; written off at the reset' });
    expect(entries.some((e) => e.kind === 'overdraft_write_off')).toBe(false);
    expect(a.summary(T0).credits).toEqual({ available: 500, granted: 500, used: 0, overdraft: 0, callOverage: 0 });
  });

  it('nothing is written off when the balance never went below zero', () => {
    const a = open();
    use(a, 'enrichment', 500);
    a.grantCredits({ credits: 10, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'g' }, T0);
    a.startNextCycle(rules);
    expect(ledger(a).some((e) => e.kind === 'call_overage')).toBe(false);
  });
});

describe('numbers: quantities are exact, costs are integers, and bounds are refused', () => {
  it('refuses a quantity with a seventh decimal instead of rounding it', () => {
    for (const q of [1.0000001, 0.1234567, 1e-7, 2.5e-7, 0.1 + 0.2]) {
      expect(isValidQuantity(q)).toBe(false);
      expect(exactMicros(q)).toBeUndefined();
      expect(() => toMicros(q)).toThrow(RangeError);
      expect(checkRecordUsage({ feature: 'enrichment', quantity: q, idempotencyKey: 'k' }, { rules })?.code).toBe('InvalidQuantity');
    }
    expect(exactMicros(0.000001)).toBe(1);
    expect(exactMicros(123456.654321)).toBe(123_456_654_321);
    expect(exactMicros(1e9)).toBe(1e15);
  });

  it('reads whole quantities without decimal text exactly as it reads them with it', () => {
    // The whole-number fast path must agree with the exact BigInt reading, up to and past the
    // last quantity whose micro-units are a safe integer.
    const bigIntReading = (q: number) => {
      const micros = BigInt(q) * 1_000_000n;
      return micros <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(micros) : undefined;
    };
    const edge = Math.floor(Number.MAX_SAFE_INTEGER / 1e6);
    for (const q of [0, 1, 500, edge - 1, edge, edge + 1, 1e12, Number.MAX_SAFE_INTEGER, 1e21]) expect(exactMicros(q)).toBe(bigIntReading(q));
    fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (q) => exactMicros(q) === bigIntReading(q)));
  });

  it('charges decimals exactly where floats would not', () => {
    // In floats 1.1 × 100 is 110.00000000000001 (a ceil charges 111) and 0.57 × 100 is
    // 56.99999999999999 (a floor charges 56).
    expect(Math.ceil(1.1 * 100)).toBe(111);
    expect(Math.floor(0.57 * 100)).toBe(56);
    expect(creditsForQuantity({ credits: 100, per: 1, unit: 'field', rounding: 'up' }, 1.1)).toBe(110);
    expect(creditsForQuantity({ credits: 100, per: 1, unit: 'field', rounding: 'down' }, 0.57)).toBe(57);
    expect(creditsForQuantity({ credits: 1, per: 2, unit: 'field', rounding: 'nearest' }, 0.999999)).toBe(0);
    expect(creditsForQuantity({ credits: 1, per: 2, unit: 'field', rounding: 'nearest' }, 1)).toBe(1);
    const a = open({}, withCost('enrichment', { credits: 100, per: 1, unit: 'field', rounding: 'down' }));
    expect(use(a, 'enrichment', 0.57)).toMatchObject({ accepted: true, credits: 57, balance: 443 });
    expect(a.summary(T0).usage[0]).toMatchObject({ quantity: 0.57, credits: 57 });
    // A caller's float sum that is not the decimal it meant is refused, not rounded.
    expect(use(a, 'enrichment', 0.3)).toMatchObject({ accepted: true, credits: 30 });
    expect(checkRecordUsage({ feature: 'enrichment', quantity: 0.1 + 0.2, idempotencyKey: 'k' }, { rules })?.code).toBe('InvalidQuantity');
  });

  it('refuses a usage costing more than one usage may, before it reaches the account', () => {
    const dear = withCost('enrichment', { credits: 1_000_000_000, per: 1, unit: 'field', rounding: 'up' });
    const check = (quantity: number) => checkRecordUsage({ feature: 'enrichment', quantity, idempotencyKey: 'k' }, { rules: dear });
    expect(check(0.01)).toBeUndefined();
    expect(creditsForQuantity(dear.features.find((f) => f.id === 'enrichment')!.cost!, 0.01)).toBe(MAX_USAGE_CREDITS);
    expect(check(0.010001)).toEqual({
      code: 'InvalidQuantity',
      message: 'quantity 0.010001 of enrichment would cost 10,001,000 credits; one usage may cost at most 10,000,000',
    });
    expect(check(1_000_000)?.code).toBe('InvalidQuantity');
    // Without the rules (the client) only the shape is checked; the workflow's check has them.
    expect(checkRecordUsage({ feature: 'enrichment', quantity: 1_000_000, idempotencyKey: 'k' }, {})).toBeUndefined();
  });

  it('never returns a cost past the safe-integer range', () => {
    const cost: FeatureCost = { credits: 1_000_000_000, per: 1, unit: 'field', rounding: 'up' };
    expect(creditsForMicros(cost, 9e12)).toBe(9e15);
    expect(() => creditsForMicros(cost, 1e13)).toThrow(RangeError);
  });
});
