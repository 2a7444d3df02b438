/**
 * The one implementation of {@link LedgerStore}, in SQL that PGlite and PostgreSQL both run.
 * Idempotency lives in the database (primary keys and `ON CONFLICT DO NOTHING`), not in
 * memory, so it holds across retries, worker restarts and several workers.
 */
import type { FeatureUsageView } from '../domain/wire-contract';
import type { AlertNotice, ChargeRequest, LedgerEntry } from '../domain/effects';
import { LEDGER_KINDS, epochOfId, ledgerIdPrefix } from '../domain/effects';
import { LedgerError } from './errors';
import { migrate } from './schema';
import type { SqlClient, SqlExecutor } from './sql-client';
import { CHARGE_TABLE, ENTRY_TABLE, NOTIFICATION_TABLE } from './tables';
import { isIsoInstant } from '../ruleset/instant';
import { listWebhookAttempts, recordWebhookAttempt, webhookProgress, type WebhookAttempt, type WebhookLogFilter, type WebhookProgress } from './webhook-deliveries';
import { decodeRow, insertSql, jsonRecordSelect, selectList, validateRecord } from './table-spec';
import { COUNTED_USAGE, queryEntryPage, queryUsageByDay, queryUsageByUser, type DayUsage, type EntryPage, type EntryPageCursor, type UserUsage } from './history-queries';
import type {
  AdminSessionRecord,
  ChargeRecord,
  DeliveryChannel,
  DeliveryClaim,
  DeliveryOutcome,
  DeliveryState,
  DeliveryStatus,
  EarlierEpoch,
  EntryFilter,
  GrantedPromotion,
  InAppNotification,
  LedgerStore,
  StreamOptions,
  UsedPortalLink,
} from './store';

/** Default rows per page when streaming. */
const DEFAULT_PAGE_SIZE = 1000;
/** Records per insert statement: bounds one statement's JSON parameter on huge batches. */
const INSERT_CHUNK = 2000;
/** How long a delivery claim keeps other attempts from sending. */
const DEFAULT_LEASE_MS = 120_000;

const ENTRY_INSERT = insertSql(ENTRY_TABLE);
const CHARGE_INSERT = insertSql(CHARGE_TABLE);
const NOTIFICATION_INSERT = insertSql(NOTIFICATION_TABLE);

/** Options of {@link openSqlLedgerStore}. */
export interface SqlStoreOptions {
  /** Skip the schema migrations (only when the caller has just applied them). */
  skipMigrations?: boolean;
}

/**
 * Opens a ledger store over a SQL client, applying pending schema migrations first.
 * The store owns the client: `store.close()` closes it.
 */
export async function openSqlLedgerStore(client: SqlClient, options: SqlStoreOptions = {}): Promise<LedgerStore> {
  if (!options.skipMigrations) {
    try {
      await migrate(client);
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  }
  return new SqlLedgerStore(client);
}

function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new LedgerError('invalid_input', `${what} must be a non-empty string (got ${JSON.stringify(value)})`);
  }
  return value;
}

function requireInstant(value: unknown, what: string): string {
  if (!isIsoInstant(value)) {
    throw new LedgerError('invalid_input', `${what} must be an ISO-8601 instant with a time zone (got ${JSON.stringify(value)})`);
  }
  return value;
}

