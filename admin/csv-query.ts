/**
 * The usage CSV download's query: `?cycle=N` for one billing cycle, or `?from=&to=` for a
 * range of dates or instants (UTC). A bare `to` date includes that whole day, because that is
 * what an admin picking "to June 30" in a date field means; an instant is exclusive, as the
 * ledger's filter is.
 */
import { isCalendarDate, parseInstantOrDate } from '../ruleset';
import { badRequest } from './errors';
import { MAX_CYCLE_NUMBER, cycleIndexOf, cycleNumber } from '../display/cycle-number';

/** Which entries to export. */
export type CsvRange =
  | { kind: 'cycle'; cycleIndex: number }
  /** Every cycle (`all=1`). */
  | { kind: 'all' }
  /** `from` inclusive, `to` exclusive (UTC ISO instants); `label` is what was asked for, for the file name. */
  | { kind: 'range'; from: string; to: string; label: string };

const KNOWN = new Set(['cycle', 'from', 'to', 'all', 'kinds']);
const DAY_MS = 86_400_000;

/** A single query value; a repeated parameter is a mistake worth saying so. */
function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`give ${name} once (got it ${Array.isArray(value) ? value.length : 'several'} times)`);
  return value.trim();
}

function instant(name: 'from' | 'to', text: string): Date {
  const when = parseInstantOrDate(text);
  if (when === undefined) {
    throw badRequest(`${name} must be a date like 2026-06-01 or a UTC instant like 2026-06-01T00:00:00Z (got ${JSON.stringify(text)})`);
  }
  // A date picked as the end of a range means "through that day".
  return name === 'to' && isCalendarDate(text) ? new Date(when.getTime() + DAY_MS) : when;
}

/**
 * Reads the query. With neither `cycle` nor `from`/`to`, exports `currentCycle`.
 *
 * @throws HttpError 400 with a message naming the bad parameter and the expected form.
 */
export function parseCsvQuery(query: Record<string, unknown>, currentCycle: number): CsvRange {
  const unknown = Object.keys(query).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) throw badRequest(`unknown query parameter ${unknown.join(', ')}: use cycle=N, or from=DATE&to=DATE`);
  const cycle = single(query, 'cycle');
  const from = single(query, 'from');
  const to = single(query, 'to');
  const all = single(query, 'all');
  if (all !== undefined) {
    if (all !== '1' && all !== 'true') throw badRequest(`all takes 1 (got ${JSON.stringify(all)})`);
    if (cycle !== undefined || from !== undefined || to !== undefined) throw badRequest('use all=1 alone, without cycle, from or to');
    return { kind: 'all' };
  }
  if (cycle !== undefined && (from !== undefined || to !== undefined)) {
    throw badRequest('use either cycle=N or from=DATE&to=DATE, not both');
  }
  if (from !== undefined || to !== undefined) {
    if (!from || !to) throw badRequest('from and to go together: give both, as dates (2026-06-01) or UTC instants (2026-06-01T00:00:00Z)');
    const start = instant('from', from);
    const end = instant('to', to);
    if (start.getTime() >= end.getTime()) throw badRequest(`from (${from}) must be before to (${to})`);
    return { kind: 'range', from: start.toISOString(), to: end.toISOString(), label: `${from}_to_${to}` };
  }
  if (cycle === undefined || cycle === '') return { kind: 'cycle', cycleIndex: currentCycle };
  // `cycle` is the number the page shows (the first cycle is 1), not the wire's 0-based index.
  const current = cycleNumber(currentCycle);
  if (!/^\d+$/.test(cycle) || Number(cycle) < 1 || Number(cycle) > MAX_CYCLE_NUMBER) {
    throw badRequest(`cycle must be a whole number from 1 to ${current}, the current cycle (got ${JSON.stringify(cycle)})`);
  }
  if (Number(cycle) > current) throw badRequest(`cycle ${Number(cycle)} has not started yet: the current cycle is ${current}`);
  return { kind: 'cycle', cycleIndex: cycleIndexOf(Number(cycle)) };
}

/** The download's file name: says which account and which entries, safe in a header. */
export function csvFilename(accountId: string, range: CsvRange): string {
  const what = range.kind === 'cycle' ? `cycle-${cycleNumber(range.cycleIndex)}` : range.kind === 'all' ? 'all-cycles' : range.label;
  // Only characters that need no quoting or encoding in Content-Disposition.
  return `ai-credits-usage-${accountId}-${what}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * Whether to export every kind of ledger entry (`kinds=all`: grants, expiries, charges and
 * changes too), rather than the usage decisions and calls a usage report holds.
 */
export function parseCsvKinds(query: Record<string, unknown>): boolean {
  const kinds = single(query, 'kinds');
  if (kinds === undefined || kinds === '' || kinds === 'usage') return false;
  if (kinds === 'all') return true;
  throw badRequest(`kinds must be usage (the default) or all (got ${JSON.stringify(kinds)})`);
}
