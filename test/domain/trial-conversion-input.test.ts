/**
 * The `changePlan` check's optional `cycleAnchor` (a trial conversion's CRM anchor): an
 * instant, only on a trial, not in the future, not before the trial started; every other
 * unknown field is still refused, and no refusal echoes raw input.
 */
import { describe, expect, it } from 'vitest';
import { checkChangePlan, checkUpdateArguments } from '../../domain/input-problems';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const NOW = Date.parse('2026-06-15T12:00:00.000Z');
const TRIAL_START = '2026-06-10T08:00:00.000Z';
const onTrial = { rules, nowMs: NOW, trialStartedAt: TRIAL_START };

describe('changePlan cycleAnchor', () => {
  it('takes an anchor between the trial start and now, in any UTC offset', () => {
    for (const cycleAnchor of [TRIAL_START, '2026-06-15T12:00:00Z', '2026-06-12T00:00:00+02:00', '2026-06-12T00:00:00.123Z']) {
      expect(checkChangePlan({ plan: 'growth', cycleAnchor }, onTrial), cycleAnchor).toBeUndefined();
    }
    expect(checkChangePlan({ plan: 'growth' }, onTrial)).toBeUndefined();
  });

  it.each([
    ['in the future', '2026-06-15T12:00:01Z', 'cycleAnchor 2026-06-15T12:00:01Z is in the future (now is 2026-06-15T12:00:00.000Z)'],
    ['before the trial started', '2026-06-10T07:59:59Z', 'cycleAnchor 2026-06-10T07:59:59Z is before the trial started (2026-06-10T08:00:00.000Z)'],
  ])('refuses an anchor %s', (_case, cycleAnchor, message) => {
    expect(checkChangePlan({ plan: 'growth', cycleAnchor }, onTrial)).toEqual({ code: 'InvalidInput', message });
  });

  it.each([['a date without a time', '2026-06-12'], ['Feb 30th', '2026-02-30T00:00:00Z'], ['a number', 1_750_000_000_000], ['null', null], ['a long string', 'x'.repeat(100_000)]])(
    'refuses %s as an anchor without echoing it',
    (_case, cycleAnchor) => {
      const found = checkChangePlan({ plan: 'growth', cycleAnchor }, onTrial);
      expect(found).toEqual({ code: 'InvalidInput', message: 'cycleAnchor must be an ISO-8601 UTC instant such as 2026-06-03T00:00:00Z' });
    },
  );

  it('refuses an anchor on a paid account: only a conversion takes one', () => {
    expect(checkChangePlan({ plan: 'scale', cycleAnchor: TRIAL_START }, { rules, nowMs: NOW, trialStartedAt: null })).toEqual({
      code: 'InvalidInput',
      message: 'cycleAnchor is taken only when a trial converts; this account is on a paid plan',
    });
  });

  it('checks the shape only without the account (the client, or before the account opened)', () => {
    expect(checkChangePlan({ plan: 'growth', cycleAnchor: '2099-01-01T00:00:00Z' }, {})).toBeUndefined();
    expect(checkChangePlan({ plan: 'growth', cycleAnchor: 'soon' }, {})?.code).toBe('InvalidInput');
  });

  it('still refuses any other field, and a second argument', () => {
    expect(checkChangePlan({ plan: 'growth', cycleAnchor: TRIAL_START, anchor: TRIAL_START }, onTrial)).toEqual({
      code: 'InvalidInput',
      message: 'changePlan: unknown field(s) "anchor" (known: plan, cycleAnchor)',
    });
    expect(checkUpdateArguments([{ plan: 'growth' }, { cycleAnchor: TRIAL_START }], checkChangePlan, onTrial)?.code).toBe('InvalidInput');
  });

  it('reports an unknown plan before the anchor', () => {
    expect(checkChangePlan({ plan: 'platinum', cycleAnchor: 'soon' }, onTrial)?.code).toBe('UnknownPlan');
  });
});
