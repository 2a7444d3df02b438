/**
 * Turning a usage quantity into whole credits, exactly. A quantity carries at most six
 * decimals; it is read as the decimal the caller wrote (the shortest text of the number, as
 * JSON prints it) and fixed to integer micro-units without any float multiplication, so 0.3
 * is 300,000 micro-units however `0.1 + 0.2` happens to be stored. The cost is then micro-units
 * × credits ÷ (per × 1,000,000) in BigInt, rounded by the cost's rule: `1.1 * 100` never
 * becomes 110.00000000000001 and rounds up to 111.
 *
 * Bounds (why the result is a safe integer): a quantity is at most 1e9 units here (1,000,000 at
 * the validators), so at most 1e15 micro-units; a cost's credits are at most 1e9 and its `per`
 * at least 1 (schema/rules.schema.json `count`), so one cost is at most 1e9 × 1e9 = 1e18 before
 * division, which BigInt holds, and at most 1e6 × 1e9 = 1e15 < 2^53 credits for a validated
 * usage. {@link creditsForMicros} still refuses a result past 2^53 rather than round it.
 */
import type { FeatureCost } from '../ruleset/types';

/** Decimal places a usage quantity may carry. */
export const QUANTITY_DECIMALS = 6;
const MICROS = 10 ** QUANTITY_DECIMALS;
/** The largest whole quantity whose micro-units are a safe integer. */
const MAX_SAFE_WHOLE = Math.floor(Number.MAX_SAFE_INTEGER / MICROS);
/** Largest quantity a usage may carry here (the validators' bounds are far lower). */
const MAX_QUANTITY = 1e9;
// Bound once: in the workflow sandbox each lookup of a global costs about 0.3 µs (see
// domain/digest.ts), and every usage event is priced.
const { isFinite: isFiniteNumber, isInteger, isSafeInteger, MAX_SAFE_INTEGER: MAX_SAFE } = Number;
const { floor } = Math;

/** The shortest decimal text of a finite non-negative number: digits, fraction, exponent. */
const DECIMAL_TEXT = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

/**
 * A quantity as exact integer micro-units (1.5 -> 1_500_000), or undefined when it has more
 * than six decimals, is negative, not finite, or has more micro-units than a safe integer.
 * Read from the number's shortest decimal text, so what a caller wrote is what is charged:
 * never rounded.
 */
export function exactMicros(quantity: number): number | undefined {
  if (!isFiniteNumber(quantity) || quantity < 0) return undefined;
  // Whole quantities (nearly all usage) need no decimal text: their micro-units are exact
  // whenever they stay below a safe integer.
  if (isInteger(quantity)) return quantity <= MAX_SAFE_WHOLE ? quantity * MICROS : undefined;
  const match = DECIMAL_TEXT.exec(String(quantity));
  if (!match) return undefined;
  const [, whole = '', fraction = '', exponent = '0'] = match;
  // The number is (whole.fraction digits) × 10^(exponent - fraction length); in micro-units
  // the power of ten grows by six, and a negative one means a seventh decimal or beyond.
  const power = Number(exponent) - fraction.length + QUANTITY_DECIMALS;
  if (power < 0) return undefined;
  const micros = BigInt(whole + fraction) * 10n ** BigInt(power);
  return micros <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(micros) : undefined;
}

/**
 * A quantity as integer micro-units. Throws a RangeError for one that {@link exactMicros}
 * refuses: callers pass validated quantities, and a number is never silently rounded. A
 * negative quantity (a void's reversal in the ledger) gives negative micro-units.
 */
export function toMicros(quantity: number): number {
  if (quantity < 0) return -toMicros(-quantity);
  const micros = exactMicros(quantity);
  if (micros === undefined) throw new RangeError(`quantity ${quantity} is not a whole number of micro-units (at most ${QUANTITY_DECIMALS} decimals)`);
  return micros;
}

/** Micro-units back to a number of units. */
export function fromMicros(micros: number): number {
  return micros / MICROS;
}

/**
 * Whether a quantity is usable: positive, finite, at most 1e9 and written with at most six
 * decimals (1e-7 or 0.1234567 are refused, never rounded to a neighbour).
 */
export function isValidQuantity(quantity: unknown): quantity is number {
  if (typeof quantity !== 'number') return false;
  const micros = exactMicros(quantity);
  return micros !== undefined && micros > 0 && quantity <= MAX_QUANTITY;
}

/** Whole credits for `micros` micro-units at `cost`, rounded by the cost's rule, in integers only. */
export function creditsForMicros(cost: FeatureCost, micros: number): number {
  const fast = creditsInSafeIntegers(cost, micros);
  if (fast !== undefined) return fast;
  const numerator = BigInt(micros) * BigInt(cost.credits);
  const denominator = BigInt(cost.per) * BigInt(MICROS);
  const whole = numerator / denominator;
  const rest = numerator % denominator;
  let credits = whole;
  if (rest !== 0n) {
    switch (cost.rounding) {
      case 'down':
        break;
      case 'up':
        credits = whole + 1n;
        break;
      case 'nearest':
        credits = rest * 2n >= denominator ? whole + 1n : whole;
        break;
    }
  }
  if (credits > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`a cost of ${credits} credits is past the safe-integer range`);
  return Number(credits);
}

/**
 * {@link creditsForMicros} in plain numbers, when every product stays a safe integer (nearly
 * all usage): the same integers, so the same result, without BigInt's allocations. Undefined
 * when a product could leave the safe range (BigInt then decides).
 */
function creditsInSafeIntegers(cost: FeatureCost, micros: number): number | undefined {
  const numerator = micros * cost.credits;
  const denominator = cost.per * MICROS;
  if (!isSafeInteger(micros) || !isSafeInteger(numerator) || !isSafeInteger(denominator) || numerator < 0 || denominator <= 0) return undefined;
  // Every intermediate below (whole × denominator, rest × 2) stays below numerator + denominator.
  if (numerator > MAX_SAFE - 2 * denominator) return undefined;
  // The quotient in floating point may round up to the next integer when the true one lies
  // just below it; the remainder then comes out negative, and one step back corrects it.
  let whole = floor(numerator / denominator);
  let rest = numerator - whole * denominator;
  if (rest < 0) {
    whole -= 1;
    rest += denominator;
  }
  if (rest === 0) return whole;
  switch (cost.rounding) {
    case 'down':
      return whole;
    case 'up':
      return whole + 1;
    case 'nearest':
      return rest * 2 >= denominator ? whole + 1 : whole;
  }
}

/** Whole credits for `quantity` units at `cost`, rounded by the cost's rule (see {@link creditsForMicros}). */
export function creditsForQuantity(cost: FeatureCost, quantity: number): number {
  return creditsForMicros(cost, toMicros(quantity));
}
