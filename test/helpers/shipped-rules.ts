/** The shipped rules, compiled once per test file. */
import { defaultRulesPath, loadRuleSet, type Rules } from '../../ruleset';

let cached: Rules | undefined;
/** The shipped rules version in force on 2026-06-03 (the seed's version). */
export function shippedRules(): Rules {
  cached ??= loadRuleSet(defaultRulesPath()).at('2026-06-03T00:00:00Z');
  return cached;
}
