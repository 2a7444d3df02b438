/**
 * CSV export of an account's ledger for finance analysts: one row per entry, the columns they
 * expect, RFC 4180 quoting (CRLF line ends; fields with commas, quotes, CR or LF quoted, quotes
 * doubled). Rows stream from the store's paged cursor through csv-stringify into the writable
 * with back-pressure, so a year of a large account never sits in memory.
 *
 * Which entries: by default the usage decisions and calls (`usage`, `call_start`, `call_end`,
 * `call_part`: a call's part charged at a reset it ran across) and the voids that reverse usage
 * (`void`, negative credits and quantity): what the "usage data" export of Settings > AI
 * Credits means, whose `credits` column sums to what was used. `allKinds` adds grants,
 * expiries (credits lost at the reset), write-offs (`call_overage`: what calls consumed past
 * zero, written off rather than taken from the next credits added), charges, alerts and
 * configuration changes; an explicit `filter.kinds` wins over both. An account restarted under
 * its id has each epoch's rows whole (`epoch`, last), the epochs in the order they began.
 *
 * Columns: `credits` is what the entry moved, unsigned by kind (usage debited, a grant
 * granted, an expiry lost; negative only for a void). A tier, plan, users or tags change moves
 * nothing itself (0 credits): the credits it granted are on the `grant` row written with it, so
 * the column never counts them twice. `balance_change` is the same amount signed by its effect
 * on the balance, so summing it over one epoch gives the net movement ({@link balanceChange}).
 *
 * No cell runs as a formula when the file is opened in a spreadsheet (CSV injection): a text
 * cell starting with `=`, `+`, `-`, `@`, tab, carriage return or `'` gets a leading single
 * quote, as OWASP recommends (the quote itself too, so the escape can be undone). Numeric
 * columns are written as numbers and never escaped, so a void's `-5` credits stays the number -5.
 */
import { stringify, type Options as StringifyOptions } from 'csv-stringify';
import { stringify as stringifySync } from 'csv-stringify/sync';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cycleNumber } from '../display/cycle-number';
import type { LedgerEntry, LedgerKind } from '../domain/effects';
import type { EntryFilter, LedgerStore } from './store';

/** Header row, in order. */
export const CSV_COLUMNS = [
  'time',
  'account',
  'user',
  'feature',
  'quantity',
  'unit',
  'credits',
  'grant_debited',
  'balance_after',
  'decision',
  'reason',
  'idempotency_key',
  'rules_version',
  'kind',
  'cycle',
  'entry_id',
  'amount_cents',
  'note',
  'balance_change',
  'epoch',
] as const;

/**
 * How each kind moves the available balance, as the sign its `credits` takes in the
 * `balance_change` column: grants add; usage, call charges, expiries and forfeits take away; a
 * void (negative credits) gives back; a write-off of calls' overage brings a balance below
 * zero back up to zero. Every other kind (tier, plan, users and tags changes among them, whose
 * credits are on their own `grant` rows) moves nothing.
 */
const BALANCE_SIGN: Partial<Record<LedgerKind, 1 | -1>> = {
  grant: 1,
  usage: -1,
  call_end: -1,
  call_part: -1,
  void: -1,
  expiry: -1,
  forfeit: -1,
  call_overage: 1,
  overdraft_write_off: 1,
};

/**
 * The entry's signed effect on the available balance (the `balance_change` column): summed
 * over an account's rows from its opening, it is the balance; over a range, the net of grants
 * minus usage, expiries and the rest in it.
 */
export function balanceChange(entry: Pick<LedgerEntry, 'kind' | 'credits'>): number {
  const sign = BALANCE_SIGN[entry.kind] ?? 0;
  // `+ 0` turns a -0 (a zero-credit usage) into 0, which the CSV prints as 0, not -0.
  return sign === 0 ? 0 : sign * entry.credits + 0;
}

/**
 * Kinds exported when neither `filter.kinds` nor `allKinds` says otherwise: usage decisions,
 * calls (with their parts charged at a reset) and voids, so the `credits` column sums to what
 * was used. A call's overage past zero is already in its `call_end` row; its write-off
 * (`call_overage`) moves the balance as a grant does and goes with the grants.
 */
export const DEFAULT_EXPORT_KINDS: readonly LedgerKind[] = ['usage', 'call_start', 'call_end', 'call_part', 'void'];

/** Options of {@link exportUsageCsv}. */
export interface CsvExportOptions {
  /** Export every kind of entry (grants, expiries, charges, ...), not only usage and calls. */
  allKinds?: boolean;
  /** Rows read from the database per page. */
  pageSize?: number;
  /** End the writable when done (default true; pass false for process.stdout). */
  end?: boolean;
}

