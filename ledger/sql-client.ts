/**
 * The little the ledger needs from a database driver, so one store implementation and one
 * SQL dialect serve both the embedded PGlite database and a PostgreSQL server. Adapters turn
 * their driver's failures into {@link LedgerError}s that name the database.
 */
import { LedgerError } from './errors';

/** Rows of a statement and how many rows it inserted, updated or deleted. */
export interface SqlResult<R> {
  rows: R[];
  rowCount: number;
}

/** Runs statements, inside or outside a transaction. */
export interface SqlExecutor {
  /** One statement with `$n` parameters. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** A connection (or pool) to one ledger database. */
export interface SqlClient extends SqlExecutor {
  /** Which database this is, without secrets, for messages: `PostgreSQL at db.internal:5432/credits`. */
  readonly label: string;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Releases connections (and, for the embedded database, its directory lock). */
  close(): Promise<void>;
}

/** Node socket error codes that mean the server is not there (or went away). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * Whether a driver error means the database is unreachable rather than the statement wrong:
 * socket errors, PostgreSQL's connection-exception class (08xxx), shutdown and start-up
 * states (57P01-57P03), and node-postgres' own messages for a dropped or timed-out connection.
 */
export function isUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code)) return true;
  }
  if (err instanceof AggregateError && err.errors.some(isUnavailableError)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    err.message,
  );
}

/**
 * Whether a driver error means the database refused the data itself, so the same statement
 * with the same values can never succeed: PostgreSQL's data-exception class (22xxx: NUL in
 * text, invalid UTF-8, a number out of range, an impossible date) and the integrity
 * violations a value alone causes (23502 a NULL in a NOT NULL column, 23514 a CHECK failed).
 * Both PGlite and node-postgres report the SQLSTATE as the error's `code`.
 */
export function isDataRefusal(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (/^22[0-9A-Z]{3}$/.test(code) || code === '23502' || code === '23514');
}

/**
 * Wraps a driver failure as a {@link LedgerError} whose message names the database and the
 * action, and says whether a retry can help. A LedgerError passes through unchanged.
 */
export function toLedgerError(err: unknown, label: string, action: string): LedgerError {
  if (err instanceof LedgerError) return err;
  // Not every driver throws an Error: an object with a message is read for it, not as "[object Object]".
  const message = typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string' ? (err as { message: string }).message : undefined;
  const detail = err instanceof Error ? err.message || (err as { code?: string }).code || err.name : (message ?? JSON.stringify(err) ?? String(err));
  if (isUnavailableError(err)) {
    return new LedgerError(
      'database_unavailable',
      `ledger database ${label} is unavailable while trying to ${action}: ${detail} (retrying is safe: every ledger write is idempotent)`,
      { cause: err },
    );
  }
  if (isDataRefusal(err)) {
    return new LedgerError(
      'invalid_input',
      `ledger database ${label} refused the data while trying to ${action}: ${detail} (SQLSTATE ${(err as { code?: string }).code}; retrying the same input cannot succeed)`,
      { cause: err },
    );
  }
  return new LedgerError('query_failed', `ledger database ${label} failed to ${action}: ${detail}`, { cause: err });
}

/** First words of a statement, to say in a message what was being done. */
function statementHead(sql: string): string {
  const trimmed = sql.trim();
  const words = trimmed.split(/\s+/).slice(0, 4).join(' ');
  return `run ${words}${words.length < trimmed.length ? ' ...' : ''}`;
}

/** A driver's own statement runner, results already in {@link SqlResult} form. */
export interface DriverExecutor {
  query(sql: string, params: unknown[]): Promise<SqlResult<unknown>>;
  exec(sql: string): Promise<unknown>;
}

/** Wraps a driver's runner so every failure becomes a LedgerError naming the database and statement. */
export function guardedExecutor(label: string, driver: DriverExecutor): SqlExecutor {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
      try {
        return (await driver.query(sql, [...params])) as SqlResult<R>;
      } catch (err) {
        throw toLedgerError(err, label, statementHead(sql));
      }
    },
    async exec(sql: string): Promise<void> {
      try {
        await driver.exec(sql);
      } catch (err) {
        throw toLedgerError(err, label, statementHead(sql));
      }
    },
  };
}
