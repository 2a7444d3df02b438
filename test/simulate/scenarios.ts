/**
 * Recorded scenarios for the simulation tests: accounts driven through the credit core as the
 * workflow drives it (bench/simulate-ledger.ts), their ledgers written to a real store.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CreditAccount } from '../../domain/account';
import type { LedgerStore } from '../../ledger/store';
import { defaultRulesPath, type RuleSet } from '../../ruleset';
import { recordAccount, type ScenarioStep } from '../../bench/simulate-ledger';

/** The shipped rules file's text, the base of every draft. */
export const SHIPPED_TEXT = readFileSync(join(defaultRulesPath(), '2026-06-03.yaml'), 'utf8');

/** The shipped rules with one exact piece of text replaced (it must be there). */
export function draftText(from: string, to: string): string {
  if (!SHIPPED_TEXT.includes(from)) throw new Error(`the shipped rules do not contain ${from}`);
  return SHIPPED_TEXT.replace(from, to);
}

const ms = (at: string) => Date.parse(at);
let keys = 0;
const step = (at: string, run: (a: CreditAccount, atMs: number) => unknown): ScenarioStep => ({ at, run: (a) => run(a, ms(at)) });
const use = (at: string, credits: number, feature = 'enrichment', key = `k${++keys}`): ScenarioStep =>
  step(at, (a, t) => a.recordUsage({ feature, quantity: credits / (feature === 'auto-updates' ? 2 : 1), idempotencyKey: key }, t));

/** `count` usages of `credits` each, one a day at noon from `firstDay` (YYYY-MM-DD). */
export function daily(firstDay: string, count: number, credits: number): ScenarioStep[] {
  const start = ms(`${firstDay}T12:00:00Z`);
  return Array.from({ length: count }, (_, i) => use(new Date(start + i * 86_400_000).toISOString(), credits));
}

/** The accounts of the scenarios, by what they exercise. */
export const ACCOUNTS = {
  rich: 'acct-rich',
  trial: 'acct-trial',
  lite: 'acct-lite',
  tier1: 'acct-tier1',
  capHeavy: 'cap-heavy',
  capLight: 'cap-light',
} as const;

/**
 * Records every scenario up to `untilMs`: usage, refusals and pauses, a call across a reset,
 * users, plan and tier changes (up at once, down at the reset), a feature toggle, a manual
 * grant, a void, a tag that brings a promotion, a trial converting on a backdated anchor.
 */
export async function recordScenarios(store: LedgerStore, ruleSet: RuleSet, untilMs: number): Promise<void> {
  await recordAccount(
    store,
    ruleSet,
    { accountId: ACCOUNTS.rich, plan: 'growth', users: 3, cycleAnchor: '2026-06-10T00:00:00.000Z', creditTier: 'tier-2', admins: ['ops@example.com'] },
    '2026-06-10T00:00:00.000Z',
    [
      use('2026-06-12T09:00:00.000Z', 1000),
      step('2026-06-15T09:00:00.000Z', (a, t) => a.setUsers(5, t)),
      step('2026-06-20T09:00:00.000Z', (a, t) => a.startCall({ callId: 'c1', agentId: 'agent-1' }, t)),
      step('2026-06-20T09:10:00.000Z', (a, t) => a.endCall({ callId: 'c1', minutes: 10 }, t)),
      step('2026-06-25T09:00:00.000Z', (a, t) => a.grantCredits({ credits: 500, reason: 'goodwill', validForCycles: 2, idempotencyKey: 'g1' }, t)),
      use('2026-06-26T09:00:00.000Z', 100, 'enrichment', 'to-void'),
      step('2026-06-27T09:00:00.000Z', (a, t) => a.voidUsage({ idempotencyKey: 'to-void', reason: 'mistake' }, t)),
      step('2026-07-05T09:00:00.000Z', (a, t) => a.changeCreditTier('tier-3', t)),
      step('2026-07-06T09:00:00.000Z', (a, t) => a.setFeatureEnabled('auto-updates', false, t)),
      use('2026-07-07T09:00:00.000Z', 10, 'auto-updates'),
      step('2026-07-08T09:00:00.000Z', (a, t) => a.setFeatureEnabled('auto-updates', true, t)),
      step('2026-07-09T23:00:00.000Z', (a, t) => a.startCall({ callId: 'c2', agentId: 'agent-1' }, t)),
      step('2026-07-10T01:00:00.000Z', (a, t) => a.endCall({ callId: 'c2', minutes: 120 }, t)),
      step('2026-07-15T09:00:00.000Z', (a, t) => a.setTags(['chloe-beta'], t)),
      step('2026-07-20T09:00:00.000Z', (a, t) => a.changeCreditTier('tier-1', t)),
      step('2026-08-01T09:00:00.000Z', (a, t) => a.changePlan('essentials', t)),
      ...daily('2026-08-11', 6, 1550),
      step('2026-09-15T09:00:00.000Z', (a, t) => a.changePlan('growth', t)),
      ...daily('2026-09-16', 3, 1000),
    ],
    untilMs,
  );
  await recordAccount(
    store,
    ruleSet,
    { accountId: ACCOUNTS.trial, plan: 'growth', users: 2, trial: true, cycleAnchor: '2026-06-20T00:00:00.000Z' },
    '2026-06-20T00:00:00.000Z',
    [
      use('2026-06-22T09:00:00.000Z', 600),
      use('2026-06-23T09:00:00.000Z', 600),
      step('2026-06-28T09:00:00.000Z', (a, t) => a.convertTrial('growth', ruleSet.at(new Date(t)), t, '2026-06-25T00:00:00.000Z')),
      ...daily('2026-07-01', 5, 400),
      ...daily('2026-08-01', 5, 400),
    ],
    untilMs,
  );
  await recordAccount(
    store,
    ruleSet,
    { accountId: ACCOUNTS.lite, plan: 'essentials', users: 2, cycleAnchor: '2026-06-05T00:00:00.000Z' },
    '2026-06-05T00:00:00.000Z',
    [...daily('2026-06-10', 3, 100), ...daily('2026-08-10', 3, 100)],
    untilMs,
  );
  await recordAccount(
    store,
    ruleSet,
    { accountId: ACCOUNTS.tier1, plan: 'scale', users: 2, cycleAnchor: '2026-07-01T00:00:00.000Z', creditTier: 'tier-1' },
    '2026-07-01T00:00:00.000Z',
    [...daily('2026-07-02', 4, 1500), ...daily('2026-08-02', 4, 1500), ...daily('2026-09-02', 4, 1500)],
    untilMs,
  );
  // Scale with 10 users: 20,000 included credits a cycle. Heavy uses 18,000 a cycle, light 14,000.
  for (const [accountId, count] of [
    [ACCOUNTS.capHeavy, 9],
    [ACCOUNTS.capLight, 7],
  ] as const) {
    await recordAccount(
      store,
      ruleSet,
      { accountId, plan: 'scale', users: 10, cycleAnchor: '2026-07-01T00:00:00.000Z' },
      '2026-07-01T00:00:00.000Z',
      [...daily('2026-07-02', count, 2000), ...daily('2026-08-02', count, 2000), ...daily('2026-09-02', count, 2000)],
      untilMs,
    );
  }
}
