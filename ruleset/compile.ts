/**
 * Compiling a rules file: read the YAML, check it against the schema and the semantic
 * checks (all problems at once, sorted by position), and only when nothing is wrong build
 * the typed, deeply frozen `Rules` with its content-hash version id. A caller never sees a
 * partially loaded `Rules`.
 */
import { createHash } from 'node:crypto';
import { sortDiagnostics } from './diagnostics';
import type { Diagnostic } from './diagnostics';
import { locateFinding } from './finding';
import { parseInstant } from './instant';
import { checkSchema } from './schema-check';
import { checkSemantics } from './semantic-check';
import { checkText } from './text-check';
import type {
  AlertRules,
  FeatureCost,
  FeatureRule,
  GrantSource,
  PlanRule,
  PolicyRules,
  PromotionRule,
  Rules,
  TierRule,
  TrialRule,
} from './types';
import { readRulesYaml } from './yaml-source';
import type { RulesSource } from './yaml-source';

/**
 * Most bytes (UTF-8 JSON) compiled rules may weigh: each account carries its cycle's rules in
 * the state that continue-as-new hands on, whose budget is 1 MiB (domain/state-budget.ts).
 * The shipped rules weigh about 6 KiB.
 */
export const MAX_COMPILED_RULES_BYTES = 64 * 1024;

/** Beyond this many problems in one file the rest is noise (usually one cascading typo). */
export const MAX_DIAGNOSTICS_PER_FILE = 100;

/** The result of compiling one rules file: the rules, or every problem found. */
export type CompileResult =
  | { readonly ok: true; readonly rules: Rules }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** A successful compile that keeps the parsed source, for loader checks across files. */
export type CompiledSource =
  | { readonly ok: true; readonly rules: Rules; readonly source: RulesSource }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/**
 * The file as the schema guarantees it once every check has passed: the compiled shapes,
 * less what compiling derives (ranks, max credits) and with the fields that have defaults optional.
 */
interface RulesFile {
  readonly effectiveFrom: string;
  readonly currency: string;
  readonly plans: readonly (Omit<PlanRule, 'rank' | 'maxCredits' | 'aliases'> & { readonly aliases?: readonly string[] })[];
  readonly trial: TrialRule;
  readonly features: readonly (Pick<FeatureRule, 'id' | 'name' | 'billing'> &
    Partial<Pick<FeatureRule, 'toggleable' | 'perCall' | 'telephonyMinutes' | 'note'>> & {
      readonly plans: 'all' | { readonly from: string };
      readonly cost?: Omit<FeatureCost, 'per'> & { readonly per?: number };
    })[];
  readonly tiers: readonly Omit<TierRule, 'rank'>[];
  readonly promotions?: readonly PromotionRule[];
  readonly consumption: { readonly priority: readonly GrantSource[] };
  readonly policies: PolicyRules;
  readonly alerts: {
    readonly warning: { readonly usedPercent: number; readonly requireProjectedRunOut: boolean };
    readonly exhausted: { readonly atBalance: number };
  };
}

/**
 * Compiles rules YAML. `file` is used in diagnostics and recorded as `Rules.source`; nothing
 * is read from disk. Never throws for bad input: every problem comes back as a diagnostic.
 */
export function compileRules(text: string, file: string): CompileResult {
  const result = compileRulesSource(text, file);
  return result.ok ? { ok: true, rules: result.rules } : result;
}

/** {@link compileRules}, also returning the parsed source so the loader can point into it. */
export function compileRulesSource(text: string, file: string): CompiledSource {
  const read = readRulesYaml(text, file);
  if (!read.ok) return { ok: false, diagnostics: capDiagnostics(read.diagnostics) };
  const { source } = read;
  const findings = [...checkSchema(source.data), ...checkText(source.data), ...checkSemantics(source)];
  if (findings.length > 0) {
    return { ok: false, diagnostics: capDiagnostics(findings.map((f) => locateFinding(source, f))) };
  }
  const rules = buildRules(source.data as RulesFile, file);
  // Every account carries its cycle's rules in the state continue-as-new hands on, whose
  // budget is fixed: rules heavier than their share would stop accounts, so refuse them here.
  const bytes = Buffer.byteLength(JSON.stringify(rules), 'utf8');
  if (bytes > MAX_COMPILED_RULES_BYTES) {
    const kib = (n: number) => `${Math.ceil(n / 1024)} KiB`;
    const message = `the compiled rules weigh ${kib(bytes)}; accounts carry them in their state, which allows ${kib(MAX_COMPILED_RULES_BYTES)}: use fewer or shorter entries`;
    return { ok: false, diagnostics: [{ file, line: 1, column: 1, code: 'rules-too-large', message }] };
  }
  return { ok: true, rules, source };
}

function capDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const sorted = sortDiagnostics(list);
  const extra = sorted[MAX_DIAGNOSTICS_PER_FILE];
  if (extra === undefined) return sorted;
  return [
    ...sorted.slice(0, MAX_DIAGNOSTICS_PER_FILE),
    {
      ...extra,
      code: 'too-many-errors',
      message: `${sorted.length - MAX_DIAGNOSTICS_PER_FILE} more problems not shown; fix the ones above first`,
      notShown: sorted.length - MAX_DIAGNOSTICS_PER_FILE,
    },
  ];
}

function buildRules(file: RulesFile, path: string): Rules {
  const effective = parseInstant(file.effectiveFrom);
  if (effective === undefined) throw new Error(`effectiveFrom passed its check but cannot be read: ${file.effectiveFrom}`);
  const alerts: AlertRules = {
    warningUsedPercent: file.alerts.warning.usedPercent,
    warningRequiresProjectedRunOut: file.alerts.warning.requireProjectedRunOut,
    exhaustedAtBalance: file.alerts.exhausted.atBalance,
  };
  const content: Omit<Rules, 'version' | 'source'> = {
    effectiveFrom: effective.toISOString(),
    currency: file.currency,
    plans: file.plans.map((plan, rank) => ({
      id: plan.id,
      name: plan.name,
      aliases: [...(plan.aliases ?? [])],
      rank,
      creditsPerUser: plan.creditsPerUser,
      userCap: plan.userCap,
      maxCredits: plan.creditsPerUser * plan.userCap,
    })),
    // The optional keys appear only when the file sets them, so the version id of a file
    // without them is what it was before they existed.
    trial: {
      credits: file.trial.credits,
      rolloverOnConversion: file.trial.rolloverOnConversion,
      ...(file.trial.lengthDays === undefined ? {} : { lengthDays: file.trial.lengthDays }),
      ...(file.trial.features === undefined ? {} : { features: file.trial.features === 'all' ? 'all' : [...file.trial.features] }),
    },
    features: file.features.map((feature) => ({
      id: feature.id,
      name: feature.name,
      billing: feature.billing,
      minPlan: feature.plans === 'all' ? null : feature.plans.from,
      toggleable: feature.toggleable ?? false,
      perCall: feature.perCall ?? false,
      telephonyMinutes: feature.telephonyMinutes ?? false,
      cost:
        feature.cost === undefined
          ? null
          : { credits: feature.cost.credits, per: feature.cost.per ?? 1, unit: feature.cost.unit, rounding: feature.cost.rounding },
      note: feature.note ?? '',
    })),
    tiers: file.tiers.map((tier, rank) => ({ id: tier.id, name: tier.name, rank, priceCents: tier.priceCents, credits: tier.credits })),
    promotions: (file.promotions ?? []).map((p) => ({
      id: p.id,
      name: p.name,
      credits: p.credits,
      eligibleTag: p.eligibleTag,
      startsOn: p.startsOn,
      validForCycles: p.validForCycles,
    })),
    consumptionPriority: Object.fromEntries(file.consumption.priority.map((source, index) => [source, index])) as Record<
      GrantSource,
      number
    >,
    policies: {
      tierUpgrade: { ...file.policies.tierUpgrade },
      tierDowngrade: { ...file.policies.tierDowngrade },
      planDowngrade: { ...file.policies.planDowngrade },
      reset: { ...file.policies.reset },
      pooling: file.policies.pooling,
    },
    alerts,
  };
  return deepFreeze({ version: rulesVersionId(content), ...content, source: path });
}

/**
 * The version id: the effective date plus 12 hex digits of the SHA-256 of the canonical
 * compiled rules. Hashing the compiled form (not the bytes) means comments, key order and
 * formatting do not make a new version, while any change in meaning does.
 */
export function rulesVersionId(content: Omit<Rules, 'version' | 'source'>): string {
  const digest = createHash('sha256').update(canonicalJson(content)).digest('hex');
  return `${content.effectiveFrom.slice(0, 10)}.${digest.slice(0, 12)}`;
}

/** JSON with object keys sorted at every level, so equal content always hashes equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Freezes every nested object and array: compiled rules are shared and must never change. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
