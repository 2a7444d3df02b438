/**
 * Property: whatever an account went through (usage, users, plan and tier changes, toggles,
 * manual grants, calls, at any instants), replaying its ledger with the rules that were in
 * force reproduces the ledger's figures for every cycle, and a draft equal to those rules
 * changes nothing.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CreditAccount } from '../../domain/account';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { defaultRulesPath, loadRuleSet } from '../../ruleset';
import { FIGURE_FIELDS, simulate } from '../../simulate';
import { recordAccount, type ScenarioStep } from '../../bench/simulate-ledger';

const ruleSet = loadRuleSet(defaultRulesPath());
const START = Date.parse('2026-07-01T00:00:00Z');
const UNTIL = Date.parse('2026-11-01T00:00:00Z');
const HOUR = 3_600_000;
let store: LedgerStore;
let runs = 0;

beforeAll(async () => {
  store = await openLedgerStore({ url: 'pglite:memory' });
}, 60_000);
afterAll(async () => {
  await store?.close();
});

type Command = (a: CreditAccount, t: number, n: number) => unknown;

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom('enrichment', 'auto-updates', 'notetaker'), fc.integer({ min: 1, max: 4000 })).map(([feature, quantity]): Command => (a, t, n) => a.recordUsage({ feature, quantity, idempotencyKey: `u${n}` }, t)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 14 }).map((users): Command => (a, t) => a.setUsers(users, t)) },
  { weight: 1, arbitrary: fc.constantFrom('solo', 'essentials', 'growth', 'scale').map((plan): Command => (a, t) => a.changePlan(plan, t)) },
  { weight: 1, arbitrary: fc.constantFrom(null, 'tier-1', 'tier-2', 'tier-4').map((tier): Command => (a, t) => a.changeCreditTier(tier, t)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('enrichment', 'auto-updates'), fc.boolean()).map(([feature, on]): Command => (a, t) => a.setFeatureEnabled(feature, on, t)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 3 })).map(([credits, cycles]): Command => (a, t, n) => a.grantCredits({ credits, reason: 'goodwill', validForCycles: cycles, idempotencyKey: `g${n}` }, t)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 90 }).map((minutes): Command => (a, t, n) => {
    a.startCall({ callId: `c${n}`, agentId: 'agent' }, t);
    // Ends later in the same step's instant: the call is charged for its minutes, bounded by the time it ran.
    return a.endCall({ callId: `c${n}`, minutes }, t);
  }) },
);

it('the baseline replay reproduces the ledger, and an unchanged draft changes nothing', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('solo', 'essentials', 'growth', 'scale'),
      fc.integer({ min: 1, max: 12 }),
      fc.constantFrom(null, 'tier-1', 'tier-3'),
      fc.integer({ min: 0, max: 27 }),
      fc.array(fc.tuple(fc.integer({ min: 1, max: 2800 }), command), { minLength: 1, maxLength: 40 }),
      async (plan, users, tier, anchorDay, commands) => {
        const accountId = `prop-${++runs}`;
        const anchor = new Date(START + anchorDay * 24 * HOUR).toISOString();
        let at = Date.parse(anchor);
        const steps: ScenarioStep[] = commands.map(([gap, run], n) => {
          at += gap * HOUR;
          const t = Math.min(at, UNTIL - HOUR);
          return { at: new Date(t).toISOString(), run: (a) => run(a, t, n) };
        });
        await recordAccount(store, ruleSet, { accountId, plan, users, cycleAnchor: anchor, ...(tier ? { creditTier: tier } : {}) }, anchor, steps, UNTIL);
        const period = { kind: 'dates', fromMs: START, toMs: UNTIL } as const;
        const report = await simulate({ store, ruleSet, draft: ruleSet.latest, period, nowMs: UNTIL, accounts: [accountId] });
        expect(report.warnings).toEqual([]);
        const [outcome] = report.accounts;
        for (const field of FIGURE_FIELDS) {
          expect(outcome?.baseline[field]).toBe(outcome?.ledger[field]);
          expect(outcome?.draft?.[field]).toBe(outcome?.baseline[field]);
        }
      },
    ),
    { numRuns: 25 },
  );
}, 300_000);
