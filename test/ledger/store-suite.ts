/**
 * The LedgerStore behaviour every backend must show, run by `pglite-store.test.ts` and
 * `postgres-store.test.ts` against their own database. The store is opened over a client that
 * records every statement, so paging is asserted on what was read, not on timings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../domain/effects';
import { isLedgerError } from '../../ledger/errors';
import { migrate } from '../../ledger/schema';
import type { SqlClient, SqlExecutor } from '../../ledger/sql-client';
import { openSqlLedgerStore } from '../../ledger/sql-store';
import { insertSql } from '../../ledger/table-spec';
import { CHARGE_TABLE, ENTRY_TABLE, NOTIFICATION_TABLE } from '../../ledger/tables';
import type { LedgerStore } from '../../ledger/store';
import { plainEntry, tierCharge, usageEntries, usageEntry, warningAlert } from './entry-fixtures';
import { CREDIT_MOVEMENT_KINDS } from '../../ledger/history-queries';
import { FORMULA_USER, historyEntries } from './history-fixtures';

/** A statement the store ran and how many rows came back. */
export interface RecordedQuery {
  sql: string;
  rows: number;
}

/** Wraps a client so every statement (inside transactions too) is recorded. */
export function recordingClient(inner: SqlClient, log: RecordedQuery[]): SqlClient {
  const wrap = (executor: SqlExecutor): SqlExecutor => ({
    async query(sql, params) {
      const result = await executor.query(sql, params);
      log.push({ sql, rows: result.rows.length });
      return result as never;
    },
    exec: (sql) => executor.exec(sql),
  });
  return {
    ...wrap(inner),
    label: inner.label,
    transaction: (work) => inner.transaction((tx) => work(wrap(tx))),
    close: () => inner.close(),
  };
}

async function collect(iterable: AsyncIterable<LedgerEntry>): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

/**
 * Declares the shared store tests. `openClient` gives a fresh client to an empty (or at least
 * not yet used by this suite) database; the suite migrates it and closes it at the end.
 */
