import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { creditsForMicros, creditsForQuantity, isValidQuantity } from '../../domain/pricing';
import type { FeatureCost } from '../../ruleset/types';

const cost = (credits: number, per: number, rounding: FeatureCost['rounding']): FeatureCost => ({
  credits,
  per,
  unit: 'minute',
  rounding,
});

describe('credits for a quantity', () => {
  it.each([
    [cost(20, 1, 'up'), 3, 60],
    [cost(20, 1, 'up'), 3.01, 61],
    [cost(100, 1, 'up'), 1.1, 110],
    [cost(1, 3, 'up'), 1, 1],
    [cost(1, 3, 'down'), 2, 0],
    [cost(1, 2, 'nearest'), 1, 1],
    [cost(1, 3, 'nearest'), 1, 0],
    [cost(2, 1, 'up'), 0.000001, 1],
    [cost(1, 1, 'up'), 1e9, 1e9],
  ])('%o x %d = %d credits', (c, quantity, credits) => {
    expect(creditsForQuantity(c, quantity)).toBe(credits);
  });

  it.each([
    [1, true],
    [0.5, true],
    [0, false],
    [-1, false],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
    [1e-7, false],
    ['3', false],
  ])('isValidQuantity(%s) is %s', (q, ok) => {
    expect(isValidQuantity(q)).toBe(ok);
  });

  it('agrees with exact BigInt arithmetic for any micro-units and cost, including where the float quotient rounds up', () => {
    /** The definition: micros x credits / (per x 1e6), rounded by the rule, in BigInt. */
    const reference = (c: FeatureCost, micros: number): number => {
      const n = BigInt(micros) * BigInt(c.credits);
      const d = BigInt(c.per) * 1_000_000n;
      const whole = n / d;
      const rest = n % d;
      if (rest === 0n || c.rounding === 'down') return Number(whole);
      if (c.rounding === 'up') return Number(whole + 1n);
      return Number(rest * 2n >= d ? whole + 1n : whole);
    };
    const anyCost = fc.record({
      credits: fc.integer({ min: 1, max: 1e9 }),
      per: fc.integer({ min: 1, max: 1e9 }),
      unit: fc.constant('unit'),
      rounding: fc.constantFrom('up' as const, 'down' as const, 'nearest' as const),
    });
    // Micro-units near a multiple of the denominator: the remainder is tiny or one short of it.
    const nearMultiple = fc.tuple(anyCost, fc.integer({ min: 0, max: 2 ** 20 }), fc.integer({ min: -3, max: 3 })).map(([c, k, nudge]) => {
      const micros = Math.max(0, Math.floor((k * c.per * 1_000_000) / c.credits) + nudge);
      return [c, micros] as const;
    });
    const anywhere = fc.tuple(anyCost, fc.integer({ min: 0, max: 1e15 }));
    fc.assert(
      fc.property(fc.oneof(nearMultiple, anywhere), ([c, micros]) => {
        if (reference(c, micros) > Number.MAX_SAFE_INTEGER) return;
        expect(creditsForMicros(c, micros)).toBe(reference(c, micros));
      }),
      { numRuns: 3000 },
    );
  });
});
