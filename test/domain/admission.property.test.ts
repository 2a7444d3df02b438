/**
 * Admission and exact costs as properties (issue 9, items 1, 3 and 6): for random costs and
 * random sequences of usage, manual grants, tier purchases, user and plan changes and resets
 * (no calls), the balance never goes below zero, every usage is admitted exactly when the
 * balance covers its cost, every admitted cost is the exact integer cost of its micro-units,
 * a refusal changes no balance, and the summary's credits and the ledger agree.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CreditAccount } from '../../domain/account';
import type { FeatureCost, Rules } from '../../ruleset/types';
import { shippedRules } from '../helpers/shipped-rules';

const shipped = shippedRules();
const ANCHOR = '2026-06-03T00:00:00.000Z';
const T0 = Date.parse('2026-06-10T12:00:00.000Z');
const MICROS = 1_000_000n;

type Event =
  | { t: 'usage'; feature: 'enrichment' | 'auto-updates' | 'notetaker'; micros: number }
  | { t: 'grant'; credits: number }
  | { t: 'tier'; tier: string | null }
  | { t: 'users'; users: number }
  | { t: 'plan'; plan: string }
  | { t: 'reset' };

const cost: fc.Arbitrary<FeatureCost> = fc.record({
  credits: fc.integer({ min: 1, max: 1000 }),
  per: fc.integer({ min: 1, max: 1000 }),
  unit: fc.constant('unit'),
  rounding: fc.constantFrom('up' as const, 'down' as const, 'nearest' as const),
});

const event: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('usage' as const),
      feature: fc.constantFrom('enrichment' as const, 'auto-updates' as const, 'notetaker' as const),
      // Whole units, six-decimal fractions and tiny amounts alike, up to 5,000 units.
      micros: fc.oneof(fc.integer({ min: 1, max: 5_000_000_000 }), fc.integer({ min: 1, max: 5000 }).map((n) => n * 1_000_000), fc.integer({ min: 1, max: 999 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('grant' as const), credits: fc.integer({ min: 1, max: 5000 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('tier' as const), tier: fc.constantFrom(null, 'tier-1', 'tier-2', 'tier-4') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('users' as const), users: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('plan' as const), plan: fc.constantFrom('solo', 'essentials', 'growth', 'scale') }) },
  { weight: 1, arbitrary: fc.constant({ t: 'reset' as const }) },
);

/** The exact cost, computed apart from the engine: n/d rounded by the rule, in BigInt. */
function exactCost(c: FeatureCost, micros: number): number {
  const n = BigInt(micros) * BigInt(c.credits);
  const d = BigInt(c.per) * MICROS;
  if (c.rounding === 'down') return Number(n / d);
  if (c.rounding === 'up') return Number((n + d - 1n) / d);
  return Number((2n * n + d) / (2n * d));
}

function rulesWith(enrichment: FeatureCost, autoUpdates: FeatureCost): Rules {
  const costs: Record<string, FeatureCost> = { enrichment, 'auto-updates': autoUpdates };
  return { ...shipped, features: shipped.features.map((f) => ({ ...f, cost: costs[f.id] ?? f.cost })) };
}

describe('admission (property)', () => {
  it('no usage takes the balance below zero, and each admitted usage costs exactly its micro-units', () => {
    fc.assert(
      fc.property(cost, cost, fc.constantFrom('solo', 'growth'), fc.array(event, { maxLength: 40 }), (c1, c2, plan, events) => {
        const rules = rulesWith(c1, c2);
        const costs: Record<string, FeatureCost | undefined> = { enrichment: c1, 'auto-updates': c2 };
        const a = CreditAccount.open({ accountId: 'p', plan, users: 1, cycleAnchor: ANCHOR }, rules, T0, 'e1');
        let now = T0;
        let key = 0;
        for (const e of events) {
          const before = a.available();
          const usedBefore = a.state.cycleUsed;
          switch (e.t) {
            case 'usage': {
              const r = a.recordUsage({ feature: e.feature, quantity: e.micros / 1e6, idempotencyKey: `k${++key}` }, now);
              const featureCost = costs[e.feature];
              const expected = featureCost ? exactCost(featureCost, e.micros) : 0;
              if (!featureCost) {
                expect(r).toMatchObject({ accepted: true, credits: 0, balance: before });
              } else if (before > 0 && expected <= before) {
                expect(r).toEqual({ accepted: true, credits: expected, balance: before - expected, duplicate: false });
                expect(a.state.cycleUsed).toBe(usedBefore + expected);
              } else {
                expect(r).toEqual(
                  before > 0
                    ? { accepted: false, reason: 'insufficient_credits', credits: 0, cost: expected, balance: before, duplicate: false }
                    : { accepted: false, reason: 'credits_exhausted', credits: 0, balance: before, duplicate: false },
                );
                expect(a.state.cycleUsed).toBe(usedBefore);
              }
              break;
            }
            // Credits added are usable in full: the balance grows by exactly what the answer says.
            case 'grant':
              a.grantCredits({ credits: e.credits, reason: 'r', validForCycles: 1, idempotencyKey: `g${++key}` }, now);
              expect(a.available()).toBe(before + e.credits);
              break;
            case 'tier':
            case 'users':
            case 'plan': {
              const added = e.t === 'tier' ? a.changeCreditTier(e.tier, now) : e.t === 'users' ? a.setUsers(e.users, now) : a.changePlan(e.plan, now);
              expect(a.available()).toBe(before + added.creditsGranted);
              break;
            }
            case 'reset':
              a.startNextCycle(rules);
              now = Date.parse(a.state.cycle.start) + 3_600_000;
              break;
          }
          const credits = a.summary(now).credits;
          expect(credits.available).toBeGreaterThanOrEqual(0);
          expect(credits.overdraft).toBe(0);
          expect(credits.available).toBe(credits.granted - credits.used + credits.callOverage);
          const entries = a.state.outbox.flatMap((x) => (x.type === 'ledger' ? [x.entry] : []));
          expect(entries.at(-1)?.balanceAfter).toBe(credits.available);
        }
      }),
      { numRuns: 150 },
    );
  });
});
