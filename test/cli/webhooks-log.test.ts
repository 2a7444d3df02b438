/**
 * `credits webhooks log`: the delivery log from the ledger database, as a table or JSON,
 * filtered by account and event; bad options refused with a usage error.
 */
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { webhookAttempt } from '../ledger/webhook-fixtures';
import { lentStore, runCli } from '../client/cli-run';

let store: LedgerStore;
const base = webhookAttempt();
const run = (...args: string[]) => runCli(['webhooks', 'log', ...args], {} as Client, 'unused', { openLedger: async () => lentStore(store) });

beforeAll(async () => {
  store = await openLedgerStore({ url: 'pglite:memory' });
  await store.recordWebhookAttempt(base);
  await store.recordWebhookAttempt({ ...base, attempt: 2, at: '2026-06-01T00:00:09.000Z', httpStatus: 200, delivered: true, error: null });
  await store.recordWebhookAttempt({ ...base, eventId: 'alert.warning:globex:a', eventType: 'alert.warning', accountId: 'globex' });
});
afterAll(() => store?.close());

describe('credits webhooks log', () => {
  it('prints the attempts of an account as a table, newest first', async () => {
    const { code, stdout } = await run('--account', 'acme');
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([
      expect.stringMatching(/^AT\s+EVENT\s+ENDPOINT\s+TRY\s+RESULT$/),
      expect.stringMatching(/^2026-06-01T00:00:09.000Z\s+tier\.charged:acme:\S+\s+crm\s+2\s+delivered \(200\)$/),
      expect.stringMatching(/^2026-06-01T00:00:01.000Z\s+tier\.charged:acme:\S+\s+crm\s+1\s+failed: ECONNREFUSED$/),
      '',
    ]);
  });

  it('prints JSON for one event, and says so when nothing matches', async () => {
    const { stdout } = await run('--event', 'alert.warning:globex:a', '--json');
    expect(JSON.parse(stdout)).toEqual({ deliveries: [{ ...base, eventId: 'alert.warning:globex:a', eventType: 'alert.warning', accountId: 'globex' }] });
    expect((await run('--account', 'nobody')).stdout).toBe('no webhook deliveries recorded\n');
  });

  it('refuses a bad --limit as a usage error, and a bad filter with the ledger message', async () => {
    const bad = await run('--limit', '0');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('expected a whole number from 1 to 1000');
    const empty = await run('--account', '');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('webhook attempt: accountId must be non-empty printable text');
  });
});
