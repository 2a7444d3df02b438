/**
 * Strict readers for the dates and instants that appear in rules files and on the command
 * line. `Date.parse` accepts far too much (and reads some forms as local time), so an
 * analyst's typo like 2026-02-30 would silently become March 2nd; these refuse it instead.
 * Instants follow the engine's own rule (domain/calendar), so rules and accounts agree.
 */
import { isIsoInstant } from '../domain/calendar';

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
