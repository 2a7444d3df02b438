/**
 * The money invariants over random sequences of every command an account takes: usage (credit,
 * free and telephony features, retried keys with the same or another payload), Voice Agent
 * calls, manual grants, tier purchases, upgrades and downgrades, plan changes and trial
 * conversions, user changes, voids, and time moving across resets. After every step:
 * (a) the balance goes below zero only through calls in progress, a call is never charged
 *     for more minutes than it ran (plus the documented tolerance), and a void gives back to
 *     spend only what its usage took from grants still live (or past zero);
 * (b) the ledger the account wrote equals its summary (`credits ledger verify`'s own check);
 * (c) no usage key is charged twice within its 24-hour window;
 * (d) each billing period's tier charge is made once;
 * (e) the ledger's running balance follows entry by entry, with no sequence number missing:
 *     each entry's balanceAfter is the one before it moved by what the entry moved
 *     (`balanceMove`; grants expiring together step it down one by one);
 * (f) a call charged in parts across resets costs in all what its minutes cost, rounded once.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CreditAccount } from '../../domain/account';
import { balanceMove, type ChargeRequest, type LedgerEntry } from '../../domain/effects';
import { CALL_TOLERANCE_MINUTES } from '../../domain/wire-contract';
import { creditsForMicros, toMicros } from '../../domain/pricing';
import { ledgerFactsOf, reconcileAccount } from '../../ledger/reconcile';
import { spendableGiveBack } from '../helpers/void-give-back';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const MINUTE = 60_000;
const DAY = 86_400_000;
const VOICE_CREDITS_PER_MINUTE = rules.features.find((f) => f.perCall)?.cost?.credits ?? 0;
const VOICE_COST = rules.features.find((f) => f.perCall)?.cost ?? { credits: 0, per: 1, unit: 'minute', rounding: 'up' as const };

type Step =
  | { t: 'usage'; feature: string; quantity: number; key: number }
  | { t: 'start'; call: number }
  | { t: 'end'; call: number; minutes: number }
  | { t: 'grant'; credits: number; key: number }
  | { t: 'tier'; tier: string | null }
  | { t: 'plan'; plan: string }
  | { t: 'users'; users: number }
  | { t: 'void'; key: number }
  | { t: 'wait'; minutes: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('usage' as const),
      feature: fc.constantFrom('enrichment', 'auto-updates', 'notetaker', 'lead-summaries', 'sms'),
      quantity: fc.integer({ min: 1, max: 40_000 }).map((n) => n / 8),
      key: fc.nat(30),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('start' as const), call: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('end' as const), call: fc.nat(5), minutes: fc.integer({ min: 1, max: 1440 * 4 }).map((n) => n / 4) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('grant' as const), credits: fc.integer({ min: 1, max: 3000 }), key: fc.nat(6) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('tier' as const), tier: fc.constantFrom(null, 'tier-1', 'tier-2', 'tier-5', 'tier-9') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('plan' as const), plan: fc.constantFrom('solo', 'essentials', 'growth', 'scale') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('users' as const), users: fc.integer({ min: 1, max: 14 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('void' as const), key: fc.nat(30) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('wait' as const),
      // Whole minutes, long spans, and odd seconds (a call's part at a reset then has a fraction of a minute to round).
      minutes: fc.oneof(fc.integer({ min: 1, max: 90 }), fc.integer({ min: 60, max: 60 * 24 * 40 }), fc.integer({ min: 1, max: 5400 }).map((seconds) => seconds / 60)),
    }),
  },
);

function entriesOf(account: CreditAccount): LedgerEntry[] {
  return account.state.outbox.flatMap((e) => (e.type === 'ledger' ? [e.entry] : []));
}

function chargesOf(account: CreditAccount): ChargeRequest[] {
  return account.state.outbox.flatMap((e) => (e.type === 'charge' ? [e.charge] : []));
}

describe('money invariants over random command sequences', () => {
  it('holds (a) balance, (b) ledger = summary, (c) no key charged twice, (d) one tier charge per period, (e) the running balance follows entry by entry', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(step, { minLength: 10, maxLength: 60, size: 'max' }), (trial, steps) => {
        let now = Date.parse('2026-06-10T09:00:00.000Z');
        const account = CreditAccount.open(
          { accountId: 'money', plan: 'growth', users: 3, trial, cycleAnchor: '2026-05-31T08:00:00.000Z', tags: ['chloe-beta'], creditTier: trial ? null : 'tier-1' },
          rules,
          now,
          'e1',
        );
        const startedAt = new Map<number, number>();
        for (const s of steps) {
          const before = account.available();
          let voided: string | undefined;
          let callEnded: { minutesCharged: number; elapsedMinutes: number } | undefined;
          switch (s.t) {
            case 'wait':
              now += Math.round(s.minutes * MINUTE);
              while (now >= Date.parse(account.state.cycle.end)) account.startNextCycle(rules);
              account.expireGrants(now);
              break;
            case 'usage':
              account.recordUsage({ feature: s.feature, quantity: s.quantity, idempotencyKey: `u${s.key}` }, now);
              break;
            case 'start':
              if (account.knowsCall(`c${s.call}`)) break;
              if (account.startCall({ callId: `c${s.call}`, agentId: 'chloe' }, now).authorized) startedAt.set(s.call, now);
              break;
            case 'end': {
              const began = startedAt.get(s.call);
              if (began === undefined) break;
              startedAt.delete(s.call);
              const answer = account.endCall({ callId: `c${s.call}`, minutes: s.minutes }, now);
              callEnded = { minutesCharged: answer.minutesCharged, elapsedMinutes: (now - began) / MINUTE };
              break;
            }
            case 'grant':
              if (account.state.grants.filter((g) => g.source === 'manual').length < 150) {
                account.grantCredits({ credits: s.credits, reason: 'ops', validForCycles: 2, idempotencyKey: `g${s.key}` }, now);
              }
              break;
            case 'tier':
              account.changeCreditTier(s.tier, now);
              break;
            case 'plan':
              if (account.state.trial) account.convertTrial(s.plan, rules, now);
              else account.changePlan(s.plan, now);
              break;
            case 'users':
              account.setUsers(s.users, now);
              break;
            case 'void': {
              const answer = account.voidUsage({ idempotencyKey: `u${s.key}`, reason: 'ops correction' }, now);
              if (answer.voided && !answer.duplicate) voided = `u${s.key}`;
              break;
            }
          }

          // (a) Only calls take the balance below zero, and a call pays for no more than it ran.
          const openCalls = Object.keys(account.state.openCalls).length;
          if (s.t !== 'end' && s.t !== 'wait') expect(account.available()).toBeGreaterThanOrEqual(Math.min(before, 0));
          if (s.t === 'wait' && openCalls === 0 && before >= 0) expect(account.available()).toBeGreaterThanOrEqual(0);
          if (callEnded) expect(callEnded.minutesCharged).toBeLessThanOrEqual(callEnded.elapsedMinutes + CALL_TOLERANCE_MINUTES + 1e-6);
          // A void gives back to spend no more than its usage took from grants still live, plus
          // what it took past zero: credits of a grant that has expired since (an ended trial's)
          // stay expired.
          if (voided !== undefined) {
            const { live, pastZero } = spendableGiveBack(entriesOf(account), account.state.grants, voided);
            expect(account.available() - before).toBeLessThanOrEqual(live + pastZero);
          }

          // (b) The ledger equals the summary.
          const summary = account.summary(now);
          const facts = ledgerFactsOf({ accountId: 'money', cycle: summary.cycle, epoch: 'e1' }, entriesOf(account), chargesOf(account));
          expect(reconcileAccount(summary, facts)).toEqual([]);
        }

        // (c) No usage key was charged twice within its 24-hour window (voids aside: a void
        // gives the credits back, and its key stays used).
        const charged = entriesOf(account).filter((e) => e.kind === 'usage' && e.decision === 'accepted' && e.credits > 0);
        const byKey = new Map<string, number[]>();
        for (const e of charged) byKey.set(e.idempotencyKey ?? '', [...(byKey.get(e.idempotencyKey ?? '') ?? []), Date.parse(e.at)]);
        for (const times of byKey.values()) {
          for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThan(DAY);
        }

        // (d) Each billing period's tier charge was made once.
        const periodCharges = chargesOf(account).filter((c) => c.reason === 'cycle_start');
        expect(new Set(periodCharges.map((c) => c.chargeId)).size).toBe(periodCharges.length);
        expect(new Set(periodCharges.map((c) => c.cycleIndex)).size).toBe(periodCharges.length);

        // (e) The ledger's running balance follows entry by entry, across resets: each entry's
        // balance after is the one before it moved by what the entry says it moved.
        const entries = entriesOf(account);
        for (const [i, e] of entries.entries()) {
          const previous = entries[i - 1];
          if (previous === undefined) continue;
          expect(e.seq, `entry after #${previous.seq}`).toBe(previous.seq + 1);
          expect(e.balanceAfter, `${e.kind} #${e.seq}`).toBe(previous.balanceAfter + balanceMove(e));
        }

        // (f) A call is rounded once, as a whole: its parts at resets and its end together cost
        // what its minutes cost (one rules version throughout), never a credit more a reset.
        const ended = new Set(entries.filter((e) => e.kind === 'call_end').map((e) => e.callId));
        for (const callId of ended) {
          const parts = entries.filter((e) => (e.kind === 'call_part' || e.kind === 'call_end') && e.callId === callId);
          const micros = parts.reduce((sum, e) => sum + toMicros(e.quantity ?? 0), 0);
          expect(parts.reduce((sum, e) => sum + e.credits, 0), `call ${callId}`).toBe(creditsForMicros(VOICE_COST, micros));
        }
      }),
      { numRuns: 150 },
    );
    expect(VOICE_CREDITS_PER_MINUTE).toBeGreaterThan(0);
  });
});
