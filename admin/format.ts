/**
 * How the admin page writes numbers and times: credits with thousands separators (never
 * locale-dependent, so a screenshot reads the same on every machine), quantities without
 * float noise, and instants in UTC so an admin in any time zone sees the reset date the
 * billing system uses.
 */
import { formatCount } from '../ruleset';

/** Credits as `12,345` (credits are whole numbers). */
export function formatCredits(credits: number): string {
  return formatCount(credits);
}

/** A usage quantity (up to six decimals) as `1,234.5`: separators on the whole part only. */
export function formatQuantity(quantity: number): string {
  const [whole = '0', fraction] = String(Number(quantity.toFixed(6))).split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  const grouped = sign + formatCount(Number(whole.replace('-', '')));
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/** The UTC calendar date of an ISO instant: `2026-07-03`. */
export function formatDate(instant: string): string {
  const ms = Date.parse(instant);
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : instant;
}

/** `part` of `whole` as a whole percentage, floored and capped at 100 (100 when `whole` is 0). */
export function percentOf(part: number, whole: number): number {
  if (whole <= 0) return part > 0 ? 100 : 0;
  return Math.min(100, Math.max(0, Math.floor((part * 100) / whole)));
}

/** `A`, `A and B`, `A, B and C`: the way the help page lists features. */
export function joinNames(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** `1 user`, `3 users`. */
export function countOf(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? '' : 's'}`;
}
