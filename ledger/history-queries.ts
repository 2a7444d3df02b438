/**
 * The ledger's aggregates for the admin page's "over time" views: usage by UTC day, usage by
 * user, and the paged list of credit movements (grants, expiries, write-offs, voids). Plain SQL
 * that PGlite and PostgreSQL both run; the store builds the WHERE clause from an entry filter
 * and hands it here, so every view filters exactly as the CSV export does.
 */
import type { LedgerEntry, LedgerKind } from '../domain/effects';
import type { SqlExecutor } from './sql-client';
import { ENTRY_TABLE } from './tables';
import { decodeRow, selectList } from './table-spec';

/**
 * Entries that count as usage: accepted usages and the charged parts of calls. A `void`
 * reverses one of them (negative credits), so sums add voids and counts take them off.
 */
export const COUNTED_USAGE = "((kind = 'usage' AND decision = 'accepted') OR kind IN ('call_end', 'call_part'))";

/** Kinds any usage aggregate reads: the counted ones, refused call starts, and voids. */
const USAGE_KINDS = "kind IN ('usage', 'call_start', 'call_end', 'call_part', 'void')";

/** Sums of one group of usage entries. */
export interface UsageTotals {
  /** Credits used, voids taken off. */
  credits: number;
  /** Accepted usages and charged call parts, voids taken off. */
  uses: number;
  /** Refused usages and refused call starts. */
  refused: number;
}

/** Usage of one UTC day. */
export interface DayUsage extends UsageTotals {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
}

/** Usage of one user. */
export interface UserUsage extends UsageTotals {
  /** The user the usage was recorded for; null for what has no user (Voice Agent calls). */
  userId: string | null;
}

/** One page of entries, newest first. */
export interface EntryPage {
  entries: LedgerEntry[];
  /** `beforeSeq` of the next (older) page; null on the last page. */
  nextBeforeSeq: number | null;
  /** `beforeId` of the next (older) page (the last entry's id); null on the last page. */
  nextBeforeId: string | null;
}

/** Where a page of {@link queryEntryPage} starts: below this sequence number, or at it below this entry id. */
export interface EntryPageCursor {
  limit: number;
  beforeSeq?: number;
  /**
   * With `beforeSeq`: the entry id the previous page ended at. An account restarted under its
   * id has a second epoch whose sequence numbers repeat the first's; without the id, entries of
   * one epoch that shared the sequence number a page ended at were skipped.
   */
  beforeId?: string;
}

/** Kinds the ledger view lists: credits granted, lost at a reset or trial end, written off, or voided. */
export const CREDIT_MOVEMENT_KINDS: readonly LedgerKind[] = ['grant', 'expiry', 'forfeit', 'overdraft_write_off', 'call_overage', 'void'];

const TOTALS = `COALESCE(SUM(credits) FILTER (WHERE ${COUNTED_USAGE} OR kind = 'void'), 0) AS credits,
       COUNT(*) FILTER (WHERE ${COUNTED_USAGE}) - COUNT(*) FILTER (WHERE kind = 'void') AS uses,
       COUNT(*) FILTER (WHERE decision = 'rejected') AS refused`;

function totals(row: Record<string, unknown>): UsageTotals {
  return { credits: Number(row.credits), uses: Number(row.uses), refused: Number(row.refused) };
}

/**
 * Usage by UTC day of the entries `where` selects (a void counts on the day it was made, the
 * day the credits came back), days without usage left out.
 */
export async function queryUsageByDay(db: SqlExecutor, where: string, params: readonly unknown[]): Promise<DayUsage[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, ${TOTALS}
       FROM ledger_entries
      WHERE ${where} AND ${USAGE_KINDS}
      GROUP BY 1
      ORDER BY 1`,
    [...params],
  );
  return rows.map((row) => ({ day: String(row.day), ...totals(row) }));
}

/**
 * Usage by user of the entries `where` selects, most credits first. A void carries no user of
 * its own: it counts for the user of the usage it reverses (same idempotency key).
 */
export async function queryUsageByUser(db: SqlExecutor, where: string, params: readonly unknown[]): Promise<UserUsage[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT user_id, ${TOTALS}
       FROM (SELECT e.kind, e.decision, e.credits,
                    COALESCE(e.user_id, CASE WHEN e.kind = 'void' THEN
                      (SELECT u.user_id FROM ledger_entries u
                        WHERE u.account_id = e.account_id AND u.kind = 'usage' AND u.idempotency_key = e.idempotency_key
                        ORDER BY u.seq LIMIT 1) END) AS user_id
               FROM ledger_entries e
              WHERE ${where} AND ${USAGE_KINDS}) AS usage
      GROUP BY user_id
      ORDER BY credits DESC, user_id COLLATE "C" NULLS LAST`,
    [...params],
  );
  return rows.map((row) => ({ userId: row.user_id === null || row.user_id === undefined ? null : String(row.user_id), ...totals(row) }));
}

/**
 * Up to `limit` entries `where` selects, newest first (by sequence number, then entry id), past
 * the cursor when given.
 */
export async function queryEntryPage(db: SqlExecutor, where: string, params: readonly unknown[], cursor: EntryPageCursor): Promise<EntryPage> {
  const all = [...params];
  let clause = where;
  if (cursor.beforeSeq !== undefined) {
    all.push(cursor.beforeSeq);
    const seq = `$${all.length}`;
    if (cursor.beforeId === undefined) {
      clause += ` AND seq < ${seq}`;
    } else {
      all.push(cursor.beforeId);
      clause += ` AND (seq < ${seq} OR (seq = ${seq} AND entry_id COLLATE "C" < $${all.length}))`;
    }
  }
  // One row more than the page tells whether an older page exists without counting.
  const { rows } = await db.query(
    `SELECT ${selectList(ENTRY_TABLE)} FROM ledger_entries WHERE ${clause} ORDER BY seq DESC, entry_id COLLATE "C" DESC LIMIT ${cursor.limit + 1}`,
    all,
  );
  const entries = rows.slice(0, cursor.limit).map((row) => decodeRow(ENTRY_TABLE, row));
  const last = rows.length > cursor.limit ? entries[entries.length - 1] : undefined;
  return { entries, nextBeforeSeq: last?.seq ?? null, nextBeforeId: last?.entryId ?? null };
}
