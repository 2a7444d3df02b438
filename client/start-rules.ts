/**
 * The client's check of a start against the rules, before any workflow exists: an unknown plan
 * or tier is refused here with the workflow's own message, instead of starting a workflow that
 * then fails and is left behind closed. The workflow still checks against the rules it loads;
 * this check only spares the doomed start.
 */
import { cycleContaining } from '../domain/calendar';
import { checkStartAgainstRules, type InputProblem } from '../domain/input-problems';
import type { AccountStartInput } from '../domain/wire-contract';
import { ruleSetSource, rulesForCycleStart, type RuleSet, type Rules, type RulesOption } from '../ruleset';

/**
 * A checker of start inputs against `option`'s rules (a path, rule set or function; undefined
 * means `CREDITS_RULES`, else the shipped `rules/`, the worker's own default), loaded on first
 * use and reloaded when the files change. Rules that cannot be read check nothing: the worker
 * then checks alone, as it always does. `onUnreadable` hears why first; it may throw, to
 * refuse the start instead.
 */
export function startRulesCheck(
  option: RulesOption | undefined,
  onUnreadable?: (err: unknown) => void,
): (input: AccountStartInput, nowMs: number) => InputProblem | undefined {
  let source: (() => RuleSet) | undefined;
  return (input, nowMs) => {
    let rules: Rules;
    try {
      source ??= ruleSetSource(option);
      rules = rulesForCycleStart(source(), cycleContaining(input.cycleAnchor, nowMs).start);
    } catch (err) {
      onUnreadable?.(err);
      return undefined;
    }
    return checkStartAgainstRules(input, rules);
  };
}
