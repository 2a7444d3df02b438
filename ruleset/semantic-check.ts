/**
 * Checks a schema cannot express: relations between entries (unique ids and names, plan and
 * tier ladder order and per-credit rate, plan gating that names a real plan, trial features
 * that name real features, a single per-call feature) and meanings of values (dates that exist, costs that billing needs, included
 * credits within bounds).
 *
 * They run even when the schema check failed, so one run reports everything; every check
 * therefore reads the data defensively and skips what the schema already rejected.
 */
import { FEATURE_BILLING, GRANT_SOURCES } from './types';
import { formatAmount, formatCount } from '../display';
import type { Finding } from './finding';
import { isCalendarDate, parseInstant } from './instant';
import { describeItem, quoteText, showText } from './wording';
import type { DataPath, RulesSource } from './yaml-source';

type Fields = Readonly<Record<string, unknown>>;

const BILLING_KINDS: ReadonlySet<string> = new Set(FEATURE_BILLING);

/**
 * Most credits a plan may include in a cycle (creditsPerUser × userCap), the same bound as
 * every count in the schema: credits times users, and a cycle's grants added up, then stay
 * far below 2^53, where whole numbers stop being exact.
 */
export const MAX_INCLUDED_CREDITS = 1_000_000_000;

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The items of a top-level list that are mappings, with their positions. */
function entries(data: Fields, list: string): [Fields, number][] {
  const items = data[list];
  if (!Array.isArray(items)) return [];
  return items.flatMap((item: unknown, index): [Fields, number][] => (isFields(item) ? [[item, index]] : []));
}

function text(fields: Fields, key: string): string | undefined {
  const value = fields[key];
  return typeof value === 'string' ? value : undefined;
}

