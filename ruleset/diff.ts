/**
 * What changes for customers between two rules versions, in sentences a pricing analyst can
 * paste into a changelog: `tier-3 price 100.00 -> 110.00 USD`, `growth cap 10 -> 12 users`.
 * Only what a customer could notice is listed (not notes, not file paths).
 */
import { formatAmount, formatCount, perUnits, plural } from '../display';
import type { FeatureRule, PlanRule, PromotionRule, Rules, TierRule } from './types';

interface Identified {
  readonly id: string;
}

/** Entries matched by id: added, removed, and present in both. */
function matchById<T extends Identified>(before: readonly T[], after: readonly T[]): { added: T[]; removed: T[]; kept: [T, T][] } {
  const afterById = new Map(after.map((item) => [item.id, item]));
  const beforeIds = new Set(before.map((item) => item.id));
  return {
    added: after.filter((item) => !beforeIds.has(item.id)),
    removed: before.filter((item) => !afterById.has(item.id)),
    kept: before.flatMap((item): [T, T][] => {
      const match = afterById.get(item.id);
      return match === undefined ? [] : [[item, match]];
    }),
  };
}

/**
 * The plans and tiers of `before` that `after` no longer has, by id: an account on one of them
 * cannot take `after` (it keeps the rules it has at each reset; see `rulesFitAccount`).
 */
export function droppedPlansAndTiers(before: Rules, after: Rules): { plans: string[]; tiers: string[] } {
  const ids = (items: Identified[]) => items.map((item) => item.id);
  return { plans: ids(matchById(before.plans, after.plans).removed), tiers: ids(matchById(before.tiers, after.tiers).removed) };
}

/** `label old -> new`, or nothing when equal. */
function change(label: string, before: string, after: string, suffix = ''): string[] {
  return before === after ? [] : [`${label} ${before} -> ${after}${suffix}`];
}

function gate(rules: Rules, feature: FeatureRule): string {
  if (feature.minPlan === null) return 'all plans';
  const plan = rules.plans.find((p) => p.id === feature.minPlan);
  return `${plan?.name ?? feature.minPlan} and above`;
}

function cost(feature: FeatureRule): string {
  if (feature.cost === null) return 'no credits';
  const { credits, per, unit, rounding } = feature.cost;
  return `${plural(credits, 'credit')} per ${perUnits(per, unit)} (rounded ${rounding})`;
}

function describePlan(plan: PlanRule): string {
  return `${plan.id} (${[plan.name, ...plan.aliases].join(' / ')}): ${formatCount(plan.creditsPerUser)} credits per user, cap ${plural(plan.userCap, 'user')}, max ${formatCount(plan.maxCredits)} credits`;
}

function describeTier(tier: TierRule, currency: string): string {
  return `${tier.id} (${tier.name}): ${formatAmount(tier.priceCents)} ${currency} for ${formatCount(tier.credits)} credits`;
}

function describePromotion(promotion: PromotionRule): string {
  return `${promotion.id} (${promotion.name}): ${formatCount(promotion.credits)} credits for accounts tagged ${promotion.eligibleTag}, from the first cycle on or after ${promotion.startsOn}, usable over ${plural(promotion.validForCycles, 'cycle')}`;
}

function planChanges(before: Rules, after: Rules): string[] {
  const { added, removed, kept } = matchById(before.plans, after.plans);
  const lines = [...added.map((p) => `plan added: ${describePlan(p)}`), ...removed.map((p) => `plan removed: ${p.id} (${p.name})`)];
  for (const [old, now] of kept) {
    lines.push(
      ...change(`${old.id} name`, old.name, now.name),
      ...now.aliases.filter((a) => !old.aliases.includes(a)).map((a) => `${old.id} now also sold as "${a}"`),
      ...old.aliases.filter((a) => !now.aliases.includes(a)).map((a) => `${old.id} no longer sold as "${a}"`),
      ...change(`${old.id} credits per user`, formatCount(old.creditsPerUser), formatCount(now.creditsPerUser)),
      ...change(`${old.id} cap`, formatCount(old.userCap), formatCount(now.userCap), now.userCap === 1 ? ' user' : ' users'),
      ...change(`${old.id} max credits`, formatCount(old.maxCredits), formatCount(now.maxCredits)),
    );
  }
  const order = (rules: Rules): string => rules.plans.map((p) => p.id).join(' < ');
  if (removed.length === 0 && added.length === 0) lines.push(...change('plan ladder', order(before), order(after)));
  return lines;
}

function trialChanges(before: Rules, after: Rules): string[] {
  const lines = change('trial credits', formatCount(before.trial.credits), formatCount(after.trial.credits));
  if (before.trial.rolloverOnConversion !== after.trial.rolloverOnConversion) {
    lines.push(
      after.trial.rolloverOnConversion
        ? 'unused trial credits now carry over into a paid plan'
        : 'unused trial credits no longer carry over into a paid plan',
    );
  }
  lines.push(...change('trial length', trialLength(before), trialLength(after)));
  lines.push(...change('trial features', trialFeatures(before), trialFeatures(after)));
  return lines;
}

