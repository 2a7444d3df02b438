/**
 * The real `credits` executable, as `npx credits` runs it: bin/credits.js loading the
 * compiled CLI from dist/ in a child process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/project-root';

const root = projectRoot();
const bin = join(root, 'bin', 'credits.js');

function runCredits(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  // test/global-setup.ts builds dist/ before the suite; build here only if run without it.
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: root,
      stdio: 'inherit',
    });
  }
});

describe('bin/credits.js', () => {
  it('explains the shipped rules from the compiled output', () => {
    const run = runCredits('rules', 'explain', '--at', '2026-06-03');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Rules version 2026-06-03\.[0-9a-f]{12}\n/);
    expect(run.stdout).toContain('  Tier 5   tier-5            $200            16,000   $0.0125\n');
  });

  it('exits 1 on invalid rules and prints diagnostics, not a stack trace', () => {
    const file = join('test', 'fixtures', 'rules', 'broken', 'tier-order-price.yaml');
    const run = runCredits('rules', 'validate', file);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')[0]).toBe(
      `${file}:44:17 tier-order: tier-2 costs less than tier-1 (15.00 vs 20.00 USD); tiers must get dearer down the list`,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on a usage error, and 0 for help asked for as a command', () => {
    expect(runCredits('rules', 'frobnicate').status).toBe(2);
    expect(runCredits('help').status).toBe(0);
    const help = runCredits('help', 'rules');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: credits rules /);
  });

  it('ends quietly when its reader goes away, and in one line when the output cannot be written', () => {
    // `| true` closes the pipe at once: the writes that follow fail with EPIPE.
    const piped = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${bin}" rules explain --json | true`], { cwd: root, encoding: 'utf8' });
    expect(piped.stderr).toBe('');
    expect(piped.status).toBe(0);
    const full = spawnSync('bash', ['-c', `"${process.execPath}" "${bin}" rules explain --json > /dev/full`], { cwd: root, encoding: 'utf8' });
    expect(full.stderr).toBe('credits: cannot write the output: ENOSPC\n');
    expect(full.status).toBe(1);
  });

  it('never hands the terminal an escape sequence from the command line it quotes back', () => {
    const run = runCredits('account', 'users', 'acme', 'x\u001b]0;pwned\u0007\u001b[31mred\u202e');
    expect(run.status).toBe(2);
    expect([...run.stderr].filter((c) => (c < ' ' && c !== '\n') || c === '\u202e')).toEqual([]);
    expect(run.stderr).toContain("'x\\u001b]0;pwned\\u0007\\u001b[31mred\\u202e'");
  });

  it('counts every problem of a file, those not shown included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-bin-'));
    const file = join(dir, 'many.yaml');
    const minimal = readFileSync(join(root, 'test', 'fixtures', 'rules', 'valid', 'minimal.yaml'), 'utf8');
    writeFileSync(file, `${minimal}${Array.from({ length: 123 }, (_, i) => `extra${i}: 1`).join('\n')}\n`);
    const run = runCredits('rules', 'validate', file);
    rmSync(dir, { recursive: true, force: true });
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(/ too-many-errors: 23 more problems not shown; fix the ones above first$/);
    expect(lines.at(-1)).toBe('123 problems found');
  });
});
