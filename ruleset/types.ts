/**
 * The compiled rules: what the pricing team's YAML file means once it has been parsed,
 * schema-checked and semantically checked. Every number the engine uses (plans, caps,
 * tiers, prices, costs, promotions, alert thresholds) comes from here and nowhere else.
 *
 * A `Rules` value is plain JSON (it crosses the Temporal activity boundary into the
 * workflow) and deeply frozen once compiled.
 */

/** Where a grant of credits came from; also the key of the consumption tie-break priority. */
export const GRANT_SOURCES = ['trial', 'included', 'subscription', 'promotion', 'manual'] as const;
/** Where a grant of credits came from. */
export type GrantSource = (typeof GRANT_SOURCES)[number];

/** How a feature is billed. */
export const FEATURE_BILLING = ['free', 'credits', 'telephony'] as const;
/** How a feature is billed: never charged, charged in AI credits, or billed apart as telephony. */
export type FeatureBilling = (typeof FEATURE_BILLING)[number];

/** How a fractional credit cost is turned into whole credits. */
export const ROUNDING_RULES = ['up', 'down', 'nearest'] as const;
/** How a fractional credit cost is turned into whole credits (`nearest` rounds halves up). */
export type RoundingRule = (typeof ROUNDING_RULES)[number];

/** A CRM plan family, e.g. Growth / Professional. */
export interface PlanRule {
  /** Stable lower-case id, e.g. `growth`. */
  readonly id: string;
  /** Display name, e.g. `Growth`. */
  readonly name: string;
  /** Other names the plan is sold under, e.g. `Professional`; matched case-insensitively. */
  readonly aliases: readonly string[];
  /** Position in the plan ladder, 0 for the smallest; "Growth and above" compares ranks. */
  readonly rank: number;
  /** Included credits per user per cycle. */
  readonly creditsPerUser: number;
  /** Users beyond this number add no included credits. */
  readonly userCap: number;
  /** `creditsPerUser * userCap`, the most a cycle can include. */
  readonly maxCredits: number;
}

/** Trial accounts: a fixed grant instead of per-user credits. */
export interface TrialRule {
  /** Fixed credits for the trial, not per user. */
  readonly credits: number;
  /** Whether unused trial credits survive conversion to a paid plan (the seed: false). */
  readonly rolloverOnConversion: boolean;
  /**
   * Days a trial lasts from the moment it opens: its credits expire then, so an unconverted
   * trial holds none afterwards. Absent (the seed is silent): trial credits last until the
   * trial converts. Either way they are granted once per trial, never again at a reset.
   */
  readonly lengthDays?: number;
  /**
   * Features a trial account may use whatever plan it trials, on top of that plan's own:
   * `all`, or these feature ids (the help page's Trial Credits section lists the free
   * features every trial keeps). Absent: only the trialled plan's features.
   */
  readonly features?: 'all' | readonly string[];
}

/** What a credit-based feature costs: `credits` per `per` units, rounded by `rounding`. */
export interface FeatureCost {
  /** Credits charged for `per` units. */
  readonly credits: number;
  /** Units that cost `credits` (1 unless the price is for a bundle). */
  readonly per: number;
  /** Name of the unit, e.g. `minute`, `field`, `call`. */
  readonly unit: string;
  /** How a fractional cost becomes whole credits. */
  readonly rounding: RoundingRule;
}

/** One AI feature and how it is billed. */
export interface FeatureRule {
  /** Stable id used on the wire, e.g. `enrichment`. */
  readonly id: string;
  /** Display name, e.g. `Enrichment`. */
  readonly name: string;
  readonly billing: FeatureBilling;
  /** Lowest plan id that includes the feature, or null when every plan (and trials) has it. */
  readonly minPlan: string | null;
  /** Whether admins can switch the feature on and off (only credit-based features may be). */
  readonly toggleable: boolean;
  /** Whether usage goes through per-call authorization (`startCall`/`endCall`) rather than `recordUsage`. */
  readonly perCall: boolean;
  /** Whether this feature's minutes are also recorded as telephony minutes (Voice Agents). */
  readonly telephonyMinutes: boolean;
  /** Present exactly when `billing` is `credits`. */
  readonly cost: FeatureCost | null;
  /** Free text for people, e.g. "Per-field lead enrichment". */
  readonly note: string;
}

/** An AI Credit Subscription tier. */
export interface TierRule {
  /** Stable id, e.g. `tier-3`. */
  readonly id: string;
  /** Display name, e.g. `Tier 3`. */
  readonly name: string;
  /** Position in the tier ladder, 0 for the smallest; higher is an upgrade. */
  readonly rank: number;
  /** Monthly price in integer cents. */
  readonly priceCents: number;
  /** Credits granted per cycle. */
  readonly credits: number;
}

/** A promotional grant such as the Chloe beta thank-you. */
export interface PromotionRule {
  readonly id: string;
  readonly name: string;
  /** Credits granted once per eligible account. */
  readonly credits: number;
  /** Accounts carrying this tag are eligible. */
  readonly eligibleTag: string;
  /** UTC calendar date (YYYY-MM-DD): granted at the first cycle starting on or after it. */
  readonly startsOn: string;
  /** The grant expires at the end of the Nth cycle counted from the one it is granted in. */
  readonly validForCycles: number;
}

/** Upgrade, downgrade and reset policies; the seed's values are the only ones the engine implements. */
export interface PolicyRules {
  readonly tierUpgrade: {
    readonly timing: 'immediate';
    readonly charge: 'full_price';
    readonly allocation: 'full';
  };
  readonly tierDowngrade: { readonly timing: 'next_cycle' };
  readonly planDowngrade: { readonly timing: 'next_cycle' };
  readonly reset: { readonly period: 'monthly'; readonly rollover: false };
  readonly pooling: 'account';
}

/** Low-credit notification thresholds. */
export interface AlertRules {
  /** Warning when at least this percentage of the cycle's granted credits is used... */
  readonly warningUsedPercent: number;
  /** ...and (when true) the burn rate so far projects running out before the reset. */
  readonly warningRequiresProjectedRunOut: boolean;
  /** Exhausted when the available balance is at or below this many credits (the seed: 0). */
  readonly exhaustedAtBalance: number;
}

/** The compiled, frozen rules of one dated version. */
export interface Rules {
  /** Content hash of the compiled rules, carried by every ledger entry priced with them. */
  readonly version: string;
  /** UTC instant from which this version is in force (ISO-8601). */
  readonly effectiveFrom: string;
  /** Path of the file the rules were compiled from (for messages only). */
  readonly source: string;
  /** ISO-4217 currency of every `*Cents` amount. */
  readonly currency: string;
  /** Plan ladder, smallest first. */
  readonly plans: readonly PlanRule[];
  readonly trial: TrialRule;
  readonly features: readonly FeatureRule[];
  /** Tier ladder, cheapest first. */
  readonly tiers: readonly TierRule[];
  readonly promotions: readonly PromotionRule[];
  /**
   * Consumption tie-break between grants expiring at the same instant: lower numbers are
   * consumed first. Every grant source has an entry.
   */
  readonly consumptionPriority: Readonly<Record<GrantSource, number>>;
  readonly policies: PolicyRules;
  readonly alerts: AlertRules;
}
