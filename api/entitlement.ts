/**
 * The entitlement check: may this account use N units of feature F now? Answered from the
 * account's summary and the rules it runs on, the way `recordUsage` would decide, without
 * recording anything. It is a forecast: usage recorded in between may change the answer, and
 * the account's ledger backlog (`ledger_backlog`) is not in the summary, so the one refusal it
 * cannot foresee is that one.
 */
import type { AccountSummary, UsageRejection } from '../domain/wire-contract';
import { creditsForQuantity } from '../domain/pricing';
import { accountIncludes, featureById, planById } from '../ruleset/catalog';
import type { FeatureRule, Rules } from '../ruleset/types';

/** The answer of the entitlement check. */
export interface Entitlement {
  accountId: string;
  feature: string;
  quantity: number;
  /** Whether usage of `quantity` units would be admitted now. */
  allowed: boolean;
  /** Why not, as `recordUsage` would refuse it. */
  reason?: UsageRejection;
  /** Credits `quantity` units cost at the account's rules (0 for free and telephony-billed features). */
  cost: number;
  /** Credits available now. */
  balance: number;
  /** Whether usage of the feature is reported through call start and end rather than usage events. */
  perCall: boolean;
}

/** Why usage of `feature` would be refused whatever its cost, as the account's workflow decides it. */
function refusal(summary: AccountSummary, rules: Rules, feature: FeatureRule): UsageRejection | undefined {
  const plan = planById(rules, summary.plan.id);
  if (!plan || !accountIncludes(rules, plan, summary.trial, feature)) return 'not_in_plan';
  if (feature.billing !== 'credits') return undefined;
  if (summary.features.some((f) => f.feature === feature.id && !f.enabled)) return 'feature_disabled';
  if (summary.credits.available <= rules.alerts.exhaustedAtBalance) return 'credits_exhausted';
  return undefined;
}

/**
 * Whether the account of `summary` may use `quantity` units of `feature` now, under `rules`
 * (the account's own rules version). A per-call feature (Voice Agents) is never refused for
 * its cost, only for the reasons that refuse a call: its cost is the cost of `quantity` minutes.
 *
 * @returns undefined when the rules have no such feature.
 */
export function checkEntitlement(summary: AccountSummary, rules: Rules, featureId: string, quantity: number): Entitlement | undefined {
  const feature = featureById(rules, featureId);
  if (!feature) return undefined;
  const cost = feature.cost ? creditsForQuantity(feature.cost, quantity) : 0;
  const balance = summary.credits.available;
  const reason = refusal(summary, rules, feature) ?? (!feature.perCall && cost > balance ? 'insufficient_credits' : undefined);
  const answer: Entitlement = { accountId: summary.accountId, feature: feature.id, quantity, allowed: reason === undefined, cost, balance, perCall: feature.perCall };
  if (reason !== undefined) answer.reason = reason;
  return answer;
}
