/**
 * Voids (issue 9, item 7): a usage of the current cycle is voided by its key; its credits go
 * back to the grants they came from, its counters go down, the ledger keeps both entries, a
 * repeat is a duplicate, and every refusal changes nothing.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CreditAccount } from '../../domain/account';
import { balanceMove, type LedgerEntry } from '../../domain/effects';
import type { AccountStartInput } from '../../domain/wire-contract';
import { debit } from '../../domain/credit-pool';
import { toMicros } from '../../domain/pricing';
import { VOIDABLE_USAGE_BYTES, jsonBytes } from '../../domain/state-budget';
import { RETURNED_CREDITS_LABEL, rememberVoidable } from '../../domain/usage-voids';
import { shippedRules } from '../helpers/shipped-rules';
import { ledgerFactsOf, reconcileAccount } from '../../ledger/reconcile';
import { spendableGiveBack } from '../helpers/void-give-back';

const rules = shippedRules();
const T0 = Date.parse('2026-06-10T12:00:00.000Z');
const ANCHOR = '2026-06-03T00:00:00.000Z';
const open = (over: Partial<AccountStartInput> = {}, now = T0) =>
  CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 2, cycleAnchor: ANCHOR, ...over }, rules, now, 'e1');
const use = (a: CreditAccount, key: string, quantity: number, feature = 'enrichment', now = T0) =>
  a.recordUsage({ feature, quantity, idempotencyKey: key }, now);
const voidOf = (a: CreditAccount, key: string, now = T0) => a.voidUsage({ idempotencyKey: key, reason: 'charged twice by a sync bug' }, now);

function ledger(a: CreditAccount): LedgerEntry[] {
  return a.state.outbox.flatMap((e) => (e.type === 'ledger' ? [e.entry] : []));
}
function remaining(a: CreditAccount): Record<string, number> {
  return Object.fromEntries(a.state.grants.map((g) => [g.source === 'manual' ? g.label : g.source, g.remaining]));
}
function invariant(a: CreditAccount): void {
  expect(a.available()).toBe(a.state.cycleGranted - a.state.cycleUsed + (a.state.callOverage ?? 0));
}

/** Each entry's balance after follows from the one before it and what the entry moves. */
function chainHolds(a: CreditAccount): void {
  const entries = ledger(a);
  for (let i = 1; i < entries.length; i++) {
    const [prev, entry] = [entries[i - 1], entries[i]];
    expect({ seq: entry?.seq, balanceAfter: entry?.balanceAfter }).toEqual({ seq: entry?.seq, balanceAfter: (prev?.balanceAfter ?? 0) + balanceMove(entry as LedgerEntry) });
  }
}


