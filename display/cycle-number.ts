/**
 * Billing cycles as people count them. The engine indexes an account's cycles from 0 (the wire
 * contract's `cycle.index`, the carried state, the ledger's `cycle_index`), which people read
 * as "cycle 0": everything people see numbers them from 1 instead, and takes that number back
 * where they type one (`usage export --cycle`, the admin page's `?cycle=`).
 */

/** The number people see for a cycle index: the first cycle (index 0) is cycle 1. */
export function cycleNumber(index: number): number {
  return index + 1;
}

/** The cycle index of a number people typed (1 is index 0). */
export function cycleIndexOf(number: number): number {
  return number - 1;
}

/**
 * The largest cycle number anyone may type (nine digits: about 83 million years of monthly
 * cycles): past it a number is a slip, and the ledger's cycle column (a 32-bit integer) could
 * not be asked for it.
 */
export const MAX_CYCLE_NUMBER = 999_999_999;
