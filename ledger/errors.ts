/**
 * Errors of the usage ledger. Each carries a stable `code` so callers (the activities, the
 * CLI, the admin page) decide what to do from the code, never by parsing a message, and each
 * message says which database it concerns and whether anything was lost.
 */

/** Ways a ledger operation can fail. */
export const LEDGER_ERROR_CODES = [
  /** The database could not be reached or dropped the connection: retry later, nothing was written. */
  'database_unavailable',
  /** The embedded database directory is held by another live process. */
  'database_locked',
  /** `CREDITS_LEDGER_URL` is neither a `postgres://` URL nor `pglite:<dir>`. */
  'invalid_url',
  /** An entry, charge or alert is malformed: retrying the same input can never succeed. */
  'invalid_input',
  /** The database holds migrations this code does not know: it was opened by a newer release. */
  'schema_too_new',
  /** Applying a schema migration failed. */
  'migration_failed',
  /** A statement failed for another reason (the database's message is kept as the cause). */
  'query_failed',
  /** The store was used after `close()`. */
  'closed',
] as const;
/** Way a ledger operation can fail. */
export type LedgerErrorCode = (typeof LEDGER_ERROR_CODES)[number];

/** Codes for which retrying the same call cannot help; everything else may succeed on retry. */
const PERMANENT_CODES: ReadonlySet<LedgerErrorCode> = new Set<LedgerErrorCode>([
  'invalid_url',
  'invalid_input',
  'schema_too_new',
]);

/** A ledger failure with a machine-readable code. */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  /** What went wrong, for programs. */
  readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when retrying the same call can never succeed (bad input, bad configuration). */
export function isPermanentLedgerError(err: LedgerError): boolean {
  return PERMANENT_CODES.has(err.code);
}

/** Whether `err` is a {@link LedgerError} (also across copies of this module). */
export function isLedgerError(err: unknown): err is LedgerError {
  if (err instanceof LedgerError) return true;
  if (!(err instanceof Error) || err.name !== 'LedgerError') return false;
  const code: unknown = (err as Error & { code?: unknown }).code;
  return typeof code === 'string' && (LEDGER_ERROR_CODES as readonly string[]).includes(code);
}
