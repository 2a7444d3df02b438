/**
 * The real `credits` executable, as `npx credits` runs it: bin/credits.js loading the
 * compiled CLI from dist/ in a child process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
    expect(run.stdout).toContain('  Tier 5   tier-5            $200            16,000   $0.0130\n');
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

  it('exits 2 on a usage error', () => {
    expect(runCredits('rules', 'frobnicate').status).toBe(2);
  });
});
