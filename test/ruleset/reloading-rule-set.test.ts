/**
 * The rules a running surface reads from disk: new files are picked up, but the files are looked
 * at no more than once per recheck interval (the usage API asks on every request), a broken
 * change keeps the last good rules, and rules that never loaded fail every call.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RULES_RECHECK_MS, isRulesError, reloadingRuleSet } from '../../ruleset';

const MINIMAL = readFileSync(join(__dirname, '..', 'fixtures', 'rules', 'valid', 'minimal.yaml'), 'utf8');
const JULY = MINIMAL.replace('2026-06-03T00:00:00Z', '2026-07-01T00:00:00Z');

let scratch: string;
let dir: string;
let clockMs: number;
const clock = () => clockMs;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'rules-reload-'));
  dir = join(scratch, 'rules');
  mkdirSync(dir);
  clockMs = 0;
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

const effectiveDates = (set: { versions: readonly { effectiveFrom: string }[] }) => set.versions.map((v) => v.effectiveFrom);

describe('reloadingRuleSet', () => {
  it('sees a new file only once the recheck interval has passed since it last looked', () => {
    writeFileSync(join(dir, 'june.yaml'), MINIMAL);
    const rules = reloadingRuleSet(dir, { clock });
    const first = rules();
    expect(effectiveDates(first)).toEqual(['2026-06-03T00:00:00.000Z']);

    writeFileSync(join(dir, 'july.yaml'), JULY);
    clockMs = RULES_RECHECK_MS - 1;
    expect(rules()).toBe(first);

    clockMs = RULES_RECHECK_MS;
    expect(effectiveDates(rules())).toEqual(['2026-06-03T00:00:00.000Z', '2026-07-01T00:00:00.000Z']);
  });

  it('reports a new version that arrives after its date has passed, and none that arrives in time or was there at the start', () => {
    writeFileSync(join(dir, 'june.yaml'), MINIMAL);
    const late: string[] = [];
    let wallMs = Date.parse('2026-07-01T09:00:00Z');
    const rules = reloadingRuleSet(dir, { clock, wallClock: () => wallMs, onLateVersion: (v, at) => late.push(`${v.effectiveFrom} at ${at.toISOString()}`) });
    rules();
    expect(late).toEqual([]);
    // Dated midnight, deployed at nine: cycles that started in between were priced with June's.
    writeFileSync(join(dir, 'july.yaml'), JULY);
    clockMs = RULES_RECHECK_MS;
    rules();
    expect(late).toEqual(['2026-07-01T00:00:00.000Z at 2026-07-01T09:00:00.000Z']);
    // In time: dated ahead of its arrival.
    writeFileSync(join(dir, 'august.yaml'), MINIMAL.replace('2026-06-03T00:00:00Z', '2026-08-01T00:00:00Z'));
    wallMs = Date.parse('2026-07-20T00:00:00Z');
    clockMs = 2 * RULES_RECHECK_MS;
    expect(effectiveDates(rules())).toHaveLength(3);
    expect(late).toHaveLength(1);
  });

  it('keeps the same rule set while the files are unchanged, and looks again by its own interval', () => {
    writeFileSync(join(dir, 'june.yaml'), MINIMAL);
    const rules = reloadingRuleSet(dir, { clock, recheckMs: 10 });
    const first = rules();
    clockMs = 50;
    expect(rules()).toBe(first);
    writeFileSync(join(dir, 'july.yaml'), JULY);
    clockMs = 55;
    expect(rules()).toBe(first);
    clockMs = 60;
    expect(rules().versions).toHaveLength(2);
  });

  it('keeps the last good rules when a change does not load, and reports that change once', () => {
    writeFileSync(join(dir, 'june.yaml'), MINIMAL);
    const errors: unknown[] = [];
    const rules = reloadingRuleSet(dir, { clock, onReloadError: (err) => errors.push(err) });
    const good = rules();
    writeFileSync(join(dir, 'broken.yaml'), 'schemaVersion: 1\nplans: [');
    for (const at of [RULES_RECHECK_MS, 2 * RULES_RECHECK_MS, 3 * RULES_RECHECK_MS]) {
      clockMs = at;
      expect(rules()).toBe(good);
    }
    expect(errors).toHaveLength(1);
    expect(isRulesError(errors[0])).toBe(true);

    rmSync(join(dir, 'broken.yaml'));
    writeFileSync(join(dir, 'july.yaml'), JULY);
    clockMs = 4 * RULES_RECHECK_MS;
    expect(rules().versions).toHaveLength(2);
  });

  it('refuses a directory with a rules entry it cannot read, at the first load and at a reload, rather than skip the version', () => {
    writeFileSync(join(dir, 'june.yaml'), MINIMAL);
    symlinkSync(join(scratch, 'missing', 'july.yaml'), join(dir, 'july.yaml'));
    expect(reloadingRuleSet(dir, { clock })).toThrow(`${join(dir, 'july.yaml')}:1:1 not-found: it is a symbolic link to`);

    rmSync(join(dir, 'july.yaml'));
    const errors: unknown[] = [];
    const rules = reloadingRuleSet(dir, { clock, onReloadError: (err) => errors.push(err) });
    const good = rules();
    symlinkSync(join(scratch, 'missing', 'july.yaml'), join(dir, 'july.yaml'));
    clockMs = RULES_RECHECK_MS;
    expect(rules()).toBe(good);
    expect(errors.map((err) => (isRulesError(err) ? err.diagnostics.map((d) => [d.file, d.code]) : err))).toEqual([[[join(dir, 'july.yaml'), 'not-found']]]);
  });

  it('throws on every call until the rules have loaded once, whatever the interval', () => {
    writeFileSync(join(dir, 'broken.yaml'), 'plans: [');
    const rules = reloadingRuleSet(dir, { clock });
    expect(rules).toThrow();
    expect(rules).toThrow();
    rmSync(join(dir, 'broken.yaml'));
    writeFileSync(join(dir, 'june.yaml'), MINIMAL);
    expect(rules().versions).toHaveLength(1);
  });
});
