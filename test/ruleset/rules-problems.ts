/** Test helper: the diagnostics of loading rules that must fail to load. */
import { isRulesError, loadRuleSet } from '../../ruleset';
import type { Diagnostic } from '../../ruleset';

/** Every diagnostic `loadRuleSet(path)` throws; fails the test if it loads or throws anything else. */
export function loadProblems(path: string): Diagnostic[] {
  try {
    loadRuleSet(path);
  } catch (err) {
    if (isRulesError(err)) return [...err.diagnostics];
    throw err;
  }
  throw new Error(`${path} loaded without problems`);
}
