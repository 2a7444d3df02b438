/** `describeRulesChanges`: what a customer would notice between two versions, in words. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileRules, describeRulesChanges } from '../../ruleset';
import type { Rules } from '../../ruleset';

const MINIMAL = readFileSync(join(__dirname, '..', 'fixtures', 'rules', 'valid', 'minimal.yaml'), 'utf8');

function compiled(text: string): Rules {
  const result = compileRules(text, 'memory.yaml');
  if (!result.ok) throw new Error(`does not compile: ${JSON.stringify(result.diagnostics)}`);
  return result.rules;
}

const before = compiled(MINIMAL);

describe('describeRulesChanges', () => {
  it('says nothing when only comments, notes and layout change', () => {
    const after = compiled(`# reworded\n${MINIMAL.replace('    name: SMS\n', '    name: SMS\n    note: now with a note\n')}`);
    expect(describeRulesChanges(before, after)).toEqual([]);
  });

  it('lists each customer-visible change in file order', () => {
    const after = compiled(
      MINIMAL.replace('    priceCents: 10000\n', '    priceCents: 11000\n')
        .replace('    credits: 7000\n', '    credits: 7700\n')
        .replace('    userCap: 10\n', '    userCap: 12\n')
        .replace('aliases: [Base, Starter]', 'aliases: [Base, Entry]')
        .replace('  credits: 1000\n', '  credits: 1500\n')
        .replace('plans: { from: growth }', 'plans: all')
        .replace('cost: { credits: 1, per: 1, unit: field, rounding: up }', 'cost: { credits: 3, per: 2, unit: field, rounding: nearest }')
        .replace('    toggleable: true\n', '')
        .replace('validForCycles: 2', 'validForCycles: 3')
        .replace('usedPercent: 75', 'usedPercent: 80')
        .replace(
          'promotions:\n',
          'promotions:\n  - { id: spring, name: Spring bonus, credits: 500, eligibleTag: spring, startsOn: 2026-09-01, validForCycles: 1 }\n',
        ),
    );
    expect(describeRulesChanges(before, after)).toEqual([
      'solo now also sold as "Entry"',
      'solo no longer sold as "Starter"',
      'growth cap 10 -> 12 users',
      'growth max credits 15,000 -> 18,000',
      'trial credits 1,000 -> 1,500',
      'lead-summaries available on Growth and above -> all plans',
      'enrichment cost 1 credit per field (rounded up) -> 3 credits per 2 fields (rounded nearest)',
      'enrichment can no longer be switched off',
      'tier-3 price 100.00 -> 110.00 USD',
      'tier-3 credits 7,000 -> 7,700',
      'promotion added: spring (Spring bonus): 500 credits for accounts tagged spring, from the first cycle on or after 2026-09-01, usable over 1 cycle',
      'beta valid for 2 -> 3 cycles',
      'low-credit warning at 75% used and on pace to run out -> 80% used and on pace to run out',
    ]);
  });

  it('says when a trial\'s length and features change', () => {
    const after = compiled(MINIMAL.replace('  rolloverOnConversion: false\n', '  rolloverOnConversion: false\n  lengthDays: 14\n  features: all\n'));
    expect(describeRulesChanges(before, after)).toEqual(['trial length until conversion -> 14 days', "trial features its plan's -> all"]);
    const listed = compiled(MINIMAL.replace('  rolloverOnConversion: false\n', '  rolloverOnConversion: false\n  lengthDays: 1\n  features: [lead-summaries]\n'));
    expect(describeRulesChanges(after, listed)).toEqual(['trial length 14 days -> 1 day', 'trial features all -> lead-summaries']);
  });

  it('names added and removed plans, features and tiers before changes to the ones kept', () => {
    const withoutGrowth = MINIMAL.replace(/ {2}- id: growth\n(?: {4}.*\n)+/, '').replace('plans: { from: growth }', 'plans: { from: solo }');
    const after = compiled(
      withoutGrowth
        .replace(/ {2}- id: sms\n(?: {4}.*\n)+/, '')
        .replace('promotions:\n', '  - { id: tier-4, name: Tier 4, priceCents: 15000, credits: 11400 }\npromotions:\n'),
    );
    expect(describeRulesChanges(before, after)).toEqual([
      'plan removed: growth (Growth)',
      'feature removed: sms (SMS)',
      'lead-summaries available on Growth and above -> Solo and above',
      'tier added: tier-4 (Tier 4): 150.00 USD for 11,400 credits',
    ]);
    expect(describeRulesChanges(after, before)).toEqual([
      'plan added: growth (Growth / Professional): 1,500 credits per user, cap 10 users, max 15,000 credits',
      'feature added: sms (SMS), billing telephony, all plans',
      'lead-summaries available on Solo and above -> Growth and above',
      'tier removed: tier-4 (Tier 4): 150.00 USD for 11,400 credits',
    ]);
  });
});
