/**
 * The ledger on a real PostgreSQL server that this file starts and removes: the shared store
 * suite, then the database going down (a clear error naming it, nothing lost, the same batch
 * written exactly once when it is back) and a server that is not there at all.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { isLedgerError } from '../../ledger/errors';
import { openLedgerStore } from '../../ledger/open-store';
import { openPostgresClient, postgresLabel } from '../../ledger/postgres-client';
import type { LedgerStore } from '../../ledger/store';
import { quietActivityEnvironment } from '../helpers/activity-environment';
import { freePort, startPostgres, type PostgresServer } from '../../infra/postgres-server';
import { shippedRules } from '../helpers/shipped-rules';
import { createRuleSet } from '../../ruleset';
import { usageEntries } from './entry-fixtures';
import { describeLedgerStore } from './store-suite';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(() => server?.destroy());

describeLedgerStore('PostgreSQL', async () => openPostgresClient(server.url));

describe('PostgreSQL going down', () => {
  let store: LedgerStore;
  beforeAll(async () => {
    store = await openLedgerStore({ url: server.url, warn: () => undefined });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('fails with a retryable error naming the database, then writes the same batch exactly once', async () => {
    const batch = usageEntries('outage', 1, 50);
    const label = postgresLabel(server.url);
    expect(label).toBe(`PostgreSQL at 127.0.0.1:${server.port}/postgres`);
    const activities = createActivities({ store, rules: () => createRuleSet([shippedRules()]), mailer: null });
    const env = quietActivityEnvironment();

    server.stop();
    try {
      const err = await store.appendEntries(batch).catch((e: unknown) => e);
      expect(isLedgerError(err) && err.code).toBe('database_unavailable');
      expect((err as Error).message).toContain(`ledger database ${label} is unavailable`);

      const failure = await env.run(activities.appendLedger, { entries: batch }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect((failure as ApplicationFailure).nonRetryable).toBe(false);
      expect((failure as ApplicationFailure).type).toBe('database_unavailable');
      expect((failure as Error).message).toContain(label);
    } finally {
      server.start();
    }

    // The retry Temporal makes once the server is back: written once, and a further retry writes nothing.
    expect(await env.run(activities.appendLedger, { entries: batch })).toEqual({ written: 50 });
    expect(await env.run(activities.appendLedger, { entries: batch })).toEqual({ written: 0 });
    let stored = 0;
    for await (const _ of store.streamEntries({ accountId: 'outage' })) stored += 1;
    expect(stored).toBe(50);
  });

  it('says which server could not be reached when opening', async () => {
    const url = `postgres://credits:hunter2@127.0.0.1:${await freePort()}/credits`;
    const err = await openLedgerStore({ url }).catch((e: unknown) => e);
    expect(isLedgerError(err) && err.code).toBe('database_unavailable');
    expect((err as Error).message).toContain(`${postgresLabel(url)} is unavailable`);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('with waitForDatabase, opens a store while the server is down, fails writes as unavailable, and writes once it is back', async () => {
    const warnings: string[] = [];
    server.stop();
    let store: LedgerStore | undefined;
    try {
      store = await openLedgerStore({ url: server.url, waitForDatabase: true, warn: (m) => warnings.push(m) });
      expect(warnings.join('\n')).toContain('starting anyway');
      const err = await store.appendEntries(usageEntries('late-start', 1, 3)).catch((e: unknown) => e);
      expect(isLedgerError(err) && err.code).toBe('database_unavailable');
    } finally {
      server.start();
    }
    expect(await store.appendEntries(usageEntries('late-start', 1, 3))).toBe(3);
    const seen: number[] = [];
    for await (const e of store.streamEntries({ accountId: 'late-start' })) seen.push(e.seq);
    expect(seen).toEqual([1, 2, 3]);
    await store.close();
  });

  it('without waitForDatabase, a server that is down still fails the open', async () => {
    server.stop();
    try {
      const err = await openLedgerStore({ url: server.url, warn: () => undefined }).catch((e: unknown) => e);
      expect(isLedgerError(err) && err.code).toBe('database_unavailable');
    } finally {
      server.start();
    }
  });
});
