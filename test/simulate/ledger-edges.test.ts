/**
 * Ledgers the pricing team's simulation met wrongly before: an account that closed (nothing
 * marks it: its ledger just ends), a call the ledger refused that a draft would authorise (no
 * end of it exists), an account started again under its id (two pools), an account opened
 * in the middle of its cycle (its pace counts only the days it existed), and a trial converted
 * onto a new calendar (its cycles keep the calendars they ran on).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreditAccount } from '../../domain/account';
import type { AccountStartInput } from '../../domain/wire-contract';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { compileRules, defaultRulesPath, loadRuleSet, type Rules } from '../../ruleset';
import { forecastAccount, simulate, type AccountOutcome } from '../../simulate';
import { recordAccount, type ScenarioStep } from '../../bench/simulate-ledger';
import { draftText } from './scenarios';

const ruleSet = loadRuleSet(defaultRulesPath());
const UNTIL = Date.parse('2026-11-15T00:00:00Z');
const ALL = { kind: 'dates', fromMs: Date.parse('2026-06-01T00:00:00Z'), toMs: UNTIL } as const;
let store: LedgerStore;

const step = (at: string, run: (a: CreditAccount, atMs: number) => unknown): ScenarioStep => ({ at, run: (a) => run(a, Date.parse(at)) });

function draft(from: string, to: string): Rules {
  const result = compileRules(draftText(from, to), 'draft.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
  return result.rules;
}

async function outcomeOf(accountId: string, rules: Rules | null): Promise<AccountOutcome> {
  const report = await simulate({ store, ruleSet, draft: rules, period: ALL, nowMs: UNTIL, accounts: [accountId] });
  const found = report.accounts[0];
  if (!found) throw new Error(`no outcome for ${accountId}`);
  return found;
}

beforeAll(async () => {
  store = await openLedgerStore({ url: 'pglite:memory' });
  const anchor = '2026-06-01T00:00:00.000Z';
  const record = (input: AccountStartInput, openedAt: string, steps: ScenarioStep[], until: string | number, epoch?: string) =>
    recordAccount(store, ruleSet, input, openedAt, steps, typeof until === 'number' ? until : Date.parse(until), epoch);
  // Closed on July 20th: its ledger ends there.
  await record({ accountId: 'gone', plan: 'growth', users: 10, cycleAnchor: anchor, creditTier: 'tier-1' }, anchor, [], '2026-07-20T00:00:00Z');
  // Out of credits, then a call refused for it.
  const useAll = step('2026-06-05T09:00:00.000Z', (a, t) => a.recordUsage({ feature: 'enrichment', quantity: 500, idempotencyKey: 'all' }, t));
  const call = step('2026-06-06T09:00:00.000Z', (a, t) => a.startCall({ callId: 'c1', agentId: 'agent-1' }, t));
  await record({ accountId: 'refused-call', plan: 'solo', users: 1, cycleAnchor: anchor }, anchor, [useAll, call], '2026-06-20T00:00:00Z');
  // Started again on August 10th under the same id: a new pool.
  const use = (at: string, quantity: number, key: string) => step(at, (a, t) => a.recordUsage({ feature: 'enrichment', quantity, idempotencyKey: key }, t));
  await record({ accountId: 'twice', plan: 'growth', users: 2, cycleAnchor: anchor }, anchor, [use('2026-06-05T09:00:00.000Z', 1000, 'old')], '2026-08-01T00:00:00Z', 'e1');
  const again = { accountId: 'twice', plan: 'growth', users: 2, cycleAnchor: '2026-08-01T00:00:00.000Z' };
  await record(again, '2026-08-10T00:00:00.000Z', [use('2026-08-12T09:00:00.000Z', 700, 'new')], UNTIL, 'e2');
  // Anchored on October 1st, opened on the 3rd: 1,000 used on its first day.
  const late = { accountId: 'late-opener', plan: 'growth', users: 2, cycleAnchor: '2026-10-01T00:00:00.000Z' };
  await record(late, '2026-10-03T00:00:00.000Z', [use('2026-10-03T12:00:00.000Z', 1000, 'first')], '2026-10-06T12:00:00Z');
  // A trial opened August 5th (its calendar from then), converted on the 20th to a paid
  // calendar anchored there, buying tier-1 the next day.
  const trial = { accountId: 'converted', plan: 'growth', users: 5, trial: true, cycleAnchor: '2026-08-05T00:00:00.000Z' };
  await record(trial, '2026-08-05T00:00:00.000Z', [
    use('2026-08-06T12:00:00.000Z', 301, 't1'),
    step('2026-08-20T00:00:00.000Z', (a, t) => a.convertTrial('growth', a.conversionRules(ruleSet.at(new Date(t)), 'growth'), t, '2026-08-20T00:00:00.000Z')),
    step('2026-08-21T00:00:00.000Z', (a, t) => a.changeCreditTier('tier-1', t)),
  ], '2026-09-10T00:00:00Z');
  // A trial converted on October 5th onto a CRM calendar anchored on a 31st: its paid cycle
  // began on the clamped Sep 30 and ends on Oct 31, not Oct 30.
  const thirtyFirst = { accountId: 'converted-31st', plan: 'growth', users: 1, trial: true, cycleAnchor: '2026-07-20T00:00:00.000Z' };
  await record(thirtyFirst, '2026-07-20T00:00:00.000Z', [
    step('2026-10-05T00:00:00.000Z', (a, t) => a.convertTrial('growth', a.conversionRules(ruleSet.at(new Date(t)), 'growth'), t, '2026-07-31T12:00:00.000Z')),
    use('2026-10-30T18:00:00.000Z', 700, 'late-october'),
  ], '2026-11-10T00:00:00Z');
  // Closed and started again on purpose on August 20th on another calendar: its tier-2 was
  // paid by the earlier workflow through September 1st, and its promotion was granted then.
  const first = { accountId: 'restarted', plan: 'growth', users: 1, creditTier: 'tier-2', tags: ['chloe-beta'], cycleAnchor: '2026-08-01T00:00:00.000Z' };
  await record(first, '2026-08-01T00:00:00.000Z', [], '2026-08-19T00:00:00Z', 'e1');
  const paid = { chargeId: 'restarted:tier:2026-08-01T00:00:00.000Z', tierId: 'tier-2', amountCents: 5_000, reason: 'cycle_start' as const, paidThrough: '2026-09-01T00:00:00.000Z' };
  const restart = { promotions: { ids: ['chloe-beta-2026'], names: [] }, paidThisPeriod: paid };
  const restarted = { ...first, cycleAnchor: '2026-08-15T00:00:00.000Z', restartClosed: true };
  await recordAccount(store, ruleSet, restarted, '2026-08-20T00:00:00.000Z', [use('2026-08-21T09:00:00.000Z', 100, 'after')], Date.parse('2026-10-20T00:00:00Z'), 'e2', restart);
}, 120_000);
afterAll(async () => {
  await store?.close();
});

describe('an account whose ledger ends (it closed)', () => {
  it('counts only the cycles its ledger holds, so a tier price draft changes nothing after it closed', async () => {
    const outcome = await outcomeOf('gone', draft('priceCents: 2000', 'priceCents: 2500'));
    expect(outcome.cycles).toEqual([0, 1]);
    expect(outcome.baseline.revenueByTier).toEqual({ 'tier-1': 4000 });
    expect(outcome.draft?.revenueByTier).toEqual({ 'tier-1': 5000 });
    expect(outcome.warnings).toEqual([]);
  });

  it('has no forecast: there is no current cycle', async () => {
    await expect(forecastAccount(store, ruleSet, 'gone', UNTIL)).rejects.toMatchObject({
      code: 'no_current_cycle',
      message: 'the ledger holds nothing of "gone" after cycle #2, which ended 2026-08-01T00:00:00.000Z: the account seems to have closed, so there is no current cycle to forecast',
    });
  });
});

describe('a call the ledger refused', () => {
  it('is ended at once, at 0 minutes, where a draft would authorise it, and said so: never charged as a day-long lost call', async () => {
    const outcome = await outcomeOf('refused-call', draft('creditsPerUser: 500', 'creditsPerUser: 600'));
    expect(outcome.baseline.used).toBe(500);
    expect(outcome.draft?.used).toBe(500);
    expect(outcome.warnings.map((w) => w.message)).toEqual(['draft: call c1, refused in the ledger, would be authorised; its length is unknown, so it is counted as 0 minutes']);
  });
});

describe('an account started again under its id', () => {
  it('replays its latest pool alone, matching its ledger, and says the earlier one is left out', async () => {
    const outcome = await outcomeOf('twice', null);
    expect(outcome.warnings.map((w) => w.message)).toEqual([
      'the account was started again at 2026-08-10T00:00:00.000Z (a new workflow and pool): only that latest run is replayed, the earlier one\'s cycles are left out',
    ]);
    // The new pool's figures only: its 700 used, its grants; no "baseline differs" warning.
    expect(outcome.baseline.used).toBe(700);
    expect(outcome.ledger.used).toBe(700);
    expect(outcome.baseline.granted).toBe(outcome.ledger.granted);
  });
});

describe('a closed account started again on purpose', () => {
  it('replays with what the ledger told it (the tier paid, the promotion granted before), matching its ledger', async () => {
    const outcome = await outcomeOf('restarted', null);
    expect(outcome.warnings.map((w) => w.message).filter((m) => m.includes('baseline differs'))).toEqual([]);
    expect(outcome.baseline).toMatchObject({ revenueCents: outcome.ledger.revenueCents, granted: outcome.ledger.granted, used: outcome.ledger.used });
    // Not charged at the restart; the renewals of Sep 15 and Oct 15 are.
    expect(outcome.ledger.revenueCents).toBe(10_000);
    expect(outcome.ledger.granted).toBe(3 * (1500 + 3200));
  });
});

describe('asked about a time the ledger does not cover', () => {
  it('says the account did not exist yet, and that an empty ledger has nothing to simulate', async () => {
    await expect(forecastAccount(store, ruleSet, 'late-opener', Date.parse('2026-09-01T00:00:00Z'))).rejects.toMatchObject({
      code: 'no_current_cycle',
      message: '"late-opener" did not exist yet at 2026-09-01T00:00:00.000Z: its ledger begins later',
    });
    const empty = await openLedgerStore({ url: 'pglite:memory' });
    try {
      await expect(simulate({ store: empty, ruleSet, draft: null, period: ALL, nowMs: UNTIL })).rejects.toMatchObject({
        code: 'empty_ledger',
        message: expect.stringMatching(/^the ledger \(.*\) holds no accounts yet: there is nothing to simulate$/),
      });
    } finally {
      await empty.close();
    }
  });
});

describe('the forecast of an account opened mid-cycle', () => {
  it('counts its pace from its opening, not from the cycle start before it existed', async () => {
    const forecast = await forecastAccount(store, ruleSet, 'late-opener', Date.parse('2026-10-06T12:00:00Z'));
    expect(forecast.usedThisCycle).toBe(1000);
    expect(forecast.creditsPerDay).toBeCloseTo(1000 / 3.5, 1);
  });
});

describe('a trial converted onto a new calendar', () => {
  const between = (from: string, to: string) => ({ kind: 'dates', fromMs: Date.parse(from), toMs: Date.parse(to) }) as const;
  const run = (from: string, to: string, rules: Rules | null) => simulate({ store, ruleSet, draft: rules, period: between(from, to), nowMs: UNTIL, accounts: ['converted'] });

  it('prices the paid cycle the conversion opens with the draft when that cycle is in the period', async () => {
    const dearer = draft('{ id: tier-1, name: Tier 1, priceCents: 2000,', '{ id: tier-1, name: Tier 1, priceCents: 2500,');
    const [outcome] = (await run('2026-08-15T00:00:00Z', '2026-09-01T00:00:00Z', dearer)).accounts;
    expect(outcome?.cycles).toHaveLength(1);
    expect(outcome?.baseline.revenueCents).toBe(2000);
    expect(outcome?.draft?.revenueCents).toBe(2500);
    expect(outcome?.warnings).toEqual([]);
  });

  it('follows the CRM calendar the conversion recorded, a 31st anchor through its shorter months', async () => {
    const outcome = await outcomeOf('converted-31st', null);
    expect(outcome.warnings.map((w) => w.message).filter((m) => m.includes('baseline differs'))).toEqual([]);
    expect(outcome.baseline.used).toBe(700);
  });

  it('keeps the cycles before the conversion on the trial calendar they ran on', async () => {
    // The trial's cycle began August 5th; nothing of the account began in July.
    await expect(run('2026-07-15T00:00:00Z', '2026-07-25T00:00:00Z', null)).rejects.toMatchObject({ code: 'empty_period' });
    const [trialCycle] = (await run('2026-08-01T00:00:00Z', '2026-08-15T00:00:00Z', null)).accounts;
    expect(trialCycle?.cycles).toHaveLength(1);
    expect(trialCycle?.baseline.used).toBe(301);
    expect(trialCycle?.baseline).toMatchObject(trialCycle?.ledger ?? {});
  });
});
