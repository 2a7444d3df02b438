/**
 * The admin server's ledger endpoints, which `credits ledger verify` asks while the main job
 * holds the embedded ledger: the account list and one cycle's ledger facts, with bad queries
 * refused as 400s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../admin/server';
import type { CreditsClient } from '../../client';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { tierCharge, usageEntries } from '../ledger/entry-fixtures';

let store: LedgerStore;
let admin: AdminServer;
beforeAll(async () => {
  store = await openLedgerStore({ url: 'pglite:memory' });
  await store.appendEntries(usageEntries('api-1', 1, 3).map((e) => ({ ...e, entryId: `api-1:e1:${e.seq}` })));
  await store.recordCharge(tierCharge('api-2'));
  // These routes read only the ledger; the summary is the CLI's side.
  admin = await startAdminServer({ client: {} as CreditsClient, store, port: 0, log: () => undefined });
});
afterAll(async () => {
  await admin?.close();
  await store?.close();
});

describe('admin ledger API', () => {
  it('lists the accounts the ledger knows', async () => {
    const response = await fetch(`${admin.url}/api/ledger/accounts`);
    expect(await response.json()).toEqual({ accounts: ['api-1', 'api-2'] });
  });

  it("serves one cycle's ledger facts", async () => {
    const q = new URLSearchParams({ cycle: '0', start: '2026-06-03T00:00:00.000Z', end: '2026-07-03T00:00:00.000Z', epoch: 'e1' });
    const facts = await (await fetch(`${admin.url}/api/accounts/api-1/ledger?${q.toString()}`)).json();
    expect(facts).toMatchObject({
      accountId: 'api-1',
      cycleIndex: 0,
      epoch: 'e1',
      entriesRead: 3,
      last: { seq: 3, balanceAfter: 9_994 },
      usage: [{ feature: 'enrichment', quantity: 6, credits: 6, count: 3, rejected: 0 }],
      repeated: [],
    });
  });

  it("serves the account's whole ledger followed entry by entry, for the epoch asked or the latest", async () => {
    const chain = await (await fetch(`${admin.url}/api/accounts/api-1/ledger/chain`)).json();
    // These rows start with usage, not with an account opened from nothing: the first breaks the chain.
    expect(chain).toEqual({
      accountId: 'api-1',
      epoch: 'e1',
      entries: 3,
      last: expect.objectContaining({ seq: 3, balanceAfter: 9_994 }),
      balanceBreaks: [{ entryId: 'api-1:e1:1', seq: 1, kind: 'usage', cycleIndex: 0, expected: -2, balanceAfter: 9_998 }],
      sequenceGaps: [],
      chargeMismatches: [],
    });
    expect(await (await fetch(`${admin.url}/api/accounts/api-1/ledger/chain?epoch=other`)).json()).toMatchObject({ epoch: null, entries: 0 });
    const bad = await fetch(`${admin.url}/api/accounts/api-1/ledger/chain?epoch=${encodeURIComponent('a b')}`);
    expect(bad.status).toBe(400);
  });

  it('refuses a query without the cycle', async () => {
    const response = await fetch(`${admin.url}/api/accounts/api-1/ledger?cycle=x`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'bad_request' } });
  });
});
