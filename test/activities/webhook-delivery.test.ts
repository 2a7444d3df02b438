/**
 * The `deliverWebhook` activity over the real embedded ledger (PGlite) and local HTTP
 * receivers: an endpoint that is down, or answers non-2xx, fails the activity as retryable
 * (Temporal retries it with backoff) and every attempt is in the delivery log; once it is up
 * the events arrive, signed, each once per endpoint past its id; endpoints that took an event
 * are not posted again on a retry.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { CreditActivities } from '../../activities/credit-activities';
import { WEBHOOK_UNDELIVERED, webhookDelivery } from '../../activities/webhook-delivery';
import { alertEvent, chargeEvent, parkedEvent, type WebhookEvent } from '../../domain/webhook-events';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { parseWebhookConfig } from '../../notify/webhook-config';
import { quietActivityEnvironment } from '../helpers/activity-environment';
import { webhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';
import { tierCharge, usageEntry, warningAlert } from '../ledger/entry-fixtures';

const SECRET = 'whsec_receiver-one-secret';
const OTHER_SECRET = 'whsec_receiver-two-secret';

let store: LedgerStore;
let crm: WebhookReceiver;
let slack: WebhookReceiver;
let activities: CreditActivities;
const env = quietActivityEnvironment();

const deliver = (event: WebhookEvent) => env.run(activities.deliverWebhook, event);

/** The retryable failure a delivery that did not reach every endpoint ends with. */
async function failureOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await call.catch((e: unknown) => e);
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

beforeAll(async () => {
  store = await openLedgerStore({ url: 'pglite:memory' });
  crm = await webhookReceiver(SECRET);
  slack = await webhookReceiver(OTHER_SECRET);
  const webhooks = parseWebhookConfig(
    JSON.stringify({
      endpoints: [
        { id: 'crm', url: crm.url, secret: SECRET, events: ['alert.warning', 'tier.charged', 'effect.parked'] },
        { id: 'slack', url: slack.url, secret: OTHER_SECRET, events: ['alert.warning'], accounts: ['acme'] },
      ],
    }),
  );
  activities = createActivities({ store, rules: undefined, mailer: null, log: env.context.log, webhooks, webhookTimeoutMs: 2_000 });
});
afterAll(async () => {
  await crm?.down();
  await slack?.down();
  await store?.close();
});

