/**
 * Rules fuzzing: mutants of the shipped file (lines deleted, duplicated, swapped; scalars and
 * keys replaced by hostile text and numbers; deep nesting) must each be either refused with
 * located, coded, printable diagnostics, or compiled into rules the engine can rely on: clean
 * text, plans and tiers in rank order, one per-call feature at most, numbers within bounds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES, MAX_INCLUDED_CREDITS, compileRules, defaultRulesPath, isIsoInstant, isRulesError, textProblem } from '../../ruleset';
import type { CompileResult, Diagnostic, Rules } from '../../ruleset';

const FILE = 'mutant.yaml';
const SHIPPED = readFileSync(join(defaultRulesPath(), '2026-06-03.yaml'), 'utf8');
const LINES = SHIPPED.split('\n');

/** Longest message a diagnostic may carry, whatever the file holds (quoted values are cut short). */
const MAX_MESSAGE_LENGTH = 1000;

const hostileText = fc.oneof(
  fc.constantFrom(
    '\ud800',
    'a\udfffb',
    'x\u0000y',
    '\u0000',
    '\t',
    '\u007f',
    '\u0085',
    '   ',
    '',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '2026-06-03T24:00:00Z',
    '2026-02-30',
    'x'.repeat(300),
    'y'.repeat(200_000),
    'z'.repeat(1_100_000),
  ),
  fc.string({ unit: fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)), maxLength: 20 }),
);

const hostileNumber = fc.oneof(
  fc.constantFrom('-1', '0', '-0', '1e309', '-1e309', '.nan', '.inf', String(2 ** 53), '9007199254740993', '1000000001', '0x7fffffff', '1.5'),
  fc.integer().map(String),
  fc.double({ noNaN: true }).map(String),
);

const deepNesting = fc.integer({ min: 1, max: 2000 }).chain((depth) =>
  fc.constantFrom('['.repeat(depth) + ']'.repeat(depth), '{a: '.repeat(depth) + '1' + '}'.repeat(depth)),
);

/** A replacement token: text quoted as JSON (a valid YAML double-quoted scalar, so lone surrogates and NUL arrive as escapes), or written bare. */
const replacement = fc.oneof(
  hostileText.map((s) => JSON.stringify(s)),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'true', 'null', '~', 'all', 'credits', 'growth', 'solo', 'tier-1'),
  hostileNumber,
  deepNesting,
);

type Mutation =
  | { readonly kind: 'delete' | 'duplicate'; readonly at: number }
  | { readonly kind: 'swap'; readonly at: number; readonly with: number }
  | { readonly kind: 'replace'; readonly at: number; readonly token: number; readonly by: string };

const lineIndex = fc.nat({ max: LINES.length - 1 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete' as const, 'duplicate' as const), at: lineIndex }),
  fc.record({ kind: fc.constant('swap' as const), at: lineIndex, with: lineIndex }),
  { arbitrary: fc.record({ kind: fc.constant('replace' as const), at: lineIndex, token: fc.nat(), by: replacement }), weight: 4 },
);

/** Words of a line: keys, values and list items alike. */
const TOKEN = /[\w.:+-]+/g;

function mutate(lines: readonly string[], m: Mutation): string[] {
  const out = [...lines];
  const line = out[m.at] ?? '';
  switch (m.kind) {
    case 'delete':
      out.splice(m.at, 1);
      break;
    case 'duplicate':
      out.splice(m.at, 0, line);
      break;
    case 'swap':
      out[m.at] = out[m.with] ?? '';
      out[m.with] = line;
      break;
    case 'replace': {
      const tokens = [...line.matchAll(TOKEN)];
      const token = tokens[m.token % Math.max(tokens.length, 1)];
      out[m.at] = token === undefined ? `${line}${m.by}` : line.slice(0, token.index) + m.by + line.slice(token.index + token[0].length);
      break;
    }
  }
  return out;
}

function compileSafely(text: string): CompileResult {
  try {
    return compileRules(text, FILE);
  } catch (err) {
    // compileRules promises diagnostics for bad input; a RulesError is the only other acceptable outcome.
    if (isRulesError(err)) return { ok: false, diagnostics: err.diagnostics };
    throw err;
  }
}

function expectWellFormed(d: Diagnostic, lines: readonly string[]): void {
  expect(DIAGNOSTIC_CODES).toContain(d.code);
  expect(d.file).toBe(FILE);
  expect(d.line).toBeGreaterThanOrEqual(1);
  expect(d.line).toBeLessThanOrEqual(lines.length);
  expect(d.column).toBeGreaterThanOrEqual(1);
  expect(d.column).toBeLessThanOrEqual((lines[d.line - 1] ?? '').length + 1);
  expect(textProblem(d.message)).toBeUndefined();
  expect(d.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
}

/** Every string in compiled rules, with whether it is a note (free text that may hold line breaks). */
function stringsOf(value: unknown, isNote = false): [string, boolean][] {
  if (typeof value === 'string') return [[value, isNote]];
  if (Array.isArray(value)) return value.flatMap((item) => stringsOf(item));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => [[key, false] as [string, boolean], ...stringsOf(item, key === 'note')]);
  }
  return [];
}

