/**
 * Which rules version prices a cycle: shared by the worker's `loadRules` activity and the
 * client's check of a start, so both pick the same version.
 */
import type { RuleSet } from './load';
import type { Rules } from './types';

/**
 * The version in force at a cycle's start, or the earliest version for a cycle that began
 * before any (such accounts are priced with the first version).
 *
 * @throws RulesError `bad-instant` for an unreadable instant.
 */
export function rulesForCycleStart(ruleSet: RuleSet, cycleStart: string): Rules {
  return Date.parse(cycleStart) < Date.parse(ruleSet.earliest.effectiveFrom) ? ruleSet.earliest : ruleSet.at(cycleStart);
}

/**
 * The version an account's cycle is priced with, by the id its summary names; for an id gone
 * from the files (one edited in place), the version in force at the cycle's start, never the
 * latest, which may not be in force yet.
 */
export function rulesOfCycle(ruleSet: RuleSet, cycle: { rulesVersion: string; cycle: { start: string } }): Rules {
  return ruleSet.byVersion(cycle.rulesVersion) ?? rulesForCycleStart(ruleSet, cycle.cycle.start);
}
