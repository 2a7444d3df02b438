/**
 * Instants as people read them: always in UTC, so an admin in any time zone sees the reset
 * date the billing system uses, and to the minute, which is all a billing date needs. Text
 * that is not an instant is shown as it is rather than failing the whole page or message.
 */

/** The ISO form of `instant` in UTC, or null when it is not an instant. */
function utcIso(instant: string): string | null {
  const ms = Date.parse(instant);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** `2026-07-03 00:00 UTC`. */
export function formatUtc(instant: string): string {
  const iso = utcIso(instant);
  return iso === null ? instant : `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** The UTC calendar date: `2026-07-03`. */
export function formatUtcDate(instant: string): string {
  return utcIso(instant)?.slice(0, 10) ?? instant;
}

/** The UTC time of day: `00:00 UTC`. */
export function formatUtcTime(instant: string): string {
  const iso = utcIso(instant);
  return iso === null ? instant : `${iso.slice(11, 16)} UTC`;
}
