/**
 * Rule sets for workflow tests that need dates the shipped file cannot have: the test server's
 * clock starts at today's date, after the Chloe beta window closed. These compile the shipped
 * YAML with one field changed, through the real DSL compiler.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileRules, createRuleSet, defaultRulesPath, type RuleSet, type Rules } from '../../ruleset';

const SHIPPED = join(defaultRulesPath(), '2026-06-03.yaml');

function compileVariant(name: string, edit: (text: string) => string): Rules {
  const compiled = compileRules(edit(readFileSync(SHIPPED, 'utf8')), name);
  if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join('\n'));
  return compiled.rules;
}

/**
 * A promotion window open now: the promotion began `daysAgo` days ago, and accounts anchored at
 * `anchor` (a month before it) have their first cycle of the window start on the promotion
 * date, so the window (two cycles) ends about two months after that date.
 */
export function promotionOpenSince(daysAgo: number): { ruleSet: RuleSet; anchor: string } {
  const date = new Date(Date.now() - daysAgo * 86_400_000);
  const anchor = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() - 1, date.getUTCDate())).toISOString();
  return { ruleSet: rulesWithPromotionOn(date.toISOString().slice(0, 10)), anchor };
}

/** The shipped rules with the beta promotion moved to start on `date` (YYYY-MM-DD). */
export function rulesWithPromotionOn(date: string): RuleSet {
  return createRuleSet([compileVariant('promotion-variant.yaml', (t) => t.replace(/startsOn: 2026-06-03/, `startsOn: ${date}`))]);
}

/**
 * Two dated versions: the shipped rules, and from `instant` a version where Growth includes
 * 1,600 credits per user and Tier 3 costs $110 for 7,500 credits.
 */
export function rulesWithRepricingAt(instant: string, options: { dropTier5?: boolean } = {}): RuleSet {
  const repriced = compileVariant('repriced.yaml', (t) => {
    const text = t
      .replace(/effectiveFrom: 2026-06-03T00:00:00Z/, `effectiveFrom: ${instant}`)
      .replace(/(id: growth\n\s+name: Growth\n\s+aliases: \[Professional\]\n\s+creditsPerUser: )1500/, '$11600')
      .replace('{ id: tier-3, name: Tier 3, priceCents: 10000, credits: 7000 }', '{ id: tier-3, name: Tier 3, priceCents: 11000, credits: 7500 }');
    return options.dropTier5 ? text.replace(/\n\s+- \{ id: tier-5, name: Tier 5, priceCents: 20000, credits: 16000 \}/, '') : text;
  });
  return createRuleSet([compileVariant('shipped.yaml', (t) => t), repriced]);
}

/**
 * The shipped rules as if edited in place (a plan renamed: a new version id, the same date),
 * and a version from `instant` with enrichment at 2 credits a field: an account priced with the
 * shipped version finds its version in neither.
 */
export function rulesEditedInPlaceWithRepricingAt(instant: string): RuleSet {
  const edited = compileVariant('edited.yaml', (t) => t.replace('name: Solo', 'name: Solo plan'));
  const repriced = compileVariant('repriced.yaml', (t) =>
    t
      .replace(/effectiveFrom: 2026-06-03T00:00:00Z/, `effectiveFrom: ${instant}`)
      .replace('cost: { credits: 1, per: 1, unit: field, rounding: up }', 'cost: { credits: 2, per: 1, unit: field, rounding: up }'),
  );
  return createRuleSet([edited, repriced]);
}
