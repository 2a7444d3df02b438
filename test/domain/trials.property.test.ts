/**
 * Random trial histories (resets, tier purchases and changes, manual grants, usage, and a
 * conversion at a random time with a random CRM anchor), run as the workflow would run them:
 * - trial credits are granted exactly once per trial, are gone after the trial's length, and
 *   are gone after a conversion;
 * - no period of the tier is charged twice: each purchase or cycle charge pays for the tier from
 *   its instant to the final expiry of the allocation it bought, and those periods never overlap;
 * - and the tier is not forgotten either: every reset that finds a tier held and no paid period
 *   running charges it.
 * Upgrades are left out of the overlap: the seed charges them in full on purpose.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CreditAccount } from '../../domain/account';
import type { ChargeRequest, LedgerEntry } from '../../domain/effects';
import type { Rules } from '../../ruleset/types';
import { shippedRules } from '../helpers/shipped-rules';

const shipped = shippedRules();
const { lengthDays: _length, ...untilConversionTrial } = shipped.trial;
const RULES: Record<string, Rules> = { length: shipped, untilConversion: { ...shipped, trial: untilConversionTrial } };
const HOUR = 3_600_000;
const OPENED = Date.parse('2026-06-20T09:30:00.000Z');

type Step =
  | { t: 'wait'; hours: number }
  | { t: 'usage'; quantity: number }
  | { t: 'tier'; tier: string }
  | { t: 'grant'; credits: number; cycles: number }
  | { t: 'convert'; plan: string; anchorShare: number | null };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('wait' as const), hours: fc.integer({ min: 1, max: 24 * 40 }) }) },
  fc.record({ t: fc.constant('usage' as const), quantity: fc.integer({ min: 1, max: 3000 }) }),
  fc.record({ t: fc.constant('tier' as const), tier: fc.constantFrom('tier-1', 'tier-2', 'tier-5', 'tier-8') }),
  fc.record({ t: fc.constant('grant' as const), credits: fc.integer({ min: 1, max: 5000 }), cycles: fc.integer({ min: 1, max: 3 }) }),
  // The anchor as a share of the time from the trial's start to now; null: none given.
  { weight: 2, arbitrary: fc.record({ t: fc.constant('convert' as const), plan: fc.constantFrom('solo', 'essentials', 'growth', 'scale'), anchorShare: fc.option(fc.double({ min: 0, max: 1, noNaN: true })) }) },
);

const history = fc.record({
  rules: fc.constantFrom('length', 'untilConversion'),
  plan: fc.constantFrom('solo', 'essentials', 'growth', 'scale'),
  anchorDaysBack: fc.integer({ min: 0, max: 90 }),
  creditTier: fc.option(fc.constantFrom('tier-1', 'tier-3')),
  beta: fc.boolean(),
  steps: fc.array(step, { maxLength: 30 }),
});

const ledgerOf = (a: CreditAccount): LedgerEntry[] => a.state.outbox.flatMap((e) => (e.type === 'ledger' ? [e.entry] : []));
const chargesOf = (a: CreditAccount): ChargeRequest[] => a.state.outbox.flatMap((e) => (e.type === 'charge' ? [e.charge] : []));

describe('trial histories', () => {
  it('grant trial credits once, hold none past the trial, and never charge a tier period twice', () => {
    fc.assert(
      fc.property(history, (h) => {
        const rules = RULES[h.rules] as Rules;
        const a = CreditAccount.open(
          {
            accountId: 'prop',
            plan: h.plan,
            users: 3,
            trial: true,
            cycleAnchor: new Date(OPENED - h.anchorDaysBack * 24 * HOUR).toISOString(),
            ...(h.creditTier ? { creditTier: h.creditTier } : {}),
            ...(h.beta ? { tags: ['chloe-beta'] } : {}),
          },
          rules,
          OPENED,
          'p1',
        );
        let now = OPENED;
        let key = 0;
        const resets: number[] = [];
        // The last expiry seen of every grant: an allocation's paid period ends there.
        const finalExpiry = new Map<string, number>();
        const record = () => {
          for (const g of a.state.grants) finalExpiry.set(g.grantId, Date.parse(g.expiresAt));
        };
        const observe = () => {
          record();
          if (a.state.trial && a.state.trialGrant?.endsAt && now >= Date.parse(a.state.trialGrant.endsAt)) {
            expect(a.state.grants.filter((g) => g.source === 'trial')).toEqual([]);
          }
          if (!a.state.trial) expect(a.state.grants.filter((g) => g.source === 'trial')).toEqual([]);
        };
        observe();
        for (const s of h.steps) {
          if (s.t === 'wait') {
            now += s.hours * HOUR;
            while (now >= Date.parse(a.state.cycle.end)) {
              resets.push(Date.parse(a.state.cycle.end));
              a.startNextCycle(rules);
              record();
            }
            a.expireGrants(now);
          } else if (s.t === 'usage') {
            a.recordUsage({ feature: 'enrichment', quantity: s.quantity, idempotencyKey: `u${++key}` }, now);
          } else if (s.t === 'tier') {
            a.changeCreditTier(s.tier, now);
          } else if (s.t === 'grant') {
            a.grantCredits({ credits: s.credits, reason: 'goodwill', validForCycles: s.cycles, idempotencyKey: `g${++key}` }, now);
          } else if (a.state.trial) {
            const start = Date.parse(a.trialStartedAt() ?? '');
            const anchor = s.anchorShare === null ? undefined : new Date(Math.floor(start + s.anchorShare * (now - start))).toISOString();
            a.convertTrial(s.plan, rules, now, anchor);
          }
          observe();
        }

        const ledger = ledgerOf(a);
        expect(ledger.filter((e) => e.kind === 'grant' && e.source === 'trial')).toHaveLength(1);

        // Each non-upgrade charge pays from its instant to the final expiry of the tier grant it bought.
        const periods = chargesOf(a)
          .filter((c) => c.reason !== 'upgrade')
          .map((c) => {
            const at = ledger.findIndex((e) => e.kind === 'charge' && e.idempotencyKey === c.chargeId);
            const bought = ledger[at + 1];
            expect(bought).toMatchObject({ kind: 'grant', source: 'subscription' });
            const end = finalExpiry.get(bought?.grantId ?? '');
            expect(end).toBeDefined();
            // A grant ended early (a paid cycle settled whole at its start) ends at its expiry entry.
            const expired = ledger.find((e) => e.kind === 'expiry' && e.grantId === bought?.grantId);
            return { from: Date.parse(c.at), to: Math.min(end ?? 0, expired ? Date.parse(expired.at) : Infinity), id: c.chargeId };
          })
          .sort((x, y) => x.from - y.from);
        // A tier bought (purchase or upgrade) after a period was paid ends that period's hold on
        // renewals: the tier bought renews at the next reset, while the credits the earlier
        // charge paid for still last their time.
        const bought = chargesOf(a)
          .filter((c) => c.reason !== 'cycle_start')
          .map((c) => Date.parse(c.at));
        for (let i = 1; i < periods.length; i++) {
          const [before, after] = [periods[i - 1], periods[i]];
          if (bought.some((at) => at >= (before?.from ?? 0) && at < (after?.from ?? 0) && at !== before?.from)) continue;
          expect(after?.from, `${after?.id} charged inside the period paid by ${before?.id}`).toBeGreaterThanOrEqual(before?.to ?? 0);
        }
        expect(new Set(periods.map((p) => p.id)).size).toBe(periods.length);

        // Every reset with a tier held and no paid period running charged it, unless a period
        // paid over half of its cycle: that cycle is settled by a grant without a charge.
        for (const reset of resets) {
          const charged = periods.some((p) => p.from === reset);
          const covered = periods.some((p) => p.from < reset && p.to > reset);
          const held = ledger.some((e) => e.kind === 'charge' && Date.parse(e.at) <= reset);
          const at = (e: { at: string }) => Date.parse(e.at) === reset;
          const settled = ledger.find((e) => at(e) && e.kind === 'tier_change' && /was paid through/.test(e.note ?? ''));
          if (settled) {
            const paidTo = Date.parse(/paid through (\S+),/.exec(settled.note ?? '')?.[1] ?? '');
            const cycleEnd = Date.parse(/-> (\S+)$/.exec(ledger.find((e) => at(e) && e.kind === 'cycle_start')?.note ?? '')?.[1] ?? '');
            const overHalf = paidTo - reset > cycleEnd - paidTo;
            expect(charged, `reset at ${new Date(reset).toISOString()} settled ${overHalf ? 'without' : 'with'} a charge`).toBe(!overHalf);
          } else if (held && !covered) expect(charged, `reset at ${new Date(reset).toISOString()} charged`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
