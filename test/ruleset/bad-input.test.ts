/**
 * Hostile or careless input: each gets located diagnostics, never an exception escaping
 * `compileRules`, never a stack trace, never a partially loaded `Rules`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_COMPILED_RULES_BYTES, MAX_DIAGNOSTICS_PER_FILE, MAX_RULES_FILE_BYTES, compileRules } from '../../ruleset';
import type { Diagnostic } from '../../ruleset';
import { loadProblems } from './rules-problems';

const MINIMAL = readFileSync(join(__dirname, '..', 'fixtures', 'rules', 'valid', 'minimal.yaml'), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'rules-bad-input-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function problems(text: string): Diagnostic[] {
  const result = compileRules(text, 'input.yaml');
  if (result.ok) throw new Error('expected the input to be refused');
  return [...result.diagnostics];
}

function summary(list: readonly Diagnostic[]): [string, number, number][] {
  return list.map((d) => [d.code, d.line, d.column]);
}

describe('malformed YAML', () => {
  it('reports an unclosed bracket where the parser noticed it', () => {
    const text = MINIMAL.replace('aliases: [Base, Starter]', 'aliases: [Base, Starter');
    const list = problems(text);
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((d) => d.code === 'yaml-syntax')).toBe(true);
    expect(summary(list)[0]).toEqual(['yaml-syntax', 9, 5]);
  });

  it('places problems after a multi-line scalar the parser gave up on on their own lines', () => {
    const text = ['a:', '  - [] [1]', '  - c: >-', '      one line,', '      two lines', '', '  - d: 1', ''].join('\n');
    expect(summary(problems(text))).toEqual([
      ['yaml-syntax', 2, 8],
      ['yaml-syntax', 3, 3],
      ['yaml-syntax', 4, 1],
      ['yaml-syntax', 7, 3],
    ]);
  });

  it.each([
    ['an unknown tag', 'currency: USD', 'currency: !money USD', 4, 11, '"!money"'],
    ['bytes', 'currency: USD', 'currency: !!binary VVNE', 4, 11, '"!!binary"'],
    ['text forced', 'currency: USD', 'currency: !!str USD', 4, 11, '"!!str"'],
    ['a float the core schema does not resolve', 'userCap: 10', 'userCap: !!float 10', 15, 14, '"!!float"'],
    ['a number made of text', 'userCap: 10', 'userCap: !!int "10"', 15, 14, '"!!int"'],
    ['a set', 'currency: USD', 'currency: USD\nx: !!set {a}', 5, 4, '"!!set"'],
    ['a tagged list', 'aliases: [Base, Starter]', 'aliases: !!seq [Base, Starter]', 8, 14, '"!!seq"'],
    ['a verbatim tag (placed at its value)', 'userCap: 10', 'userCap: !<tag:yaml.org,2002:int> 10', 15, 39, '"!!int"'],
  ])('refuses a YAML tag, known or not: %s', (_case, from, to, line, column, tag) => {
    const list = problems(MINIMAL.replace(from, to));
    expect(list.map((d) => [d.code, d.line, d.column, d.message])).toEqual([
      ['yaml-syntax', line, column, `${tag} is a YAML tag; rules files use plain values only: remove the tag`],
    ]);
  });

  it.each([
    ['a list as a key', 'currency: USD\n? [a, b]\n: 1', 5, 3, 'this key is a list; keys in a rules file are field names and ids'],
    ['a mapping as a key', 'currency: USD\n{x: 1}: 2', 5, 1, 'this key is a mapping; keys in a rules file are field names and ids'],
    ['a null key', 'currency: USD\n~: 2', 5, 1, 'this key is empty (null); keys in a rules file are field names and ids'],
    ['no key at all', 'currency: USD\n: 2', 5, 1, 'this key is empty (null); keys in a rules file are field names and ids'],
    ['an alias of no anchor', 'currency: USD\n*x : 2', 5, 1, '"*x" names no anchor written before it ("&x"); write the value out, or anchor it above'],
    ['an alias before its anchor', 'currency: *cur\nx: &cur USD', 4, 11, '"*cur" names no anchor written before it ("&cur"); write the value out, or anchor it above'],
  ])('refuses %s where it is written, with nothing on stderr', async (_case, to, line, column, message) => {
    const warnings: unknown[] = [];
    const onWarning = (warning: unknown) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      expect(problems(MINIMAL.replace('currency: USD', to)).map((d) => [d.code, d.line, d.column, d.message])).toEqual([['yaml-syntax', line, column, message]]);
      // Node emits a warning on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('treats __proto__ as an unknown field, not as a prototype', () => {
    const list = problems(MINIMAL.replace('currency: USD\n', 'currency: USD\n__proto__: { polluted: true }\n'));
    expect(summary(list)).toEqual([['unknown-field', 5, 1]]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads CRLF files the same as LF files', () => {
    const lf = compileRules(MINIMAL, 'lf.yaml');
    const crlf = compileRules(MINIMAL.replace(/\n/g, '\r\n'), 'crlf.yaml');
    expect(crlf.ok && lf.ok && crlf.rules.version === lf.rules.version).toBe(true);
    const broken = problems(MINIMAL.replace('userCap: 10', 'userCap: 0').replace(/\n/g, '\r\n'));
    expect(summary(broken)).toEqual([['out-of-range', 15, 14]]);
  });

  it.each([
    ['a block text', '    plans: all\n', '    plans: all\n    note: |\n      first line\n      \u00a0indented by a no-break space\n'],
    ['a quoted text over two lines', '    plans: all\n', '    plans: all\n    note: "first line\n      \u00a0second line"\n'],
  ])('takes a no-break space starting a line of %s as text, not indentation', (_case, from, to) => {
    const text = MINIMAL.replace(from, to);
    expect(text).toContain('\u00a0');
    const result = compileRules(text, 'note.yaml');
    expect(result.ok && result.rules.features[0]?.note).toContain('\u00a0');
  });

  it('refuses a carriage return alone in a file of LF lines, where it stands', () => {
    expect(problems(MINIMAL.replace('currency: USD\n', 'currency: USD\rx: 1\n')).map((d) => [d.code, d.line, d.column])).toEqual([['cr-line-endings', 4, 14]]);
  });

  it('refuses a %YAML directive for another version, which would read the same file with other values', () => {
    const list = problems(`# rules\n%YAML 1.1\n---\n${MINIMAL.replace('credits: 1000\n', 'credits: 01000\n')}`);
    expect(list.map((d) => [d.code, d.line, d.column, d.message])).toEqual([
      [
        'yaml-version',
        2,
        1,
        'this file asks to be read as YAML 1.1; rules files are YAML 1.2 only (in 1.1, yes is true, 010 is 8 and << merges blocks): remove this line',
      ],
    ]);
    expect(compileRules(`%YAML 1.2\n---\n${MINIMAL}`, 'explicit.yaml').ok).toBe(true);
  });

  it.each([
    ['0x3E8', 'hexadecimal', '1000'],
    ['0o1750', 'octal', '1000'],
  ])('refuses a number written as %s (%s) where it stands', (written, kind, decimal) => {
    const list = problems(MINIMAL.replace('credits: 1000\n', `credits: ${written}\n`));
    const line = MINIMAL.split('\n').findIndex((l) => l.includes('credits: 1000')) + 1;
    const column = (MINIMAL.split('\n')[line - 1] ?? '').indexOf('1000') + 1;
    expect(list.map((d) => [d.code, d.line, d.column, d.message])).toEqual([
      ['bad-format', line, column, `"${written}" is a ${kind} number; write numbers in decimal (${decimal})`],
    ]);
  });

  it('skips a byte order mark: the first line keeps its columns', () => {
    const broken = MINIMAL.replace('schemaVersion: 1', 'schemaVersion: 2');
    expect(summary(problems(`\uFEFF${broken}`))).toEqual(summary(problems(broken)));
    expect(compileRules(`\uFEFF${MINIMAL}`, 'bom.yaml').ok).toBe(true);
  });

  it('refuses nesting too deep to read', () => {
    const depth = 10_000;
    const list = problems(`${MINIMAL}note: ${'['.repeat(depth)}${']'.repeat(depth)}\n`);
    expect(list[0]?.code).toBe('yaml-syntax');
    expect(list[0]?.message).toBe('the file is nested too deeply to read');
  });
});

describe('resource limits', () => {
  it('refuses an exponential alias expansion quickly, pointing at the first alias', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const name = String.fromCharCode(97 + i);
      const previous = String.fromCharCode(96 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    const started = Date.now();
    const list = problems(`${levels.join('\n')}\n`);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(summary(list)).toEqual([['too-many-aliases', 2, 8]]);
  });

  it('refuses text over 1 MiB without parsing it', () => {
    const text = `${MINIMAL}#${'x'.repeat(MAX_RULES_FILE_BYTES)}\n`;
    expect(problems(text).map((d) => [d.code, d.line, d.column, d.message])).toEqual([
      [
        'file-too-large',
        1,
        1,
        `the file is ${Buffer.byteLength(text)} bytes; a rules file may be at most 1048576 bytes (1 MiB)`,
      ],
    ]);
  });

  it('refuses a file over 1 MiB on disk before reading it', () => {
    const file = join(scratch, 'huge.yaml');
    writeFileSync(file, `${MINIMAL}#${'x'.repeat(MAX_RULES_FILE_BYTES)}\n`);
    expect(summary(loadProblems(file))).toEqual([['file-too-large', 1, 1]]);
  });

  it('keeps every message short and printable whatever the file holds', () => {
    const plans = Array.from({ length: 500 }, (_, i) => `  - { id: plan-${i}, name: Plan ${i}, creditsPerUser: ${i + 1}, userCap: 1 }`).join('\n');
    const text = MINIMAL.replace('2026-06-03T00:00:00Z', `"${'\\u0000'.repeat(100_000)}"`)
      .replace(/^plans:\n(?: {2}.*\n)+/m, `plans:\n${plans}\n`)
      .replace('plans: { from: growth }', 'plans: { from: no-such-plan }');
    const list = problems(text);
    expect(summary(list)).toEqual([
      ['bad-text', 3, 16],
      ['effective-from', 3, 16],
      ['unknown-plan', 517, 20],
    ]);
    for (const d of list) expect(d.message.length).toBeLessThan(400);
    expect(list.map((d) => d.message).join('')).not.toContain('\u0000');
    expect(list[2]?.message).toMatch(/plans are: plan-0, plan-1, .*, plan-9, \.\.\. \(500 in all\)$/);
  });

  it(`shows at most ${MAX_DIAGNOSTICS_PER_FILE} problems per file, then says how many more there are`, () => {
    const extra = Array.from({ length: 150 }, (_, i) => `extra${i}: 1`).join('\n');
    const list = problems(`${MINIMAL}${extra}\n`);
    expect(list).toHaveLength(MAX_DIAGNOSTICS_PER_FILE + 1);
    expect(list.at(-1)?.code).toBe('too-many-errors');
    expect(list.at(-1)?.message).toBe('50 more problems not shown; fix the ones above first');
  });
});

describe('files and directories', () => {
  it('names a missing file', () => {
    const file = join(scratch, 'missing.yaml');
    expect(loadProblems(file).map((d) => [d.file, d.code, d.message])).toEqual([[file, 'not-found', 'no such file or directory']]);
  });

  it('refuses bytes that are not UTF-8 where they stand, rather than reading them as U+FFFD', () => {
    const file = join(scratch, 'latin1.yaml');
    const text = MINIMAL.replace('name: Growth', 'name: Gr\u00f6wth \ufffd');
    writeFileSync(file, Buffer.from(text, 'latin1'));
    const line = text.split('\n').findIndex((l) => l.includes('Gr\u00f6wth')) + 1;
    const column = (text.split('\n')[line - 1] ?? '').indexOf('\u00f6') + 1;
    expect(loadProblems(file).map((d) => [d.code, d.line, d.column, d.message])).toEqual([
      ['bad-text', line, column, 'this line holds bytes that are not UTF-8 text (a file saved as Latin-1 or Windows-1252?); save the file as UTF-8'],
    ]);
    // A U+FFFD written in UTF-8 is text like any other (the bad byte after it is what is refused).
    const written = join(scratch, 'replacement-char.yaml');
    writeFileSync(written, Buffer.concat([Buffer.from(MINIMAL.replace('name: Growth', 'name: Gr\ufffdowth'), 'utf8'), Buffer.from([0x23, 0xff, 0x0a])]));
    expect(summary(loadProblems(written))).toEqual([['bad-text', MINIMAL.split('\n').length, 2]]);
  });

  it('refuses a pipe instead of reading it for ever', () => {
    const fifo = join(scratch, 'rules.fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(loadProblems(fifo).map((d) => [d.code, d.message])).toEqual([['unreadable', 'cannot read it: it is not a regular file (a pipe, a device or a socket)']]);
    expect(loadProblems('/dev/zero').map((d) => d.code)).toEqual(['unreadable']);
  });

  it('names a missing directory', () => {
    const dir = join(scratch, 'no-such-dir', 'rules');
    expect(summary(loadProblems(dir))).toEqual([['not-found', 1, 1]]);
  });

  it('refuses a directory without rules files, ignoring other files and subdirectories', () => {
    const dir = join(scratch, 'empty-dir');
    mkdirSync(join(dir, 'nested'), { recursive: true });
    writeFileSync(join(dir, 'README.md'), '# not rules\n');
    writeFileSync(join(dir, 'nested', '2026-06-03.yaml'), MINIMAL);
    expect(loadProblems(dir).map((d) => [d.file, d.code, d.message])).toEqual([
      [dir, 'no-rules-files', 'this directory holds no rules files (*.yaml or *.yml)'],
    ]);
  });

  // Skipped, the version the entry was meant to hold would never take effect, with
  // validate saying all is well: each is a problem of the directory (none is opened).
  it.each([
    ['a dangling symbolic link', '2026-07-01.yaml', (entry: string) => symlinkSync('/nonexistent/2026-07-01.yaml', entry), 'not-found', 'it is a symbolic link to /nonexistent/2026-07-01.yaml, which does not exist'],
    [
      'a loop of symbolic links',
      'loop-b.yaml',
      (entry: string) => {
        symlinkSync('loop-a', entry);
        symlinkSync('loop-b.yaml', join(entry, '..', 'loop-a'));
      },
      'unreadable',
      'cannot read it: following its symbolic links leads round in a loop',
    ],
    ['a pipe', '2026-08-01.yaml', (entry: string) => execFileSync('mkfifo', [entry]), 'unreadable', 'cannot read it: it is not a regular file (a pipe, a device or a socket)'],
    ['a subdirectory', '2026-09-01.yaml', (entry: string) => mkdirSync(entry), 'unreadable', 'cannot read it: it is a directory, not a rules file (subdirectories are not loaded); rename it or move its files up'],
    ['a link to the directory itself', 'self.yml', (entry: string) => symlinkSync('.', entry), 'unreadable', 'cannot read it: it is a directory, not a rules file (subdirectories are not loaded); rename it or move its files up'],
  ])('refuses a directory holding an entry named like a rules file that is %s, rather than skipping it', (what, name, make, code, message) => {
    const dir = join(scratch, `entry-${what.replace(/\W+/g, '-')}`);
    mkdirSync(dir);
    writeFileSync(join(dir, '2026-06-03.yaml'), MINIMAL);
    make(join(dir, name));
    expect(loadProblems(dir).map((d) => [d.file, d.line, d.column, d.code, d.message])).toEqual([[join(dir, name), 1, 1, code, message]]);
  });

  it('refuses two versions with the same effectiveFrom, pointing at the second', () => {
    const dir = join(scratch, 'same-date');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.yaml'), MINIMAL);
    writeFileSync(join(dir, 'b.yml'), MINIMAL.replace('credits: 1000\n', 'credits: 2000\n'));
    expect(loadProblems(dir).map((d) => [d.file, d.line, d.column, d.code, d.message])).toEqual([
      [
        join(dir, 'b.yml'),
        3,
        16,
        'duplicate-effective-from',
        `effectiveFrom 2026-06-03T00:00:00.000Z is also used by ${join(dir, 'a.yaml')}; each version needs its own date`,
      ],
    ]);
  });

  it('reports two versions with one date together with a broken file of the same directory', () => {
    const dir = join(scratch, 'all-at-once');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.yaml'), MINIMAL);
    writeFileSync(join(dir, 'b.yaml'), MINIMAL.replace('credits: 1000\n', 'credits: 2000\n'));
    writeFileSync(join(dir, 'c.yaml'), 'plans: [\n');
    expect(loadProblems(dir).map((d) => [d.file, d.code])).toEqual([
      [join(dir, 'b.yaml'), 'duplicate-effective-from'],
      [join(dir, 'c.yaml'), 'yaml-syntax'],
    ]);
  });

  it('loads nothing when one file of a directory is broken, and reports every broken file', () => {
    const dir = join(scratch, 'one-broken');
    mkdirSync(dir);
    writeFileSync(join(dir, '2026-06-03.yaml'), MINIMAL);
    writeFileSync(join(dir, '2026-07-01.yaml'), MINIMAL.replace('2026-06-03T00:00:00Z', '2026-07-01T00:00:00Z').replace('userCap: 1\n', 'userCap: 0\n'));
    writeFileSync(join(dir, '2026-08-01.yaml'), 'plans: [\n');
    expect(loadProblems(dir).map((d) => [d.file, d.code])).toEqual([
      [join(dir, '2026-07-01.yaml'), 'out-of-range'],
      [join(dir, '2026-08-01.yaml'), 'yaml-syntax'],
    ]);
  });
});

describe('compileRules never throws', () => {
  it('for arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const result = compileRules(text, 'fuzz.yaml');
        return result.ok === false && result.diagnostics.length > 0;
      }),
      { numRuns: 300 },
    );
  });

  it('for arbitrary YAML data, and for the valid file with one line dropped', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 3 }), (value) => {
        const result = compileRules(stringify(value) ?? '', 'fuzz.yaml');
        return result.ok === false;
      }),
      { numRuns: 200 },
    );
    const lines = MINIMAL.split('\n');
    for (const index of lines.keys()) {
      const result = compileRules(lines.filter((_, i) => i !== index).join('\n'), 'dropped.yaml');
      if (!result.ok) expect(result.diagnostics.length).toBeGreaterThan(0);
    }
  });
});

describe('rules too heavy for the accounts that carry them', () => {
  it('refuses a file whose compiled rules exceed the carried-state share, and takes one just under it', async () => {
    const { parse } = await import('yaml');
    const withFeatures = (count: number) => {
      const doc = parse(MINIMAL) as { features: Record<string, unknown>[] };
      for (let i = 0; i < count; i++) doc.features.push({ id: `free-${i}`, name: `Free ${i}`, billing: 'free', plans: 'all', note: 'n'.repeat(480) });
      return stringify(doc);
    };
    expect(summary(problems(withFeatures(200)))).toEqual([['rules-too-large', 1, 1]]);
    expect(problems(withFeatures(200))[0]?.message).toMatch(/^the compiled rules weigh \d+ KiB; accounts carry them in their state, which allows 64 KiB: use fewer or shorter entries$/);
    const fits = compileRules(withFeatures(20), 'input.yaml');
    expect(fits.ok).toBe(true);
    if (fits.ok) expect(Buffer.byteLength(JSON.stringify(fits.rules))).toBeLessThanOrEqual(MAX_COMPILED_RULES_BYTES);
  });
});
