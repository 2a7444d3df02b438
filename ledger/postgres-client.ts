/**
 * The production ledger database: a PostgreSQL server reached through a `pg` connection pool,
 * shared by every worker. Driver failures become LedgerErrors naming the server (never its
 * password), so an activity that fails because the database is down says which one.
 */
import { Pool, type PoolClient } from 'pg';
import { guardedExecutor, toLedgerError, type SqlClient, type SqlExecutor } from './sql-client';

/** Options of {@link openPostgresClient}. */
export interface PostgresClientOptions {
  /** Most connections this process opens. Default 5: activities write in batches. */
  maxConnections?: number;
  /** How long to wait for a connection before failing the call (ms). Default 10 s. */
  connectTimeoutMs?: number;
  /** Told about errors of idle pooled connections (the server restarting, say). */
  onIdleError?: (message: string) => void;
}

/** `PostgreSQL at host:port/database`, from a connection URL without its credentials. */
export function postgresLabel(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || parsed.username || 'postgres';
    return `PostgreSQL at ${host}:${parsed.port || '5432'}/${database}`;
  } catch {
    return 'PostgreSQL (unparseable URL)';
  }
}

function executor(conn: Pool | PoolClient, label: string): SqlExecutor {
  return guardedExecutor(label, {
    async query(sql, params) {
      const result = await conn.query(sql, params);
      return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
    },
    // Without parameters node-postgres uses the simple protocol, which runs whole scripts.
    exec: (sql) => conn.query(sql),
  });
}

/** A pooled client for the PostgreSQL server at `url` (`postgres://user:pass@host:port/db`). */
export function openPostgresClient(url: string, options: PostgresClientOptions = {}): SqlClient {
  const label = postgresLabel(url);
  const pool = new Pool({
    connectionString: url,
    max: options.maxConnections ?? 5,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'ai-credits-ledger',
  });
  // An idle connection dropped by the server must not crash the worker; the next call reconnects.
  pool.on('error', (err) => options.onIdleError?.(`ledger database ${label}: idle connection lost: ${err.message}`));
  return {
    label,
    ...executor(pool, label),
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      let conn: PoolClient;
      try {
        conn = await pool.connect();
      } catch (err) {
        throw toLedgerError(err, label, 'connect');
      }
      // A checked-out connection has no pool listener: without this, a server dying mid-transaction
      // would raise an unhandled 'error' event and crash the worker instead of failing the call.
      let broken: Error | undefined;
      const onLost = (err: Error): void => {
        broken = err;
      };
      conn.on('error', onLost);
      try {
        await conn.query('BEGIN');
        const result = await work(executor(conn, label));
        await conn.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await conn.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error; // the connection is unusable: destroy it, do not pool it
        }
        throw toLedgerError(err, label, 'commit a transaction');
      } finally {
        conn.off('error', onLost);
        conn.release(broken);
      }
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
}
