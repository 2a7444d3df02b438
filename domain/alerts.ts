/**
 * Low-credit alert projection. The seed's warning needs two things at once: at least 75% of
 * the cycle's credits used, and the burn rate so far projecting that the balance runs out
 * before the cycle resets. A heavy but steady user who will land just under the line gets no
 * warning; one who burned 75% in the first week does.
 */
import type { AlertRules } from '../ruleset/types';
import type { AlertState } from './wire-contract';

// Bound once: in the workflow sandbox each lookup of a global costs about 0.3 µs (see
// domain/digest.ts), and the run-out is projected at every credit-charging event.
const { max } = Math;

/** The numbers the projection reads. */
export interface BurnDown {
  /** Credits available to the cycle (carried in plus granted during it). */
  granted: number;
  /** Credits consumed this cycle. */
  used: number;
  /** Balance now (may be negative after a call ran past zero). */
  available: number;
  /** Epoch ms from which this cycle's burn rate is measured. */
  rateFromMs: number;
  /** Epoch ms at which the cycle resets. */
  cycleEndMs: number;
  /** Epoch ms now. */
  nowMs: number;
}

/** Alert state and the projected run-out instant. */
export interface AlertProjection {
  state: AlertState;
  /** When the balance reaches zero at the burn rate so far; null without usage or when already out. */
  projectedRunOutMs: number | null;
}

/**
 * When the balance reaches zero at the cycle's average burn rate so far. BigInt keeps the
 * product of credits and milliseconds exact.
 */
export function projectRunOut(b: BurnDown): number | null {
  if (b.used <= 0 || b.available <= 0) return null;
  const elapsed = max(0, b.nowMs - b.rateFromMs);
  // available / (used / elapsed) ms from now
  const ms = (BigInt(b.available) * BigInt(elapsed)) / BigInt(b.used);
  return b.nowMs + Number(ms);
}

/** The alert state the rules give these numbers. */
export function projectAlert(b: BurnDown, rules: AlertRules): AlertProjection {
  const projectedRunOutMs = projectRunOut(b);
  if (b.available <= rules.exhaustedAtBalance) return { state: 'exhausted', projectedRunOutMs: null };
  const usedEnough = b.granted > 0 && b.used * 100 >= rules.warningUsedPercent * b.granted;
  const runsOutFirst = projectedRunOutMs !== null && projectedRunOutMs < b.cycleEndMs;
  if (usedEnough && (!rules.warningRequiresProjectedRunOut || runsOutFirst)) {
    return { state: 'warning', projectedRunOutMs };
  }
  return { state: 'ok', projectedRunOutMs };
}
