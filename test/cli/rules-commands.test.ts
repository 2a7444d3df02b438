/**
 * `credits rules validate|explain|diff` run in-process through `main`, asserting the exact
 * output and exit codes a pricing analyst (or a CI job) sees.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { compileRules, defaultRulesPath } from '../../ruleset';

const FIXTURES = join(__dirname, '..', 'fixtures', 'rules');
const MINIMAL_FILE = join(FIXTURES, 'valid', 'minimal.yaml');
const MINIMAL = readFileSync(MINIMAL_FILE, 'utf8');
const SHIPPED_FILE = join(defaultRulesPath(), '2026-06-03.yaml');
const shipped = compileRules(readFileSync(SHIPPED_FILE, 'utf8'), 'x');
const SHIPPED_VERSION = shipped.ok ? shipped.rules.version : 'does not compile';

const scratch = mkdtempSync(join(tmpdir(), 'rules-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function credits(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'credits', ...args], {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

describe('credits rules validate', () => {
  it('accepts the shipped rules by default', async () => {
    const shownPath = relative(process.cwd(), SHIPPED_FILE);
    expect(await credits('rules', 'validate')).toEqual({
      code: 0,
      stdout: `valid: ${shownPath} (version ${SHIPPED_VERSION}, in force from 2026-06-03T00:00:00.000Z)\n1 rules version checked, no problems\n`,
      stderr: '',
    });
  });

  it('lists every problem of an invalid file on stderr and exits 1', async () => {
    const file = join(FIXTURES, 'broken', 'several-errors.yaml');
    const run = await credits('rules', 'validate', file);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toBe(`${file}:14:14 out-of-range: userCap of plan "growth" must be at least 1, got 0`);
    expect(lines[4]).toBe(`${file}:45:17 tier-order: tier-2 costs less than tier-1 (15.00 vs 20.00 USD); tiers must get dearer down the list`);
    expect(lines[6]).toBe('6 problems found');
  });

  it('warns, still exit 0, when a later version drops a plan or tier the earlier one had', async () => {
    const dir = join(scratch, 'dropping');
    mkdirSync(dir);
    writeFileSync(join(dir, '2026-06-03.yaml'), MINIMAL);
    const later = MINIMAL.replace('2026-06-03T00:00:00Z', '2026-07-01T00:00:00Z').replace('  - id: tier-3\n    name: Tier 3\n    priceCents: 10000\n    credits: 7000\n', '');
    expect(later).not.toContain('tier-3');
    writeFileSync(join(dir, '2026-07-01.yaml'), later);
    const run = await credits('rules', 'validate', dir);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('warning: '))).toEqual([
      `warning: ${join(dir, '2026-07-01.yaml')}: drops tier "tier-3" of ${join(dir, '2026-06-03.yaml')}: accounts on it (trials converting included) keep version ${lines[0]?.match(/version (\S+),/)?.[1] ?? '?'} at every reset, and get none of the later versions' prices or promotions; keep the tier or move those accounts first`,
    ]);
    expect(lines.at(-1)).toBe('2 rules versions checked, no problems, 1 warning');
  });

  it.each([
    [1, 'never get it'],
    // Granted at the next cycle start, still inside the window, expiring with it (the engine's grantOpenPromotions).
    [2, 'get it late, at their first cycle starting on or after then, usable only for what is left of its 2 cycles (and never if those are over by then)'],
  ])('warns when a version brings a promotion that starts before the version takes effect (%i cycles), not for one carried over', async (cycles, missed) => {
    const dir = join(scratch, `early-promotion-${cycles}`);
    mkdirSync(dir);
    writeFileSync(join(dir, '2026-06-03.yaml'), MINIMAL);
    // July keeps June's promotion (dated June: carried, fine) and brings one dated June 20.
    const july = MINIMAL.replace('2026-06-03T00:00:00Z', '2026-07-01T00:00:00Z').replace(
      'promotions:\n',
      `promotions:\n  - id: summer\n    name: Summer\n    credits: 500\n    eligibleTag: summer\n    startsOn: 2026-06-20\n    validForCycles: ${cycles}\n`,
    );
    writeFileSync(join(dir, '2026-07-01.yaml'), july);
    const run = await credits('rules', 'validate', dir);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('warning: '))).toEqual([
      `warning: ${join(dir, '2026-07-01.yaml')}: promotion "summer" starts on 2026-06-20, before this version takes effect (2026-07-01T00:00:00.000Z): accounts whose first cycle on or after 2026-06-20 starts before then ${missed}; start it on or after the version's date`,
    ]);
  });

  it('does not warn about a promotion of the first version dated before it: cycles starting before it are priced with it', async () => {
    const file = join(scratch, 'first-version-early-promotion.yaml');
    writeFileSync(file, MINIMAL.replace('startsOn: 2026-06-03', 'startsOn: 2026-05-20'));
    const run = await credits('rules', 'validate', file);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').at(-2)).toBe('1 rules version checked, no problems');
  });

  const NAME = ['id: beta\n', 'id: beta-thanks\n', 'the same name, "Beta thank-you"'] as const;
  const START_AND_TAG = ['id: beta\n    name: Beta thank-you\n', 'id: beta-thanks\n    name: Beta thanks\n', 'the same start (2026-06-03) and tag ("chloe-beta")'] as const;
  it.each([
    ['its name', 'the version before', ...NAME],
    ['its start and tag', 'the version before', ...START_AND_TAG],
    // Dropped in July, back in August: accounts remember June's id all the same.
    ['its name', 'a version before that one, which dropped it', ...NAME],
    ['its start and tag', 'a version before that one, which dropped it', ...START_AND_TAG],
  ])('warns when a version renames a promotion, keeping %s, of %s: accounts already granted it would be granted it again', async (what, of, from, to, same) => {
    const dropped = of !== 'the version before';
    const dir = join(scratch, `renamed-promotion-${what.replace(/\W+/g, '-')}${dropped ? '-dropped' : ''}`);
    mkdirSync(dir);
    writeFileSync(join(dir, '2026-06-03.yaml'), MINIMAL);
    if (dropped) {
      const july = MINIMAL.replace('2026-06-03T00:00:00Z', '2026-07-01T00:00:00Z').replace(/^promotions:\n(?: {2}.*\n)+/m, '');
      expect(july).not.toContain('beta');
      writeFileSync(join(dir, '2026-07-01.yaml'), july);
    }
    const date = dropped ? '2026-08-01' : '2026-07-01';
    const renamed = MINIMAL.replace('2026-06-03T00:00:00Z', `${date}T00:00:00Z`).replace(from, to);
    expect(renamed).not.toContain('id: beta\n');
    writeFileSync(join(dir, `${date}.yaml`), renamed);
    const run = await credits('rules', 'validate', dir);
    expect(run.code).toBe(0);
    // Only this warning: not that accounts "never get it" (they had it under its old id).
    expect(run.stdout.split('\n').filter((l) => l.startsWith('warning: '))).toEqual([
      `warning: ${join(dir, `${date}.yaml`)}: promotion "beta-thanks" replaces "beta" of ${join(dir, '2026-06-03.yaml')} (${same}): promotions are granted once per id, ` +
        'so accounts already granted "beta" are granted "beta-thanks" as well (100000 credits again); keep the id "beta" to change that promotion',
    ]);
  });

  it('exits 1 for a directory with a rules entry it cannot read (a rollout that would never happen), not "no problems"', async () => {
    const dir = join(scratch, 'dangling');
    mkdirSync(dir);
    writeFileSync(join(dir, '2026-06-03.yaml'), MINIMAL);
    symlinkSync(join(scratch, 'not-deployed', '2026-07-01.yaml'), join(dir, '2026-07-01.yaml'));
    expect(await credits('rules', 'validate', dir)).toEqual({
      code: 1,
      stdout: '',
      stderr: `${join(dir, '2026-07-01.yaml')}:1:1 not-found: it is a symbolic link to ${join(scratch, 'not-deployed', '2026-07-01.yaml')}, which does not exist\n1 problem found\n`,
    });
  });

  it('names a missing path without a stack trace', async () => {
    const missing = join(scratch, 'nope.yaml');
    expect(await credits('rules', 'validate', missing)).toEqual({
      code: 1,
      stdout: '',
      stderr: `${missing}:1:1 not-found: no such file or directory\n1 problem found\n`,
    });
  });
});

describe('credits rules explain', () => {
  it("prints the version in force with the help page's tables", async () => {
    // Wide enough that no table wraps: the rows are asserted one line each.
    const run = await credits('rules', 'explain', '--at', '2026-06-03', '--width', '300');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual([
      `Rules version ${SHIPPED_VERSION}`,
      'In force from 2026-06-03T00:00:00.000Z (the version in force at 2026-06-03T00:00:00.000Z)',
    ]);
    const plansAt = lines.indexOf('Included credits by plan (per cycle, pooled per account)');
    expect(lines.slice(plansAt + 1, plansAt + 6)).toEqual([
      '  Plan                           Id          Credits per user       Cap  Max credits',
      '  Solo / Base / Starter          solo                     500    1 user          500',
      '  Essentials / Startup / Basic   essentials             1,000  10 users       10,000',
      '  Growth / Professional          growth                 1,500  10 users       15,000',
      '  Scale / Enterprise / Business  scale                  2,000  10 users       20,000',
    ]);
    const tiersAt = lines.indexOf('AI Credit Subscription tiers');
    expect(lines.slice(tiersAt + 1, tiersAt + 4)).toEqual([
      '  Tier     Id       Monthly price  Credits included  $/credit',
      '  Tier 1   tier-1             $20             1,200   $0.0167',
      '  Tier 2   tier-2             $50             3,200   $0.0156',
    ]);
    expect(lines[tiersAt + 18]).toBe('  Tier 17  tier-17        $10,000         1,000,000   $0.0100');
    expect(run.stdout).toContain('  1,000 credits, fixed (not per user); unused trial credits do not roll over');
    expect(run.stdout).toMatch(/ {2}Lead Summaries +lead-summaries +free +Growth and above +- +no +AI-generated summaries of lead activity\n/);
    expect(run.stdout).toMatch(/ {2}Chloe Voice Agents +voice-agent +credits +All +20 per minute, rounded up +no +/);
    expect(run.stdout).toMatch(/ {2}Enrichment +enrichment +credits +All +1 per field, rounded up +yes +/);
    expect(run.stdout).toMatch(/ {2}SMS +sms +telephony +All +telephony rates +no +/);
    expect(run.stdout).toMatch(/ {2}Chloe beta thank-you +chloe-beta-2026 +100,000 +chloe-beta +2026-06-03 +2 cycles\n/);
    expect(run.stdout).toContain(
      "  Warning: 75% or more of the cycle's credits used and on pace to run out before the billing cycle resets\n",
    );
  });

  it.each([80, 120])('fits every line in %i columns, wrapping wide tables', async (width) => {
    const run = await credits('rules', 'explain', '--at', '2026-06-03', '--width', String(width));
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.filter((line) => [...line].length > width)).toEqual([]);
    // Nothing is lost to the wrapping: every feature id and note word is still there.
    for (const id of ['voice-agent', 'email-thread-summaries', 'auto-updates', 'chloe-beta-2026']) expect(run.stdout).toContain(id);
    expect(run.stdout.replace(/\s+/g, ' ')).toContain('minutes also billed as telephony');
  });

  it('fits 100 columns when stdout is not a terminal, and refuses a width under 40 (exit 2)', async () => {
    const run = await credits('rules', 'explain', '--at', '2026-06-03');
    expect(run.stdout.split('\n').filter((line) => [...line].length > 100)).toEqual([]);
    expect(run.stdout.split('\n').some((line) => [...line].length > 90)).toBe(true);
    const narrow = await credits('rules', 'explain', '--width', '20');
    expect(narrow.code).toBe(2);
    expect(narrow.stderr).toMatch(/--width.*expected a whole number of at least 40/);
  });

  it('prints the compiled rules as JSON with --json', async () => {
    const run = await credits('rules', 'explain', '--json', '--at', '2026-07-01T12:00:00Z');
    expect(run.code).toBe(0);
    expect(shipped.ok && JSON.parse(run.stdout)).toEqual(shipped.ok && { ...shipped.rules, source: relative(process.cwd(), SHIPPED_FILE) });
  });

  it('explains the earliest version before any is in force, as the engine prices such cycles with it', async () => {
    const run = await credits('rules', 'explain', '--at', '2026-06-02T23:59:59.999Z');
    expect(run.code).toBe(0);
    // Prose wraps at the output's width.
    expect(run.stdout.replace(/\s+/g, ' ')).toContain('no version is in force yet at 2026-06-02T23:59:59.999Z: the earliest version, which prices accounts whose cycle began before it');
    const json = await credits('rules', 'explain', '--json', '--at', '2020-01-01');
    expect(shipped.ok && (JSON.parse(json.stdout) as { version: string }).version).toBe(shipped.ok && shipped.rules.version);
  });

  it('exits 2 for an unreadable --at', async () => {
    expect(await credits('rules', 'explain', '--at', 'tomorrow')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'credits: --at "tomorrow" is not a date or instant; write 2026-06-03 or 2026-06-03T00:00:00Z\n',
    });
  });
});

describe('credits rules diff', () => {
  it('says in words what changes for customers', async () => {
    const newer = join(scratch, 'newer.yaml');
    writeFileSync(
      newer,
      MINIMAL.replace('2026-06-03T00:00:00Z', '2026-07-01T00:00:00Z')
        .replace('    priceCents: 10000\n', '    priceCents: 10500\n')
        .replace('    userCap: 10\n', '    userCap: 12\n'),
    );
    const run = await credits('rules', 'diff', MINIMAL_FILE, newer);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').slice(1)).toEqual([
      '  in force from 2026-06-03T00:00:00.000Z -> 2026-07-01T00:00:00.000Z',
      '  - growth cap 10 -> 12 users',
      '  - growth max credits 15,000 -> 18,000',
      '  - tier-3 price 100.00 -> 105.00 USD',
      '',
    ]);
    expect(run.stdout.split('\n')[0]).toMatch(/^From 2026-06-03\.[0-9a-f]{12} \(.*minimal\.yaml\) to 2026-07-01\.[0-9a-f]{12} \(.*newer\.yaml\):$/);
  });

  it('says so when nothing a customer would notice changes', async () => {
    const reworded = join(scratch, 'reworded.yaml');
    writeFileSync(reworded, `# only a comment changed\n${MINIMAL}`);
    const run = await credits('rules', 'diff', MINIMAL_FILE, reworded);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').slice(1)).toEqual(['  nothing a customer would notice changes', '']);
  });

  it('exits 1 with the diagnostics when either side is invalid', async () => {
    const run = await credits('rules', 'diff', MINIMAL_FILE, join(FIXTURES, 'broken', 'tier-rate.yaml'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/tier-rate\.yaml:46:5 tier-rate: /);
    // Both sides broken: the problems of both, in one run.
    const both = await credits('rules', 'diff', join(FIXTURES, 'broken', 'yaml-version.yaml'), join(FIXTURES, 'broken', 'tier-rate.yaml'));
    expect(both.code).toBe(1);
    expect(both.stderr.split('\n').filter((line) => / (yaml-version|tier-rate): /.test(line)).map((line) => line.split(' ')[1])).toEqual(['tier-rate:', 'yaml-version:']);
    expect(both.stderr).toMatch(/\n2 problems found\n$/);
  });
});

describe('the command line itself', () => {
  it.each([
    [['rules', 'bogus'], "credits: unknown command 'bogus' (see --help)\n"],
    [['rules', 'valdate'], "credits: unknown command 'valdate'; Did you mean validate? (see --help)\n"],
    [['rules', 'validate', '--strict'], "credits: unknown option '--strict' (see --help)\n"],
    [['rules', 'diff', 'only-one.yaml'], "credits: missing required argument 'new' (see --help)\n"],
    [['rules', 'validate', 'a', 'b'], "credits: too many arguments for 'validate'. Expected 1 argument but got 2. (see --help)\n"],
    // One value given twice: commander would keep the last without a word.
    [['account', 'start', 'x', '--plan', 'growth', '--users', '10', '--plan', 'scale'], 'credits: option \'--plan\' given twice ("growth", then "scale"): give it once (see --help)\n'],
    [['rules', 'explain', '--width', '80', '--width', '120'], 'credits: option \'--width\' given twice ("80", then "120"): give it once (see --help)\n'],
  ])('exits 2 for %j with one line saying what is wrong, as every other error', async (args, message) => {
    const run = await credits(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(message);
  });

  it('exits 2 with the usage when no command is given', async () => {
    const run = await credits();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: credits [options] [command]');
  });

  it('prints help on request and exits 0', async () => {
    const run = await credits('rules', '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: credits rules [options] [command]');
    expect(run.stdout).toContain('validate [path]');
    expect(run.stdout).toContain('explain [options] [path]');
    expect(run.stdout).toContain('diff <old> <new>');
  });
});
