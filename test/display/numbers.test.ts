/**
 * The $/credit column of `rules explain`: the real per-credit rate, not the help page's rounding.
 */
import { describe, expect, it } from 'vitest';
import { creditRateUnits, formatCreditRate } from '../../display';

describe('formatCreditRate', () => {
  it.each([
    // The audit's odd-cent prices: the page's rounding showed $0.0170 and $0.0130.
    [1999, 1200, 'USD', '$0.0167'],
    [20000, 16000, 'USD', '$0.0125'],
    [5001, 3201, 'USD', '$0.0156'],
    [10050, 7000, 'USD', '$0.0144'],
    // Half a ten-thousandth rounds up: $0.015625 and $0.00005.
    [5000, 3200, 'USD', '$0.0156'],
    [1, 200, 'USD', '$0.0001'],
    [1, 201, 'USD', '<$0.0001'],
    [100000, 100000, 'USD', '$0.0100'],
    [1_000_000_000, 1, 'USD', '$10,000,000.0000'],
    [2000, 1200, 'EUR', '0.0167 EUR'],
  ])('%i cents for %i credits (%s) is %s a credit', (priceCents, credits, currency, shown) => {
    expect(formatCreditRate(priceCents, credits, currency)).toBe(shown);
  });

  it.each([
    [2000, 0],
    [20.5, 1200],
    [2000, 1.5],
  ])('refuses %d cents for %d credits', (priceCents, credits) => {
    expect(() => formatCreditRate(priceCents, credits, 'USD')).toThrow(RangeError);
  });

  it("gives the help page's rounding to three decimals when asked (the page's $0.0170 for Tier 1)", () => {
    expect(creditRateUnits(2000, 1200, 3)).toBe(17);
    expect(creditRateUnits(2000, 1200, 4)).toBe(167);
  });
});
