/**
 * The embedded ledger database: PostgreSQL compiled to WebAssembly (PGlite), persisted to a
 * directory. It needs no server, which is why the default worker uses it, and it runs the very
 * same SQL as production PostgreSQL. It is single-process: a lock file beside the directory
 * stops a second process (a second worker, the CLI) from opening it and corrupting it.
 */
import { isProcessAlive } from '../infra/process-alive';
import { PGlite } from '@electric-sql/pglite';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LedgerError } from './errors';
import { guardedExecutor, toLedgerError, type SqlClient, type SqlExecutor } from './sql-client';

/** Minimal query surface shared by PGlite and its transactions. */
interface PgliteQueryable {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
}

function executor(db: PgliteQueryable, label: string): SqlExecutor {
  return guardedExecutor(label, {
    async query(sql, params) {
      const result = await db.query(sql, params);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    exec: (sql) => db.exec(sql),
  });
}

/** Lock files this process holds, to tell them from stale locks that carry the same pid. */
const heldLocks = new Set<string>();


/**
 * Takes `<dir>.lock` for this process, replacing a lock left by a process that has died.
 *
 * @throws LedgerError `database_locked` when a live process holds it.
 */
function acquireLock(lockPath: string, label: string): void {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
      heldLocks.add(lockPath);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw toLedgerError(err, label, 'take its lock file');
    }
    const holder = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    // Our own pid in a lock we did not take is a previous run's (a container restarts as pid 1).
    const held =
      holder === process.pid
        ? heldLocks.has(lockPath)
        : Number.isSafeInteger(holder) && holder > 0 && isProcessAlive(holder);
    if (held) {
      throw new LedgerError(
        'database_locked',
        `ledger database ${label} is in use by process ${holder} (lock ${lockPath}); the embedded database serves one process: stop it, or set CREDITS_LEDGER_URL to a PostgreSQL server to share the ledger`,
      );
    }
    rmSync(lockPath, { force: true });
  }
  throw new LedgerError('database_locked', `ledger database ${label}: could not take the lock ${lockPath}`);
}

/**
 * Opens (creating on first use) the embedded database in `dataDir`, or in memory when
 * `dataDir` is null. The first open of a new directory initialises a cluster: seconds, once.
 */
export async function openPgliteClient(dataDir: string | null): Promise<SqlClient> {
  const label = dataDir === null ? 'PGlite (in memory)' : `PGlite at ${dataDir}`;
  const lockPath = dataDir === null ? null : `${dataDir}.lock`;
  if (dataDir !== null && lockPath !== null) {
    if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
      throw new LedgerError('invalid_url', `ledger database ${label}: ${dataDir} is a file; the embedded database is a directory`);
    }
    mkdirSync(dirname(dataDir), { recursive: true });
    acquireLock(lockPath, label);
  }
  const releaseLock = (): void => {
    if (lockPath === null) return;
    heldLocks.delete(lockPath);
    rmSync(lockPath, { force: true });
  };
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir ?? 'memory://');
  } catch (err) {
    releaseLock();
    throw toLedgerError(err, label, 'open the database');
  }
  return {
    label,
    ...executor(db, label),
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      try {
        return await db.transaction((tx) => work(executor(tx, label)));
      } catch (err) {
        throw toLedgerError(err, label, 'commit a transaction');
      }
    },
    async close(): Promise<void> {
      try {
        await db.close();
      } finally {
        releaseLock();
      }
    },
  };
}
