/**
 * The webhook delivery log table (migration 2) on both backends, the embedded PGlite and a
 * real PostgreSQL server this file starts: the same SQL records attempts, reports progress
 * per endpoint and lists them newest first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../infra/postgres-server';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { webhookAttempt } from './webhook-fixtures';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(() => server?.destroy());

const attempt = webhookAttempt;

for (const backend of ['PGlite', 'PostgreSQL'] as const) {
  describe(`webhook delivery log on ${backend}`, () => {
    let store: LedgerStore;
    beforeAll(async () => {
      store = await openLedgerStore({ url: backend === 'PGlite' ? 'pglite:memory' : server.url, warn: () => undefined });
    });
    afterAll(() => store?.close());

    it('records attempts, reports which endpoints took an event and how often each was tried, lists newest first', async () => {
      await store.recordWebhookAttempt(attempt({}));
      await store.recordWebhookAttempt(attempt({ attempt: 2, at: '2026-06-01T00:00:06.000Z', httpStatus: 200, delivered: true, error: null }));
      await store.recordWebhookAttempt(attempt({ endpoint: 'slack', at: '2026-06-01T00:00:02.000Z', httpStatus: 500, error: 'answered HTTP 500' }));
      await store.recordWebhookAttempt(attempt({ eventId: 'alert.warning:globex:x', accountId: 'globex', eventType: 'alert.warning', at: '2026-06-01T00:00:03.000Z' }));
      const progress = await store.webhookProgress(attempt({}).eventId);
      expect([...progress.delivered]).toEqual(['crm']);
      expect(Object.fromEntries(progress.attempts)).toEqual({ crm: 2, slack: 1 });
      expect((await store.webhookProgress('unknown')).attempts.size).toBe(0);
      const acme = await store.listWebhookAttempts({ accountId: 'acme' });
      expect(acme.map((a) => [a.endpoint, a.attempt, a.httpStatus, a.delivered])).toEqual([
        ['crm', 2, 200, true],
        ['slack', 1, 500, false],
        ['crm', 1, null, false],
      ]);
      expect(await store.listWebhookAttempts({ eventId: 'alert.warning:globex:x' })).toEqual([
        attempt({ eventId: 'alert.warning:globex:x', accountId: 'globex', eventType: 'alert.warning', at: '2026-06-01T00:00:03.000Z' }),
      ]);
      expect(await store.listWebhookAttempts()).toHaveLength(4);
    });
  });
}