describe('deliverWebhook', () => {
  const charge = chargeEvent(tierCharge('acme'));
  const alert = alertEvent(warningAlert('acme'));

  it('fails as retryable while the endpoint is down, logging each attempt; delivers once it is up; nothing doubled', async () => {
    for (let i = 0; i < 2; i += 1) {
      const failure = await failureOf(deliver(charge));
      expect(failure.type).toBe(WEBHOOK_UNDELIVERED);
      expect(failure.nonRetryable).toBe(false);
      expect(failure.message).toContain('crm: ECONNREFUSED');
      expect(failure.message).not.toContain(SECRET);
    }
    await crm.up();
    crm.status = 503;
    expect((await failureOf(deliver(charge))).message).toContain('crm: answered HTTP 503');
    crm.status = 200;
    expect(await deliver(charge)).toEqual({ endpoints: 1, delivered: 1 });
    // A retry of an activity that did deliver (say its completion was lost) posts nothing again.
    expect(await deliver(charge)).toEqual({ endpoints: 1, delivered: 0 });

    const took = crm.requests.filter((r) => r.event.id === charge.id);
    expect(took.map((r) => r.verified)).toEqual([true, true]); // the 503 and the 200
    expect([...crm.events.values()]).toEqual([charge]);

    const log = await store.listWebhookAttempts({ eventId: charge.id });
    expect(log.map((a) => [a.attempt, a.delivered, a.httpStatus, a.error])).toEqual([
      [4, true, 200, null],
      [3, false, 503, 'answered HTTP 503'],
      [2, false, null, 'ECONNREFUSED'],
      [1, false, null, 'ECONNREFUSED'],
    ]);
    expect(log.every((a) => a.endpoint === 'crm' && a.accountId === 'acme' && a.eventType === 'tier.charged')).toBe(true);
  });

  it('posts a retry only to the endpoints that have not taken the event', async () => {
    await slack.down();
    expect((await failureOf(deliver(alert))).message).toMatch(/^webhook alert\.warning:.* not yet delivered to slack: ECONNREFUSED; retrying$/);
    await slack.up();
    expect(await deliver(alert)).toEqual({ endpoints: 2, delivered: 1 });
    expect(crm.requests.filter((r) => r.event.id === alert.id)).toHaveLength(1);
    expect(slack.requests.filter((r) => r.event.id === alert.id)).toHaveLength(1);
    expect(slack.events.get(alert.id)).toEqual(alert);
    // The event carries what a receiver needs, and not the admins' e-mail addresses.
    expect(alert).toMatchObject({ type: 'alert.warning', accountId: 'acme', created: warningAlert('acme').at });
    expect(JSON.stringify(alert)).not.toContain('@');
  });

  it("sends a URL's user and password as basic authorization, and never shows them or the URL in a failure or the log", async () => {
    const guarded = await webhookReceiver(SECRET);
    const url = new URL(guarded.url);
    url.username = 'hook';
    url.password = 'S3cret:Basic/Pw';
    url.search = '?token=query-token-123';
    const [endpoint] = parseWebhookConfig(JSON.stringify({ endpoints: [{ url: url.href, secret: SECRET, events: ['tier.charged'] }] }));
    const own = createActivities({ store, rules: undefined, mailer: null, log: env.context.log, webhooks: endpoint ? [endpoint] : [], webhookTimeoutMs: 2_000 });
    const event = chargeEvent(tierCharge('basic-auth'));
    try {
      const failure = await failureOf(env.run(own.deliverWebhook, event));
      for (const secretPart of ['S3cret', 'query-token-123']) {
        expect(failure.message).not.toContain(secretPart);
        expect(JSON.stringify(await store.listWebhookAttempts({ eventId: event.id }))).not.toContain(secretPart);
      }
      await guarded.up();
      expect(await env.run(own.deliverWebhook, event)).toEqual({ endpoints: 1, delivered: 1 });
      expect(guarded.requests.map((r) => r.authorization)).toEqual([`Basic ${Buffer.from('hook:S3cret:Basic/Pw').toString('base64')}`]);
      expect(guarded.requests[0]?.verified).toBe(true);
    } finally {
      await guarded.down();
    }
  });

  it('gives an endpoint up for an event once its attempts have failed for the give-up span, and says so in the log', async () => {
    const gone = await webhookReceiver(SECRET);
    await gone.up();
    gone.status = 410;
    const [endpoint] = parseWebhookConfig(JSON.stringify({ endpoints: [{ id: 'gone', url: gone.url, secret: SECRET, events: ['tier.charged'] }] }));
    const own = createActivities({ store, rules: undefined, mailer: null, log: env.context.log, webhooks: endpoint ? [endpoint] : [], webhookTimeoutMs: 2_000, webhookGiveUpAfterMs: 400 });
    const event = chargeEvent(tierCharge('gone-endpoint'));
    try {
      expect((await failureOf(env.run(own.deliverWebhook, event))).message).toContain('gone: answered HTTP 410; retrying');
      // Within the span: still retried.
      expect((await failureOf(env.run(own.deliverWebhook, event))).type).toBe(WEBHOOK_UNDELIVERED);
      await new Promise((resolve) => setTimeout(resolve, 450));
      expect(await env.run(own.deliverWebhook, event)).toEqual({ endpoints: 1, delivered: 0, abandoned: 1 });
      const log = await store.listWebhookAttempts({ eventId: event.id });
      expect(log.map((a) => [a.attempt, a.delivered, a.httpStatus])).toEqual([[3, false, 410], [2, false, 410], [1, false, 410]]);
      expect(log[0]?.error).toMatch(/^answered HTTP 410; given up after 0 min of attempts$/);
      expect(log[1]?.error).toBe('answered HTTP 410');
      // An endpoint that answers again at the last attempt delivers as usual.
      const late = chargeEvent(tierCharge('late-endpoint'));
      gone.status = 503;
      await failureOf(env.run(own.deliverWebhook, late));
      await new Promise((resolve) => setTimeout(resolve, 450));
      gone.status = 200;
      expect(await env.run(own.deliverWebhook, late)).toEqual({ endpoints: 1, delivered: 1 });
    } finally {
      await gone.down();
    }
  });

  it('gives each endpoint up after its own giveUpAfter, and does not post an event again to an endpoint given up on', async () => {
    const quick = await webhookReceiver(SECRET);
    const patient = await webhookReceiver(OTHER_SECRET);
    await quick.up();
    await patient.up();
    quick.status = 410;
    patient.status = 503;
    const endpoints = parseWebhookConfig(
      JSON.stringify({
        endpoints: [
          { id: 'quick', url: quick.url, secret: SECRET, events: ['tier.charged'], giveUpAfter: '30m' },
          { id: 'patient', url: patient.url, secret: OTHER_SECRET, events: ['tier.charged'] },
        ],
      }),
    );
    let clock = Date.parse('2026-07-03T00:00:00.000Z');
    const deliverAt = webhookDelivery({ store, endpoints, now: () => clock, timeoutMs: 2_000 });
    const event = chargeEvent(tierCharge('two-spans'));
    try {
      expect((await failureOf(deliverAt(event))).message).toContain('quick: answered HTTP 410; patient: answered HTTP 503; retrying');
      clock += 31 * 60_000;
      // Past quick's 30 minutes: quick is given up on, patient (3 days by default) still retried.
      const failure = await failureOf(deliverAt(event));
      expect(failure.message).not.toContain('quick');
      expect(failure.message).toContain('patient: answered HTTP 503');
      clock += 60 * 60_000;
      expect((await failureOf(deliverAt(event))).message).not.toContain('quick');
      clock += 3 * 86_400_000;
      expect(await deliverAt(event)).toEqual({ endpoints: 2, delivered: 0, abandoned: 2 });
      // Quick was posted twice (the first attempt and the one that gave up), patient four times.
      expect(quick.requests.filter((r) => r.event.id === event.id)).toHaveLength(2);
      expect(patient.requests.filter((r) => r.event.id === event.id)).toHaveLength(4);
      const log = await store.listWebhookAttempts({ eventId: event.id });
      expect(log.filter((a) => a.endpoint === 'quick').map((a) => a.error)).toEqual(['answered HTTP 410; given up after 31 min of attempts', 'answered HTTP 410']);
      expect(log.find((a) => a.endpoint === 'patient')?.error).toBe('answered HTTP 503; given up after 73 h of attempts');
    } finally {
      await quick.down();
      await patient.down();
    }
  });

  it('delivers nothing, and succeeds, when no endpoint subscribes to the event or account', async () => {
    const other = alertEvent(warningAlert('globex', { state: 'exhausted', alertId: 'globex:e:alert:0:exhausted:1' }));
    expect(await deliver(other)).toEqual({ endpoints: 0, delivered: 0 });
    expect(await store.listWebhookAttempts({ accountId: 'globex' })).toEqual([]);
  });

  it('the same effect always makes the same event id; a parked batch is one event naming its effects', () => {
    expect(chargeEvent(tierCharge('acme')).id).toBe(charge.id);
    const entries = [usageEntry('acme', 7), usageEntry('acme', 8)].map((entry) => ({ type: 'ledger' as const, entry }));
    const parked = parkedEvent('acme', entries, 'x'.repeat(2000), '2026-06-10T00:00:00.000Z');
    expect(parked).toMatchObject({ id: `effect.parked:${entries[0]!.entry.entryId}`, type: 'effect.parked', data: { count: 2 } });
    expect(String(parked?.data.error).length).toBeLessThanOrEqual(501);
    expect(parkedEvent('acme', [], 'none', '2026-06-10T00:00:00.000Z')).toBeUndefined();
  });
});

