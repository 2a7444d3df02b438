/**
 * `credits account list --plan/--tier` resolved against the rules as every other command
 * resolves a plan or tier (id, name or alias, any case), before anything is sent: the search
 * attributes hold ids, so a filter as typed (`Professional`, `TIER-5`) matched no account. An
 * unknown plan or tier is a usage error listing the known ones. No server needed.
 */
import { describe, expect, it } from 'vitest';
import { resolvedFilters } from '../../cli/account-list';
import { CliFailure, EXIT_CODES } from '../../cli/io';
import { main } from '../../cli/main';
import { defaultRulesPath, loadRuleSet } from '../../ruleset';

const shipped = loadRuleSet(defaultRulesPath());
const TIERS = Array.from({ length: 17 }, (_, i) => `tier-${i + 1}`).join(', ');

/** Runs `credits ...args` with no Temporal to reach: a filter refused before connecting is all it can do. */
async function offline(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: (text: string) => void (stdout += text),
    stderr: (text: string) => void (stderr += text),
    credits: { env: { TEMPORAL_ADDRESS: '127.0.0.1:1', ...env } },
  };
  const code = await main(['node', 'credits', ...args], io);
  return { code, stdout, stderr };
}

describe('account list plan and tier filters', () => {
  it.each([
    ['growth', 'growth'],
    ['GROWTH', 'growth'],
    ['Professional', 'growth'],
    [' enterprise ', 'scale'],
  ])('reads --plan %j as the plan id %s', (given, id) => {
    expect(resolvedFilters({ plan: given, tag: 'vip' }, shipped)).toEqual({ plan: id, tag: 'vip' });
  });

  it('reads --tier in any case as the tier id, and leaves other filters alone', () => {
    expect(resolvedFilters({ tier: 'TIER-5', alert: 'ok' }, shipped)).toEqual({ tier: 'tier-5', alert: 'ok' });
    expect(resolvedFilters({ trial: true }, shipped)).toEqual({ trial: true });
  });

  it('refuses an unknown plan or tier as a usage error listing the known ones', () => {
    const refusal = (filters: Parameters<typeof resolvedFilters>[0]) => {
      try {
        resolvedFilters(filters, shipped);
      } catch (err) {
        return err instanceof CliFailure ? [err.exitCode, err.message] : err;
      }
      return undefined;
    };
    expect(refusal({ plan: 'platinum' })).toEqual([
      EXIT_CODES.usage,
      '--plan "platinum" is no plan of the rules (known: solo, essentials, growth, scale, or a plan\'s name or alias, in any case)',
    ]);
    expect(refusal({ tier: 'bogus' })).toEqual([EXIT_CODES.usage, `--tier "bogus" is no tier of the rules (known: ${TIERS})`]);
  });

  it('refuses them before connecting (exit 2), and reads the rules CREDITS_RULES names', async () => {
    expect(await offline(['account', 'list', '--tier', 'bogus'])).toEqual({ code: 2, stdout: '', stderr: `credits: --tier "bogus" is no tier of the rules (known: ${TIERS})\n` });
    expect((await offline(['account', 'list', '--plan', 'Platinum'])).stderr).toMatch(/^credits: --plan "Platinum" is no plan of the rules \(known: solo, essentials, growth, scale, /);
    const missing = await offline(['account', 'list', '--plan', 'growth'], { CREDITS_RULES: '/nonexistent/rules.yaml' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^credits: cannot resolve --plan or --tier: the rules \(CREDITS_RULES, else rules\/\) cannot be read: .*\n$/);
  });
});
