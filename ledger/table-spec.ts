/**
 * Declarative description of how a record type (LedgerEntry, ChargeRequest, AlertNotice) maps
 * to a table, so the insert statement, input validation and row decoding of each table come
 * from one list of columns and cannot drift apart. Inserts go through `jsonb_to_recordset`:
 * a whole batch is one parameter, whatever its size, in the same SQL on PGlite and PostgreSQL.
 */
import { isWellFormedText } from '../display/unprintable';
import { isIsoInstant } from '../ruleset/instant';

/** A fraction of a second with more than three digits. */
const SUB_MILLISECOND = /T\d{2}:\d{2}:\d{2}[.,]\d{4,}/;
import { LedgerError } from './errors';

/** SQL type of a column, and so how its values are checked and decoded. */
export type ColumnType = 'text' | 'bigint' | 'integer' | 'float' | 'timestamptz' | 'jsonb';

/** One column of a table and the record field it holds. */
export interface ColumnSpec<T> {
  readonly field: keyof T & string;
  readonly column: string;
  readonly type: ColumnType;
  /** Absent from the record when the column is null (LedgerEntry omits empty fields). */
  readonly optional?: boolean;
  /** Present as `null` in the record when the column is null. */
  readonly nullable?: boolean;
  /** The only values a text column may take. */
  readonly oneOf?: readonly string[];
  /** Integers only, at or above this bound. */
  readonly min?: number;
  /** Extra check of a present value; returns what is wrong, or null. */
  readonly check?: (value: unknown) => string | null;
}

/** A table and the record type it stores. */
export interface TableSpec<T> {
  readonly table: string;
  /** Primary-key column, the idempotency key of inserts. */
  readonly key: string;
  /** What one record is called in messages, e.g. `ledger entry`. */
  readonly what: string;
  readonly columns: readonly ColumnSpec<T>[];
}

const SQL_TYPES: Record<ColumnType, string> = {
  text: 'text',
  bigint: 'bigint',
  integer: 'integer',
  float: 'double precision',
  timestamptz: 'timestamptz',
  jsonb: 'jsonb',
};

/** Comma-separated column names, in spec order, for SELECT lists. */
export function selectList<T>(spec: TableSpec<T>): string {
  return spec.columns.map((c) => c.column).join(', ');
}

/**
 * `INSERT ... SELECT FROM jsonb_to_recordset($1::jsonb) ON CONFLICT (key) DO NOTHING`:
 * `$1` is a JSON array of records keyed by field name; the statement returns the keys it
 * actually inserted, so a replayed batch reports zero rows written.
 */
export function insertSql<T>(spec: TableSpec<T>): string {
  const record = spec.columns.map((c) => `"${c.field}" ${SQL_TYPES[c.type]}`).join(', ');
  const fields = spec.columns.map((c) => `r."${c.field}"`).join(', ');
  return (
    `INSERT INTO ${spec.table} (${selectList(spec)}) ` +
    `SELECT ${fields} FROM jsonb_to_recordset($1::jsonb) AS r(${record}) ` +
    `ON CONFLICT (${spec.key}) DO NOTHING RETURNING ${spec.key}`
  );
}

/** Largest and smallest value of a PostgreSQL `integer` column. */
const INT4_MAX = 2_147_483_647;
const INT4_MIN = -2_147_483_648;
/** Longest quote of a refused value in a message: a megabyte of junk must not become a megabyte of error. */
const QUOTE_LIMIT = 60;

/** What keeps a string out of a PostgreSQL text or jsonb value, or null when it can be stored. */
function textProblem(value: string): string | null {
  // PostgreSQL text cannot hold NUL at all.
  if (value.includes('\u0000')) return 'must not contain NUL (U+0000)';
  // A lone surrogate has no UTF-8 form, so PostgreSQL refuses it.
  return isWellFormedText(value) ? null : 'must not contain a lone UTF-16 surrogate';
}

/** The first unstorable string among a JSON value's keys and strings, depth-first. */
function jsonProblem(value: unknown, depth = 0): string | null {
  if (typeof value === 'string') return textProblem(value);
  if (typeof value !== 'object' || value === null || depth > 32) return null;
  for (const [key, item] of Object.entries(value)) {
    const problem = textProblem(key) ?? jsonProblem(item, depth + 1);
    if (problem) return problem;
  }
  return null;
}

/**
 * A refused value as JSON, cut to a short prefix. JSON escapes NUL and lone surrogates, and
 * the cut never splits a surrogate pair, so the quote is always clean text.
 */
function quoteValue(value: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = typeof value;
  }
  if (json.length <= QUOTE_LIMIT) return json;
  const end = /[\uD800-\uDBFF]/.test(json.charAt(QUOTE_LIMIT - 1)) ? QUOTE_LIMIT - 1 : QUOTE_LIMIT;
  return `${json.slice(0, end)}... (${json.length} characters)`;
}