describe('delivery log', () => {
  it('filters by account and event, newest first, and refuses bad filters and attempts with a clear error', async () => {
    const all = await store.listWebhookAttempts({ accountId: 'acme' });
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect([...all].sort((a, b) => b.at.localeCompare(a.at))).toEqual(all);
    expect(await store.listWebhookAttempts({ accountId: 'acme', limit: 1 })).toHaveLength(1);
    await expect(store.listWebhookAttempts({ limit: 0 })).rejects.toThrow('webhook log: limit must be an integer from 1 to 1000');
    await expect(store.listWebhookAttempts({ accountId: '' })).rejects.toThrow('webhook attempt: accountId must be non-empty printable text');
    const attempt = { eventId: 'e', eventType: 'tier.charged', accountId: 'acme', endpoint: 'crm', attempt: 1, at: '2026-06-01T00:00:00Z', httpStatus: null, delivered: false, error: 'x' };
    await expect(store.recordWebhookAttempt({ ...attempt, attempt: 0 })).rejects.toThrow('attempt must be an integer >= 1');
    await expect(store.recordWebhookAttempt({ ...attempt, at: 'yesterday' })).rejects.toThrow('at must be an ISO-8601 instant');
    await expect(store.recordWebhookAttempt({ ...attempt, httpStatus: 42 })).rejects.toThrow('httpStatus must be an HTTP status or null');
    await expect(store.recordWebhookAttempt({ ...attempt, endpoint: 'a\u0000b' })).rejects.toThrow('endpoint must be non-empty printable text');
    // An error page full of control characters is stored printable and cut short.
    await store.recordWebhookAttempt({ ...attempt, eventId: 'junk', error: `\u0000${'y'.repeat(5000)}` });
    const [junk] = await store.listWebhookAttempts({ eventId: 'junk' });
    expect(junk?.error).toBe(`?${'y'.repeat(999)}`);
  });
});
