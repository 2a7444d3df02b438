/**
 * The what-if simulation on the embedded ledger: recorded scenarios replayed through the
 * credit core reproduce the ledger's own figures; a draft changes exactly what it should;
 * bad drafts, empty periods, unknown accounts and unreachable ledgers are refused clearly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { formatForecast } from '../../cli/rules-simulate';
import type { LedgerEntry } from '../../domain/effects';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { compileRules, defaultRulesPath, loadRuleSet, type Rules } from '../../ruleset';
import { FIGURE_FIELDS, SimulationError, forecastAccount, simulate, type AccountOutcome } from '../../simulate';
import { ACCOUNTS, draftText, recordScenarios } from './scenarios';

const ruleSet = loadRuleSet(defaultRulesPath());
const UNTIL = Date.parse('2026-10-20T00:00:00Z');
const ALL = { kind: 'dates', fromMs: Date.parse('2026-06-01T00:00:00Z'), toMs: UNTIL } as const;
const scratch = mkdtempSync(join(tmpdir(), 'simulate-'));
let store: LedgerStore;

function compiled(text: string): Rules {
  const result = compileRules(text, 'draft.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
  return result.rules;
}

function outcome(accounts: readonly AccountOutcome[], id: string): AccountOutcome {
  const found = accounts.find((a) => a.accountId === id);
  if (!found) throw new Error(`no outcome for ${id}`);
  return found;
}

beforeAll(async () => {
  store = await openLedgerStore({ url: 'pglite:memory' });
  await recordScenarios(store, ruleSet, UNTIL);
}, 120_000);
afterAll(async () => {
  await store?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the baseline replay', () => {
  it('reproduces the ledger exactly, per account and cycle, over every scenario', async () => {
    const report = await simulate({ store, ruleSet, draft: null, period: ALL, nowMs: UNTIL });
    expect(report.warnings).toEqual([]);
    expect(report.accounts.map((a) => a.accountId).sort()).toEqual(Object.values(ACCOUNTS).sort());
    for (const account of report.accounts) {
      for (const field of FIGURE_FIELDS) expect(account.baseline[field], `${account.accountId} ${field}`).toBe(account.ledger[field]);
      expect(account.baseline.pausedAt).toBe(account.ledger.pausedAt);
    }
    // The scenarios did reach what they exercise: a pause with refusals, breakage, tier revenue.
    const rich = outcome(report.accounts, ACCOUNTS.rich);
    expect(rich.ledger.exhausted).toBeGreaterThan(0);
    expect(rich.ledger.refused).toBeGreaterThan(0);
    expect(rich.ledger.lapsed).toBeGreaterThan(0);
    expect(Object.keys(rich.baseline.revenueByTier).sort()).toEqual(['tier-1', 'tier-2', 'tier-3']);
  });

  it('reports a ledger entry the core would not have written as a warning naming the account and cycle', async () => {
    const own = await openLedgerStore({ url: 'pglite:memory' });
    try {
      await recordScenarios(own, ruleSet, UNTIL);
      let entry: LedgerEntry | undefined;
      for await (const usage of own.streamEntries({ accountId: ACCOUNTS.lite, kinds: ['usage'] })) {
        entry = usage;
        break;
      }
      // A charge the core never made, appended to the ledger.
      await own.appendEntries([{ ...entry!, entryId: 'forged:1', seq: 100_000, kind: 'charge', credits: 0, amountCents: 999 }]);
      const report = await simulate({ store: own, ruleSet, draft: null, period: ALL, nowMs: UNTIL, accounts: [ACCOUNTS.lite] });
      expect(report.warnings).toEqual([
        { accountId: ACCOUNTS.lite, cycleIndex: entry!.cycleIndex, message: 'baseline differs from the ledger: revenueCents 0 replayed, 999 in the ledger' },
      ]);
    } finally {
      await own.close();
    }
  }, 120_000);
});

describe('a draft', () => {
  it('that doubles a tier price doubles that tier revenue and changes nothing else', async () => {
    const draft = compiled(draftText('{ id: tier-1, name: Tier 1, priceCents: 2000,', '{ id: tier-1, name: Tier 1, priceCents: 4000,'));
    const report = await simulate({ store, ruleSet, draft, period: ALL, nowMs: UNTIL });
    expect(report.warnings).toEqual([]);
    let doubled = 0;
    for (const account of report.accounts) {
      const { baseline, draft: after } = account;
      for (const field of FIGURE_FIELDS.filter((f) => f !== 'revenueCents')) expect(after?.[field], `${account.accountId} ${field}`).toBe(baseline[field]);
      expect(after?.pausedAt).toBe(baseline.pausedAt);
      for (const tier of new Set([...Object.keys(baseline.revenueByTier), ...Object.keys(after?.revenueByTier ?? {})])) {
        const expected = (baseline.revenueByTier[tier] ?? 0) * (tier === 'tier-1' ? 2 : 1);
        expect(after?.revenueByTier[tier], `${account.accountId} ${tier}`).toBe(expected);
      }
      doubled += baseline.revenueByTier['tier-1'] ?? 0;
    }
    expect(doubled).toBeGreaterThan(0);
    expect(report.totals.draft?.revenueCents).toBe(report.totals.baseline.revenueCents + doubled);
    expect(report.distribution).toEqual({ gain: 2, lose: 0, equal: report.accounts.length - 2 });
    expect(report.changes.biggest.map((c) => c.accountId).sort()).toEqual([ACCOUNTS.rich, ACCOUNTS.tier1]);
    expect(report.changes.newlyPaused).toEqual([]);
    expect(report.changes.noLongerPaused).toEqual([]);
  });

  it("that lowers a plan's cap pauses exactly the accounts that ran past the new allocation, when they reached it", async () => {
    // Scale capped at 8 users: 16,000 included credits instead of 20,000.
    const draft = compiled(draftText('creditsPerUser: 2000\n    userCap: 10', 'creditsPerUser: 2000\n    userCap: 8'));
    const period = { kind: 'dates', fromMs: Date.parse('2026-08-01T00:00:00Z'), toMs: Date.parse('2026-10-01T00:00:00Z') } as const;
    const report = await simulate({ store, ruleSet, draft, period, nowMs: UNTIL, accounts: [ACCOUNTS.capHeavy, ACCOUNTS.capLight] });
    expect(report.warnings).toEqual([]);
    // Heavy spends 2,000 a day from the 2nd: its eighth usage of August (the 9th) reaches 16,000.
    expect(report.changes.newlyPaused.map((c) => [c.accountId, c.draftPausedAt])).toEqual([[ACCOUNTS.capHeavy, '2026-08-09T12:00:00.000Z']]);
    expect(report.changes.noLongerPaused).toEqual([]);
    const heavy = outcome(report.accounts, ACCOUNTS.capHeavy);
    expect(heavy.cycles).toEqual([1, 2]);
    expect(heavy.baseline.refused).toBe(0);
    expect(heavy.draft?.refused).toBe(2);
    expect(heavy.draft?.exhausted).toBe(2);
    expect(heavy.draft?.used).toBe(32_000);
    expect(heavy.draft?.granted).toBe(32_000);
    const light = outcome(report.accounts, ACCOUNTS.capLight);
    expect(light.draft?.pausedAt).toBeNull();
    expect(light.draft?.used).toBe(light.baseline.used);
    // Less granted, so less lapses at the resets.
    expect(light.draft?.lapsed).toBe(light.baseline.lapsed - 2 * 4000);
  });

  it('comes out the same replayed on worker threads', async () => {
    const draft = compiled(draftText('{ id: tier-1, name: Tier 1, priceCents: 2000,', '{ id: tier-1, name: Tier 1, priceCents: 4000,'));
    const here = await simulate({ store, ruleSet, draft, period: ALL, nowMs: UNTIL });
    const spread = await simulate({ store, ruleSet, draft, period: ALL, nowMs: UNTIL, workers: 2, pageSize: 5 });
    expect(spread).toEqual(here);
    // Replays that stop before the ledger's end (an earlier "now") leave entries unread: nothing waits on them.
    const earlier = { store, ruleSet, draft, period: { kind: 'lastCycles', count: 1, nowMs: Date.parse('2026-08-20T00:00:00Z') }, nowMs: Date.parse('2026-08-20T00:00:00Z') } as const;
    expect(await simulate({ ...earlier, workers: 2, pageSize: 3 })).toEqual(await simulate(earlier));
  });

  it('is filtered by plan and tag', async () => {
    const byPlan = await simulate({ store, ruleSet, draft: null, period: ALL, nowMs: UNTIL, plan: 'scale' });
    expect(byPlan.accounts.map((a) => a.accountId).sort()).toEqual([ACCOUNTS.tier1, ACCOUNTS.capHeavy, ACCOUNTS.capLight].sort());
    const byTag = await simulate({ store, ruleSet, draft: null, period: ALL, nowMs: UNTIL, tag: 'chloe-beta' });
    expect(byTag.accounts.map((a) => a.accountId)).toEqual([ACCOUNTS.rich]);
  });

  it('defaults to each account\'s last three complete cycles', async () => {
    const report = await simulate({ store, ruleSet, draft: null, period: { kind: 'lastCycles', count: 3, nowMs: UNTIL }, nowMs: UNTIL, accounts: [ACCOUNTS.capHeavy] });
    // Cycles start on the 1st: July, August and September are complete on October 20th.
    expect(report.accounts[0]?.cycles).toEqual([0, 1, 2]);
  });
});

describe('refusals', () => {
  it('an empty period', async () => {
    const period = { kind: 'dates', fromMs: Date.parse('2025-01-01T00:00:00Z'), toMs: Date.parse('2025-02-01T00:00:00Z') } as const;
    await expect(simulate({ store, ruleSet, draft: null, period, nowMs: UNTIL })).rejects.toMatchObject({ code: 'empty_period' });
  });

  it('an unknown account', async () => {
    const failure = simulate({ store, ruleSet, draft: null, period: ALL, nowMs: UNTIL, accounts: ['no-such-account'] });
    await expect(failure).rejects.toBeInstanceOf(SimulationError);
    await expect(failure).rejects.toMatchObject({ code: 'unknown_account', message: expect.stringContaining('"no-such-account"') });
    await expect(forecastAccount(store, ruleSet, 'no-such-account', UNTIL)).rejects.toMatchObject({ code: 'unknown_account' });
  });
});

describe('the forecast', () => {
  it('projects the run-out date and the tier that would cover the cycle at the current pace', async () => {
    // cap-heavy on September 6th: 8,000 used in 5 days of this cycle, 18,000 in the 31 days of the previous one.
    const forecast = await forecastAccount(store, ruleSet, ACCOUNTS.capHeavy, Date.parse('2026-09-06T00:00:00Z'));
    expect(forecast.cycle).toEqual({ index: 2, start: '2026-09-01T00:00:00.000Z', end: '2026-10-01T00:00:00.000Z' });
    expect(forecast.usedPreviousCycle).toBe(18_000);
    expect(forecast.usedThisCycle).toBe(8000);
    expect(forecast.available).toBe(12_000);
    // 26,000 credits over 36 days: about 722 a day, so the 12,000 left last until about the 22nd.
    expect(forecast.creditsPerDay).toBeCloseTo(26_000 / 36, 1);
    expect(forecast.runOutAt?.slice(0, 10)).toBe('2026-09-22');
    // 8,000 + 722 x 25 days left = about 26,056 for the cycle: 20,000 included + tier-3's 7,000 covers it, tier-2's 3,200 does not.
    expect(forecast.projectedCycleUse).toBe(Math.ceil(8000 + (26_000 / (36 * 86_400_000)) * 25 * 86_400_000));
    expect(forecast.tier).toMatchObject({ id: 'tier-3', covers: true });
    expect(forecast).toMatchObject({ tierNeeded: true, creditsWithoutTier: 20_000 });
    // rich holds tier-1, but its 7,500 credits besides it (5 users on Growth) cover its pace of 7,488: no tier is needed.
    const rich = await forecastAccount(store, ruleSet, ACCOUNTS.rich, Date.parse('2026-09-20T00:00:00Z'));
    expect(rich.usedThisCycle).toBe(3000);
    expect(rich).toMatchObject({ projectedCycleUse: 7488, tierNeeded: false, tier: null, creditsWithoutTier: 7500, currentTier: 'tier-1' });
    expect(formatForecast(rich).at(-1)).toBe("  tier: none needed at this pace; the cycle's 7,500 credits besides any tier cover it (tier-1 is held)");
  });
});

describe('credits rules simulate and credits account forecast', () => {
  async function credits(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const code = await main(['node', 'credits', ...args], {
        stdout: (t) => {
          stdout += t;
        },
        stderr: (t) => {
          stderr += t;
        },
      });
      return { code, stdout, stderr };
    } finally {
      process.env = saved;
    }
  }
  const dir = join(scratch, 'ledger');
  const env = { CREDITS_LEDGER_URL: `pglite:${dir}` };
  const draft = join(scratch, 'draft.yaml');

  beforeAll(async () => {
    const own = await openLedgerStore({ url: env.CREDITS_LEDGER_URL });
    await recordScenarios(own, ruleSet, Date.now());
    await own.close();
    writeFileSync(draft, draftText('{ id: tier-1, name: Tier 1, priceCents: 2000,', '{ id: tier-1, name: Tier 1, priceCents: 4000,'));
  }, 120_000);

  it('prints the table, JSON and CSV', async () => {
    const period = ['--from', '2026-06-01', '--to', '2026-10-01'];
    const table = await credits(env, 'rules', 'simulate', draft, ...period);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('Simulated 6 accounts');
    expect(table.stdout).toMatch(/tier revenue +\$[\d,.]+ +\$[\d,.]+ +\+\$[\d,.]+/);
    expect(table.stdout).toContain('Accounts: 2 bring more revenue, 0 less, 4 the same');
    expect(table.stdout).toContain('Baseline replay matches the ledger.');
    const json = await credits(env, 'rules', 'simulate', draft, ...period, '--json', '--account', ACCOUNTS.tier1);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { accounts: AccountOutcome[] };
    expect(parsed.accounts.map((a) => a.accountId)).toEqual([ACCOUNTS.tier1]);
    const csv = await credits(env, 'rules', 'simulate', draft, ...period, '--csv');
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^accountId,plan,tier,cycles,inForce\.granted,/);
    expect(lines).toHaveLength(7);
    const forecast = await credits(env, 'account', 'forecast', ACCOUNTS.capHeavy, '--at', '2026-09-06');
    expect(forecast.code).toBe(0);
    expect(forecast.stdout).toContain('run-out: 2026-09-22 ');
    // Cycles are counted from 1, as the account's page shows them (its index is 2).
    expect(forecast.stdout.split('\n')[0]).toMatch(/, cycle #3 \(2026-09-01 00:00 UTC -> 2026-10-01 00:00 UTC\)/);
    const future = await credits(env, 'account', 'forecast', ACCOUNTS.capHeavy, '--at', '2099-01-01');
    expect(future).toMatchObject({ code: 2, stdout: '' });
    expect(future.stderr).toBe('credits: --at 2099-01-01T00:00:00.000Z is in the future; a forecast is as of now or an earlier date\n');
    expect(forecast.stdout).toContain('tier that covers the cycle: Tier 3 (7,000 credits, $100.00 a month)');
  }, 120_000);

  it('reports a bad draft exactly as rules validate does, and simulates nothing', async () => {
    const bad = join(scratch, 'bad.yaml');
    writeFileSync(bad, draftText('priceCents: 5000,', 'priceCents: -5,'));
    const validate = await credits(env, 'rules', 'validate', bad);
    const run = await credits({ CREDITS_LEDGER_URL: 'postgres://nobody@127.0.0.1:1/none' }, 'rules', 'simulate', bad);
    expect(validate.code).toBe(1);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(validate.stderr);
    expect(run.stderr).toMatch(/bad\.yaml:\d+:\d+ /);
  });

  it('refuses an empty period, an unknown account and an unreachable ledger clearly', async () => {
    const empty = await credits(env, 'rules', 'simulate', draft, '--from', '2026-09-01', '--to', '2026-08-01');
    expect(empty).toMatchObject({ code: 1, stdout: '' });
    expect(empty.stderr).toMatch(/^credits: the period is empty/);
    const none = await credits(env, 'rules', 'simulate', draft, '--from', '2025-01-01', '--to', '2025-02-01');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^credits: no account has a cycle in the period/);
    const unknown = await credits(env, 'rules', 'simulate', draft, '--account', 'nobody');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^credits: the ledger .* holds no account "nobody"/);
    const unknownForecast = await credits(env, 'account', 'forecast', 'nobody');
    expect(unknownForecast.code).toBe(1);
    const down = await credits({ CREDITS_LEDGER_URL: 'postgres://nobody@127.0.0.1:1/none' }, 'rules', 'simulate', draft);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^credits: cannot open the ledger: /);
  }, 60_000);
});