function problemWith<T>(column: ColumnSpec<T>, value: unknown): string | null {
  switch (column.type) {
    case 'text':
      if (typeof value !== 'string') return 'must be a string';
      if (value === '' && !column.optional) return 'must not be empty';
      if (textProblem(value)) return textProblem(value);
      if (column.oneOf && !column.oneOf.includes(value)) return `must be one of ${column.oneOf.join(', ')}`;
      break;
    case 'bigint':
    case 'integer':
      // Safe integers fit a bigint column; beyond 2^53 a JS number has already lost the exact value.
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be an integer';
      if (!Number.isSafeInteger(value)) return 'is out of range (beyond 2^53, the largest exact integer)';
      if (column.type === 'integer' && (value > INT4_MAX || value < INT4_MIN)) return `is out of range (${INT4_MIN} to ${INT4_MAX})`;
      if (column.min !== undefined && value < column.min) return `must be at least ${column.min}`;
      break;
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number';
      break;
    case 'timestamptz':
      if (!isIsoInstant(value)) return 'must be an ISO-8601 instant with a time zone, e.g. 2026-06-03T00:00:00.000Z';
      // JavaScript reads an instant to the millisecond and the database rounds it to the
      // microsecond: past three decimals the two disagree (…59.9999996Z is the next day to it).
      if (SUB_MILLISECOND.test(value)) return 'must be given to the millisecond at most (three decimals of a second), e.g. 2026-06-03T00:00:00.000Z';
      break;
    case 'jsonb':
      if (jsonProblem(value)) return jsonProblem(value);
      break;
  }
  return column.check ? column.check(value) : null;
}

/**
 * Checks one record against the spec before it reaches the database, so a malformed effect
 * is refused with a message naming the record and field rather than a SQL cast error.
 *
 * @throws LedgerError `invalid_input`.
 */
export function validateRecord<T>(spec: TableSpec<T>, value: unknown): asserts value is T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LedgerError('invalid_input', `${spec.what} must be an object, got ${quoteValue(value)}`);
  }
  const record = value as Record<string, unknown>;
  const keyField = spec.columns.find((c) => c.column === spec.key)?.field;
  const key = keyField ? record[keyField] : undefined;
  // The record's id as it is when it is plain text, quoted and cut short when it is not.
  const name = typeof key !== 'string' ? '' : textProblem(key) || key.length > QUOTE_LIMIT ? ` ${quoteValue(key)}` : ` ${key}`;
  for (const column of spec.columns) {
    const field = record[column.field];
    if (field === undefined || field === null) {
      if (column.optional || (column.nullable && field === null)) continue;
      throw new LedgerError('invalid_input', `${spec.what}${name}: ${column.field} is missing`);
    }
    const problem = problemWith(column, field);
    if (problem) {
      throw new LedgerError(
        'invalid_input',
        `${spec.what}${name}: ${column.field} ${problem} (got ${quoteValue(field)})`,
      );
    }
  }
}

function decodeValue(type: ColumnType, value: unknown): unknown {
  switch (type) {
    case 'bigint':
    case 'integer':
    case 'float':
      // node-postgres returns int8 as a string and PGlite as a number; both fit a JS number here.
      return Number(value);
    case 'timestamptz':
      return (value instanceof Date ? value : new Date(String(value))).toISOString();
    case 'jsonb':
      return typeof value === 'string' ? JSON.parse(value) : value;
    case 'text':
      return String(value);
  }
}

/**
 * One JSON text per row holding the record as {@link decodeRow} builds it (fields in column
 * order, absent optional fields left out, instants as `toISOString()`), read back with
 * `JSON.parse`: for long scans, where decoding column by column costs more than the query.
 */
export function jsonRecordSelect<T>(spec: TableSpec<T>, alias = 'record'): string {
  const fields = spec.columns.map((c) => {
    const value =
      c.type === 'timestamptz' ? `to_char(${c.column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` : c.column;
    return `'${c.field}', ${value}`;
  });
  return `json_strip_nulls(json_build_object(${fields.join(', ')}))::text AS ${alias}`;
}

/**
 * Turns a row selected with {@link selectList} back into the record. Instants come back as
 * `Date#toISOString()` (UTC, milliseconds), whatever form they were written in.
 */
export function decodeRow<T>(spec: TableSpec<T>, row: Record<string, unknown>): T {
  const record: Record<string, unknown> = {};
  for (const column of spec.columns) {
    const value = row[column.column];
    if (value === null || value === undefined) {
      if (!column.optional) record[column.field] = null;
      continue;
    }
    record[column.field] = decodeValue(column.type, value);
  }
  return record as T;
}