/** A trial's length as people read it. */
export function trialLength(rules: Rules): string {
  const days = rules.trial.lengthDays;
  return days === undefined ? 'until conversion' : `${formatCount(days)} day${days === 1 ? '' : 's'}`;
}

/** The features a trial has beyond its plan's, as people read them. */
export function trialFeatures(rules: Rules): string {
  const given = rules.trial.features;
  if (given === undefined || given.length === 0) return "its plan's";
  return given === 'all' ? 'all' : given.join(', ');
}

function featureChanges(before: Rules, after: Rules): string[] {
  const { added, removed, kept } = matchById(before.features, after.features);
  const lines = [
    ...added.map((f) => `feature added: ${f.id} (${f.name}), billing ${f.billing}, ${gate(after, f)}${f.cost ? `, ${cost(f)}` : ''}`),
    ...removed.map((f) => `feature removed: ${f.id} (${f.name})`),
  ];
  for (const [old, now] of kept) {
    lines.push(
      ...change(`${old.id} name`, old.name, now.name),
      ...change(`${old.id} billing`, old.billing, now.billing),
      ...change(`${old.id} available on`, gate(before, old), gate(after, now)),
      ...change(`${old.id} cost`, cost(old), cost(now)),
    );
    if (old.toggleable !== now.toggleable) lines.push(`${old.id} ${now.toggleable ? 'can now be switched off' : 'can no longer be switched off'}`);
    if (old.telephonyMinutes !== now.telephonyMinutes) {
      lines.push(`${old.id} minutes ${now.telephonyMinutes ? 'are now also billed as telephony' : 'are no longer billed as telephony'}`);
    }
    if (old.perCall !== now.perCall) lines.push(`${old.id} ${now.perCall ? 'is now authorised per call' : 'is no longer authorised per call'}`);
  }
  return lines;
}

function tierChanges(before: Rules, after: Rules): string[] {
  const { added, removed, kept } = matchById(before.tiers, after.tiers);
  const lines = [
    ...added.map((t) => `tier added: ${describeTier(t, after.currency)}`),
    ...removed.map((t) => `tier removed: ${describeTier(t, before.currency)}`),
  ];
  for (const [old, now] of kept) {
    lines.push(
      ...change(`${old.id} name`, old.name, now.name),
      ...change(`${old.id} price`, formatAmount(old.priceCents), formatAmount(now.priceCents), ` ${after.currency}`),
      ...change(`${old.id} credits`, formatCount(old.credits), formatCount(now.credits)),
    );
  }
  return lines;
}

function promotionChanges(before: Rules, after: Rules): string[] {
  const { added, removed, kept } = matchById(before.promotions, after.promotions);
  const lines = [
    ...added.map((p) => `promotion added: ${describePromotion(p)}`),
    ...removed.map((p) => `promotion removed: ${p.id} (${p.name})`),
  ];
  for (const [old, now] of kept) {
    lines.push(
      ...change(`${old.id} name`, old.name, now.name),
      ...change(`${old.id} credits`, formatCount(old.credits), formatCount(now.credits)),
      ...change(`${old.id} eligible tag`, old.eligibleTag, now.eligibleTag),
      ...change(`${old.id} starts on`, old.startsOn, now.startsOn),
      ...change(`${old.id} valid for`, String(old.validForCycles), String(now.validForCycles), ' cycles'),
    );
  }
  return lines;
}

function accountChanges(before: Rules, after: Rules): string[] {
  const order = (rules: Rules): string =>
    Object.entries(rules.consumptionPriority)
      .sort(([, a], [, b]) => a - b)
      .map(([source]) => source)
      .join(', ');
  const warning = (rules: Rules): string =>
    `${rules.alerts.warningUsedPercent}% used${rules.alerts.warningRequiresProjectedRunOut ? ' and on pace to run out' : ''}`;
  return [
    ...change('currency', before.currency, after.currency),
    ...change('credits consumed first (same expiry)', order(before), order(after)),
    ...change('low-credit warning at', warning(before), warning(after)),
    ...change('credits exhausted at balance', formatCount(before.alerts.exhaustedAtBalance), formatCount(after.alerts.exhaustedAtBalance)),
  ];
}

/**
 * The customer-visible changes from `before` to `after`, one sentence each, in file order:
 * plans, trial, features, tiers, promotions, then account-wide settings. Empty when nothing
 * a customer would notice changed (a comment or a note, say).
 */
export function describeRulesChanges(before: Rules, after: Rules): string[] {
  return [
    ...planChanges(before, after),
    ...trialChanges(before, after),
    ...featureChanges(before, after),
    ...tierChanges(before, after),
    ...promotionChanges(before, after),
    ...accountChanges(before, after),
  ];
}
