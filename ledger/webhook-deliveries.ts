/**
 * The webhook delivery log (`webhook_deliveries`): one row per attempt to post an event to an
 * endpoint, whatever its outcome. The delivery activity reads it to skip endpoints that
 * already took an event (a retry posts only to the others); billing ops read it through the
 * CLI and the admin server.
 */
import { UNPRINTABLE_PATTERN, hasControlCharacter, isWellFormedText } from '../display';
import { isIsoInstant } from '../ruleset/instant';
import { LedgerError } from './errors';
import type { SqlExecutor } from './sql-client';

/** One attempt, as recorded. */
export interface WebhookAttempt {
  eventId: string;
  eventType: string;
  accountId: string;
  /** The endpoint's name (its configured id, else its URL without credentials or query). */
  endpoint: string;
  /** 1 for the first attempt of this event at this endpoint. */
  attempt: number;
  /** UTC ISO-8601 instant of the attempt. */
  at: string;
  /** The endpoint's HTTP status; null when it did not answer. */
  httpStatus: number | null;
  /** Whether the endpoint answered 2xx. */
  delivered: boolean;
  /** Why it failed, when it did; never holds the endpoint's secret. */
  error: string | null;
}

/** Which attempts to read, newest first. */
export interface WebhookLogFilter {
  accountId?: string;
  eventId?: string;
  /** Most rows; default 100, at most 1000. */
  limit?: number;
}

/** Longest error text stored: a receiver's error page must not fill the log. */
const MAX_ERROR_CHARS = 1000;
const UNPRINTABLE = new RegExp(UNPRINTABLE_PATTERN, 'g');
/** Most rows one read returns. */
export const MAX_WEBHOOK_LOG_ROWS = 1000;

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '' || !isWellFormedText(value) || hasControlCharacter(value)) {
    throw new LedgerError('invalid_input', `webhook attempt: ${what} must be non-empty printable text`);
  }
  return value;
}

/** Records one attempt. */
export async function recordWebhookAttempt(db: SqlExecutor, a: WebhookAttempt): Promise<void> {
  if (!Number.isSafeInteger(a.attempt) || a.attempt < 1) throw new LedgerError('invalid_input', 'webhook attempt: attempt must be an integer >= 1');
  if (!isIsoInstant(a.at)) throw new LedgerError('invalid_input', 'webhook attempt: at must be an ISO-8601 instant with a time zone');
  if (a.httpStatus !== null && (!Number.isSafeInteger(a.httpStatus) || a.httpStatus < 100 || a.httpStatus > 599)) {
    throw new LedgerError('invalid_input', 'webhook attempt: httpStatus must be an HTTP status or null');
  }
  const error = a.error === null ? null : a.error.replace(UNPRINTABLE, '?').slice(0, MAX_ERROR_CHARS);
  await db.query(
    `INSERT INTO webhook_deliveries (event_id, event_type, account_id, endpoint, attempt, at, http_status, delivered, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [text(a.eventId, 'eventId'), text(a.eventType, 'eventType'), text(a.accountId, 'accountId'), text(a.endpoint, 'endpoint'), a.attempt, a.at, a.httpStatus, a.delivered, error],
  );
}

/** Where the delivery of one event stands, per endpoint. */
export interface WebhookProgress {
  /** Endpoints that answered 2xx. */
  delivered: Set<string>;
  /** Attempts so far, by endpoint. */
  attempts: Map<string, number>;
  /** When each endpoint's first attempt was made (UTC ISO-8601). */
  firstAttemptAt: Map<string, string>;
  /** When each endpoint's latest attempt was made (UTC ISO-8601). */
  lastAttemptAt: Map<string, string>;
}

/** The endpoints that already answered 2xx for `eventId`, how many attempts each had, since when and until when. */
export async function webhookProgress(db: SqlExecutor, eventId: string): Promise<WebhookProgress> {
  const { rows } = await db.query<{ endpoint: string; n: number | string; ok: boolean; first: Date | string; last: Date | string }>(
    'SELECT endpoint, count(*) AS n, bool_or(delivered) AS ok, min(at) AS first, max(at) AS last FROM webhook_deliveries WHERE event_id = $1 GROUP BY endpoint',
    [text(eventId, 'eventId')],
  );
  return {
    delivered: new Set(rows.filter((r) => r.ok === true).map((r) => r.endpoint)),
    attempts: new Map(rows.map((r) => [r.endpoint, Number(r.n)])),
    firstAttemptAt: new Map(rows.map((r) => [r.endpoint, new Date(r.first).toISOString()])),
    lastAttemptAt: new Map(rows.map((r) => [r.endpoint, new Date(r.last).toISOString()])),
  };
}

/** Attempts matching `filter`, newest first. */
export async function listWebhookAttempts(db: SqlExecutor, filter: WebhookLogFilter = {}): Promise<WebhookAttempt[]> {
  const limit = filter.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_WEBHOOK_LOG_ROWS) {
    throw new LedgerError('invalid_input', `webhook log: limit must be an integer from 1 to ${MAX_WEBHOOK_LOG_ROWS}`);
  }
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.accountId !== undefined) where.push(`account_id = $${params.push(text(filter.accountId, 'accountId'))}`);
  if (filter.eventId !== undefined) where.push(`event_id = $${params.push(text(filter.eventId, 'eventId'))}`);
  const { rows } = await db.query(
    `SELECT event_id, event_type, account_id, endpoint, attempt, at, http_status, delivered, error
       FROM webhook_deliveries ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY at DESC, id DESC LIMIT $${params.push(limit)}`,
    params,
  );
  return rows.map((r) => ({
    eventId: String(r.event_id),
    eventType: String(r.event_type),
    accountId: String(r.account_id),
    endpoint: String(r.endpoint),
    attempt: Number(r.attempt),
    at: new Date(r.at as string | Date).toISOString(),
    httpStatus: r.http_status === null ? null : Number(r.http_status),
    delivered: r.delivered === true,
    error: r.error === null ? null : String(r.error),
  }));
}