describe('voidUsage', () => {
  it('returns the credits to the grants they came from, takes the usage off its counters, and logs the reversal', () => {
    // Growth with 2 users: 3,000 included (expiring Jul 3) and the beta promotion (100,000, expiring Aug 3).
    const a = open({ tags: ['chloe-beta'] });
    use(a, 'other', 10);
    expect(use(a, 'k-big', 3500)).toMatchObject({ accepted: true, credits: 3500 });
    expect(remaining(a)).toEqual({ included: 0, promotion: 99_490 });
    const before = a.available();

    expect(voidOf(a, 'k-big')).toEqual({ voided: true, credits: 3500, balance: before + 3500, duplicate: false });
    expect(remaining(a)).toEqual({ included: 2990, promotion: 100_000 });
    const s = a.summary(T0);
    expect(s.usage).toEqual([{ feature: 'enrichment', quantity: 10, credits: 10, count: 1, rejected: 0 }]);
    expect(s.credits.used).toBe(10);
    invariant(a);

    const [usage, reversal] = ledger(a).filter((e) => e.idempotencyKey === 'k-big');
    expect(usage).toMatchObject({ kind: 'usage', credits: 3500, quantity: 3500 });
    const included = a.state.grants.find((g) => g.source === 'included')?.grantId;
    const promotion = a.state.grants.find((g) => g.source === 'promotion')?.grantId;
    expect(reversal).toMatchObject({
      kind: 'void',
      credits: -3500,
      quantity: -3500,
      unit: 'field',
      feature: 'enrichment',
      balanceAfter: before + 3500,
      debits: [
        { grantId: included, credits: -2990 },
        { grantId: promotion, credits: -510 },
      ],
      note: 'voided: charged twice by a sync bug',
    });
    // Both entries of the key sum to nothing.
    expect((usage?.credits ?? 0) + (reversal?.credits ?? 0)).toBe(0);
  });

  it('is idempotent: a repeat answers the first answer as a duplicate and changes nothing', () => {
    const a = open();
    use(a, 'k1', 40);
    const first = voidOf(a, 'k1');
    const entries = ledger(a).length;
    const balance = a.available();
    expect(voidOf(a, 'k1')).toEqual({ ...first, duplicate: true });
    expect(ledger(a)).toHaveLength(entries);
    expect(a.available()).toBe(balance);
  });

  it('keeps a voided key used: recording it again is a duplicate, not new usage', () => {
    const a = open();
    use(a, 'k1', 40);
    voidOf(a, 'k1');
    const balance = a.available();
    expect(use(a, 'k1', 40)).toMatchObject({ accepted: true, credits: 40, duplicate: true });
    expect(a.available()).toBe(balance);
    expect(a.summary(T0).usage).toEqual([{ feature: 'enrichment', quantity: 0, credits: 0, count: 0, rejected: 0 }]);
  });

  describe('refusals change nothing and are not remembered', () => {
    const refusedCases: [string, (a: CreditAccount) => void, string][] = [
      ['an unknown key', () => undefined, 'unknown_usage'],
      [
        'a refused usage',
        (a) => {
          a.setFeatureEnabled('enrichment', false, T0);
          use(a, 'k', 5);
        },
        'usage_refused',
      ],
      ['a free usage', (a) => use(a, 'k', 3, 'notetaker'), 'nothing_charged'],
      ['a telephony-billed usage', (a) => use(a, 'k', 3, 'sms'), 'nothing_charged'],
      ['a Voice Agent call', (a) => a.startCall({ callId: 'k', agentId: 'agent-1' }, T0), 'call_not_voidable'],
      [
        'a usage of an earlier cycle',
        (a) => {
          use(a, 'k', 5);
          a.startNextCycle(rules);
        },
        'earlier_cycle',
      ],
    ];
    it.each(refusedCases)('%s', (_what, setup, reason) => {
      const a = open();
      setup(a);
      const state = JSON.stringify(a.state);
      expect(voidOf(a, 'k')).toEqual({ voided: false, reason, credits: 0, balance: a.available(), duplicate: false });
      expect(JSON.stringify(a.state)).toBe(state);
    });

    it('an unknown key voided later, once its usage arrived, is voided then', () => {
      const a = open();
      expect(voidOf(a, 'late').voided).toBe(false);
      use(a, 'late', 7);
      expect(voidOf(a, 'late')).toMatchObject({ voided: true, credits: 7, duplicate: false });
    });

    it('a usage older than the voidable ones the account keeps', () => {
      const a = open({ plan: 'scale', users: 20 });
      for (let i = 0; i < 2000; i++) use(a, `key-${String(i).padStart(6, '0')}`, 1);
      expect(jsonBytes(a.state.voidable)).toBeLessThanOrEqual(VOIDABLE_USAGE_BYTES);
      expect(a.state.voidable?.length).toBeGreaterThan(500);
      const state = JSON.stringify(a.state);
      expect(voidOf(a, 'key-000000')).toMatchObject({ voided: false, reason: 'void_window_passed' });
      expect(JSON.stringify(a.state)).toBe(state);
      expect(voidOf(a, 'key-001999')).toMatchObject({ voided: true, credits: 1 });
    });
  });

  it('forgets the voidable usages at the reset', () => {
    const a = open();
    use(a, 'k', 5);
    expect(a.state.voidable).toHaveLength(1);
    a.startNextCycle(rules);
    expect(a.state.voidable).toBeUndefined();
  });

  /** An account whose 100-credit manual grant ends mid-cycle, after `k1` took 60 of it and `k2` 40 of it and 20 included credits. */
  function usedAnExpiredGrant(): { a: CreditAccount; manualId: string; includedId: string } {
    const a = open();
    a.grantCredits({ credits: 100, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'g' }, T0);
    // A grant ending mid-cycle (a trial's, or one whose end a conversion moved): make one by hand.
    const manual = a.state.grants.find((g) => g.source === 'manual');
    const included = a.state.grants.find((g) => g.source === 'included');
    if (!manual || !included) throw new Error('no manual or included grant');
    manual.expiresAt = '2026-06-15T00:00:00.000Z';
    use(a, 'k1', 60); // all from the manual grant, which expires first
    use(a, 'k2', 60); // 40 from the manual grant, 20 from the included credits
    a.expireGrants(Date.parse('2026-06-16T00:00:00.000Z'));
    expect(a.state.grants.some((g) => g.grantId === manual.grantId)).toBe(false);
    return { a, manualId: manual.grantId, includedId: included.grantId };
  }

  it('credits whose grant has expired since go back to it and expire with it at once: the balance does not grow by them', () => {
    const { a, manualId, includedId } = usedAnExpiredGrant();
    const before = a.available();
    const granted = a.state.cycleGranted;

    expect(voidOf(a, 'k1', Date.parse('2026-06-20T00:00:00.000Z'))).toEqual({ voided: true, credits: 60, expired: 60, balance: before, duplicate: false });
    expect(a.state.grants.some((g) => g.label === RETURNED_CREDITS_LABEL)).toBe(false);
    const [reversal, expiry] = ledger(a).slice(-2);
    expect(reversal).toMatchObject({ kind: 'void', credits: -60, idempotencyKey: 'k1', debits: [{ grantId: manualId, credits: -60 }], balanceAfter: before + 60 });
    expect(expiry).toMatchObject({ kind: 'expiry', credits: 60, grantId: manualId, balanceAfter: before, at: '2026-06-20T00:00:00.000Z' });
    expect(expiry?.note).toBe('credits given back by the void of usage k1 to a grant that had expired since');
    expect(a.summary(Date.parse('2026-06-20T00:00:00.000Z')).credits).toMatchObject({ available: before, granted: granted - 60, used: 120 - 60 });
    invariant(a);
    chainHolds(a);

    // Part from a live grant, part from the expired one: only the live part comes back.
    expect(voidOf(a, 'k2')).toEqual({ voided: true, credits: 60, expired: 40, balance: before + 20, duplicate: false });
    expect(ledger(a).at(-2)?.debits).toEqual([
      { grantId: manualId, credits: -40 },
      { grantId: includedId, credits: -20 },
    ]);
    expect(ledger(a).at(-1)).toMatchObject({ kind: 'expiry', credits: 40, grantId: manualId });
    invariant(a);
    chainHolds(a);
    // A repeat is the first answer, and moves nothing again.
    expect(voidOf(a, 'k2')).toEqual({ voided: true, credits: 60, expired: 40, balance: before + 20, duplicate: true });
    expect(a.available()).toBe(before + 20);
  });

  it('before the patch (expireWithGrant false), credits whose grant had expired went to one returned-credits grant expiring with the cycle', () => {
    const { a, includedId } = usedAnExpiredGrant();
    const before = a.available();
    const old = () => false;
    const voidOld = (key: string) => a.voidUsage({ idempotencyKey: key, reason: 'charged twice by a sync bug' }, T0, old);

    expect(voidOld('k1')).toMatchObject({ voided: true, credits: 60, balance: before + 60 });
    expect(voidOld('k1')).not.toHaveProperty('expired');
    const returned = () => a.state.grants.filter((g) => g.label === RETURNED_CREDITS_LABEL);
    expect(returned()).toMatchObject([{ source: 'manual', amount: 60, remaining: 60, expiresAt: a.state.cycle.end }]);
    expect(ledger(a).at(-1)?.debits).toEqual([{ grantId: returned()[0]?.grantId, credits: -60 }]);
    invariant(a);

    // A second such void tops up the same grant; the part from a live grant goes back to it.
    expect(voidOld('k2')).toMatchObject({ voided: true, credits: 60, balance: before + 120 });
    expect(returned()).toMatchObject([{ amount: 100, remaining: 100 }]);
    expect(ledger(a).at(-1)?.debits).toEqual([
      { grantId: includedId, credits: -20 },
      { grantId: returned()[0]?.grantId, credits: -40 },
    ]);
    invariant(a);
    chainHolds(a);
  });

  it('a void is not asked whether credits expire with their grant unless one has expired', () => {
    const a = open();
    use(a, 'k', 30);
    const asked: boolean[] = [];
    expect(a.voidUsage({ idempotencyKey: 'k', reason: 'test' }, T0, () => (asked.push(true), true))).toMatchObject({ voided: true, credits: 30 });
    expect(asked).toEqual([]);
  });

  it("voiding a trial's usage after the trial has ended gives nothing to spend, and a conversion then carries nothing of it", () => {
    // Essentials trial, 1,000 trial credits for the shipped 14 days.
    const a = CreditAccount.open({ accountId: 'acme', plan: 'essentials', users: 3, trial: true, cycleAnchor: ANCHOR }, rules, T0, 'e1');
    expect(use(a, 't1', 900)).toMatchObject({ accepted: true, credits: 900, balance: 100 });
    const afterTrial = Date.parse('2026-06-25T00:00:00.000Z');
    a.expireGrants(afterTrial);
    expect(a.available()).toBe(0);

    expect(voidOf(a, 't1', afterTrial)).toMatchObject({ voided: true, credits: 900, expired: 900, balance: 0 });
    expect(use(a, 't2', 1, 'enrichment', afterTrial)).toMatchObject({ accepted: false, reason: 'credits_exhausted' });
    invariant(a);
    chainHolds(a);

    a.convertTrial('growth', rules, afterTrial);
    expect(a.state.grants.map((g) => g.source)).toEqual(['included']);
    expect(a.available()).toBe(a.state.grants[0]?.amount);
  });

  it('credits a usage took past zero come off the overdraft still owed; what a grant settled since is returned', () => {
    const a = open({ plan: 'solo', users: 1 }); // 500 credits
    use(a, 'k0', 480);
    // A usage taken past zero (as recorded before admission covered the whole cost): 20 from the grant, 10 owed.
    const s = a.state;
    const debits = debit(s, 30, true);
    rememberVoidable(s, 'past-zero', 'enrichment', toMicros(30), 30, debits);
    expect(s.overdraft).toBe(10);
    const copy = new CreditAccount(structuredClone(s));

    expect(voidOf(a, 'past-zero')).toMatchObject({ voided: true, credits: 30, balance: 20 });
    expect(s.overdraft).toBe(0);
    expect(ledger(a).at(-1)?.note).toBe('voided: charged twice by a sync bug; 10 taken off the overdraft');
    invariant(a);

    // The same after credits were added: the 10 past zero were written off as call overage then
    // (the grant is usable in full), so the void takes them off the overage and returns only the
    // 20 the grant had given.
    copy.grantCredits({ credits: 100, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'g' }, T0);
    expect(copy.available()).toBe(100);
    expect(copy.state.callOverage).toBe(10);
    expect(voidOf(copy, 'past-zero')).toMatchObject({ voided: true, credits: 30, balance: 120 });
    expect(copy.state.callOverage).toBe(0);
    expect(copy.state.grants.find((g) => g.label === RETURNED_CREDITS_LABEL)).toBeUndefined();
    expect(ledger(copy).at(-1)?.note).toBe('voided: charged twice by a sync bug; 10 taken off the call overage');
    invariant(copy);
  });
});

