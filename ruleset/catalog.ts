/**
 * Look-ups in compiled rules. Kept apart from the rules loader (which reads files and runs
 * ajv) so the workflow bundle can use them without pulling in Node's file system.
 */
import type { FeatureRule, PlanRule, Rules, TierRule } from './types';

/** The plan with this id, name or alias, case-insensitively. */
export function resolvePlan(rules: Rules, idOrAlias: string): PlanRule | undefined {
  const wanted = idOrAlias.trim().toLowerCase();
  return rules.plans.find(
    (p) => p.id.toLowerCase() === wanted || p.name.toLowerCase() === wanted || p.aliases.some((a) => a.toLowerCase() === wanted),
  );
}

/** The plan with exactly this id. */
export function planById(rules: Rules, id: string): PlanRule | undefined {
  return rules.plans.find((p) => p.id === id);
}

/** The tier with this id (case-insensitive, so `Tier-3` works from a spreadsheet). */
export function resolveTier(rules: Rules, id: string): TierRule | undefined {
  const wanted = id.trim().toLowerCase();
  return rules.tiers.find((t) => t.id.toLowerCase() === wanted);
}

// Features by id, per compiled features list: usage looks its feature up several times an
// event, and a scan of the list was a measurable part of the intake's cost. Rules are never
// changed in place (a new cycle's rules are a new object), so the cache cannot go stale.
const featuresById = new WeakMap<readonly FeatureRule[], Map<string, FeatureRule>>();

/** The feature with exactly this id. */
export function featureById(rules: Rules, id: string): FeatureRule | undefined {
  let byId = featuresById.get(rules.features);
  if (byId === undefined) {
    byId = new Map();
    // The first of a repeated id wins, as a scan would find it (compiled rules have none).
    for (const f of rules.features) if (!byId.has(f.id)) byId.set(f.id, f);
    featuresById.set(rules.features, byId);
  }
  return byId.get(id);
}

/** Whether a plan includes a feature (its gating names a plan at or below this one). */
export function planIncludes(rules: Rules, plan: PlanRule, feature: FeatureRule): boolean {
  if (feature.minPlan === null) return true;
  const min = planById(rules, feature.minPlan);
  return min !== undefined && plan.rank >= min.rank;
}

/** Whether the rules give trial accounts this feature whatever plan they trial (`trial.features`). */
export function trialIncludes(rules: Rules, feature: FeatureRule): boolean {
  const given = rules.trial.features;
  return given === 'all' || (given !== undefined && given.includes(feature.id));
}

/**
 * Whether an account may use a feature: its plan includes it, or the account is a trial and
 * the rules give trials that feature whatever plan they trial.
 */
export function accountIncludes(rules: Rules, plan: PlanRule, trial: boolean, feature: FeatureRule): boolean {
  return planIncludes(rules, plan, feature) || (trial && trialIncludes(rules, feature));
}

/** Included credits for a number of users on a plan: per-user credits up to the plan's cap. */
export function includedCredits(plan: PlanRule, users: number): number {
  return plan.creditsPerUser * Math.min(users, plan.userCap);
}
