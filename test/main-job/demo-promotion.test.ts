/**
 * The main job's demo promotion: the Chloe beta demo account, started on any day, shows a Chloe
 * grant (the shipped promotion's window having passed), through the rules the main job runs
 * with; the shipped rules stay as they are; a bad demo promotion file is refused by name.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readImportFile } from '../../cli/import-accounts';
import { CreditAccount } from '../../domain/account';
import { cycleContaining } from '../../domain/calendar';
import { defaultRulesPath, loadRuleSet, rulesForCycleStart, type RuleSet } from '../../ruleset';
import { projectRoot } from '../../infra/project-root';
import { demoPromotionRule, readDemoPromotion, withPromotion } from '../../scripts/demo-promotion';

const EXAMPLES = join(projectRoot(), 'examples');
const shipped = loadRuleSet(defaultRulesPath());
const scratch = mkdtempSync(join(tmpdir(), 'demo-promo-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The demo accounts as the main job starts them at `nowMs`, with `ruleSet`: each one's Chloe (promotion) credits. */
function promotionCredits(ruleSet: RuleSet, nowMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const row of readImportFile(join(EXAMPLES, 'accounts.yaml'), nowMs)) {
    const input = row.input!;
    const rules = rulesForCycleStart(ruleSet, cycleContaining(input.cycleAnchor, nowMs).start);
    const account = CreditAccount.open(input, rules, nowMs, 'e1');
    out[input.accountId] = account.summary(nowMs).grants.filter((g) => g.source === 'promotion').reduce((sum, g) => sum + g.remaining, 0);
  }
  return out;
}

const demo = readDemoPromotion(join(EXAMPLES, 'demo-promotion.yaml'));

describe('the demo promotion', () => {
  it('is needed: with the shipped rules alone, the Chloe beta demo started today shows no grant', () => {
    expect(promotionCredits(shipped, Date.now())['demo-chloe-beta']).toBe(0);
  });

  it('gives the Chloe beta demo account its grant on a fresh start today, and no other demo account', () => {
    const now = Date.now();
    const rules = withPromotion(() => shipped, demoPromotionRule(demo, now))();
    expect(promotionCredits(rules, now)).toEqual({ 'demo-growth': 0, 'demo-chloe-beta': 100_000, 'demo-trial': 0 });
  });

  it('does so whatever day the demo starts (property)', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2026-06-20T00:00:00Z'), max: new Date('2031-12-31T00:00:00Z'), noInvalidDate: true }), (day) => {
        const now = day.getTime();
        const rules = withPromotion(() => shipped, demoPromotionRule(demo, now))();
        expect(promotionCredits(rules, now)['demo-chloe-beta']).toBeGreaterThanOrEqual(100_000);
      }),
      { numRuns: 60 },
    );
  });

  it('adds the promotion to every version once, leaves the shipped set alone, and follows a reloaded set', () => {
    const promotion = demoPromotionRule(demo, Date.parse('2026-11-25T10:00:00Z'));
    expect(promotion).toMatchObject({ id: 'chloe-beta-demo', startsOn: '2026-10-25', credits: 100_000, eligibleTag: 'chloe-beta', validForCycles: 2 });
    let current = shipped;
    const source = withPromotion(() => current, promotion);
    const first = source();
    expect(source()).toBe(first);
    expect(first.versions.every((v) => v.promotions.filter((p) => p.id === 'chloe-beta-demo').length === 1)).toBe(true);
    expect(shipped.versions.some((v) => v.promotions.some((p) => p.id === 'chloe-beta-demo'))).toBe(false);
    current = loadRuleSet(defaultRulesPath());
    expect(source()).not.toBe(first);
    expect(withPromotion(source, promotion)().latest.promotions.filter((p) => p.id === 'chloe-beta-demo')).toHaveLength(1);
  });

  it('refuses a bad demo promotion file, naming the field', () => {
    const file = (text: string) => {
      const path = join(scratch, `p${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(path, text);
      return path;
    };
    const good = 'id: x\nname: X\ncredits: 5\neligibleTag: t\nvalidForCycles: 1\nstartsDaysAgo: 31\n';
    expect(readDemoPromotion(file(good))).toMatchObject({ id: 'x', credits: 5 });
    expect(() => readDemoPromotion(file(good.replace('credits: 5', 'credits: -5')))).toThrow(/credits must be a whole number/);
    expect(() => readDemoPromotion(file(good.replace('startsDaysAgo: 31', 'startsDaysAgo: 400')))).toThrow(/startsDaysAgo/);
    expect(() => readDemoPromotion(file(`${good}extra: 1\n`))).toThrow(/unknown field\(s\) extra/);
    expect(() => readDemoPromotion(file('- a\n'))).toThrow(/must be a mapping/);
    expect(() => readDemoPromotion(file(good.replace('name: X', 'name: "\\u0000"')))).toThrow(/name must be/);
  });
});
