/**
 * Strict readers for the dates and instants that appear in rules files and on the command
 * line. `Date.parse` accepts far too much (and reads some forms as local time), so an
 * analyst's typo like 2026-02-30 would silently become March 2nd; these refuse it instead.
 * The instant check is the engine's one rule for instants: accounts, the ledger and rules
 * files all take it from here, so they agree.
 */

const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for an existing calendar date written `YYYY-MM-DD` (e.g. `2026-06-03`, not `2026-02-30`). */
export function isCalendarDate(text: string): boolean {
  const m = CALENDAR_DATE.exec(text);
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Reads an ISO-8601 instant with an explicit offset (`2026-06-03T00:00:00Z`,
 * `2026-06-03T02:00:00+02:00`); undefined for anything else, including impossible dates.
 */
export function parseInstant(text: string): Date | undefined {
  return isIsoInstant(text) ? new Date(text) : undefined;
}

/**
 * Reads what a person may type for "when": an ISO-8601 instant, or a bare calendar date
 * meaning midnight UTC of that day (billing dates in the help page are UTC calendar days).
 */
export function parseInstantOrDate(text: string): Date | undefined {
  const trimmed = text.trim();
  if (isCalendarDate(trimmed)) return new Date(`${trimmed}T00:00:00Z`);
  return parseInstant(trimmed);
}

/**
 * Whether a string is a UTC ISO-8601 instant this engine accepts: a full date and time with
 * `Z` or an explicit offset, that parses to a real instant (no Feb 30th, no hour 24, no
 * minute or second 60, no offset beyond 23:59).
 */
export function isIsoInstant(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/.exec(value);
  if (!m) return false;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return false;
  // An offset can carry 9999-12-31 past year 9999 in UTC, which ISO-8601 writes with six digits
  // and a sign: no instant the engine writes back (a version id, a ledger time) may take that shape.
  const utcYear = new Date(ms).getUTCFullYear();
  if (utcYear < 1 || utcYear > 9999) return false;
  const [, y, mo, d, hour, minute, second = '00', offsetHours = '00', offsetMinutes = '00'] = m;
  // Date.parse reads T24:00 as the next midnight; an instant written that way is a typo, not a time.
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return false;
  if (Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return false;
  // Date.parse rolls Feb 30th over into March; a real date has no such day.
  return Number(d) <= new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
}
