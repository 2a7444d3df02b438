/**
 * Summaries for the admin page's tests (render.test.ts, the "over time" views), served by a stand-in for the account workflows:
 * these tests are about the admin server and the ledger, so the summary (the workflow's side)
 * is fixed, and an account the stand-in does not know answers as the client does for a
 * workflow that does not exist.
 */
import { AccountNotFoundError, type CreditsClient } from '../../client';
import type { AccountSummary } from '../../domain/wire-contract';
import { defaultRulesPath, loadRuleSet } from '../../ruleset';

const rules = loadRuleSet(defaultRulesPath()).latest;

/** A summary of account `acme` in cycle 4 (2026-06-03 to 2026-07-03), no tier, alert ok, no usage: override what a test needs. */
export function adminSummary(extra: Partial<AccountSummary> = {}): AccountSummary {
  return {
    accountId: 'acme',
    plan: { id: 'growth', name: 'Growth' },
    pendingPlan: null,
    users: 3,
    trial: false,
    tier: null,
    pendingTier: null,
    cycle: { index: 4, start: '2026-06-03T00:00:00.000Z', end: '2026-07-03T00:00:00.000Z' },
    credits: { available: 4_500, granted: 4_500, used: 0, overdraft: 0, callOverage: 0 },
    grants: [],
    usage: [],
    telephonyMinutes: 0,
    alert: 'ok',
    features: [],
    inactiveAgents: [],
    openCalls: 0,
    tags: [],
    admins: [],
    rulesVersion: rules.version,
    parkedEffects: 0,
    asOf: '2026-06-05T10:00:00.000Z',
    ...extra,
  };
}

/** {@link adminSummary} of `accountId` in cycle 0 (the cycle of test/ledger/history-fixtures.ts), no run-out projected. */
export function historySummary(accountId: string, extra: Partial<AccountSummary> = {}): AccountSummary {
  return adminSummary({
    accountId,
    cycle: { index: 0, start: '2026-06-03T00:00:00.000Z', end: '2026-07-03T00:00:00.000Z' },
    credits: { available: 10_500, granted: 10_500, used: 0, overdraft: 0, callOverage: 0 },
    projectedRunOutAt: null,
    asOf: '2026-06-10T16:00:00.000Z',
    ...extra,
  });
}

/**
 * The busy account of test/ledger/history-fixtures.ts as its workflow would sum it up: Tier 5
 * held, a downgrade to Tier 3 waiting, credits running low and projected out on 2026-06-20.
 */
export function busySummary(accountId: string): AccountSummary {
  return historySummary(accountId, {
    tier: { id: 'tier-5', name: 'Tier 5', priceCents: 20_000, credits: 16_000 },
    pendingTier: { tier: 'tier-3', effectiveAt: '2026-07-03T00:00:00.000Z' },
    credits: { available: 2_000, granted: 10_500, used: 8_500, overdraft: 0, callOverage: 0 },
    usage: [{ feature: 'enrichment', quantity: 8_480, credits: 8_480, count: 4, rejected: 1 }],
    alert: 'warning',
    projectedRunOutAt: '2026-06-20T06:00:00.000Z',
  });
}

/** A stand-in client answering `summary` from `summaries` only; the accounts in `closed` closed (terminated). */
export function summaryClient(summaries: readonly AccountSummary[], closed: readonly string[] = []): CreditsClient {
  const known = new Map(summaries.map((s) => [s.accountId, s]));
  return {
    summary: async (accountId: string) => {
      const found = known.get(accountId);
      if (!found) throw new AccountNotFoundError(accountId, `account ${accountId} does not exist`);
      return found;
    },
    closedRun: async (accountId: string) => (closed.includes(accountId) ? { status: 'terminated', closedAt: '2026-06-20T00:00:00.000Z' } : null),
  } as unknown as CreditsClient;
}