export function describeLedgerStore(backend: string, openClient: () => Promise<SqlClient>): void {
  describe(`LedgerStore on ${backend}`, () => {
    const queries: RecordedQuery[] = [];
    let client: SqlClient;
    let store: LedgerStore;

    beforeAll(async () => {
      client = recordingClient(await openClient(), queries);
      store = await openSqlLedgerStore(client);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('migrates once: reopening applies nothing', async () => {
      expect(await migrate(client)).toEqual([]);
    });

    it('appends a batch once: the same batch again writes nothing', async () => {
      const batch = usageEntries('idem', 1, 5);
      expect(await store.appendEntries(batch)).toBe(5);
      expect(await store.appendEntries(batch)).toBe(0);
      // An overlapping batch writes only its new entries; a repeat inside a batch counts once.
      const second = usageEntries('idem', 4, 4);
      expect(await store.appendEntries([...second, usageEntry('idem', 8)])).toBe(3);
      const stored = await collect(store.streamEntries({ accountId: 'idem' }));
      expect(stored.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    it('keeps every field, omits absent ones, and normalises instants to UTC', async () => {
      const full: LedgerEntry = {
        ...usageEntry('fields', 1),
        at: '2026-06-03T02:30:00+02:00',
        quantity: 1.234567,
        reason: 'credits_exhausted',
        decision: 'rejected',
        grantId: 'g-1',
        source: 'promotion',
        amountCents: 5000,
        callId: 'call-1',
        agentId: 'agent-1',
        note: 'Tier 3 -> Tier 4, "quoted", é',
      };
      const bare: LedgerEntry = {
        entryId: 'fields:2',
        accountId: 'fields',
        seq: 2,
        at: '2026-06-03T01:00:00.000Z',
        kind: 'cycle_start',
        cycleIndex: 0,
        credits: 0,
        balanceAfter: -40,
        rulesVersion: 'rules-v1',
      };
      await store.appendEntries([full, bare]);
      const [first, second] = await collect(store.streamEntries({ accountId: 'fields' }));
      expect(first).toEqual({ ...full, at: '2026-06-03T00:30:00.000Z' });
      expect(second).toEqual(bare);
      expect(Object.keys(second ?? {})).not.toContain('feature');
    });

    it('returns entries in sequence order and filters by time, cycle and kind', async () => {
      const entries = usageEntries('order', 1, 12).map((e) =>
        e.seq > 8 ? { ...e, cycleIndex: 1, kind: e.seq === 12 ? ('expiry' as const) : e.kind } : e,
      );
      // Appended out of order, in two batches, as retries can do.
      await store.appendEntries(entries.slice(6).reverse());
      await store.appendEntries(entries.slice(0, 6));
      const seqs = async (filter: Parameters<LedgerStore['streamEntries']>[0]) =>
        (await collect(store.streamEntries(filter, { pageSize: 5 }))).map((e) => e.seq);
      expect(await seqs({ accountId: 'order' })).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(await seqs({ accountId: 'order', cycleIndex: 1 })).toEqual([9, 10, 11, 12]);
      expect(await seqs({ accountId: 'order', kinds: ['expiry'] })).toEqual([12]);
      const from = usageEntry('order', 3).at;
      const to = usageEntry('order', 6).at;
      expect(await seqs({ accountId: 'order', from, to })).toEqual([3, 4, 5]);
      expect(await seqs({ accountId: 'nobody' })).toEqual([]);
    });

    it('refuses a malformed entry with a message naming it, writing nothing of the batch', async () => {
      const bad = { ...usageEntry('bad', 2), kind: 'refund' } as unknown as LedgerEntry;
      const err = await rejection(store.appendEntries([usageEntry('bad', 1), bad]));
      expect(isLedgerError(err) && err.code).toBe('invalid_input');
      expect((err as Error).message).toContain('ledger entry bad:2: kind must be one of');
      const missing = { ...usageEntry('bad', 3), rulesVersion: undefined } as unknown as LedgerEntry;
      expect(((await rejection(store.appendEntries([missing]))) as Error).message).toContain('rulesVersion is missing');
      expect(await collect(store.streamEntries({ accountId: 'bad' }))).toEqual([]);
    });

    it('refuses text and numbers the database cannot hold as invalid_input, before and inside the database', async () => {
      const poisons: [string, Partial<LedgerEntry>][] = [
        ['NUL', { userId: 'u\u0000x' }],
        ['lone high surrogate', { idempotencyKey: 'k-\ud800' }],
        ['lone low surrogate', { note: '\udc00 note' }],
        ['NUL in a JSON column', { debits: [{ grantId: 'g\u0000', credits: 1 }] }],
        ['a balance beyond bigint', { balanceAfter: 2 ** 64 }],
        ['a cycle beyond integer', { cycleIndex: 2 ** 31 }],
      ];
      for (const [what, poison] of poisons) {
        const entry = usageEntry('poison', 1, poison);
        const checked = await rejection(store.appendEntries([entry]));
        expect({ what, code: isLedgerError(checked) && checked.code }).toEqual({ what, code: 'invalid_input' });
        // The same values past the store's own checks: the database's refusal maps to the same code.
        const raw = await rejection(client.query(insertSql(ENTRY_TABLE), [JSON.stringify([entry])]));
        expect({ what, code: isLedgerError(raw) && raw.code, raw: String(raw) }).toMatchObject({ what, code: 'invalid_input' });
      }
      // Beyond 2^53 a JS number is no longer exact, though a bigint column could hold it.
      const inexact = await rejection(store.appendEntries([usageEntry('poison', 1, { credits: 2 ** 53 + 2 })]));
      expect(isLedgerError(inexact) && inexact.code).toBe('invalid_input');
      const bigCharge = await rejection(store.recordCharge(tierCharge('poison', { amountCents: 2 ** 63 })));
      expect(isLedgerError(bigCharge) && bigCharge.code).toBe('invalid_input');
      const rawCharge = await rejection(client.query(insertSql(CHARGE_TABLE), [JSON.stringify([tierCharge('poison', { currency: 'usd\u0000' })])]));
      expect(isLedgerError(rawCharge) && rawCharge.code).toBe('invalid_input');
      const badAdmin = await rejection(store.recordNotification(warningAlert('poison', { admins: ['\ud83d@example.com'] })));
      expect(isLedgerError(badAdmin) && badAdmin.code).toBe('invalid_input');
      const rawAdmin = await rejection(
        client.query(insertSql(NOTIFICATION_TABLE), [JSON.stringify([warningAlert('poison', { admins: ['\ud83d@example.com'] })])]),
      );
      expect(isLedgerError(rawAdmin) && rawAdmin.code).toBe('invalid_input');
      // An instant past the millisecond, which the database would round where JavaScript truncates.
      const fine = await rejection(store.appendEntries([usageEntry('poison', 3, { at: '2026-06-30T23:59:59.9999996Z' })]));
      expect(isLedgerError(fine) && fine.code).toBe('invalid_input');
      expect((fine as Error).message).toMatch(/at must be given to the millisecond at most/);
      // A refused value is quoted as a short prefix, escaped, whatever its size.
      const huge = await rejection(store.appendEntries([usageEntry('poison', 2, { note: `${'x'.repeat(1_000_000)}\u0000` })]));
      expect((huge as Error).message.length).toBeLessThan(300);
      expect(await collect(store.streamEntries({ accountId: 'poison' }))).toEqual([]);
    });

    it('streams a large history a page at a time, reading only as far as the consumer goes', async () => {
      const total = 20_000;
      const pageSize = 1000;
      for (let first = 1; first <= total; first += 2000) {
        expect(await store.appendEntries(usageEntries('big', first, 2000))).toBe(2000);
      }
      const selects = () => queries.filter((q) => q.sql.startsWith('SELECT') && q.sql.includes('FROM ledger_entries'));

      queries.length = 0;
      let count = 0;
      let outOfOrder = 0;
      let mostPagesAhead = 0;
      for await (const entry of store.streamEntries({ accountId: 'big' }, { pageSize })) {
        count += 1;
        if (entry.seq !== count) outOfOrder += 1;
        // Pages read beyond the one holding this entry: the reader must not run ahead (the
        // first query lists the account's epochs).
        const pagesRead = queries.length - 1;
        mostPagesAhead = Math.max(mostPagesAhead, pagesRead - Math.ceil(count / pageSize));
      }
      expect(count).toBe(total);
      expect(outOfOrder).toBe(0);
      expect(mostPagesAhead).toBe(0);
      expect(selects().every((q) => q.rows <= pageSize)).toBe(true);
      expect(selects()).toHaveLength(1 + total / pageSize + 1); // the epochs, the pages, and an empty last page

      queries.length = 0;
      let read = 0;
      for await (const _ of store.streamEntries({ accountId: 'big' }, { pageSize })) {
        read += 1;
        if (read === 1500) break;
      }
      expect(selects()).toHaveLength(3);
    });

    it('sums usage by feature for a cycle', async () => {
      await store.appendEntries([
        usageEntry('usage', 1, { quantity: 3, credits: 3 }),
        usageEntry('usage', 2, { decision: 'rejected', reason: 'credits_exhausted', credits: 0, debits: [] }),
        usageEntry('usage', 3, { kind: 'call_start', feature: 'voice_agent', quantity: undefined, credits: 0 }),
        usageEntry('usage', 4, { kind: 'call_end', feature: 'voice_agent', quantity: 2.5, unit: 'minute', credits: 15 }),
        usageEntry('usage', 5, { kind: 'grant', feature: undefined, credits: 1500 }),
        usageEntry('usage', 6, { cycleIndex: 1 }),
        // The part of a call still open at the reset, charged to the closing cycle.
        usageEntry('usage', 7, { kind: 'call_part', feature: 'voice_agent', quantity: 1.5, unit: 'minute', credits: 9 }),
      ]);
      expect(await store.usageByFeature('usage', 0)).toEqual([
        { feature: 'enrichment', quantity: 3, credits: 3, count: 1, rejected: 1 },
        { feature: 'voice_agent', quantity: 4, credits: 24, count: 2, rejected: 0 },
      ]);
    });

    it('takes a voided usage off its feature when summing usage', async () => {
      await store.appendEntries([
        usageEntry('voids', 1, { quantity: 3, credits: 3 }),
        usageEntry('voids', 2, { quantity: 2, credits: 2 }),
        usageEntry('voids', 3, { kind: 'void', quantity: -3, credits: -3, decision: undefined, idempotencyKey: 'key-1', debits: [{ grantId: 'g-included-0', credits: -3 }] }),
      ]);
      expect(await store.usageByFeature('voids', 0)).toEqual([{ feature: 'enrichment', quantity: 2, credits: 2, count: 1, rejected: 0 }]);
    });

    it('sums usage by UTC day, voids on the day they were made, within a cycle or a range', async () => {
      await store.appendEntries(historyEntries('by-day'));
      expect(await store.usageByDay({ accountId: 'by-day', cycleIndex: 0 })).toEqual([
        { day: '2026-06-03', credits: 12, uses: 2, refused: 0 },
        { day: '2026-06-05', credits: 3, uses: 1, refused: 1 },
        { day: '2026-06-06', credits: 21, uses: 2, refused: 0 },
        { day: '2026-06-07', credits: -3, uses: -1, refused: 0 },
      ]);
      expect(await store.usageByDay({ accountId: 'by-day', from: '2026-06-05T00:00:00.000Z', to: '2026-06-06T12:00:00.000Z' })).toEqual([
        { day: '2026-06-05', credits: 3, uses: 1, refused: 1 },
      ]);
      expect(await store.usageByDay({ accountId: 'by-day', cycleIndex: 1 })).toEqual([]);
    });

    it('sums usage by user, a void counting for the user of the usage it reverses', async () => {
      await store.appendEntries(historyEntries('by-user'));
      expect(await store.usageByUser({ accountId: 'by-user', cycleIndex: 0 })).toEqual([
        { userId: null, credits: 20, uses: 1, refused: 0 },
        { userId: 'user-b', credits: 7, uses: 1, refused: 1 },
        { userId: 'user-a', credits: 5, uses: 1, refused: 0 },
        { userId: FORMULA_USER, credits: 1, uses: 1, refused: 0 },
      ]);
      expect(await store.usageByUser({ accountId: 'nobody-here' })).toEqual([]);
    });

    it('streams every entry of an account restarted under its id, whose sequence numbers repeat', async () => {
      // The second workflow began a day after the first; its ids sort first ("new" < "old").
      const epoch = (id: string, e: LedgerEntry, later = 0): LedgerEntry => ({ ...e, entryId: `twice:${id}:${e.seq}`, at: new Date(Date.parse(e.at) + later).toISOString() });
      const first = usageEntries('twice', 1, 7).map((e) => epoch('old', e));
      const second = usageEntries('twice', 1, 7).map((e) => epoch('new', e, 86_400_000));
      await store.appendEntries([...second, ...first]);
      for (const pageSize of [1, 2, 3, 5, 100]) {
        const read = await collect(store.streamEntries({ accountId: 'twice' }, { pageSize }));
        // Each pool whole, in sequence order, the one that began first first: never interleaved.
        expect(read.map((e) => e.entryId)).toEqual([...first, ...second].map((e) => e.entryId));
      }
      // Filtered, the epochs keep that order.
      const usage = await collect(store.streamEntries({ accountId: 'twice', kinds: ['usage'], from: first[3]!.at }, { pageSize: 2 }));
      expect(usage.map((e) => e.entryId)).toEqual([...first.slice(3), ...second].map((e) => e.entryId));
    });

    it('pages every entry of an account restarted under its id, newest first, with the entry id in the cursor', async () => {
      const epoch = (id: string, e: LedgerEntry): LedgerEntry => ({ ...e, kind: 'grant', entryId: `twice-paged:${id}:${e.seq}` });
      const written = [...usageEntries('twice-paged', 1, 5).map((e) => epoch('old', e)), ...usageEntries('twice-paged', 1, 5).map((e) => epoch('new', e))];
      await store.appendEntries(written);
      const filter = { accountId: 'twice-paged', kinds: CREDIT_MOVEMENT_KINDS };
      for (const limit of [1, 2, 3, 4, 20]) {
        const seen: string[] = [];
        let cursor: { beforeSeq?: number; beforeId?: string } = {};
        for (;;) {
          const page = await store.pageEntries(filter, { limit, ...cursor });
          seen.push(...page.entries.map((e) => e.entryId));
          if (page.nextBeforeSeq === null || page.nextBeforeId === null) break;
          cursor = { beforeSeq: page.nextBeforeSeq, beforeId: page.nextBeforeId };
        }
        expect(seen).toEqual([5, 4, 3, 2, 1].flatMap((n) => [`twice-paged:old:${n}`, `twice-paged:new:${n}`]));
      }
      const lone = await rejection(store.pageEntries(filter, { limit: 2, beforeId: 'twice-paged:new:3' }));
      expect(isLedgerError(lone) && lone.code).toBe('invalid_input');
    });

    it('pages entries newest first with a sequence cursor', async () => {
      await store.appendEntries(historyEntries('paged'));
      const filter = { accountId: 'paged', kinds: CREDIT_MOVEMENT_KINDS };
      const first = await store.pageEntries(filter, { limit: 2 });
      expect(first.entries.map((e) => e.seq)).toEqual([11, 9]);
      expect(first.nextBeforeSeq).toBe(9);
      const second = await store.pageEntries(filter, { limit: 2, beforeSeq: 9 });
      expect(second.entries.map((e) => [e.seq, e.kind, e.credits])).toEqual([[8, 'grant', 500], [7, 'void', -3]]);
      const last = await store.pageEntries(filter, { limit: 2, beforeSeq: 7 });
      expect(last).toMatchObject({ entries: [{ seq: 1, kind: 'grant', credits: 10_000 }], nextBeforeSeq: null });
      // Exactly a page left: no empty page after it.
      expect((await store.pageEntries(filter, { limit: 1, beforeSeq: 7 })).nextBeforeSeq).toBeNull();
      const bad = await rejection(store.pageEntries(filter, { limit: 0 }));
      expect(isLedgerError(bad) && bad.code).toBe('invalid_input');
    });

    it('records a charge once per charge id', async () => {
      const charge = tierCharge('billing');
      expect(await store.recordCharge(charge)).toBe(true);
      expect(await store.recordCharge(charge)).toBe(false);
      const upgrade = tierCharge('billing', { chargeId: 'billing:charge:1', reason: 'upgrade', paidThrough: '2026-08-03T00:00:00.000Z' });
      expect(await store.recordCharge(upgrade)).toBe(true);
      const charges = await store.listCharges('billing');
      expect(charges.map((c) => c.chargeId)).toEqual(['billing:charge:0', 'billing:charge:1']);
      expect(charges[0]).toMatchObject(charge);
      // A charge made before the paid-through was recorded has none; a later one keeps it.
      expect(charges[0]).not.toHaveProperty('paidThrough');
      expect(charges[1]).toMatchObject(upgrade);
      const err = await rejection(store.recordCharge(tierCharge('billing', { amountCents: -1 })));
      expect(isLedgerError(err) && err.code).toBe('invalid_input');
    });

    it('lists every account id with entries or charges, once each, in order', async () => {
      await store.appendEntries([...usageEntries('list-b', 1, 3), ...usageEntries('list-a', 1, 1)]);
      await store.recordCharge(tierCharge('list-c'));
      await store.recordCharge(tierCharge('list-b', { chargeId: 'list-b:charge:0' }));
      const ids = await store.listAccountIds();
      expect(ids.filter((id) => id.startsWith('list-'))).toEqual(['list-a', 'list-b', 'list-c']);
      expect(ids).toEqual([...new Set(ids)].sort());
    });

    it('finds the latest entry of an earlier workflow of an account, and none of its own epoch or of another account', async () => {
      // Ids as the workflow writes them: <accountId>:<epoch>:<seq>. Ids with LIKE's wildcards
      // and an account id that prefixes another must not confuse the match.
      const entry = (account: string, epoch: string, seq: number) => usageEntry(account, seq, { entryId: `${account}:${epoch}:${seq}` });
      await store.appendEntries([entry('epochs_1', 'old%0001', 1), entry('epochs_1', 'old%0001', 2), entry('epochs_1', 'new_0002', 3), entry('epochs_10', 'other', 9)]);
      expect(await store.earlierEpoch('epochs_1', 'new_0002')).toEqual({ epoch: 'old%0001', entryId: 'epochs_1:old%0001:2', at: usageEntry('x', 2).at });
      expect(await store.earlierEpoch('epochs_1', 'old%0001')).toEqual({ epoch: 'new_0002', entryId: 'epochs_1:new_0002:3', at: usageEntry('x', 3).at });
      await store.appendEntries([entry('epochs_2', 'only', 1)]);
      expect(await store.earlierEpoch('epochs_2', 'only')).toBeNull();
      expect(await store.earlierEpoch('epochs_2', 'onl')).toEqual({ epoch: 'only', entryId: 'epochs_2:only:1', at: usageEntry('x', 1).at });
      expect(await store.earlierEpoch('epochs_none', 'e1')).toBeNull();
    });

    it("names the promotions an account's earlier workflows were granted, with their rules versions, each once, and none of its own epoch", async () => {
      const grant = (account: string, epoch: string, seq: number, source: 'promotion' | 'included', note: string) =>
        plainEntry(account, seq, { entryId: `${account}:${epoch}:${seq}`, kind: 'grant', credits: 100, source, note, grantId: `g-${seq}` });
      await store.appendEntries([
        grant('promos_1', 'old%0001', 1, 'promotion', 'Chloe beta thank-you'),
        grant('promos_1', 'old%0001', 2, 'included', 'included credits'),
        grant('promos_1', 'older_01', 3, 'promotion', 'Chloe beta thank-you'),
        grant('promos_1', 'older_01', 4, 'promotion', 'Autumn bonus'),
        grant('promos_1', 'new_0002', 5, 'promotion', 'Winter bonus'),
        grant('promos_10', 'other', 6, 'promotion', 'Not this account'),
      ]);
      const v = usageEntry('x', 1).rulesVersion;
      expect(await store.earlierPromotions('promos_1', 'new_0002')).toEqual([
        { name: 'Autumn bonus', rulesVersion: v },
        { name: 'Chloe beta thank-you', rulesVersion: v },
      ]);
      expect((await store.earlierPromotions('promos_1', 'old%0001')).map((p) => p.name)).toEqual(['Autumn bonus', 'Chloe beta thank-you', 'Winter bonus']);
      expect(await store.earlierPromotions('promos_none', 'e1')).toEqual([]);
    });

    it('records a portal link used once, and forgets links a day past their expiry', async () => {
      const soon = new Date(Date.now() + 900_000).toISOString();
      expect(await store.claimPortalLink({ linkId: 'link-1', accountId: 'acme', expiresAt: soon })).toBe(true);
      expect(await store.claimPortalLink({ linkId: 'link-1', accountId: 'acme', expiresAt: soon })).toBe(false);
      expect(await store.claimPortalLink({ linkId: 'link-2', accountId: 'acme', expiresAt: soon })).toBe(true);
      const longAgo = new Date(Date.now() - 3 * 86_400_000).toISOString();
      expect(await store.claimPortalLink({ linkId: 'link-old', accountId: 'acme', expiresAt: longAgo })).toBe(true);
      // Forgotten a day past its expiry (such a link is refused as expired before it is looked up).
      expect(await store.claimPortalLink({ linkId: 'link-3', accountId: 'acme', expiresAt: soon })).toBe(true);
      expect(await store.claimPortalLink({ linkId: 'link-old', accountId: 'acme', expiresAt: longAgo })).toBe(true);
      expect(await store.claimPortalLink({ linkId: 'link-1', accountId: 'acme', expiresAt: soon })).toBe(false);
      const bad = await rejection(store.claimPortalLink({ linkId: 'link-4', accountId: 'acme', expiresAt: 'soon' }));
      expect(isLedgerError(bad) && bad.code).toBe('invalid_input');
    });

    it('keeps admin sessions by digest: saved, replaced, read back as given, deleted, and the ended ones swept', async () => {
      const later = new Date(Date.now() + 3_600_000).toISOString();
      const caller = { role: 'customer', accountId: "o'brien & co \u00e9", expiresAt: later };
      expect(await store.adminSession('digest-1')).toBeNull();
      await store.saveAdminSession('digest-1', { caller, csrf: 'token-1', expiresAt: later });
      expect(await store.adminSession('digest-1')).toEqual({ caller, csrf: 'token-1', expiresAt: later });
      const flash = { accountId: 'acme', ok: true, text: 'Granted 100 credits.' };
      await store.saveAdminSession('digest-1', { caller, csrf: 'token-1', flash, expiresAt: later });
      expect(await store.adminSession('digest-1')).toEqual({ caller, csrf: 'token-1', flash, expiresAt: later });
      await store.saveAdminSession('digest-1', { caller, csrf: 'token-1', expiresAt: later });
      expect((await store.adminSession('digest-1'))?.flash).toBeUndefined();
      // The flash alone: set; cleared only while it is still the one shown.
      await store.setAdminSessionFlash('digest-1', flash);
      expect(await store.adminSession('digest-1')).toEqual({ caller, csrf: 'token-1', flash, expiresAt: later });
      const newer = { accountId: 'acme', ok: false, text: 'Refused: credits must be a whole number.' };
      await store.setAdminSessionFlash('digest-1', newer);
      await store.setAdminSessionFlash('digest-1', null, flash);
      expect((await store.adminSession('digest-1'))?.flash).toEqual(newer);
      await store.setAdminSessionFlash('digest-1', null, newer);
      expect((await store.adminSession('digest-1'))?.flash).toBeUndefined();
      await store.setAdminSessionFlash('no-such-digest', flash);
      expect(await store.adminSession('no-such-digest')).toBeNull();
      // An ended session is swept by the next save, whoever's it is.
      const ended = new Date(Date.now() - 1000).toISOString();
      await store.saveAdminSession('digest-ended', { caller: { role: 'operator', who: 'x' }, csrf: 't', expiresAt: ended });
      expect(await store.adminSession('digest-ended')).toMatchObject({ expiresAt: ended });
      await store.saveAdminSession('digest-2', { caller: { role: 'operator', who: 'key #1' }, csrf: 'token-2', expiresAt: later });
      expect(await store.adminSession('digest-ended')).toBeNull();
      await store.deleteAdminSession('digest-1');
      await store.deleteAdminSession('digest-1');
      expect(await store.adminSession('digest-1')).toBeNull();
      expect(await store.adminSession('digest-2')).toMatchObject({ csrf: 'token-2' });
      const bad = await rejection(store.saveAdminSession('digest-3', { caller, csrf: 'x', expiresAt: 'later' }));
      expect(isLedgerError(bad) && bad.code).toBe('invalid_input');
      const empty = await rejection(store.adminSession(''));
      expect(isLedgerError(empty) && empty.code).toBe('invalid_input');
    });

    it('stores a notification once and tracks its delivery claims', async () => {
      const alert = warningAlert('notes');
      expect(await store.recordNotification(alert)).toBe(true);
      expect(await store.recordNotification(alert)).toBe(false);

      const [stored] = await store.listNotifications('notes');
      // Every claim says since when the notification has been delivered: its give-up span counts from there.
      const since = stored!.createdAt;
      expect(await store.claimDelivery(alert.alertId, 'email')).toEqual({ claimed: true, attempt: 1, since });
      // A second attempt while the first holds the claim must not send.
      expect(await store.claimDelivery(alert.alertId, 'email')).toEqual({ claimed: false, status: 'sending' });
      await store.finishDelivery(alert.alertId, 'email', { status: 'failed', error: '451 try later' });
      expect(await store.claimDelivery(alert.alertId, 'email')).toEqual({ claimed: true, attempt: 2, since });
      // A claim whose holder died is taken over once its lease has run out.
      expect(await store.claimDelivery(alert.alertId, 'email', { leaseMs: 0 })).toEqual({ claimed: true, attempt: 3, since });
      await store.finishDelivery(alert.alertId, 'email', { status: 'sent', messageId: '<m@x>' });
      expect(await store.claimDelivery(alert.alertId, 'email', { leaseMs: 0 })).toEqual({ claimed: false, status: 'sent' });
      // Nothing overwrites a sent delivery.
      await store.finishDelivery(alert.alertId, 'email', { status: 'failed', error: 'late' });

      const [listed] = await store.listNotifications('notes');
      expect(listed).toMatchObject({ ...alert, readAt: null });
      expect(listed?.deliveries).toEqual([
        { channel: 'email', status: 'sent', attempts: 3, sentAt: expect.any(String), messageId: '<m@x>', lastError: null },
      ]);

      const err = await rejection(store.claimDelivery('notes:unknown', 'email'));
      expect(isLedgerError(err) && err.code).toBe('invalid_input');
    });

    it("keeps a trial alert's trial, and none for a paid account's", async () => {
      const trial = warningAlert('trial-note', { trial: { endsAt: '2026-06-17T00:00:00.000Z' } });
      const untilConversion = warningAlert('trial-note', { alertId: 'trial-note:a2', at: '2026-06-21T00:00:00.000Z', trial: { endsAt: null } });
      const paid = warningAlert('paid-note');
      for (const a of [trial, untilConversion, paid]) expect(await store.recordNotification(a)).toBe(true);
      const listed = await store.listNotifications('trial-note');
      expect(listed.map((n) => n.trial)).toEqual([{ endsAt: null }, { endsAt: '2026-06-17T00:00:00.000Z' }]);
      const [paidListed] = await store.listNotifications('paid-note');
      expect(paidListed && 'trial' in paidListed).toBe(false);
      const bad = await rejection(store.recordNotification(warningAlert('trial-bad', { trial: { endsAt: 'soon' } })));
      expect(isLedgerError(bad) && bad.code).toBe('invalid_input');
    });

    it('never hands out again a delivery given up on', async () => {
      const alert = warningAlert('given-up');
      await store.recordNotification(alert);
      expect((await store.claimDelivery(alert.alertId, 'email')).claimed).toBe(true);
      await store.finishDelivery(alert.alertId, 'email', { status: 'abandoned', error: '550 5.1.1 User unknown; refused for good, not retried' });
      expect(await store.claimDelivery(alert.alertId, 'email', { leaseMs: 0 })).toEqual({ claimed: false, status: 'abandoned' });
      const [listed] = await store.listNotifications('given-up');
      expect(listed?.deliveries).toEqual([
        { channel: 'email', status: 'abandoned', attempts: 1, sentAt: null, messageId: null, lastError: '550 5.1.1 User unknown; refused for good, not retried' },
      ]);
    });

    it('lists notifications newest first and marks them read once', async () => {
      const older = warningAlert('inbox', { alertId: 'inbox:a1', at: '2026-06-20T00:00:00.000Z' });
      const newer = warningAlert('inbox', {
        alertId: 'inbox:a2',
        at: '2026-06-25T00:00:00.000Z',
        state: 'exhausted',
        available: 0,
        used: 15_000,
        projectedRunOutAt: null,
      });
      await store.recordNotification(older);
      await store.recordNotification(newer);
      expect((await store.listNotifications('inbox')).map((n) => n.alertId)).toEqual(['inbox:a2', 'inbox:a1']);
      expect(await store.markNotificationRead('inbox:a2', '2026-06-26T00:00:00.000Z')).toBe(true);
      expect(await store.markNotificationRead('inbox:a2')).toBe(false);
      expect(await store.markNotificationRead('inbox:none')).toBe(false);
      const unread = await store.listNotifications('inbox', { unreadOnly: true });
      expect(unread.map((n) => n.alertId)).toEqual(['inbox:a1']);
      const all = await store.listNotifications('inbox');
      expect(all[0]).toMatchObject({ projectedRunOutAt: null, readAt: '2026-06-26T00:00:00.000Z', deliveries: [] });
    });
  });
}
