/**
 * The shipped rules reproduce the public help page ("AI Credits", updated 2026-06-02) number
 * for number. The tables below are transcribed from that page, not from the YAML file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  GRANT_SOURCES,
  accountIncludes,
  compileRules,
  defaultRulesPath,
  featureById,
  resolvePlan,
  resolveTier,
  loadRuleSet,
} from '../../ruleset';
import { creditRateUnits, formatCount, formatCreditRate, formatPrice } from '../../display';
import type { Rules } from '../../ruleset';

const shippedFile = join(defaultRulesPath(), '2026-06-03.yaml');
const shippedText = readFileSync(shippedFile, 'utf8');

function shipped(): Rules {
  const result = compileRules(shippedText, 'rules/2026-06-03.yaml');
  if (!result.ok) throw new Error(`shipped rules do not compile: ${JSON.stringify(result.diagnostics)}`);
  return result.rules;
}

const rules = shipped();

describe('shipped rules: the file', () => {
  it('compiles, is in force from 2026-06-03T00:00:00Z and is the only version', () => {
    const set = loadRuleSet(defaultRulesPath());
    expect(set.versions).toHaveLength(1);
    expect(set.earliest.version).toBe(rules.version);
    expect(rules.effectiveFrom).toBe('2026-06-03T00:00:00.000Z');
    expect(rules.currency).toBe('USD');
  });

  it('points editors at the JSON schema', () => {
    expect(shippedText.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/rules.schema.json');
  });

  it('marks every per-unit cost as the pricing team\'s to set', () => {
    const costLines = shippedText.split('\n').filter((line) => /^\s+cost:/.test(line));
    expect(costLines).toHaveLength(3);
    for (const line of costLines) expect(line).toMatch(/# pricing team to set$/);
  });

  it('has a version id made of the effective date and 12 hex digits of a content hash', () => {
    expect(rules.version).toMatch(/^2026-06-03\.[0-9a-f]{12}$/);
  });

  it('keeps its version id when only comments and layout change', () => {
    const reformatted = shippedText
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#'))
      .map((line) => line.replace(/\s+#.*$/, ''))
      .join('\n')
      .replace(/\n{2,}/g, '\n');
    const again = compileRules(reformatted, 'elsewhere.yaml');
    expect(again.ok && again.rules.version).toBe(rules.version);
  });

  it('gets a new version id when a number changes', () => {
    const changed = compileRules(shippedText.replace('priceCents: 2000,', 'priceCents: 2100,'), 'changed.yaml');
    expect(changed.ok).toBe(true);
    expect(changed.ok && changed.rules.version).not.toBe(rules.version);
  });

  it('is deeply frozen', () => {
    expect(Object.isFrozen(rules)).toBe(true);
    expect(Object.isFrozen(rules.plans)).toBe(true);
    expect(Object.isFrozen(rules.plans[0]?.aliases)).toBe(true);
    expect(Object.isFrozen(rules.features.find((f) => f.cost !== null)?.cost)).toBe(true);
    expect(Object.isFrozen(rules.policies.tierUpgrade)).toBe(true);
    expect(() => {
      (rules.tiers[0] as { priceCents: number }).priceCents = 1;
    }).toThrow(TypeError);
  });

  it('is plain JSON (it crosses the activity boundary)', () => {
    expect(JSON.parse(JSON.stringify(rules))).toEqual(rules);
  });
});

describe('shipped rules: Included Credits by Plan', () => {
  it.each([
    // Plan (all names),                           credits/user, cap, max credits
    ['solo', ['Solo', 'Base', 'Starter'], 500, 1, 500],
    ['essentials', ['Essentials', 'Startup', 'Basic'], 1000, 10, 10_000],
    ['growth', ['Growth', 'Professional'], 1500, 10, 15_000],
    ['scale', ['Scale', 'Enterprise', 'Business'], 2000, 10, 20_000],
  ])('%s: %j, %i credits per user, cap %i, max %i', (id, names, perUser, cap, max) => {
    const plan = resolvePlan(rules, id);
    expect(plan).toBeDefined();
    expect([plan?.name, ...(plan?.aliases ?? [])]).toEqual(names);
    expect(plan?.creditsPerUser).toBe(perUser);
    expect(plan?.userCap).toBe(cap);
    expect(plan?.maxCredits).toBe(max);
    for (const name of names) {
      expect(resolvePlan(rules, name)?.id).toBe(id);
      expect(resolvePlan(rules, name.toUpperCase())?.id).toBe(id);
      expect(resolvePlan(rules, ` ${name.toLowerCase()} `)?.id).toBe(id);
    }
  });

  it('orders the plan ladder smallest first', () => {
    expect(rules.plans.map((p) => [p.id, p.rank])).toEqual([
      ['solo', 0],
      ['essentials', 1],
      ['growth', 2],
      ['scale', 3],
    ]);
  });

  it('finds no plan for an unknown name', () => {
    expect(resolvePlan(rules, 'Platinum')).toBeUndefined();
  });
});

describe('shipped rules: trial', () => {
  // Changed deliberately with issue 9: the trial section now also sets a length (the help page
  // is silent; 14 days, Close's CRM trial) and gives trials every feature.
  it('grants a fixed 1,000 credits that do not roll over into a paid plan, for a 14-day trial with every feature', () => {
    expect(rules.trial).toEqual({ credits: 1000, rolloverOnConversion: false, lengthDays: 14, features: 'all' });
  });

  // The help page's Trial Credits section: "Trial accounts ... have access to all credit-based
  // AI features", and these free features "continue working" for trials.
  const trialFreeFeatures = ['Lead Summaries', 'Email Thread Summaries', 'Notetaker', 'AI Rewrite', 'Chloe Chat', 'AI Search', 'AI Knowledge Sources', 'Suggested Action'];

  it.each(['solo', 'essentials', 'growth', 'scale'])('a trial of %s has every free feature the Trial Credits section lists, and every credit-based one', (planId) => {
    const plan = resolvePlan(rules, planId);
    if (!plan) throw new Error(`no plan ${planId}`);
    for (const name of trialFreeFeatures) {
      const feature = rules.features.find((f) => f.name.startsWith(name));
      expect(feature, name).toBeDefined();
      if (!feature) continue;
      expect(feature.billing).toBe('free');
      expect(accountIncludes(rules, plan, true, feature), `${name} on a ${planId} trial`).toBe(true);
    }
    for (const feature of rules.features.filter((f) => f.billing === 'credits')) {
      expect(accountIncludes(rules, plan, true, feature), feature.id).toBe(true);
    }
  });

  it('gives a paid Essentials account only its plan\'s features (the trial exception stays with trials)', () => {
    const essentials = resolvePlan(rules, 'essentials');
    const summaries = featureById(rules, 'lead-summaries');
    if (!essentials || !summaries) throw new Error('shipped rules lack essentials or lead-summaries');
    expect(accountIncludes(rules, essentials, false, summaries)).toBe(false);
    expect(accountIncludes(rules, essentials, true, summaries)).toBe(true);
  });
});

describe('shipped rules: AI Credit Subscription Plans', () => {
  // Plan, Monthly Price, Credits Included, $/Credit: the help page's table, cell for cell; then
  // the real rate to four decimals, as rules explain shows it (the page rounds to three and adds a 0).
  const seedTable: [string, string, string, string, string][] = [
    ['Tier 1', '$20', '1,200', '$0.0170', '$0.0167'],
    ['Tier 2', '$50', '3,200', '$0.0160', '$0.0156'],
    ['Tier 3', '$100', '7,000', '$0.0140', '$0.0143'],
    ['Tier 4', '$150', '11,400', '$0.0130', '$0.0132'],
    ['Tier 5', '$200', '16,000', '$0.0130', '$0.0125'],
    ['Tier 6', '$300', '25,200', '$0.0120', '$0.0119'],
    ['Tier 7', '$400', '36,000', '$0.0110', '$0.0111'],
    ['Tier 8', '$500', '47,000', '$0.0110', '$0.0106'],
    ['Tier 9', '$750', '72,000', '$0.0100', '$0.0104'],
    ['Tier 10', '$1,000', '100,000', '$0.0100', '$0.0100'],
    ['Tier 11', '$1,500', '150,000', '$0.0100', '$0.0100'],
    ['Tier 12', '$2,000', '200,000', '$0.0100', '$0.0100'],
    ['Tier 13', '$2,500', '250,000', '$0.0100', '$0.0100'],
    ['Tier 14', '$3,000', '300,000', '$0.0100', '$0.0100'],
    ['Tier 15', '$5,000', '500,000', '$0.0100', '$0.0100'],
    ['Tier 16', '$7,500', '750,000', '$0.0100', '$0.0100'],
    ['Tier 17', '$10,000', '1,000,000', '$0.0100', '$0.0100'],
  ];

  it('has exactly the 17 tiers, cheapest first', () => {
    expect(rules.tiers.map((t) => [t.id, t.rank])).toEqual(seedTable.map((_, i) => [`tier-${i + 1}`, i]));
  });

  it.each(seedTable.map((row, i) => [i + 1, ...row] as const))(
    'tier-%i: %s, %s, %s credits, %s per credit on the page, %s shown',
    (n, name, price, credits, pageRate, rate) => {
      const tier = resolveTier(rules, `tier-${n}`);
      if (tier === undefined) throw new Error(`tier-${n} missing`);
      expect(tier.name).toBe(name);
      expect(formatPrice(tier.priceCents, rules.currency)).toBe(price);
      expect(Number.isInteger(tier.priceCents)).toBe(true);
      expect(formatCount(tier.credits)).toBe(credits);
      expect(`$0.${String(creditRateUnits(tier.priceCents, tier.credits, 3)).padStart(3, '0')}0`).toBe(pageRate);
      expect(formatCreditRate(tier.priceCents, tier.credits, rules.currency)).toBe(rate);
    },
  );
});

describe('shipped rules: What Uses Credits', () => {
  it.each([
    // id, name, billing, lowest plan (null: All), toggleable
    ['notetaker', 'Notetaker', 'free', null, false],
    ['chloe-chat', 'Chloe Chat', 'free', null, false],
    ['ai-search', 'AI Search', 'free', null, false],
    ['ai-knowledge-sources', 'AI Knowledge Sources', 'free', null, false],
    ['lead-summaries', 'Lead Summaries', 'free', 'growth', false],
    ['email-thread-summaries', 'Email Thread Summaries', 'free', 'growth', false],
    ['ai-rewrite', 'AI Rewrite / Smart Reply / Draft Assist', 'free', 'growth', false],
    ['suggested-actions', 'Suggested Actions', 'free', 'growth', false],
    ['voice-agent', 'Chloe Voice Agents', 'credits', null, false],
    ['enrichment', 'Enrichment', 'credits', null, true],
    ['auto-updates', 'Auto Updates', 'credits', null, true],
    ['call-assistant', 'Call Assistant', 'telephony', null, false],
    ['standard-calls', 'Standard calls', 'telephony', null, false],
    ['sms', 'SMS', 'telephony', null, false],
  ])('%s (%s): %s, from %s, toggleable %s', (id, name, billing, minPlan, toggleable) => {
    const feature = featureById(rules, id);
    expect(feature).toMatchObject({ name, billing, minPlan, toggleable });
    expect(feature?.cost === null).toBe(billing !== 'credits');
  });

  it('lists exactly those 14 features', () => {
    expect(rules.features).toHaveLength(14);
  });

  it.each([
    // id, credits, per, unit, rounding, per call, telephony minutes
    ['voice-agent', 20, 1, 'minute', 'up', true, true],
    ['enrichment', 1, 1, 'field', 'up', false, false],
    ['auto-updates', 2, 1, 'call', 'up', false, false],
  ])('%s costs %i credits per %i %s, rounded %s', (id, credits, per, unit, rounding, perCall, telephonyMinutes) => {
    const feature = featureById(rules, id);
    expect(feature?.cost).toEqual({ credits, per, unit, rounding });
    expect(feature?.perCall).toBe(perCall);
    expect(feature?.telephonyMinutes).toBe(telephonyMinutes);
  });
});

describe('shipped rules: promotions, consumption, policies and alerts', () => {
  it('grants Chloe beta customers 100,000 credits from the first cycle on or after June 3, 2026, over two cycles', () => {
    expect(rules.promotions).toEqual([
      {
        id: 'chloe-beta-2026',
        name: 'Chloe beta thank-you',
        credits: 100_000,
        eligibleTag: 'chloe-beta',
        startsOn: '2026-06-03',
        validForCycles: 2,
      },
    ]);
  });

  it('ranks every grant source once for consumption ties', () => {
    expect(rules.consumptionPriority).toEqual({ promotion: 0, trial: 1, included: 2, manual: 3, subscription: 4 });
    expect(Object.keys(rules.consumptionPriority).sort()).toEqual([...GRANT_SOURCES].sort());
  });

  it('upgrades immediately at full price with a full allocation; downgrades next cycle; monthly reset, no rollover, pooled', () => {
    expect(rules.policies).toEqual({
      tierUpgrade: { timing: 'immediate', charge: 'full_price', allocation: 'full' },
      tierDowngrade: { timing: 'next_cycle' },
      planDowngrade: { timing: 'next_cycle' },
      reset: { period: 'monthly', rollover: false },
      pooling: 'account',
    });
  });

  it('warns at 75% used when on pace to run out, and is exhausted at zero', () => {
    expect(rules.alerts).toEqual({ warningUsedPercent: 75, warningRequiresProjectedRunOut: true, exhaustedAtBalance: 0 });
  });
});
