/**
 * The rules DSL: compile the pricing team's YAML into typed, frozen `Rules`, load dated
 * versions from disk, pick the version in force, look entries up, and explain changes.
 */
export * from './types';
export { compileRules, MAX_COMPILED_RULES_BYTES, MAX_DIAGNOSTICS_PER_FILE } from './compile';
export type { CompileResult } from './compile';
export { DIAGNOSTIC_CODES, RulesError, formatDiagnostic, isRulesError, problemCount } from './diagnostics';
export type { Diagnostic, DiagnosticCode } from './diagnostics';
export { describeRulesChanges, droppedPlansAndTiers, trialFeatures, trialLength } from './diff';
export { isCalendarDate, isIsoInstant, parseInstant, parseInstantOrDate } from './instant';
export { createRuleSet, defaultRulesPath, loadRuleSet, loadRuleSets } from './load';
export { rulesForCycleStart, rulesOfCycle } from './cycle-rules';
export type { RuleSet } from './load';
export { accountIncludes, featureById, includedCredits, planById, planIncludes, resolvePlan, resolveTier, trialIncludes } from './catalog';
export { RULES_RECHECK_MS, reloadingRuleSet, ruleSetSource } from './reloading-rule-set';
export type { ReloadOptions, RulesOption } from './reloading-rule-set';
export { RULES_SCHEMA } from './schema-check';
export { MAX_INCLUDED_CREDITS } from './semantic-check';
export { textProblem } from './text-check';
export { MAX_ALIAS_COUNT, MAX_RULES_FILE_BYTES } from './yaml-source';
