/**
 * `GET /api/webhooks/deliveries`: the webhook delivery log as JSON, newest first, for billing
 * ops and for `credits webhooks log` while the main job holds the embedded ledger. Query:
 * `account`, `event` (an event id) and `limit` (1 to 1000, default 100), all optional.
 */
import type { FastifyInstance } from 'fastify';
import { hasControlCharacter, isWellFormedText } from '../display';
import type { LedgerStore } from '../ledger/store';
import { MAX_WEBHOOK_LOG_ROWS, type WebhookLogFilter } from '../ledger/webhook-deliveries';
import { badRequest } from './errors';

/** Path of the delivery log route. */
export const WEBHOOK_DELIVERIES_PATH = '/api/webhooks/deliveries';
/** Longest event id accepted in a query (ids carry an account id and an effect id). */
const MAX_EVENT_ID_CHARS = 300;

/**
 * The filter a query asks for.
 *
 * @throws HttpError 400 naming the parameter that is wrong (its value is never echoed).
 */
export function parseWebhookLogQuery(query: Record<string, unknown>): WebhookLogFilter {
  const filter: WebhookLogFilter = {};
  for (const key of Object.keys(query)) if (!['account', 'event', 'limit'].includes(key)) throw badRequest('unknown parameter; use account, event or limit');
  const { account, event, limit } = query;
  if (account !== undefined) {
    if (typeof account !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(account)) throw badRequest('account must be an account id (1 to 64 letters, digits, ".", "_" or "-")');
    filter.accountId = account;
  }
  if (event !== undefined) {
    if (typeof event !== 'string' || event === '' || event.length > MAX_EVENT_ID_CHARS || !isWellFormedText(event) || hasControlCharacter(event)) {
      throw badRequest(`event must be an event id of at most ${MAX_EVENT_ID_CHARS} printable characters`);
    }
    filter.eventId = event;
  }
  if (limit !== undefined) {
    const n = typeof limit === 'string' && /^\d{1,4}$/.test(limit) ? Number(limit) : NaN;
    if (!(n >= 1 && n <= MAX_WEBHOOK_LOG_ROWS)) throw badRequest(`limit must be a whole number from 1 to ${MAX_WEBHOOK_LOG_ROWS}`);
    filter.limit = n;
  }
  return filter;
}

/** Registers the delivery log route on the admin app. */
export function registerWebhookRoutes(app: FastifyInstance, store: LedgerStore): void {
  app.get<{ Querystring: Record<string, unknown> }>(WEBHOOK_DELIVERIES_PATH, async (request) => ({
    deliveries: await store.listWebhookAttempts(parseWebhookLogQuery(request.query)),
  }));
}