/** A non-empty list ranked by position, each entry at least as large as the one before by `grows`. */
function expectLadder<T extends { readonly rank: number }>(list: readonly T[], grows: (entry: T, previous: T) => void): void {
  expect(list.length).toBeGreaterThan(0);
  for (const [rank, entry] of list.entries()) {
    expect(entry.rank).toBe(rank);
    const previous = list[rank - 1];
    if (previous !== undefined) grows(entry, previous);
  }
}

function expectUsable(rules: Rules): void {
  for (const [text, isNote] of stringsOf(rules)) expect(textProblem(text, isNote)).toBeUndefined();
  const names = [...rules.plans.flatMap((p) => [p.name, ...p.aliases]), ...rules.features.map((f) => f.name), ...rules.tiers.map((t) => t.name)];
  for (const name of names) expect(name.trim()).not.toBe('');
  expect(isIsoInstant(rules.effectiveFrom)).toBe(true);

  expectLadder(rules.plans, (plan, previous) => {
    expect(plan.creditsPerUser).toBeGreaterThanOrEqual(previous.creditsPerUser);
    expect(plan.maxCredits).toBeGreaterThanOrEqual(previous.maxCredits);
  });
  for (const plan of rules.plans) expect(plan.maxCredits).toBeLessThanOrEqual(MAX_INCLUDED_CREDITS);
  expectLadder(rules.tiers, (tier, previous) => {
    expect(tier.priceCents).toBeGreaterThan(previous.priceCents);
    expect(tier.credits).toBeGreaterThan(previous.credits);
  });
  expect(rules.features.length).toBeGreaterThan(0);
  expect(rules.features.filter((f) => f.perCall).length).toBeLessThanOrEqual(1);
  const amounts = [
    rules.trial.credits,
    ...rules.tiers.flatMap((t) => [t.priceCents, t.credits]),
    ...rules.promotions.map((p) => p.credits),
    ...rules.features.flatMap((f) => (f.cost === null ? [] : [f.cost.credits, f.cost.per])),
  ];
  for (const amount of amounts) expect(Number.isSafeInteger(amount) && amount > 0 && amount <= MAX_INCLUDED_CREDITS).toBe(true);
}

describe('rules fuzzing', () => {
  it('the shipped file compiles unchanged', () => {
    const result = compileRules(SHIPPED, FILE);
    expect(result.ok).toBe(true);
    if (result.ok) expectUsable(result.rules);
  });

  it('refuses every mutant it cannot use with located, coded diagnostics, and compiles the rest into usable rules', () => {
    let compiled = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        const lines = mutations.reduce(mutate, LINES);
        const text = lines.join('\n');
        const result = compileSafely(text);
        if (result.ok) {
          compiled += 1;
          expectUsable(result.rules);
          return;
        }
        expect(result.diagnostics.length).toBeGreaterThan(0);
        const textLines = text.split('\n');
        for (const d of result.diagnostics) expectWellFormed(d, textLines);
      }),
      { numRuns: 300 },
    );
    // Some mutations (a duplicated comment, a swap of equal lines) leave a valid file.
    expect(compiled).toBeGreaterThan(0);
  });
});
