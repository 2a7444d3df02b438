/**
 * `credits account import`: reading CSV and YAML with row/line-numbered problems (unit), and
 * importing against the real workflow on the time-skipping server: bad rows are reported
 * while the good ones start, the tally adds up, a re-import skips running accounts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { barReporter, encodingProblem, readImportCsv, readImportFile, readImportYaml } from '../../cli/import-accounts';
import fc from 'fast-check';
import { CliFailure } from '../../cli/io';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { runCli } from '../client/cli-run';

const FIXTURES = join(__dirname, '../fixtures/import');
const EXAMPLES = join(__dirname, '../../examples');
const NOW = Date.parse('2026-11-24T12:00:00Z');

describe('reading import files', () => {
  it('reads CSV rows with their row and line numbers, keeping every malformed row as an error', () => {
    const rows = readImportFile(join(FIXTURES, 'accounts-with-errors.csv'), NOW);
    expect(rows.map((r) => [r.where, r.accountId, r.error])).toEqual([
      ['row 1 (line 2)', 'imp-growth', undefined],
      ['row 2 (line 3)', 'imp-bad-users', 'users: "eight" is not a whole number of users'],
      ['row 3 (line 4)', 'imp-unknown-plan', undefined],
      ['row 4 (line 5)', 'imp-bad-anchor', 'cycleAnchor: "2026-13-01" is not a date (2026-06-03) or a UTC instant (2026-06-03T00:00:00Z)'],
      ['row 5 (line 6)', undefined, 'Invalid Record Length: columns length is 8, got 2'],
      ['row 6 (line 7)', 'imp-trial', undefined],
    ]);
    expect(rows[0]?.input).toEqual({
      accountId: 'imp-growth',
      plan: 'growth',
      users: 8,
      cycleAnchor: '2026-05-03T00:00:00Z',
      creditTier: 'tier-3',
      admins: ['ops@growth.test'],
    });
    expect(rows[5]?.input).toEqual({
      accountId: 'imp-trial',
      plan: 'essentials',
      users: 3,
      trial: true,
      cycleAnchor: '2026-06-10T09:30:00Z',
      tags: ['trial', 'inbound'],
      admins: ['a@trial.test', 'b@trial.test'],
    });
  });

  it('reads YAML entries with their line numbers and checks them with the start validator', () => {
    const rows = readImportFile(join(FIXTURES, 'accounts-with-errors.yaml'), NOW);
    expect(rows.map((r) => [r.where, r.accountId, r.error])).toEqual([
      ['entry 1 (line 2)', 'yimp-scale', undefined],
      ['entry 2 (line 7)', 'yimp-bad-users', 'users must be a whole number from 1 to 1,000,000'],
      ['entry 3 (line 11)', 'yimp-unknown-plan', undefined],
      ['entry 4 (line 15)', 'yimp-bad-anchor', 'cycleAnchor: "yesterday" is not a date (2026-06-03) or a UTC instant (2026-06-03T00:00:00Z)'],
      ['entry 5 (line 19)', 'yimp-trial', undefined],
    ]);
    expect(rows[4]?.input).toMatchObject({ plan: 'Startup', trial: true, admins: ['owner@trial.test'] });
  });

  it('refuses a CSV header with unknown or missing columns before starting anything', () => {
    expect(() => readImportCsv('accountId,plan,userz\na,growth,1\n', NOW)).toThrow(CliFailure);
    expect(() => readImportCsv('accountId,plan,userz\na,growth,1\n', NOW)).toThrow(
      'the CSV header (line 1: accountId,plan,userz) has unknown column "userz", missing column "users"; expected: accountId,plan,users,trial,cycleAnchor,creditTier,tags,admins',
    );
  });

  it('refuses a CSV header that repeats a column, naming it and the header line, rather than keep one of its values', () => {
    // csv-parse keeps the later column's value: this account would start with 1 user, not 10.
    expect(() => readImportCsv('# accounts for ops\n\naccountId,plan,users,creditTier,users\r\ndup-users,scale,10,tier-3,1\r\n', NOW)).toThrow(
      'the CSV header (line 3: accountId,plan,users,creditTier,users) has repeated column "users" (fields 3 and 5: give each column once); expected: accountId,plan,users,trial,cycleAnchor,creditTier,tags,admins',
    );
    expect(() => readImportCsv('\uFEFFaccountId,accountId,plan,users,accountId\nd1,d2,growth,2,d3\n', NOW)).toThrow(
      /^the CSV header \(line 1: accountId,accountId,plan,users,accountId\) has repeated column "accountId" \(fields 1, 2 and 5: give each column once\); expected: /,
    );
  });

  it('reports anchors in the future, unknown YAML fields, and YAML that is not a list', () => {
    expect(readImportCsv('accountId,plan,users,cycleAnchor\nf,growth,1,2027-01-01\n', NOW)[0]?.error).toMatch(/cycleAnchor 2027-01-01T00:00:00Z is in the future/);
    expect(readImportYaml('- {accountId: a, plan: growth, users: 1, seats: 4}\n', NOW)[0]?.error).toMatch(/unknown field\(s\) seats/);
    expect(() => readImportYaml('accountId: a\n', NOW)).toThrow('the YAML must be a list of accounts');
    expect(() => readImportYaml('- [unclosed\n', NOW)).toThrow(/cannot read the YAML \(line \d+, column \d+\)/);
  });

  it('reports every problem of a row, each with its field, and keeps no input from it', () => {
    const csv = 'accountId,plan,users,trial,cycleAnchor,creditTier,tags,admins\n' + 'bad id!,growth,eight,maybe,2026-13-01,tier 3\u0000,chloe beta,not-an-address\n';
    const [row] = readImportCsv(csv, NOW);
    expect(row?.where).toBe('row 1 (line 2)');
    expect(row?.input).toBeUndefined();
    expect(row?.errors).toEqual([
      'users: "eight" is not a whole number of users',
      'trial: "maybe" is not true or false',
      'cycleAnchor: "2026-13-01" is not a date (2026-06-03) or a UTC instant (2026-06-03T00:00:00Z)',
      'accountId must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" or "-"',
      'creditTier must be a tier id such as "tier-3", or null',
      expect.stringMatching(/^tags\[0\] must be/),
      expect.stringMatching(/^admins\[0\] must be an e-mail address/),
    ]);
    expect(row?.error).toMatch(/^7 problems: users: "eight" is not a whole number of users; trial: "maybe" is not true or false; cycleAnchor: /);
    const yaml = readImportYaml('- {accountId: y, plan: growth, users: 0, trial: perhaps, seats: 4}\n', NOW);
    expect(yaml[0]?.errors).toEqual([
      'unknown field(s) seats (known: accountId, plan, users, trial, cycleAnchor, creditTier, tags, admins)',
      'trial: "perhaps" is not true or false',
      'users must be a whole number from 1 to 1,000,000',
    ]);
    expect(yaml[0]?.input).toBeUndefined();
  });

  it.each([
    ['007', '007'],
    ['1.10', '1.10'],
    ['12345678901234567890', '12345678901234567890'],
  ])('reads the YAML account id %s as written, not as a number', (written, id) => {
    const [row] = readImportYaml(`- {accountId: ${written}, plan: growth, users: 3, cycleAnchor: 2026-06-01, tags: [01, 1.0]}\n`, NOW);
    expect(row?.accountId).toBe(id);
    expect(row?.input).toMatchObject({ accountId: id, users: 3, tags: ['01', '1.0'] });
  });

  it('refuses YAML users written as hex or with an exponent, as the CSV does, and reads an alias as what it names', () => {
    for (const users of ['0x10', '1e3', '0o7']) {
      expect(readImportYaml(`- {accountId: a, plan: growth, users: ${users}}\n`, NOW)[0]?.error, users).toBe(`users: "${users}" is not a whole number of users`);
    }
    const aliased = readImportYaml('- {accountId: a, plan: growth, users: 1, tags: &common [vip, beta]}\n- {accountId: b, plan: growth, users: 1, tags: *common}\n', NOW);
    expect(aliased[1]?.input?.tags).toEqual(['vip', 'beta']);
  });

  it('refuses a list or mapping where one value belongs, rather than reading [3] as 3 or a mapping as "[object Object]"', () => {
    const rows = readImportYaml(
      '- {accountId: a, plan: [growth], users: [3]}\n- {accountId: b, plan: growth, users: 1, tags: {a: 1}}\n- {accountId: c, plan: growth, users: 1, admins: [[x@y.test]]}\n',
      NOW,
    );
    expect(rows.map((row) => row.errors)).toEqual([
      ['plan: a list where one value belongs', 'users: a list where one value belongs', expect.stringMatching(/^plan /)],
      ['tags: a mapping where a text or a list of texts belongs'],
      ['admins: a list where a text or a list of texts belongs'],
    ]);
    expect(rows.every((row) => row.input === undefined)).toBe(true);
  });

  it('says what is wrong with an empty CSV, a YAML of several documents, and an entry whose aliases expand too far', () => {
    expect(() => readImportCsv('', NOW)).toThrow('the CSV is empty: it needs a header row (accountId,plan,users,trial,cycleAnchor,creditTier,tags,admins) and a row per account');
    expect(() => readImportYaml('- {accountId: a, plan: growth, users: 1}\n---\n- {accountId: b, plan: growth, users: 1}\n', NOW)).toThrow(
      /^cannot read the YAML \(line 2, column 1\): it holds more than one YAML document \("---"\); put every account in one list$/,
    );
    const levels = ['x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 6; i++) levels.push(`x${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    const bomb = readImportYaml(`- accountId: a\n  plan: growth\n  users: 1\n  tags: &t [vip]\n${levels.map((l) => `  ${l}`).join('\n')}\n`, NOW);
    expect(bomb[0]?.error).toBe('its anchors and aliases expand to too much repeated content; write the values out');
  });

  it('refuses every row after the first for one account id, naming where the first is', () => {
    const csv = readImportCsv('accountId,plan,users,creditTier\nacme,growth,5,\nother,growth,1,\nacme,scale,9,tier-3\n', NOW);
    expect(csv.map((r) => [r.accountId, r.error])).toEqual([
      ['acme', undefined],
      ['other', undefined],
      ['acme', 'account acme is also on row 1 (line 2): an import starts each account once; merge the two'],
    ]);
    expect(csv[2]?.input).toBeUndefined();
    const yaml = readImportYaml('- {accountId: acme, plan: growth, users: 1}\n- {accountId: acme, plan: scale, users: 2}\n', NOW);
    expect(yaml[1]?.error).toBe('account acme is also on entry 1 (line 1): an import starts each account once; merge the two');
  });

  it('refuses a whole CSV with a misplaced quote, naming the line where it is, rather than swallow or misread the rows after it', () => {
    const refused = 'the rows after it would be misread or swallowed, so nothing was started: fix the quote and import again';
    const head = 'accountId,plan,users\n';
    // Unclosed: the reader ran to the end of the file, and uq-c and uq-d were never named.
    expect(() => readImportCsv(`${head}uq-a,growth,2\nuq-b,growth,"2\nuq-c,growth,4\nuq-d,growth,5\n`, NOW)).toThrow(
      `line 3: the quote that opens field 3 is not closed on that line (no start field spans lines); ${refused}`,
    );
    // Closed lines later: uq-c would be read as part of x's users.
    expect(() => readImportCsv(`${head}x,growth,"2\nuq-c,growth,"\ny,growth,3\n`, NOW)).toThrow(/^line 2: the quote that opens field 3 is not closed on that line /);
    // Stray: the reader resumed at a point of its own and swallowed sq-d.
    expect(() => readImportCsv(`${head}sq-a,gro"wth,2\nsq-b,growth,3\n"sq-c"x,growth,3\nsq-d,growth,3\n`, NOW)).toThrow(
      `line 2: a quote in the middle of field 2 (a quoted value must start with its quote, and a quote inside one is written ""); ${refused}`,
    );
    expect(() => readImportCsv(`${head}sq-b,growth,3\r\n"sq-c"x,growth,3\r\n`, NOW)).toThrow(`line 3: text after the closing quote of field 1; ${refused}`);
    expect(() => readImportCsv(`accountId,"plan,users\nq,growth,1\n`, NOW)).toThrow(/^line 1: the quote that opens field 2 /);
  });

  it('reads well-placed quotes: doubled quotes inside, CRLF line ends, quotes in comment lines', () => {
    const csv = '\uFEFFaccountId,plan,"users",tags\r\n# a "comment\r\n"q1",growth,"2",""\r\nq2,growth,3,"vip"\r\n"q3","gro""wth",4,"a;""b"""';
    const rows = readImportCsv(csv, NOW);
    expect(rows.map((r) => [r.where, r.accountId, r.input?.users])).toEqual([
      ['row 1 (line 3)', 'q1', 2],
      ['row 2 (line 4)', 'q2', 3],
      ['row 3 (line 5)', 'q3', 4],
    ]);
    expect(rows[2]?.input).toMatchObject({ plan: 'gro"wth', tags: ['a', '"b"'] });
  });

  it('reads a YAML that starts with a byte order mark, with the same lines and columns in its errors', () => {
    const list = '- accountId: ybom\n  plan: growth\n  users: 2\n';
    expect(readImportYaml(`\uFEFF${list}`, NOW).map((r) => [r.where, r.accountId, r.error])).toEqual([['entry 1 (line 1)', 'ybom', undefined]]);
    expect(readImportYaml(`\uFEFFaccounts:\r\n  - {accountId: ybom2, plan: growth, users: 2}\r\n`, NOW)[0]?.where).toBe('entry 1 (line 2)');
    const broken = '- accountId: a\n  plan: [growth\n';
    expect(() => readImportYaml(`\uFEFF${broken}`, NOW)).toThrow(/^cannot read the YAML \(line \d+, column \d+\): /);
    let plain = '';
    try {
      readImportYaml(broken, NOW);
    } catch (err) {
      plain = (err as Error).message;
    }
    expect(() => readImportYaml(`\uFEFF${broken}`, NOW)).toThrow(plain);
  });

  it('refuses a UTF-16 file, one holding NUL bytes, or a Latin-1 one, saying to save it as UTF-8', () => {
    const dir = mkdtempSync(join(tmpdir(), 'credits-import-'));
    try {
      const csv = 'accountId,plan,users\r\nu16,growth,3\r\n';
      const save = 'save it as UTF-8 (in Excel: "CSV UTF-8"; in an editor: encoding UTF-8) and import again';
      const files: [string, Buffer, string][] = [
        ['le.csv', Buffer.from(`\uFEFF${csv}`, 'utf16le'), `the file is UTF-16 text (it starts with a UTF-16 byte order mark), not UTF-8: ${save}`],
        ['be.yaml', Buffer.from(`\uFEFF- {accountId: u16}\n`, 'utf16le').swap16(), 'the file is UTF-16 text (it starts with a UTF-16 byte order mark), not UTF-8'],
        ['no-mark.csv', Buffer.from(csv, 'utf16le'), `the file holds NUL bytes (the first on line 1), so it is not UTF-8 text (UTF-16, or not text at all): ${save}`],
        ['binary.csv', Buffer.concat([Buffer.from('accountId,plan,users\n'), Buffer.from([0, 0xff, 0xfe]), Buffer.from(',growth,2\n')]), 'the file holds NUL bytes (the first on line 2)'],
        // "José" in Windows-1252 on line 3: its é (0xE9) would be read as U+FFFD.
        ['latin1.csv', Buffer.from('accountId,plan,users,admins\nok-1,growth,2,\nok-2,growth,2,jos\xe9@example.com\n', 'latin1'), `line 3 holds bytes that are not UTF-8 text (a file saved as Windows-1252 or Latin-1?): ${save}`],
      ];
      // Well-formed UTF-8 beyond ASCII, and a byte order mark, are read.
      writeFileSync(join(dir, 'utf8.csv'), Buffer.from('\uFEFFaccountId,plan,users,admins\nok-3,growth,2,josé@exämple.com\n', 'utf8'));
      expect(readImportFile(join(dir, 'utf8.csv'), NOW)[0]?.input).toMatchObject({ admins: ['josé@exämple.com'] });
      for (const [name, bytes, message] of files) {
        writeFileSync(join(dir, name), bytes);
        expect(() => readImportFile(join(dir, name), NOW), name).toThrow(`${join(dir, name)}: ${message}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds bytes that are not UTF-8 exactly where a strict UTF-8 decoder does', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const wellFormed = (bytes: Uint8Array) => {
      try {
        strict.decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    // Bytes without NUL or a UTF-16 mark, weighted towards the multi-byte lead and follow bytes.
    const byte = fc.oneof(fc.integer({ min: 1, max: 0x7f }), fc.integer({ min: 0x80, max: 0xff }), fc.constantFrom(0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0x80, 0xbf));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 12 }), (list) => {
        const bytes = Uint8Array.from([0x61, ...list]);
        expect(encodingProblem(bytes) === undefined).toBe(wellFormed(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('treats # as a comment only at the start of a CSV line', () => {
    const rows = readImportCsv('accountId,plan,users,tags,admins\n# a comment line\nvip-1,growth,2,vip#2,a#b@example.com\n', NOW);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.input).toMatchObject({ accountId: 'vip-1', tags: ['vip#2'], admins: ['a#b@example.com'] });
  });

  it('reads the example files as the same three good accounts', () => {
    const csv = readImportFile(join(EXAMPLES, 'accounts.csv'), NOW);
    const yaml = readImportFile(join(EXAMPLES, 'accounts.yaml'), NOW);
    expect(csv.map((r) => r.error)).toEqual([undefined, undefined, undefined]);
    expect(csv.map((r) => r.input)).toEqual(yaml.map((r) => r.input));
  });
});

describe('progress on a terminal', () => {
  it('draws a bar and logs skipped and failed rows above it', () => {
    let screen = '';
    const terminal = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          screen += chunk.toString();
          done();
        },
      }),
      { isTTY: true, columns: 100, rows: 30 },
    ) as unknown as NodeJS.WriteStream;
    const reporter = barReporter(3, terminal);
    reporter.row({ where: 'row 1 (line 2)', accountId: 'a' }, 'started', '');
    reporter.row({ where: 'row 2 (line 3)', accountId: 'b' }, 'skipped', 'already running');
    reporter.row({ where: 'row 3 (line 4)' }, 'failed', 'users: "x" is not a whole number of users');
    reporter.done();
    expect(screen).toContain('row 2 (line 3) b: skipped: already running\n');
    expect(screen).toContain('row 3 (line 4): failed: users: "x" is not a whole number of users\n');
    expect(screen).toMatch(/importing \[[^\]]+\] 3\/3 row 3 \(line 4\) failed/);
  });
});

describe('credits account import', () => {
  let suite: WorkflowSuite;
  beforeAll(async () => {
    suite = await workflowSuite();
  });
  afterAll(async () => {
    await suite?.teardown();
  });
  const credits = (...args: string[]) => runCli(args, suite.env.client, suite.taskQueue);

  it('starts the good CSV rows, reports each bad one with its row, and skips them all on re-import', async () => {
    const file = join(FIXTURES, 'accounts-with-errors.csv');
    const first = await credits('account', 'import', file);
    expect(first.code).toBe(1);
    expect(first.stdout.split('\n')).toEqual([
      'row 1 (line 2) imp-growth: started',
      'row 6 (line 7) imp-trial: started',
      `${file}: 6 rows: 2 started, 0 skipped (already running), 4 failed`,
      '',
    ]);
    expect(first.stderr.split('\n')).toEqual([
      'row 2 (line 3) imp-bad-users: failed: users: "eight" is not a whole number of users',
      'row 3 (line 4) imp-unknown-plan: failed: rejected: unknown plan "platinum" (known: solo, essentials, growth, scale) [InvalidStartInput]',
      'row 4 (line 5) imp-bad-anchor: failed: cycleAnchor: "2026-13-01" is not a date (2026-06-03) or a UTC instant (2026-06-03T00:00:00Z)',
      'row 5 (line 6): failed: Invalid Record Length: columns length is 8, got 2',
      'credits: 4 rows failed (listed above); fix them and import again: running accounts are skipped',
      '',
    ]);
    const growth = JSON.parse((await credits('account', 'show', 'imp-growth', '--json')).stdout);
    expect(growth).toMatchObject({ users: 8, tier: { id: 'tier-3' }, admins: ['ops@growth.test'] });
    expect(JSON.parse((await credits('account', 'show', 'imp-trial', '--json')).stdout)).toMatchObject({ trial: true, tags: ['trial', 'inbound'] });

    const again = await credits('account', 'import', file);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/row 1 \(line 2\) imp-growth: skipped: already running\n/);
    expect(again.stdout).toMatch(/row 6 \(line 7\) imp-trial: skipped: already running\n/);
    expect(again.stdout).toMatch(/6 rows: 0 started, 2 skipped \(already running\), 4 failed\n$/);
  });

  it('imports YAML the same way', async () => {
    const file = join(FIXTURES, 'accounts-with-errors.yaml');
    const run = await credits('account', 'import', file);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^entry 1 \(line 2\) yimp-scale: started\nentry 5 \(line 19\) yimp-trial: started\n/);
    expect(run.stdout).toMatch(/5 rows: 2 started, 0 skipped \(already running\), 3 failed\n$/);
    expect(run.stderr).toMatch(/^entry 2 \(line 7\) yimp-bad-users: failed: users must be a whole number from 1 to 1,000,000\n/);
    expect(run.stderr).toMatch(/entry 3 \(line 11\) yimp-unknown-plan: failed: rejected: unknown plan "gold"/);
    expect(run.stderr).toMatch(/entry 4 \(line 15\) yimp-bad-anchor: failed: cycleAnchor: "yesterday"/);
  });

  it('imports the examples cleanly (exit 0), then skips them from the other format', async () => {
    const yaml = await credits('account', 'import', join(EXAMPLES, 'accounts.yaml'));
    expect(yaml).toMatchObject({ code: 0, stderr: '' });
    expect(yaml.stdout).toMatch(/3 rows: 3 started, 0 skipped \(already running\), 0 failed\n$/);
    const csv = await credits('account', 'import', join(EXAMPLES, 'accounts.csv'));
    expect(csv).toMatchObject({ code: 0, stderr: '' });
    expect(csv.stdout).toMatch(/3 rows: 0 started, 3 skipped \(already running\), 0 failed\n$/);
  });

  it('says which file cannot be read, and refuses an unknown extension as a usage error', async () => {
    expect(await credits('account', 'import', join(FIXTURES, 'missing.csv'))).toMatchObject({ code: 1, stderr: expect.stringMatching(/cannot read .*missing\.csv: no such file/) });
    expect((await credits('account', 'import', join(FIXTURES, 'accounts.txt'))).code).toBe(2);
  });
});