describe('voids: properties', () => {
  type Step =
    | { op: 'use'; key: number; quantity: number; feature: string }
    | { op: 'void'; key: number }
    | { op: 'grant'; credits: number }
    | { op: 'reset' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('use' as const), key: fc.nat(15), quantity: fc.integer({ min: 1, max: 60 }), feature: fc.constantFrom('enrichment', 'auto-updates', 'notetaker') }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('void' as const), key: fc.nat(20) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('grant' as const), credits: fc.integer({ min: 1, max: 500 }) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'reset' as const }) },
  );

  it('the balance is granted minus used, each key is charged and voided at most once, and the ledger sums to the summary', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const a = open({ plan: 'scale', users: 20 });
        let grants = 0;
        for (const st of steps) {
          if (st.op === 'use') use(a, `k${st.key}`, st.quantity, st.feature);
          else if (st.op === 'void') voidOf(a, `k${st.key}`);
          else if (st.op === 'grant') a.grantCredits({ credits: st.credits, reason: 'r', validForCycles: 1, idempotencyKey: `g${++grants}` }, T0);
          else a.startNextCycle(rules);
          invariant(a);
          for (const g of a.state.grants) expect(g.remaining).toBeLessThanOrEqual(g.amount);
        }
        const cycle = a.state.cycle.index;
        const entries = ledger(a).filter((e) => e.cycleIndex === cycle);
        const charged = new Map<string, number>();
        const voided = new Map<string, number>();
        for (const e of entries) {
          if (e.kind === 'usage' && e.decision === 'accepted' && e.credits > 0) charged.set(e.idempotencyKey ?? '', (charged.get(e.idempotencyKey ?? '') ?? 0) + 1);
          if (e.kind === 'void') voided.set(e.idempotencyKey ?? '', (voided.get(e.idempotencyKey ?? '') ?? 0) + 1);
        }
        for (const [key, times] of voided) {
          expect(times).toBe(1);
          expect(charged.get(key)).toBe(1);
        }
        for (const times of charged.values()) expect(times).toBe(1);
        const summary = a.summary(T0);
        const net = entries.filter((e) => (e.kind === 'usage' && e.decision === 'accepted') || e.kind === 'void').reduce((sum, e) => sum + e.credits, 0);
        expect(net).toBe(summary.credits.used);
        for (const u of summary.usage) {
          expect(u.count).toBeGreaterThanOrEqual(0);
          expect(u.credits).toBeGreaterThanOrEqual(0);
          const own = entries.filter((e) => e.feature === u.feature && ((e.kind === 'usage' && e.decision === 'accepted') || e.kind === 'void'));
          expect(own.reduce((sum, e) => sum + e.credits, 0)).toBe(u.credits);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a void across grants expiring mid-cycle (a trial's end) gives back to spend only what its usage took from grants still live", () => {
    type TrialStep = Step | { op: 'wait'; hours: number };
    const trialStep: fc.Arbitrary<TrialStep> = fc.oneof(
      { weight: 6, arbitrary: step.filter((st) => st.op !== 'reset') },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('wait' as const), hours: fc.integer({ min: 1, max: 240 }) }) },
    );
    const lastHour = Date.parse('2026-07-02T00:00:00.000Z');
    fc.assert(
      fc.property(fc.array(trialStep, { maxLength: 60, size: 'max' }), (steps) => {
        let now = T0;
        const a = CreditAccount.open({ accountId: 'acme', plan: 'essentials', users: 3, trial: true, cycleAnchor: ANCHOR }, rules, now, 'e1');
        let grants = 0;
        for (const st of steps) {
          const before = a.available();
          if (st.op === 'wait') {
            now = Math.min(now + st.hours * 3_600_000, lastHour);
            a.expireGrants(now);
          } else if (st.op === 'use') use(a, `k${st.key}`, st.quantity, st.feature, now);
          else if (st.op === 'grant') a.grantCredits({ credits: st.credits, reason: 'r', validForCycles: 1, idempotencyKey: `g${++grants}` }, now);
          else if (st.op === 'void') {
            const answer = voidOf(a, `k${st.key}`, now);
            if (answer.voided && !answer.duplicate) {
              const { live } = spendableGiveBack(ledger(a), a.state.grants, `k${st.key}`);
              expect(a.available() - before).toBe(live);
              expect(answer.credits - (answer.expired ?? 0)).toBe(live);
            }
          }
          invariant(a);
          for (const g of a.state.grants) expect(g.remaining).toBeLessThanOrEqual(g.amount);
        }
        chainHolds(a);
        const facts = ledgerFactsOf({ accountId: 'acme', cycle: a.summary(now).cycle, epoch: 'e1' }, ledger(a), []);
        expect(reconcileAccount(a.summary(now), facts)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
