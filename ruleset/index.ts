/**
 * The rules DSL: compile the pricing team's YAML into typed, frozen `Rules`, load dated
 * versions from disk, pick the version in force, look entries up, and explain changes.
 */
export * from './types';
export { compileRules, MAX_DIAGNOSTICS_PER_FILE } from './compile';
export type { CompileResult } from './compile';
export { DIAGNOSTIC_CODES, RulesError, formatDiagnostic, isRulesError } from './diagnostics';
export type { Diagnostic, DiagnosticCode } from './diagnostics';
export { describeRulesChanges } from './diff';
export { creditRateMills, formatAmount, formatCount, formatCreditRate, formatPrice } from './display-format';
export { isCalendarDate, parseInstant, parseInstantOrDate } from './instant';
export { createRuleSet, defaultRulesPath, loadRules } from './load';
export type { RuleSet } from './load';
export {
  /** The plan called `idOrAlias`: its id, name or any alias, ignoring case (customers say "Professional"). */
  resolvePlan as findPlan,
  /** The subscription tier with this id (e.g. `tier-3`), ignoring case. */
  resolveTier as findTier,
  /** The feature with exactly this id (e.g. `enrichment`). */
  featureById as findFeature,
} from '../domain/catalog';
export { RULES_SCHEMA } from './schema-check';
export { MAX_ALIAS_COUNT, MAX_RULES_FILE_BYTES } from './yaml-source';
