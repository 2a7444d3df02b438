/**
 * The billing-cycle calendar. Cycles reset on the anchor's day of month and time of day, in
 * UTC. An anchor on the 29th-31st falls on the last day of a shorter month and returns to its
 * own day afterwards (Jan 31 -> Feb 28 -> Mar 31), so each cycle start is computed from the
 * anchor, never from the previous start (which would drift to the 28th for ever).
 */

/** One billing cycle: `start` inclusive, `end` exclusive, both UTC ISO-8601. */
export interface CycleWindow {
  /** Cycles since the anchor: 0 is the cycle starting at the anchor. */
  offset: number;
  start: string;
  end: string;
}

/** An instant in epoch ms as the UTC ISO-8601 text the state, its effects and the ledger hold. */
export function iso(ms: number): string {
  // A batch's events share one time, and each writes it more than once: format it once.
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}
let lastIsoMs = NaN;
let lastIso = '';

function daysInMonth(year: number, monthIndex: number): number {
  return new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
}

/**
 * Start of the cycle `offset` months after the anchor (negative offsets go back), in epoch ms.
 */
export function cycleStartMs(anchor: string, offset: number): number {
  const a = new Date(anchor);
  const monthsFromEpochYear = a.getUTCFullYear() * 12 + a.getUTCMonth() + offset;
  const year = Math.floor(monthsFromEpochYear / 12);
  const month = monthsFromEpochYear - year * 12;
  const day = Math.min(a.getUTCDate(), daysInMonth(year, month));
  return Date.UTC(
    year,
    month,
    day,
    a.getUTCHours(),
    a.getUTCMinutes(),
    a.getUTCSeconds(),
    a.getUTCMilliseconds(),
  );
}

/** The cycle `offset` months after the anchor. */
export function cycleAt(anchor: string, offset: number): CycleWindow {
  return {
    offset,
    start: new Date(cycleStartMs(anchor, offset)).toISOString(),
    end: new Date(cycleStartMs(anchor, offset + 1)).toISOString(),
  };
}

/**
 * The cycle containing the instant `atMs`. Instants before the anchor belong to negative
 * offsets; callers that forbid them check the anchor first.
 */
export function cycleContaining(anchor: string, atMs: number): CycleWindow {
  const a = new Date(anchor);
  const at = new Date(atMs);
  let offset = (at.getUTCFullYear() - a.getUTCFullYear()) * 12 + (at.getUTCMonth() - a.getUTCMonth());
  while (cycleStartMs(anchor, offset) > atMs) offset -= 1;
  while (cycleStartMs(anchor, offset + 1) <= atMs) offset += 1;
  return cycleAt(anchor, offset);
}
