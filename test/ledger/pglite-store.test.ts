/**
 * The embedded ledger (PGlite in a temporary directory): the shared store suite, then what is
 * particular to it: persistence across reopening, the single-process lock, the URL that picks
 * it, and a CSV export straight from the database.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { exportUsageCsv } from '../../ledger/csv-export';
import { isLedgerError } from '../../ledger/errors';
import { defaultLedgerDir, openLedgerStore, parseLedgerUrl } from '../../ledger/open-store';
import { openPgliteClient } from '../../ledger/pglite-client';
import { migrate } from '../../ledger/schema';
import { openSqlLedgerStore } from '../../ledger/sql-store';
import { usageEntries, usageEntry } from './entry-fixtures';
import { describeLedgerStore } from './store-suite';

const root = mkdtempSync(join(tmpdir(), 'credits-ledger-'));
const dataDir = join(root, 'ledger');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeLedgerStore('PGlite', () => openPgliteClient(dataDir));

describe('embedded ledger database', () => {
  it('keeps its data across reopening and refuses a second process meanwhile', async () => {
    const store = await openLedgerStore({ url: `pglite:${dataDir}` });
    await store.appendEntries(usageEntries('persist', 1, 3));

    const err = await openPgliteClient(dataDir).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isLedgerError(err) && err.code).toBe('database_locked');
    expect((err as Error).message).toContain(`in use by process ${process.pid}`);

    await store.close();
    const closedErr = await store.appendEntries([usageEntry('persist', 4)]).catch((e: unknown) => e);
    expect(isLedgerError(closedErr) && closedErr.code).toBe('closed');

    const reopened = await openLedgerStore({ url: `pglite:${dataDir}` });
    const seqs: number[] = [];
    for await (const entry of reopened.streamEntries({ accountId: 'persist' })) seqs.push(entry.seq);
    expect(seqs).toEqual([1, 2, 3]);
    await reopened.close();
  });

  it('takes over a lock left by a process that died, even one that had our pid', async () => {
    for (const stale of [2147483646, process.pid]) {
      writeFileSync(`${dataDir}.lock`, `${stale}\n`);
      const client = await openPgliteClient(dataDir);
      await client.close();
    }
  });

  it('refuses a database migrated by a newer release', async () => {
    const client = await openPgliteClient(dataDir);
    try {
      await client.query("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')");
      const err = await migrate(client).catch((e: unknown) => e);
      expect(isLedgerError(err) && err.code).toBe('schema_too_new');
      expect((err as Error).message).toContain('999');
    } finally {
      await client.query('DELETE FROM schema_migrations WHERE version = 999');
      await client.close();
    }
  });

  it('exports CSV straight from the database', async () => {
    const store = await openSqlLedgerStore(await openPgliteClient(dataDir));
    try {
      await store.appendEntries([
        usageEntry('csv', 1, { userId: 'Smith, Jane' }),
        usageEntry('csv', 2, { kind: 'grant', credits: 1500, decision: undefined, debits: undefined }),
      ]);
      let csv = '';
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          csv += chunk.toString('utf8');
          done();
        },
      });
      expect(await exportUsageCsv(store, { accountId: 'csv' }, sink, { pageSize: 1 })).toEqual({ rows: 1 });
      expect(csv.split('\r\n')[1]).toBe(
        '2026-06-03T00:01:00.000Z,csv,"Smith, Jane",enrichment,2,field,2,g-included-0:2,9998,accepted,,key-1,rules-v1,usage,1,csv:1,,,-2,',
      );
    } finally {
      await store.close();
    }
  });
});

describe('CREDITS_LEDGER_URL', () => {
  it('chooses the database', () => {
    expect(parseLedgerUrl(undefined)).toEqual({ kind: 'pglite', dir: defaultLedgerDir() });
    expect(parseLedgerUrl('')).toEqual({ kind: 'pglite', dir: defaultLedgerDir() });
    expect(parseLedgerUrl('pglite:memory')).toEqual({ kind: 'pglite', dir: null });
    expect(parseLedgerUrl('pglite:/var/lib/credits')).toEqual({ kind: 'pglite', dir: '/var/lib/credits' });
    expect(parseLedgerUrl('pglite:data/ledger')).toEqual({ kind: 'pglite', dir: resolve('data/ledger') });
    expect(parseLedgerUrl('postgresql://u:p@db:5432/credits')).toEqual({ kind: 'postgres', url: 'postgresql://u:p@db:5432/credits' });
  });

  it('opens only an existing database for a command that reads, and refuses a file as the directory', async () => {
    const mistyped = join(root, 'no-such', 'ledger');
    await expect(openLedgerStore({ url: `pglite:${mistyped}`, existing: true })).rejects.toMatchObject({
      code: 'invalid_url',
      message: `there is no ledger database at ${mistyped} (CREDITS_LEDGER_URL); a command that only reads the ledger creates none: check the path`,
    });
    expect(existsSync(join(root, 'no-such'))).toBe(false);
    const file = join(root, 'a-file');
    writeFileSync(file, 'not a database');
    await expect(openLedgerStore({ url: `pglite:${file}` })).rejects.toMatchObject({
      code: 'invalid_url',
      message: `ledger database PGlite at ${file}: ${file} is a file; the embedded database is a directory`,
    });
    // An existing database opens as before.
    const store = await openLedgerStore({ url: `pglite:${dataDir}`, existing: true });
    await store.close();
  });

  it('refuses anything else without echoing a password', () => {
    let err: unknown;
    try {
      parseLedgerUrl('mysql://admin:secret@db/credits');
    } catch (e) {
      err = e;
    }
    expect(isLedgerError(err) && err.code).toBe('invalid_url');
    expect((err as Error).message).toContain('CREDITS_LEDGER_URL must be');
    expect((err as Error).message).not.toContain('secret');
  });
});
