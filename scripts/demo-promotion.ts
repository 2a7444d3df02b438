/**
 * The main job's demo promotion (examples/demo-promotion.yaml): a Chloe beta grant dated
 * relative to the day the main job starts, added to the rules it runs with, so the demo account
 * tagged `chloe-beta` shows a Chloe grant whenever the demo is started, long after the shipped
 * promotion's fixed window has passed. The shipped rules files are not changed.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { createRuleSet, type PromotionRule, type RuleSet } from '../ruleset';

const DAY_MS = 86_400_000;

/** examples/demo-promotion.yaml: a promotion whose start is given in days before today. */
export interface DemoPromotionFile {
  id: string;
  name: string;
  credits: number;
  eligibleTag: string;
  validForCycles: number;
  /** Days before the main job's start; 31 or more puts every account's current cycle in the window. */
  startsDaysAgo: number;
}

const FIELDS: readonly (keyof DemoPromotionFile)[] = ['id', 'name', 'credits', 'eligibleTag', 'validForCycles', 'startsDaysAgo'];

function wholeIn(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

/**
 * Reads and checks the demo promotion file.
 *
 * @throws Error naming the file and the field that is wrong.
 */
export function readDemoPromotion(path: string): DemoPromotionFile {
  const data = parse(readFileSync(path, 'utf8')) as Record<string, unknown> | null;
  const bad = (what: string) => new Error(`${path}: ${what}`);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw bad('must be a mapping of promotion fields');
  const unknown = Object.keys(data).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw bad(`unknown field(s) ${unknown.join(', ')} (known: ${FIELDS.join(', ')})`);
  for (const key of ['id', 'name', 'eligibleTag'] as const) {
    if (typeof data[key] !== 'string' || !/^[\x20-\x7e]{1,100}$/.test(data[key])) throw bad(`${key} must be 1-100 printable characters`);
  }
  if (!wholeIn(data.credits, 1, 10_000_000)) throw bad('credits must be a whole number from 1 to 10,000,000');
  if (!wholeIn(data.validForCycles, 1, 24)) throw bad('validForCycles must be a whole number from 1 to 24');
  if (!wholeIn(data.startsDaysAgo, 0, 366)) throw bad('startsDaysAgo must be a whole number of days from 0 to 366');
  return data as unknown as DemoPromotionFile;
}

/** The promotion as rules hold it, starting `startsDaysAgo` days before `nowMs` (a UTC date). */
export function demoPromotionRule(file: DemoPromotionFile, nowMs: number): PromotionRule {
  return {
    id: file.id,
    name: file.name,
    credits: file.credits,
    eligibleTag: file.eligibleTag,
    startsOn: new Date(nowMs - file.startsDaysAgo * DAY_MS).toISOString().slice(0, 10),
    validForCycles: file.validForCycles,
  };
}

/**
 * `source`'s rule sets with `promotion` added to every version (once: a version already holding
 * that id keeps its own). Each rule set `source` returns is extended once and the result kept,
 * so the worker's reloading of changed rules files goes on working.
 */
export function withPromotion(source: () => RuleSet, promotion: PromotionRule): () => RuleSet {
  let seen: RuleSet | undefined;
  let extended: RuleSet | undefined;
  return () => {
    const current = source();
    if (current !== seen || extended === undefined) {
      seen = current;
      extended = createRuleSet(
        current.versions.map((rules) =>
          rules.promotions.some((p) => p.id === promotion.id) ? rules : { ...rules, promotions: [...rules.promotions, promotion] },
        ),
        current.path,
      );
    }
    return extended;
  };
}
