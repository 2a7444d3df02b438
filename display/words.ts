/** Counts with their nouns, and lists of names, as sentences write them. */
import { formatQuantity } from './numbers';

/** `1 user`, `3 users`, `1,000 rows`, `2.5 minutes`: a count with its noun. */
export function plural(count: number, noun: string): string {
  return `${formatQuantity(count)} ${noun}${count === 1 ? '' : 's'}`;
}

/** What a rate is per: `minute` for one, `1,000 fields` for more (`5 credits per 1,000 fields`). */
export function perUnits(per: number, unit: string): string {
  return per === 1 ? unit : plural(per, unit);
}

/** `A`, `A and B`, `A, B and C`: the way the help page lists features. */
export function joinNames(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * What a void's answer says of credits given back to a grant that had expired since the usage
 * (`expired`): `, 60 of them to a grant that has expired since, so they expired again`, or
 * nothing when there are none. The CLI and the admin page say it alike.
 */
export function expiredAgain(expired: number | undefined): string {
  return expired ? `, ${formatQuantity(expired)} of them to a grant that has expired since, so they expired again` : '';
}