/** A positive safe integer, or undefined (the schema reports anything else). */
function count(fields: Fields, key: string): number | undefined {
  const value = fields[key];
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** Runs every semantic check over a parsed file. */
export function checkSemantics(source: RulesSource): Finding[] {
  const data = source.data;
  if (!isFields(data)) return [];
  const lineOf = (path: DataPath): number => source.locate(path).line;
  return [
    ...checkEffectiveFrom(data),
    ...checkUniqueIds(data, 'plans', 'duplicate-plan', lineOf),
    ...checkPlanNames(data, lineOf),
    ...checkPlanLadder(data),
    ...checkUniqueIds(data, 'features', 'duplicate-feature', lineOf),
    ...checkFeatures(data, lineOf),
    ...checkTrialFeatures(data),
    ...checkUniqueIds(data, 'tiers', 'duplicate-tier', lineOf),
    ...checkTierLadder(data),
    ...checkUniqueIds(data, 'promotions', 'duplicate-promotion', lineOf),
    ...checkPromotions(data),
    ...checkConsumptionPriority(data),
  ];
}

function checkEffectiveFrom(data: Fields): Finding[] {
  const value = text(data, 'effectiveFrom');
  if (value === undefined || parseInstant(value) !== undefined) return [];
  return [
    {
      path: ['effectiveFrom'],
      code: 'effective-from',
      message: `effectiveFrom must be an existing UTC instant such as 2026-06-03T00:00:00Z, got ${quoteText(value)}`,
    },
  ];
}

function checkUniqueIds(
  data: Fields,
  list: 'plans' | 'features' | 'tiers' | 'promotions',
  code: 'duplicate-plan' | 'duplicate-feature' | 'duplicate-tier' | 'duplicate-promotion',
  lineOf: (path: DataPath) => number,
): Finding[] {
  const firstIndex = new Map<string, number>();
  const findings: Finding[] = [];
  for (const [item, index] of entries(data, list)) {
    const id = text(item, 'id');
    if (id === undefined) continue;
    const first = firstIndex.get(id);
    if (first === undefined) {
      firstIndex.set(id, index);
      continue;
    }
    findings.push({
      path: [list, index, 'id'],
      code,
      message: `${describeItem(data, list, index)} is defined twice (first at line ${lineOf([list, first, 'id'])}); ids must be unique`,
    });
  }
  return findings;
}

/**
 * Every plan name people may type (id, name, aliases) must lead to one plan only, compared
 * case-insensitively as lookups do, and in one Unicode normalization: "Pró" typed with a
 * combining accent and with a precomposed one look alike and would lead to different plans.
 * Two plans with the same id are reported as duplicate-plan.
 */
function checkPlanNames(data: Fields, lineOf: (path: DataPath) => number): Finding[] {
  interface Claim {
    readonly plan: number;
    readonly path: DataPath;
    readonly isId: boolean;
    readonly isAlias: boolean;
  }
  const claims = new Map<string, Claim>();
  const findings: Finding[] = [];
  for (const [plan, index] of entries(data, 'plans')) {
    const aliases = Array.isArray(plan.aliases) ? (plan.aliases as unknown[]) : [];
    const names: [unknown, DataPath, boolean, boolean][] = [
      [plan.id, ['plans', index, 'id'], true, false],
      [plan.name, ['plans', index, 'name'], false, false],
      ...aliases.map((alias, a): [unknown, DataPath, boolean, boolean] => [alias, ['plans', index, 'aliases', a], false, true]),
    ];
    // A plan whose id and name collide with the same other name is told once, not twice.
    const reported = new Set<string>();
    for (const [name, path, isId, isAlias] of names) {
      if (typeof name !== 'string') continue;
      const key = name.trim().normalize('NFC').toLowerCase();
      if (reported.has(key)) continue;
      const claim = claims.get(key);
      if (claim === undefined) {
        claims.set(key, { plan: index, path, isId, isAlias });
        continue;
      }
      const samePlan = claim.plan === index;
      if (samePlan && !(isAlias && claim.isAlias)) continue;
      if (!samePlan && isId && claim.isId) continue;
      reported.add(key);
      const where = samePlan ? `is listed twice for ${describeItem(data, 'plans', index)}` : `already names ${describeItem(data, 'plans', claim.plan)}`;
      findings.push({
        path,
        code: 'duplicate-alias',
        message: `${quoteText(name)} ${where} (line ${lineOf(claim.path)}); plan names and aliases must be unique, ignoring case${name.normalize('NFC') === name ? '' : ' and how accents are encoded'}`,
      });
    }
  }
  return findings;
}

/**
 * Plans are listed smallest first and their position is their rank, which decides whether a
 * change is an upgrade (at once, granting the difference) or a downgrade (next cycle). So no
 * plan may include fewer credits than the one before it, for any number of users: neither per
 * user nor for a full team (creditsPerUser × userCap); together these make every step up
 * give at least as much. Each plan's included credits also stay within
 * {@link MAX_INCLUDED_CREDITS}.
 */
function checkPlanLadder(data: Fields): Finding[] {
  const findings: Finding[] = [];
  const plans = entries(data, 'plans');
  const included = (plan: Fields): number | undefined => {
    const perUser = count(plan, 'creditsPerUser');
    const cap = count(plan, 'userCap');
    return perUser === undefined || cap === undefined ? undefined : perUser * cap;
  };
  const ranked = 'plans are listed smallest first, and their order decides which changes are upgrades and which downgrades';
  for (const [pos, [plan, index]] of plans.entries()) {
    const name = describeItem(data, 'plans', index);
    const total = included(plan);
    if (total !== undefined && total > MAX_INCLUDED_CREDITS) {
      findings.push({
        path: ['plans', index],
        code: 'out-of-range',
        message: `${name} includes ${formatCount(total)} credits for a full team (creditsPerUser × userCap); a plan may include at most ${formatCount(MAX_INCLUDED_CREDITS)}`,
      });
    }
    const previousEntry = plans[pos - 1];
    if (previousEntry === undefined || previousEntry[1] !== index - 1) continue;
    const [previous] = previousEntry;
    const previousName = describeItem(data, 'plans', index - 1);
    const previousTotal = included(previous);
    const perUser = count(plan, 'creditsPerUser');
    const previousPerUser = count(previous, 'creditsPerUser');
    if (total !== undefined && previousTotal !== undefined && total < previousTotal) {
      findings.push({
        path: ['plans', index],
        code: 'plan-order',
        message: `${name} includes fewer credits than ${previousName} before it (${formatCount(total)} vs ${formatCount(previousTotal)} for a full team); ${ranked}`,
      });
    } else if (perUser !== undefined && previousPerUser !== undefined && perUser < previousPerUser) {
      findings.push({
        path: ['plans', index, 'creditsPerUser'],
        code: 'plan-order',
        message: `${name} gives fewer credits per user than ${previousName} before it (${formatCount(perUser)} vs ${formatCount(previousPerUser)}); ${ranked}`,
      });
    }
  }
  return findings;
}

function checkFeatures(data: Fields, lineOf: (path: DataPath) => number): Finding[] {
  const plans = entries(data, 'plans');
  const planIds = plans.map(([plan]) => text(plan, 'id')).filter((id): id is string => id !== undefined);
  const findings: Finding[] = [];
  let firstPerCall: number | undefined;
  for (const [feature, index] of entries(data, 'features')) {
    const here = (...rest: (string | number)[]): DataPath => ['features', index, ...rest];
    const name = describeItem(data, 'features', index);
    if (feature.perCall === true && firstPerCall === undefined) {
      firstPerCall = index;
    } else if (feature.perCall === true && firstPerCall !== undefined) {
      // startCall and endCall charge the first per-call feature; a second would never be charged.
      findings.push({
        path: here('perCall'),
        code: 'duplicate-per-call',
        message: `${name} is authorised per call, and so is ${describeItem(data, 'features', firstPerCall)} (line ${lineOf(['features', firstPerCall, 'perCall'])}); the engine authorises exactly one feature per call (the Voice Agent)`,
      });
    }
    const billing = text(feature, 'billing');
    const isCredits = billing === 'credits';
    const billedAs = billing === 'telephony' ? 'billed as telephony' : billing;

    const gate = feature.plans;
    const from = isFields(gate) ? text(gate, 'from') : undefined;
    if (from !== undefined && plans.length > 0 && !planIds.includes(from)) {
      const alias = plans.find(([plan]) => planNames(plan).includes(from.toLowerCase()));
      const hint = alias === undefined ? `plans are: ${listIds(planIds)}` : `did you mean ${quoteText(text(alias[0], 'id') ?? '')}?`;
      findings.push({
        path: here('plans', 'from'),
        code: 'unknown-plan',
        message: `${name} is offered from plan ${quoteText(from)}, which is not a plan id in this file; ${hint}`,
      });
    }
    // An unknown billing kind is the schema's to report; judging by it would only add noise.
    if (billing === undefined || !BILLING_KINDS.has(billing)) continue;
    if (feature.toggleable === true && !isCredits) {
      findings.push({
        path: here('toggleable'),
        code: 'toggle-not-credit',
        message: `${name} is ${billedAs}, so it cannot be toggleable; only credit-based features can be switched off`,
      });
    }
    if (feature.perCall === true && !isCredits) {
      findings.push({
        path: here('perCall'),
        code: 'per-call-not-credit',
        message: `${name} is ${billedAs}, so it cannot be authorised per call; only credit-based features are`,
      });
    }
    if (isCredits && feature.cost === undefined) {
      findings.push({
        path: here('billing'),
        code: 'missing-cost',
        message: `${name} is billed in credits but has no cost; add cost: {credits, per, unit, rounding}`,
      });
    }
    if (!isCredits && feature.cost !== undefined) {
      findings.push({
        path: here('cost'),
        code: 'unexpected-cost',
        message: `${name} is ${billedAs}, so it must not have a cost in credits`,
      });
    }
  }
  return findings;
}

/** Every feature a trial is given must be a feature of this file. */
function checkTrialFeatures(data: Fields): Finding[] {
  const trial = data.trial;
  if (!isFields(trial) || !Array.isArray(trial.features)) return [];
  const featureIds = entries(data, 'features')
    .map(([feature]) => text(feature, 'id'))
    .filter((id): id is string => id !== undefined);
  return (trial.features as unknown[]).flatMap((id, index): Finding[] =>
    typeof id !== 'string' || featureIds.includes(id)
      ? []
      : [
          {
            path: ['trial', 'features', index],
            code: 'unknown-feature',
            message: `trial.features names ${quoteText(id)}, which is not a feature id in this file; features are: ${listIds(featureIds)}`,
          },
        ],
  );
}

/** How many ids a hint lists before it stops: the message must stay one line however long the file. */
const MAX_LISTED_IDS = 10;

function listIds(ids: readonly string[]): string {
  const shown = ids.slice(0, MAX_LISTED_IDS).map((id) => showText(id));
  return ids.length > MAX_LISTED_IDS ? `${shown.join(', ')}, ... (${ids.length} in all)` : shown.join(', ');
}

function planNames(plan: Fields): string[] {
  const aliases = Array.isArray(plan.aliases) ? (plan.aliases as unknown[]) : [];
  return [plan.id, plan.name, ...aliases].filter((n): n is string => typeof n === 'string').map((n) => n.toLowerCase());
}

/**
 * Each tier must cost more and include more credits than the one below it, and never charge
 * more per credit ("larger plans offer a better per-credit rate"). Rates are compared as
 * exact fractions with BigInt cross-multiplication: no floating point near money.
 */
function checkTierLadder(data: Fields): Finding[] {
  const currency = text(data, 'currency');
  const withCurrency = (amount: string): string => (currency === undefined ? amount : `${amount} ${showText(currency)}`);
  const findings: Finding[] = [];
  const tiers = entries(data, 'tiers');
  for (const [pos, [tier, index]] of tiers.entries()) {
    const previousEntry = tiers[pos - 1];
    if (previousEntry === undefined || previousEntry[1] !== index - 1) continue;
    const [previous] = previousEntry;
    const label = showText(text(tier, 'id') ?? `tier #${index + 1}`);
    const previousLabel = showText(text(previous, 'id') ?? `tier #${index}`);
    const price = count(tier, 'priceCents');
    const previousPrice = count(previous, 'priceCents');
    const credits = count(tier, 'credits');
    const previousCredits = count(previous, 'credits');

    if (price !== undefined && previousPrice !== undefined && price <= previousPrice) {
      const relation = price === previousPrice ? 'costs the same as' : 'costs less than';
      findings.push({
        path: ['tiers', index, 'priceCents'],
        code: 'tier-order',
        message: `${label} ${relation} ${previousLabel} (${withCurrency(`${formatAmount(price)} vs ${formatAmount(previousPrice)}`)}); tiers must get dearer down the list`,
      });
    }
    if (credits !== undefined && previousCredits !== undefined && credits <= previousCredits) {
      const relation = credits === previousCredits ? 'includes the same credits as' : 'includes fewer credits than';
      findings.push({
        path: ['tiers', index, 'credits'],
        code: 'tier-order',
        message: `${label} ${relation} ${previousLabel} (${formatCount(credits)} vs ${formatCount(previousCredits)}); tiers must include more credits down the list`,
      });
    }
    if (price === undefined || previousPrice === undefined || credits === undefined || previousCredits === undefined) continue;
    if (BigInt(price) * BigInt(previousCredits) > BigInt(previousPrice) * BigInt(credits)) {
      findings.push({
        path: ['tiers', index],
        code: 'tier-rate',
        message: `${label} charges more per credit than ${previousLabel} (${withCurrency(`${microRate(price, credits)} vs ${microRate(previousPrice, previousCredits)}`)} per credit); a larger tier must never have a worse rate`,
      });
    }
  }
  return findings;
}

/** A per-credit price shown to six decimals of the currency unit, enough to tell close rates apart. */
function microRate(priceCents: number, credits: number): string {
  const micros = (BigInt(priceCents) * 10000n * 2n + BigInt(credits)) / (2n * BigInt(credits));
  const whole = micros / 1_000_000n;
  const fraction = (micros % 1_000_000n).toString().padStart(6, '0');
  return `${whole}.${fraction}`;
}

function checkPromotions(data: Fields): Finding[] {
  return entries(data, 'promotions').flatMap(([promotion, index]): Finding[] => {
    const startsOn = text(promotion, 'startsOn');
    if (startsOn === undefined || isCalendarDate(startsOn)) return [];
    return [
      {
        path: ['promotions', index, 'startsOn'],
        code: 'promotion-date',
        message: `startsOn of ${describeItem(data, 'promotions', index)} must be an existing calendar date such as 2026-06-03, got ${quoteText(startsOn)}`,
      },
    ];
  });
}

/** Consumption order must rank every grant source exactly once, or ties would be undefined. */
function checkConsumptionPriority(data: Fields): Finding[] {
  const consumption = data.consumption;
  if (!isFields(consumption) || !Array.isArray(consumption.priority)) return [];
  const priority = consumption.priority as unknown[];
  const findings: Finding[] = [];
  const seen = new Set<unknown>();
  for (const [index, source] of priority.entries()) {
    if (seen.has(source) && typeof source === 'string') {
      findings.push({
        path: ['consumption', 'priority', index],
        code: 'consumption-priority',
        message: `${quoteText(source)} is listed twice in consumption.priority; list each grant source once`,
      });
    }
    seen.add(source);
  }
  const missing = GRANT_SOURCES.filter((source) => !seen.has(source));
  if (missing.length > 0) {
    findings.push({
      path: ['consumption', 'priority'],
      code: 'consumption-priority',
      message: `consumption.priority must list every grant source once; missing: ${missing.join(', ')}`,
    });
  }
  return findings;
}
