import { describe, expect, it } from 'vitest';
import { projectAlert } from '../../domain/alerts';

const rules = { warningUsedPercent: 75, warningRequiresProjectedRunOut: true, exhaustedAtBalance: 0 };
const day = 86_400_000;
const start = Date.parse('2026-06-03T00:00:00.000Z');
const end = Date.parse('2026-07-03T00:00:00.000Z'); // 30 days

describe('alert projection', () => {
  it('warns at 75% used when the burn rate runs out before the reset', () => {
    // 750 of 1000 used in 10 days: 250 left lasts 3.3 more days, well before day 30.
    const p = projectAlert({ granted: 1000, used: 750, available: 250, rateFromMs: start, cycleEndMs: end, nowMs: start + 10 * day }, rules);
    expect(p.state).toBe('warning');
    expect(p.projectedRunOutMs).toBe(start + 10 * day + Math.floor((250 * 10 * day) / 750));
  });

  it('does not warn at 75% used when the pace lasts until the reset', () => {
    // 750 used in 29 days: 250 left lasts 9.7 more days, past the reset on day 30.
    const p = projectAlert({ granted: 1000, used: 750, available: 250, rateFromMs: start, cycleEndMs: end, nowMs: start + 29 * day }, rules);
    expect(p.state).toBe('ok');
  });

  it('does not warn below 75% however fast the burn', () => {
    expect(projectAlert({ granted: 1000, used: 749, available: 251, rateFromMs: start, cycleEndMs: end, nowMs: start + day }, rules).state).toBe('ok');
  });

  it('is exhausted at zero or below', () => {
    expect(projectAlert({ granted: 1000, used: 1000, available: 0, rateFromMs: start, cycleEndMs: end, nowMs: start + day }, rules).state).toBe('exhausted');
    expect(projectAlert({ granted: 1000, used: 1040, available: -40, rateFromMs: start, cycleEndMs: end, nowMs: start + day }, rules).state).toBe('exhausted');
  });

  it('warns on usage alone when the rules do not require the projection', () => {
    const p = projectAlert(
      { granted: 1000, used: 750, available: 250, rateFromMs: start, cycleEndMs: end, nowMs: start + 29 * day },
      { ...rules, warningRequiresProjectedRunOut: false },
    );
    expect(p.state).toBe('warning');
  });
});
