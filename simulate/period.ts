/**
 * Which billing cycles a simulation covers. A cycle belongs to the period by its start, so its
 * whole story (its grants, its usage and the credits that lapse at its end) is counted together.
 */
import { cycleAt } from '../domain/calendar';

/** The cycles simulated: those starting in `[from, to)`, or each account's last complete ones. */
export type Period =
  | { kind: 'dates'; fromMs: number; toMs: number }
  | { kind: 'lastCycles'; count: number; nowMs: number };

/** The default period: each account's last three complete cycles before `nowMs`. */
export function lastCompleteCycles(nowMs: number, count = 3): Period {
  return { kind: 'lastCycles', count, nowMs };
}

/**
 * Whether the cycle `index` of a calendar anchored at `anchor` (where `anchorIndex` is the
 * cycle starting at the anchor) belongs to the period.
 */
export function periodContains(period: Period, anchor: string, anchorIndex: number, index: number): boolean {
  const window = cycleAt(anchor, index - anchorIndex);
  if (period.kind === 'dates') {
    const start = Date.parse(window.start);
    return start >= period.fromMs && start < period.toMs;
  }
  // Among the last `count` complete cycles: it has ended, and the `count`-th after it has not.
  const later = cycleAt(anchor, index - anchorIndex + period.count);
  return Date.parse(window.end) <= period.nowMs && Date.parse(later.end) > period.nowMs;
}

/** The period as readable text. */
export function describePeriod(period: Period): string {
  if (period.kind === 'lastCycles') return `each account's last ${period.count} complete cycles before ${new Date(period.nowMs).toISOString()}`;
  return `cycles starting from ${new Date(period.fromMs).toISOString()} to ${new Date(period.toMs).toISOString()}`;
}
