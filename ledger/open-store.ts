/**
 * Chooses and opens the ledger database from configuration: the embedded PGlite directory by
 * default (no server to run), or a PostgreSQL server in production, through the same store.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { dataDir } from '../infra/project-root';
import { CREDITS_LEDGER_URL } from '../infra/settings';
import { LedgerError, isLedgerError } from './errors';
import { deferredLedgerStore } from './deferred-store';
import { openPgliteClient } from './pglite-client';
import { openPostgresClient } from './postgres-client';
import { openSqlLedgerStore } from './sql-store';
import type { LedgerStore } from './store';

/** Where the ledger lives. */
export type LedgerLocation = { kind: 'postgres'; url: string } | { kind: 'pglite'; dir: string | null };

/** The default embedded database directory: `ledger` in the data directory (`.data/ledger`). */
export function defaultLedgerDir(): string {
  return join(dataDir(), 'ledger');
}

/**
 * Reads a ledger URL (see `CREDITS_LEDGER_URL` in infra/settings.ts); undefined or empty means the default.
 *
 * @throws LedgerError `invalid_url` for anything else.
 */
export function parseLedgerUrl(url: string | undefined): LedgerLocation {
  const value = url?.trim() ?? '';
  if (value === '') return { kind: 'pglite', dir: defaultLedgerDir() };
  if (/^postgres(ql)?:\/\//i.test(value)) return { kind: 'postgres', url: value };
  if (value.startsWith('pglite:')) {
    const dir = value.slice('pglite:'.length);
    if (dir === 'memory') return { kind: 'pglite', dir: null };
    if (dir !== '') return { kind: 'pglite', dir: isAbsolute(dir) ? dir : resolve(dir) };
  }
  throw new LedgerError(
    'invalid_url',
    `${CREDITS_LEDGER_URL.name} must be postgres://user:password@host:port/database, pglite:<directory> or pglite:memory (got ${JSON.stringify(value.replace(/\/\/[^@/]*@/, '//***@'))})`,
  );
}

/** Options of {@link openLedgerStore}. */
export interface OpenLedgerOptions {
  /** Ledger URL; defaults to the `CREDITS_LEDGER_URL` environment variable. */
  url?: string;
  /** Where warnings about the database connection go. Default: console.warn. */
  warn?: (message: string) => void;
  /**
   * When the database server cannot be reached now, return a store that opens it on first use
   * (and again after each failure) instead of failing: the worker must start during a ledger
   * outage, or no account would be answered until the database is back.
   */
  waitForDatabase?: boolean;
  /**
   * Open an embedded database only if it already exists: a command that only reads the ledger
   * refuses a mistyped `pglite:` directory instead of creating an empty database there (and
   * then reporting every account unknown). Default false.
   */
  existing?: boolean;
}

/**
 * Opens the ledger store named by `options.url` or `CREDITS_LEDGER_URL`, migrating its schema.
 *
 * @throws LedgerError `invalid_url`, `database_locked` (embedded database held by another
 *   process), `database_unavailable` (server unreachable), `schema_too_new`, `migration_failed`.
 */
export async function openLedgerStore(options: OpenLedgerOptions = {}): Promise<LedgerStore> {
  const location = parseLedgerUrl(options.url ?? CREDITS_LEDGER_URL.read());
  const warn = options.warn ?? ((message: string) => console.warn(message));
  if (location.kind === 'pglite') {
    if (options.existing === true && location.dir !== null && !existsSync(join(location.dir, 'PG_VERSION'))) {
      throw new LedgerError('invalid_url', `there is no ledger database at ${location.dir} (${CREDITS_LEDGER_URL.name}); a command that only reads the ledger creates none: check the path`);
    }
    return openSqlLedgerStore(await openPgliteClient(location.dir));
  }
  const open = () => openSqlLedgerStore(openPostgresClient(location.url, { onIdleError: warn }));
  try {
    return await open();
  } catch (err) {
    if (!options.waitForDatabase || !isLedgerError(err) || err.code !== 'database_unavailable') throw err;
    warn(`${err.message}; starting anyway, the ledger will be opened once the database is back`);
    return deferredLedgerStore(open);
  }
}
