/**
 * Display names for what the summary names by id (features, tiers, units), taken from the
 * rules version the account's cycle is priced with. The page must still render when the rules
 * cannot be read (a broken file on disk): every lookup then falls back to the id.
 */
import type { FeatureRule, Rules } from '../ruleset';

/** Names and facts the page needs from the rules. */
export interface DisplayNames {
  /** A feature's display name, e.g. `Enrichment` for `enrichment`. */
  feature(id: string): string;
  /** The unit a feature's usage is counted in (`field`, `minute`...), if known. */
  unit(id: string): string | undefined;
  /** A tier's display name, e.g. `Tier 1` for `tier-1`. */
  tier(id: string): string;
  /** Credit-based features, in the rules' order: the usage chart's rows. */
  readonly creditFeatures: readonly { id: string; name: string }[];
  /** Percentage of granted credits from which the warning applies (the seed: 75). */
  readonly warningPercent: number;
  /** ISO-4217 currency of every `*Cents` amount. */
  readonly currency: string;
}

/** What the seed says is paused at zero, for when the rules are unreadable. */
const SEED_CREDIT_FEATURES = [
  { id: 'voice-agent', name: 'Chloe Voice Agents' },
  { id: 'enrichment', name: 'Enrichment' },
  { id: 'auto-updates', name: 'Auto Updates' },
];

/** Display names from `rules`, or fallbacks to ids when there are none. */
export function displayNames(rules: Rules | undefined): DisplayNames {
  const features = new Map<string, FeatureRule>((rules?.features ?? []).map((f) => [f.id, f]));
  const tiers = new Map((rules?.tiers ?? []).map((t) => [t.id, t.name]));
  const creditFeatures = rules
    ? rules.features.filter((f) => f.billing === 'credits').map((f) => ({ id: f.id, name: f.name }))
    : SEED_CREDIT_FEATURES;
  return {
    feature: (id) => features.get(id)?.name ?? id,
    unit: (id) => features.get(id)?.cost?.unit,
    tier: (id) => tiers.get(id) ?? id,
    creditFeatures,
    warningPercent: rules?.alerts.warningUsedPercent ?? 75,
    currency: rules?.currency ?? 'USD',
  };
}
