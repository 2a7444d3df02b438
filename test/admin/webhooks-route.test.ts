/**
 * The admin server's webhook delivery log route: filtered by account and event, newest first,
 * bad queries refused as 400s without echoing what was sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../admin/server';
import type { CreditsClient } from '../../client';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import type { WebhookAttempt } from '../../ledger/webhook-deliveries';
import { webhookAttempt } from '../ledger/webhook-fixtures';

let store: LedgerStore;
let admin: AdminServer;
const base = webhookAttempt();
beforeAll(async () => {
  store = await openLedgerStore({ url: 'pglite:memory' });
  await store.recordWebhookAttempt(base);
  await store.recordWebhookAttempt({ ...base, attempt: 2, at: '2026-06-01T00:00:09.000Z', httpStatus: 204, delivered: true, error: null });
  await store.recordWebhookAttempt({ ...base, eventId: 'alert.warning:globex:a', eventType: 'alert.warning', accountId: 'globex' });
  admin = await startAdminServer({ client: {} as CreditsClient, store, port: 0, log: () => undefined });
});
afterAll(async () => {
  await admin?.close();
  await store?.close();
});

describe('GET /api/webhooks/deliveries', () => {
  it('lists every attempt, newest first, and filters by account, event and limit', async () => {
    const all = (await (await fetch(`${admin.url}/api/webhooks/deliveries`)).json()) as { deliveries: WebhookAttempt[] };
    expect(all.deliveries).toHaveLength(3);
    const acme = await (await fetch(`${admin.url}/api/webhooks/deliveries?account=acme`)).json();
    expect(acme).toEqual({ deliveries: [{ ...base, attempt: 2, at: '2026-06-01T00:00:09.000Z', httpStatus: 204, delivered: true, error: null }, base] });
    const event = await (await fetch(`${admin.url}/api/webhooks/deliveries?event=${encodeURIComponent('alert.warning:globex:a')}&limit=5`)).json();
    expect((event as { deliveries: WebhookAttempt[] }).deliveries.map((d) => d.accountId)).toEqual(['globex']);
  });

  it.each([
    ['account=no%20spaces', 'account must be an account id'],
    ['event=', 'event must be an event id of at most 300 printable characters'],
    [`event=${'x'.repeat(301)}`, 'event must be an event id'],
    ['event=a%07b', 'event must be an event id'],
    ['limit=0', 'limit must be a whole number from 1 to 1000'],
    ['limit=1001', 'limit must be a whole number from 1 to 1000'],
    ['limit=abc', 'limit must be a whole number from 1 to 1000'],
    ['secret=%3Cscript%3E', 'unknown parameter; use account, event or limit'],
  ])('refuses ?%s as a 400 bad_request', async (query, message) => {
    const response = await fetch(`${admin.url}/api/webhooks/deliveries?${query}`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toContain(message);
    expect(body.error.message).not.toContain('<script>');
  });
});
