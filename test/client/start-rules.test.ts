/**
 * The client's check of a start against the rules (unit): the version the worker would pick,
 * the workflow's own messages, and no check at all when the rules cannot be read.
 */
import { describe, expect, it } from 'vitest';
import { startRulesCheck } from '../../client/start-rules';
import { defaultRulesPath, loadRuleSet, rulesForCycleStart } from '../../ruleset';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const START = { accountId: 'a', plan: 'growth', users: 2, cycleAnchor: '2026-06-03T00:00:00Z' };

describe('startRulesCheck', () => {
  const check = startRulesCheck(defaultRulesPath());

  it('lets a known plan and tier through, and refuses unknown ones with the workflow message', () => {
    expect(check({ ...START, creditTier: 'tier-3' }, NOW)).toBeUndefined();
    expect(check({ ...START, plan: 'Professional' }, NOW)).toBeUndefined();
    expect(check({ ...START, plan: 'gold' }, NOW)).toEqual({
      code: 'InvalidStartInput',
      message: 'unknown plan "gold" (known: solo, essentials, growth, scale)',
    });
    expect(check({ ...START, creditTier: 'tier-99' }, NOW)?.message).toMatch(/^unknown credit tier "tier-99"/);
  });

  it('checks nothing when the rules cannot be read (the worker still checks)', () => {
    expect(startRulesCheck('/nonexistent/rules')({ ...START, plan: 'gold' }, NOW)).toBeUndefined();
  });

  it('picks the earliest version for a cycle that began before any version', () => {
    const set = loadRuleSet(defaultRulesPath());
    expect(rulesForCycleStart(set, '2020-01-01T00:00:00Z')).toBe(set.earliest);
    expect(rulesForCycleStart(set, '2026-07-01T00:00:00Z')).toBe(set.at('2026-07-01T00:00:00Z'));
  });
});
