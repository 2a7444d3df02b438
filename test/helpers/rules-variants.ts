/**
 * Rule sets for workflow tests that need dates the shipped file cannot have: the test server's
 * clock starts at today's date, after the Chloe beta window closed. These compile the shipped
 * YAML with one field changed, through the real DSL compiler.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileRules, createRuleSet, defaultRulesPath, type RuleSet } from '../../ruleset';

const SHIPPED = join(defaultRulesPath(), '2026-06-03.yaml');

/** The shipped rules with the beta promotion moved to start on `date` (YYYY-MM-DD). */
export function rulesWithPromotionOn(date: string): RuleSet {
  const text = readFileSync(SHIPPED, 'utf8').replace(/startsOn: 2026-06-03/, `startsOn: ${date}`);
  const compiled = compileRules(text, 'promotion-variant.yaml');
  if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join('\n'));
  return createRuleSet([compiled.rules]);
}
