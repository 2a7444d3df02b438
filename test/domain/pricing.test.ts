import { describe, expect, it } from 'vitest';
import { creditsForQuantity, isValidQuantity } from '../../domain/pricing';
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
});