/**
 * First characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection
 * list), and the quote that marks an escaped cell: a value that itself starts with one gets
 * another, so `-k` and `'-k` stay two values (`'-k` and `''-k`), and dropping one leading
 * quote gives back what was written.
 */
const FORMULA_START = /^[=+\-@\t\r']/;

/**
 * A text cell as a spreadsheet will show it and never run it: one starting with `=`, `+`, `-`,
 * `@`, tab, carriage return or `'` gets a leading single quote (OWASP's advice); any other is as is.
 */
export function spreadsheetText(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** A text column's cell: escaped by {@link spreadsheetText}; absent (or null) is empty. */
export function csvText(value: string | null | undefined): string {
  return value === undefined || value === null ? '' : spreadsheetText(value);
}
const text = csvText;

/**
 * A numeric column's cell: a finite number as is, negative ones included (a number is never a
 * formula); absent (or null) is empty; anything else that reached a numeric column is escaped as text.
 */
export function csvNumber(value: number | null | undefined): string {
  if (value === null) return '';
  return numeric(value);
}

function numeric(value: number | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : spreadsheetText(String(value));
}

/**
 * The `epoch` column: which workflow of the account wrote the entry, from its id
 * (`<account>:<epoch>:<seq>`, see ledgerIdPrefix); empty for an id of another form.
 */
function epochColumn(entryId: string): string {
  const parts = entryId.split(':');
  return parts.length === 3 ? (parts[1] ?? '') : '';
}

/** One entry as CSV fields, in {@link CSV_COLUMNS} order; absent values are empty fields. */
export function entryToCsvRow(entry: LedgerEntry): string[] {
  return [
    text(entry.at),
    text(entry.accountId),
    text(entry.userId),
    text(entry.feature),
    numeric(entry.quantity),
    text(entry.unit),
    numeric(entry.credits),
    text((entry.debits ?? []).map((d) => `${d.grantId}:${d.credits}`).join(';')),
    numeric(entry.balanceAfter),
    text(entry.decision),
    text(entry.reason),
    text(entry.idempotencyKey),
    text(entry.rulesVersion),
    text(entry.kind),
    numeric(typeof entry.cycleIndex === 'number' ? cycleNumber(entry.cycleIndex) : entry.cycleIndex),
    text(entry.entryId),
    numeric(entry.amountCents),
    text(entry.note),
    numeric(balanceChange(entry)),
    text(epochColumn(entry.entryId)),
  ];
}

/** csv-stringify's options for every CSV the engine writes: a header row and RFC 4180 quoting. */
function csvOptions(columns: readonly string[]): StringifyOptions {
  return {
    header: true,
    columns: [...columns],
    record_delimiter: '\r\n',
    // csv-stringify stops quoting bare CR/LF once record_delimiter is set; RFC 4180 needs it.
    quote_record_delimiter: true,
  };
}

/**
 * A small CSV document at once (the admin page's per-day, per-user and billing tables), quoted
 * as {@link exportUsageCsv} quotes. Cells must already be made safe with {@link csvText} and
 * {@link csvNumber}; streaming is for the ledger's entries, which can be many.
 */
export function csvDocument(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  return stringifySync(rows.map((row) => [...row]), csvOptions(columns));
}

async function* csvRows(store: Pick<LedgerStore, 'streamEntries'>, filter: EntryFilter, pageSize?: number) {
  for await (const entry of store.streamEntries(filter, pageSize === undefined ? {} : { pageSize })) {
    yield entryToCsvRow(entry);
  }
}

/**
 * Writes the CSV of `filter`'s entries (header first) to `writable`, streaming.
 *
 * @returns the number of data rows written (the header not counted).
 */
export async function exportUsageCsv(
  store: Pick<LedgerStore, 'streamEntries'>,
  filter: EntryFilter,
  writable: NodeJS.WritableStream,
  options: CsvExportOptions = {},
): Promise<{ rows: number }> {
  const kinds = filter.kinds ?? (options.allKinds ? undefined : DEFAULT_EXPORT_KINDS);
  const source = Readable.from(csvRows(store, kinds === undefined ? filter : { ...filter, kinds }, options.pageSize));
  let rows = 0;
  const stringifier = stringify(csvOptions(CSV_COLUMNS));
  stringifier.on('record', () => {
    rows += 1;
  });
  await pipeline(source, stringifier, writable, { end: options.end ?? true });
  return { rows };
}
