/**
 * Dated rule versions: the version in force at an instant is the latest whose effectiveFrom
 * is at or before it. The boundary instant itself belongs to the new version.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RulesError, compileRules, createRuleSet, isRulesError, loadRuleSet } from '../../ruleset';
import type { RuleSet, Rules } from '../../ruleset';

const MINIMAL = readFileSync(join(__dirname, '..', 'fixtures', 'rules', 'valid', 'minimal.yaml'), 'utf8');
const JULY = MINIMAL.replace('2026-06-03T00:00:00Z', '2026-07-01T00:00:00Z').replace('priceCents: 2000', 'priceCents: 2500');

const scratch = mkdtempSync(join(tmpdir(), 'rules-versions-'));
let set: RuleSet;
let june: Rules;
let july: Rules;

beforeAll(() => {
  const dir = join(scratch, 'rules');
  mkdirSync(dir);
  // Written newest first: the loader orders by effectiveFrom, not by file name.
  writeFileSync(join(dir, 'a-july.yaml'), JULY);
  writeFileSync(join(dir, 'b-june.yaml'), MINIMAL);
  set = loadRuleSet(dir);
  [june, july] = set.versions as [Rules, Rules];
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return isRulesError(err) ? err.diagnostics[0]?.code : 'not a RulesError';
  }
  return undefined;
}

describe('loading dated versions', () => {
  it('sorts versions by effectiveFrom and names the earliest and latest', () => {
    expect(set.versions.map((v) => v.effectiveFrom)).toEqual(['2026-06-03T00:00:00.000Z', '2026-07-01T00:00:00.000Z']);
    expect(set.earliest).toBe(june);
    expect(set.latest).toBe(july);
    expect(june.tiers[0]?.priceCents).toBe(2000);
    expect(july.tiers[0]?.priceCents).toBe(2500);
    expect(Object.isFrozen(set.versions)).toBe(true);
  });

  it('gives each version its own id, found again by byVersion', () => {
    expect(june.version).toMatch(/^2026-06-03\.[0-9a-f]{12}$/);
    expect(july.version).toMatch(/^2026-07-01\.[0-9a-f]{12}$/);
    expect(set.byVersion(july.version)).toBe(july);
    expect(set.byVersion('2026-07-01.000000000000')).toBeUndefined();
  });

  it('loads a single file as a one-version set', () => {
    const one = loadRuleSet(join(scratch, 'rules', 'b-june.yaml'));
    expect(one.versions.map((v) => v.version)).toEqual([june.version]);
  });
});

describe('the version in force', () => {
  it.each([
    ['1 ms before the second version', '2026-06-30T23:59:59.999Z', 'june'],
    ['exactly at the second version', '2026-07-01T00:00:00Z', 'july'],
    ['1 ms after the second version', '2026-07-01T00:00:00.001Z', 'july'],
    ['long after', '2030-01-01T00:00:00Z', 'july'],
    ['the same instant written with an offset', '2026-07-01T02:00:00+02:00', 'july'],
    ['1 ms before, written with an offset', '2026-07-01T01:59:59.999+02:00', 'june'],
    ['a calendar date (midnight UTC)', '2026-07-01', 'july'],
    ['the day before as a calendar date', '2026-06-30', 'june'],
    ['exactly at the first version', '2026-06-03T00:00:00Z', 'june'],
  ])('%s (%s) -> %s', (_label, instant, expected) => {
    const chosen = set.at(instant);
    expect(chosen).toBe(expected === 'june' ? june : july);
    expect(set.at(new Date(Date.parse(instant.length === 10 ? `${instant}T00:00:00Z` : instant)))).toBe(chosen);
  });

  it('has no version in force 1 ms before the first', () => {
    expect(codeOf(() => set.at('2026-06-02T23:59:59.999Z'))).toBe('no-version-in-force');
    expect(() => set.at('2026-06-02T23:59:59.999Z')).toThrow(
      'no rules version is in force at 2026-06-02T23:59:59.999Z; the earliest takes effect 2026-06-03T00:00:00.000Z',
    );
  });

  it.each(['June 3rd', '2026-02-30', '2026-06-03 00:00', ''])('refuses the unreadable instant %j', (instant) => {
    expect(codeOf(() => set.at(instant))).toBe('bad-instant');
  });

  it('refuses an invalid Date', () => {
    expect(codeOf(() => set.at(new Date(Number.NaN)))).toBe('bad-instant');
  });
});

describe('createRuleSet', () => {
  function compiled(text: string): Rules {
    const result = compileRules(text, 'memory.yaml');
    if (!result.ok) throw new Error('fixture does not compile');
    return result.rules;
  }

  it('builds a set from compiled rules in any order', () => {
    const made = createRuleSet([compiled(JULY), compiled(MINIMAL)]);
    expect(made.at('2026-06-15').version).toBe(june.version);
    expect(made.latest.version).toBe(july.version);
  });

  it('refuses an empty list and duplicate dates', () => {
    expect(() => createRuleSet([])).toThrow(RulesError);
    expect(codeOf(() => createRuleSet([compiled(MINIMAL), compiled(MINIMAL.replace('credits: 1000', 'credits: 900'))]))).toBe(
      'duplicate-effective-from',
    );
  });
});
