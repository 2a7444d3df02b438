/**
 * Turning a usage quantity into whole credits. Quantities may be fractional (3.5 minutes), so
 * they are first fixed to integer micro-units; the cost is then computed in BigInt, which keeps
 * `1.1 * 100` from becoming 110.00000000000001 and rounding up to 111.
 */
import type { FeatureCost } from '../ruleset/types';

/** Decimal places a usage quantity may carry. */
export const QUANTITY_DECIMALS = 6;
const MICROS = 10 ** QUANTITY_DECIMALS;

/** A quantity as integer micro-units (1.5 -> 1_500_000). */
export function toMicros(quantity: number): number {
  return Math.round(quantity * MICROS);
}

/** Micro-units back to a number of units. */
export function fromMicros(micros: number): number {
  return micros / MICROS;
}

/**
 * Whether a quantity is usable: positive, finite and representable with six decimals
 * (a quantity that rounds to zero micro-units is refused rather than charged nothing).
 */
export function isValidQuantity(quantity: unknown): quantity is number {
  return typeof quantity === 'number' && Number.isFinite(quantity) && quantity > 0 && toMicros(quantity) > 0 && quantity <= 1e9;
}

/** Whole credits for `quantity` units at `cost`, rounded by the cost's rounding rule. */
export function creditsForQuantity(cost: FeatureCost, quantity: number): number {
  const numerator = BigInt(toMicros(quantity)) * BigInt(cost.credits);
  const denominator = BigInt(cost.per) * BigInt(MICROS);
  const whole = numerator / denominator;
  const rest = numerator % denominator;
  if (rest === 0n) return Number(whole);
  switch (cost.rounding) {
    case 'down':
      return Number(whole);
    case 'up':
      return Number(whole + 1n);
    case 'nearest':
      return Number(rest * 2n >= denominator ? whole + 1n : whole);
  }
}