function requireCount(value: unknown, what: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new LedgerError('invalid_input', `${what} must be an integer >= ${min} (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** Builds the WHERE clause of an entry filter; `$1` is the account, later parameters follow. */
function filterClause(filter: EntryFilter): { where: string; params: unknown[] } {
  const params: unknown[] = [requireText(filter.accountId, 'filter.accountId')];
  const conditions = ['account_id = $1'];
  if (filter.from !== undefined) {
    params.push(requireInstant(filter.from, 'filter.from'));
    conditions.push(`at >= $${params.length}`);
  }
  if (filter.to !== undefined) {
    params.push(requireInstant(filter.to, 'filter.to'));
    conditions.push(`at < $${params.length}`);
  }
  if (filter.cycleIndex !== undefined) {
    params.push(requireCount(filter.cycleIndex, 'filter.cycleIndex', 0));
    conditions.push(`cycle_index = $${params.length}`);
  }
  if (filter.kinds !== undefined) {
    const unknown = filter.kinds.filter((k) => !(LEDGER_KINDS as readonly string[]).includes(k));
    if (unknown.length > 0) {
      throw new LedgerError('invalid_input', `filter.kinds has unknown kind(s) ${unknown.join(', ')}; known: ${LEDGER_KINDS.join(', ')}`);
    }
    params.push([...filter.kinds]);
    conditions.push(`kind = ANY($${params.length}::text[])`);
  }
  return { where: conditions.join(' AND '), params };
}

/** A delivery as `jsonb_build_object` returns it: instants in Postgres' JSON text form. */
function decodeDelivery(row: DeliveryState): DeliveryState {
  return {
    channel: row.channel,
    status: row.status,
    attempts: Number(row.attempts),
    sentAt: row.sentAt === null ? null : new Date(row.sentAt).toISOString(),
    messageId: row.messageId,
    lastError: row.lastError,
  };
}

function isoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : new Date(value as string | Date).toISOString();
}

class SqlLedgerStore implements LedgerStore {
  private closed = false;

  constructor(private readonly client: SqlClient) {}

  get label(): string {
    return this.client.label;
  }

  /** The client, refusing use after close with a clear error instead of a driver's. */
  private get db(): SqlClient {
    if (this.closed) throw new LedgerError('closed', `ledger store ${this.client.label} is closed`);
    return this.client;
  }

  /** Inserts already validated records idempotently; returns how many were new. */
  private async insertAll(executor: SqlExecutor, sql: string, records: readonly unknown[]): Promise<number> {
    let written = 0;
    for (let start = 0; start < records.length; start += INSERT_CHUNK) {
      const chunk = records.slice(start, start + INSERT_CHUNK);
      const { rows } = await executor.query(sql, [JSON.stringify(chunk)]);
      written += rows.length;
    }
    return written;
  }

  async appendEntries(entries: readonly LedgerEntry[]): Promise<number> {
    if (!Array.isArray(entries)) throw new LedgerError('invalid_input', 'entries must be a list of ledger entries');
    for (const entry of entries) validateRecord(ENTRY_TABLE, entry);
    if (entries.length === 0) return 0;
    const db = this.db;
    return db.transaction((tx) => this.insertAll(tx, ENTRY_INSERT, entries));
  }

  async *streamEntries(filter: EntryFilter, options: StreamOptions = {}): AsyncGenerator<LedgerEntry> {
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    requireCount(pageSize, 'pageSize', 1);
    const { where, params } = filterClause(filter);
    // An account restarted under its id (a new workflow, a new pool) has a second epoch whose
    // sequence numbers start again at 1: each epoch's entries come whole, in sequence order,
    // the epochs in the order they began, so a reader never sees two pools interleaved.
    // An epoch's ids share the prefix before the sequence number (see ledgerIdPrefix): the id
    // up to its last colon.
    const prefix = `regexp_replace(entry_id, '[^:]*$', '')`;
    const { rows: epochs } = await this.db.query<{ epoch: string }>(
      `SELECT ${prefix} AS epoch FROM ledger_entries WHERE ${where} GROUP BY 1 ORDER BY min(at), ${prefix} COLLATE "C"`,
      params,
    );
    const epochParam = params.length + 1;
    const seqParam = params.length + 2;
    const idParam = params.length + 3;
    // Rows come as one JSON text each: a scan of a long history decodes several times faster.
    // The cursor is (seq, entry id): ids of one epoch that do not follow the usual form could
    // share a sequence number, and a cursor on seq alone would skip one at a page's end.
    const sql =
      `SELECT ${jsonRecordSelect(ENTRY_TABLE)} FROM ledger_entries ` +
      `WHERE ${where} AND ${prefix} = $${epochParam} AND (seq > $${seqParam} OR (seq = $${seqParam} AND entry_id COLLATE "C" > $${idParam})) ` +
      `ORDER BY seq, entry_id COLLATE "C" LIMIT ${pageSize}`;
    for (const { epoch } of epochs) {
      let after: [number, string] = [-1, ''];
      for (;;) {
        const { rows } = await this.db.query<{ record: string }>(sql, [...params, epoch, ...after]);
        let last: LedgerEntry | undefined;
        for (const row of rows) {
          last = JSON.parse(row.record) as LedgerEntry;
          yield last;
        }
        if (rows.length < pageSize || last === undefined) break;
        after = [last.seq, last.entryId];
      }
    }
  }

  async usageByFeature(accountId: string, cycleIndex: number): Promise<FeatureUsageView[]> {
    requireText(accountId, 'accountId');
    requireCount(cycleIndex, 'cycleIndex', 0);
    const counted = COUNTED_USAGE;
    // A void reverses one accepted usage: its quantity and credits are negative, and it takes one off the count.
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT feature,
              COALESCE(SUM(quantity) FILTER (WHERE ${counted} OR kind = 'void'), 0) AS quantity,
              COALESCE(SUM(credits) FILTER (WHERE ${counted} OR kind = 'void'), 0) AS credits,
              COUNT(*) FILTER (WHERE ${counted}) - COUNT(*) FILTER (WHERE kind = 'void') AS count,
              COUNT(*) FILTER (WHERE decision = 'rejected') AS rejected
         FROM ledger_entries
        WHERE account_id = $1 AND cycle_index = $2 AND feature IS NOT NULL
          AND kind IN ('usage', 'call_start', 'call_end', 'call_part', 'void')
        GROUP BY feature
        ORDER BY feature`,
      [accountId, cycleIndex],
    );
    return rows.map((row) => ({
      feature: String(row.feature),
      quantity: Number(row.quantity),
      credits: Number(row.credits),
      count: Number(row.count),
      rejected: Number(row.rejected),
    }));
  }

  async usageByDay(filter: Omit<EntryFilter, 'kinds'>): Promise<DayUsage[]> {
    const { where, params } = filterClause({ ...filter, kinds: undefined });
    return queryUsageByDay(this.db, where, params);
  }

  async usageByUser(filter: Omit<EntryFilter, 'kinds'>): Promise<UserUsage[]> {
    const { where, params } = filterClause({ ...filter, kinds: undefined });
    return queryUsageByUser(this.db, where, params);
  }

  async pageEntries(filter: EntryFilter, page: EntryPageCursor): Promise<EntryPage> {
    const limit = requireCount(page.limit, 'limit', 1);
    const beforeSeq = page.beforeSeq === undefined ? undefined : requireCount(page.beforeSeq, 'beforeSeq', 0);
    if (page.beforeId !== undefined && (beforeSeq === undefined || typeof page.beforeId !== 'string')) {
      throw new LedgerError('invalid_input', 'beforeId goes with beforeSeq: the sequence number and entry id the previous page ended at');
    }
    const { where, params } = filterClause(filter);
    return queryEntryPage(this.db, where, params, { limit, beforeSeq, beforeId: page.beforeId });
  }

  async recordCharge(charge: ChargeRequest): Promise<boolean> {
    validateRecord(CHARGE_TABLE, charge);
    return (await this.insertAll(this.db, CHARGE_INSERT, [charge])) === 1;
  }

  async listCharges(accountId: string): Promise<ChargeRecord[]> {
    requireText(accountId, 'accountId');
    const { rows } = await this.db.query(
      `SELECT ${selectList(CHARGE_TABLE)}, recorded_at FROM charges WHERE account_id = $1 ORDER BY at, charge_id`,
      [accountId],
    );
    return rows.map((row) => ({ ...decodeRow(CHARGE_TABLE, row), recordedAt: isoOrNull(row.recorded_at) ?? '' }));
  }

  async earlierEpoch(accountId: string, epoch: string): Promise<EarlierEpoch | null> {
    requireText(accountId, 'accountId');
    requireText(epoch, 'epoch');
    const own = ledgerIdPrefix(accountId, epoch);
    // Newest first along (account_id, at): an earlier workflow's entries are all there is at a
    // fresh start, so the first row answers. left() rather than LIKE: ids may hold % and _.
    const { rows } = await this.db.query<{ entry_id: string; at: unknown }>(
      `SELECT entry_id, at FROM ledger_entries WHERE account_id = $1 AND left(entry_id, $2) <> $3 ORDER BY at DESC LIMIT 1`,
      [accountId, own.length, own],
    );
    const row = rows[0];
    if (!row) return null;
    return { epoch: epochOfId(row.entry_id) ?? '', entryId: row.entry_id, at: isoOrNull(row.at) ?? '' };
  }

  async earlierPromotions(accountId: string, epoch: string): Promise<GrantedPromotion[]> {
    requireText(accountId, 'accountId');
    requireText(epoch, 'epoch');
    const own = ledgerIdPrefix(accountId, epoch);
    const { rows } = await this.db.query<{ note: string; rules_version: string }>(
      `SELECT DISTINCT note, rules_version FROM ledger_entries
        WHERE account_id = $1 AND left(entry_id, $2) <> $3 AND kind = 'grant' AND source = 'promotion' AND note IS NOT NULL
        ORDER BY note, rules_version`,
      [accountId, own.length, own],
    );
    return rows.map((row) => ({ name: row.note, rulesVersion: row.rules_version }));
  }

  async claimPortalLink(link: UsedPortalLink): Promise<boolean> {
    requireText(link.linkId, 'linkId');
    requireText(link.accountId, 'accountId');
    if (!isIsoInstant(link.expiresAt)) throw new LedgerError('invalid_input', `portal link ${link.linkId}: expiresAt must be an ISO-8601 instant`);
    await this.db.query(`DELETE FROM used_portal_links WHERE expires_at < now() - interval '1 day'`);
    const { rows } = await this.db.query(
      `INSERT INTO used_portal_links (link_id, account_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (link_id) DO NOTHING RETURNING link_id`,
      [link.linkId, link.accountId, link.expiresAt],
    );
    return rows.length === 1;
  }

  async saveAdminSession(digest: string, session: AdminSessionRecord): Promise<void> {
    requireText(digest, 'digest');
    requireText(session.csrf, 'csrf');
    if (!isIsoInstant(session.expiresAt)) throw new LedgerError('invalid_input', 'admin session: expiresAt must be an ISO-8601 instant');
    await this.db.query(`DELETE FROM admin_sessions WHERE expires_at < now()`);
    await this.db.query(
      `INSERT INTO admin_sessions (id_digest, caller, csrf, flash, expires_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id_digest) DO UPDATE SET caller = EXCLUDED.caller, csrf = EXCLUDED.csrf, flash = EXCLUDED.flash, expires_at = EXCLUDED.expires_at`,
      [digest, JSON.stringify(session.caller), session.csrf, session.flash === undefined ? null : JSON.stringify(session.flash), session.expiresAt],
    );
  }

  async setAdminSessionFlash(digest: string, flash: Record<string, unknown> | null, expected?: Record<string, unknown>): Promise<void> {
    requireText(digest, 'digest');
    const value = flash === null ? null : JSON.stringify(flash);
    if (expected === undefined) {
      await this.db.query(`UPDATE admin_sessions SET flash = $2 WHERE id_digest = $1`, [digest, value]);
      return;
    }
    // The flash was stored by JSON.stringify of the same object shape: text equality is exact.
    await this.db.query(`UPDATE admin_sessions SET flash = $2 WHERE id_digest = $1 AND flash = $3`, [digest, value, JSON.stringify(expected)]);
  }

  async adminSession(digest: string): Promise<AdminSessionRecord | null> {
    requireText(digest, 'digest');
    const { rows } = await this.db.query<{ caller: string; csrf: string; flash: string | null; expires_at: unknown }>(
      `SELECT caller, csrf, flash, expires_at FROM admin_sessions WHERE id_digest = $1`,
      [digest],
    );
    const row = rows[0];
    if (!row) return null;
    const record: AdminSessionRecord = { caller: JSON.parse(row.caller) as Record<string, unknown>, csrf: row.csrf, expiresAt: isoOrNull(row.expires_at) ?? '' };
    if (row.flash !== null) record.flash = JSON.parse(row.flash) as Record<string, unknown>;
    return record;
  }

  async deleteAdminSession(digest: string): Promise<void> {
    requireText(digest, 'digest');
    await this.db.query(`DELETE FROM admin_sessions WHERE id_digest = $1`, [digest]);
  }

  async listAccountIds(): Promise<string[]> {
    // UNION removes duplicates; byte order ("C") so every backend and locale lists alike.
    const { rows } = await this.db.query<{ account_id: string }>(
      `SELECT account_id FROM (SELECT account_id FROM ledger_entries UNION SELECT account_id FROM charges) AS ids
        ORDER BY account_id COLLATE "C"`,
    );
    return rows.map((row) => row.account_id);
  }

  async recordNotification(alert: AlertNotice): Promise<boolean> {
    validateRecord(NOTIFICATION_TABLE, alert);
    return (await this.insertAll(this.db, NOTIFICATION_INSERT, [alert])) === 1;
  }

  async claimDelivery(
    alertId: string,
    channel: DeliveryChannel,
    options: { leaseMs?: number } = {},
  ): Promise<DeliveryClaim> {
    requireText(alertId, 'alertId');
    const leaseSeconds = requireCount(options.leaseMs ?? DEFAULT_LEASE_MS, 'leaseMs', 0) / 1000;
    const db = this.db;
    return db.transaction(async (tx) => {
      const exists = await tx.query<{ created_at: unknown }>('SELECT created_at FROM notifications WHERE alert_id = $1', [alertId]);
      const stored = exists.rows[0];
      if (stored === undefined) {
        throw new LedgerError('invalid_input', `alert ${alertId} has no stored notification: record it before delivering it`);
      }
      // One statement decides the claim, so two attempts racing for it cannot both win.
      const claimed = await tx.query<{ attempts: number }>(
        `INSERT INTO notification_deliveries (alert_id, channel, status, attempts, claimed_at, updated_at)
         VALUES ($1, $2, 'sending', 1, now(), now())
         ON CONFLICT (alert_id, channel) DO UPDATE
            SET status = 'sending', attempts = notification_deliveries.attempts + 1,
                claimed_at = now(), updated_at = now()
          WHERE notification_deliveries.status = 'failed'
             OR (notification_deliveries.status = 'sending'
                 AND notification_deliveries.claimed_at <= now() - make_interval(secs => $3::double precision))
         RETURNING attempts`,
        [alertId, channel, leaseSeconds],
      );
      const row = claimed.rows[0];
      if (row) return { claimed: true, attempt: Number(row.attempts), since: isoOrNull(stored.created_at) ?? new Date().toISOString() };
      const current = await tx.query<{ status: DeliveryStatus }>(
        'SELECT status FROM notification_deliveries WHERE alert_id = $1 AND channel = $2',
        [alertId, channel],
      );
      return { claimed: false, status: current.rows[0]?.status ?? 'sending' };
    });
  }

  async finishDelivery(alertId: string, channel: DeliveryChannel, outcome: DeliveryOutcome): Promise<void> {
    requireText(alertId, 'alertId');
    const sent = outcome.status === 'sent';
    const note = outcome.status === 'sent' ? (outcome.note ?? null) : outcome.status === 'skipped' ? outcome.reason : outcome.error;
    // Upsert: `skipped` may be recorded without a claim (nothing to send, nothing to race for).
    await this.db.query(
      `INSERT INTO notification_deliveries (alert_id, channel, status, attempts, sent_at, message_id, last_error, updated_at)
       VALUES ($1, $2, $3, 0, CASE WHEN $4::boolean THEN now() END, $5, $6, now())
       ON CONFLICT (alert_id, channel) DO UPDATE
          SET status = EXCLUDED.status, sent_at = EXCLUDED.sent_at, message_id = EXCLUDED.message_id,
              last_error = EXCLUDED.last_error, claimed_at = NULL, updated_at = now()
        WHERE notification_deliveries.status <> 'sent'`,
      [alertId, channel, outcome.status, sent, sent ? outcome.messageId : null, note],
    );
  }

  async listNotifications(
    accountId: string,
    options: { unreadOnly?: boolean; limit?: number } = {},
  ): Promise<InAppNotification[]> {
    requireText(accountId, 'accountId');
    const limit = requireCount(options.limit ?? 100, 'limit', 1);
    const { rows } = await this.db.query(
      `SELECT ${selectList(NOTIFICATION_TABLE)}, created_at, read_at,
              COALESCE((SELECT jsonb_agg(jsonb_build_object(
                          'channel', d.channel, 'status', d.status, 'attempts', d.attempts,
                          'sentAt', d.sent_at, 'messageId', d.message_id, 'lastError', d.last_error)
                          ORDER BY d.channel)
                          FROM notification_deliveries d WHERE d.alert_id = n.alert_id), '[]'::jsonb) AS deliveries
         FROM notifications n
        WHERE account_id = $1 ${options.unreadOnly ? 'AND read_at IS NULL' : ''}
        ORDER BY at DESC, alert_id DESC
        LIMIT $2`,
      [accountId, limit],
    );
    return rows.map((row) => ({
      ...decodeRow(NOTIFICATION_TABLE, row),
      createdAt: isoOrNull(row.created_at) ?? '',
      readAt: isoOrNull(row.read_at),
      deliveries: (row.deliveries as DeliveryState[]).map(decodeDelivery),
    }));
  }

  recordWebhookAttempt(attempt: WebhookAttempt): Promise<void> {
    return recordWebhookAttempt(this.db, attempt);
  }

  webhookProgress(eventId: string): Promise<WebhookProgress> {
    return webhookProgress(this.db, eventId);
  }

  listWebhookAttempts(filter?: WebhookLogFilter): Promise<WebhookAttempt[]> {
    return listWebhookAttempts(this.db, filter);
  }

  async markNotificationRead(alertId: string, at?: string): Promise<boolean> {
    requireText(alertId, 'alertId');
    const readAt = at === undefined ? new Date().toISOString() : requireInstant(at, 'at');
    const result = await this.db.query(
      'UPDATE notifications SET read_at = $2 WHERE alert_id = $1 AND read_at IS NULL',
      [alertId, readAt],
    );
    return result.rowCount === 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }
}
