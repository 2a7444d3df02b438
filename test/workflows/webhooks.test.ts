/**
 * Webhooks end to end on a real Temporal server (the time-skipping test server): the real
 * workflow and the real `deliverWebhook` activity over an embedded ledger, posting to a local
 * receiver that is down, then up. Events come from the effects the workflow already queues (a
 * tier charge, an alert, a parked charge); while the receiver is down usage and ledger writes
 * go on, deliveries are retried with backoff, and once it is up every event arrives, signed,
 * once per id.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { CreditActivities } from '../../activities/credit-activities';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { parseWebhookConfig } from '../../notify/webhook-config';
import { changeCreditTierUpdate, recordUsageUpdate, summaryQuery } from '../../workflows/messages';
import { WEBHOOKS_PATCH } from '../../workflows/account-credits';
import { waitFor } from '../helpers/wait-for';
import { webhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';
import { fakeActivities, startAccount, startWorker, timeSkippingEnv, untilOpen } from '../helpers/workflow-harness';

const SECRET = 'whsec_workflow-test-secret';
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

let env: TestWorkflowEnvironment;
let store: LedgerStore;
let receiver: WebhookReceiver;
beforeAll(async () => {
  env = await timeSkippingEnv();
  store = await openLedgerStore({ url: 'pglite:memory', warn: () => undefined });
  receiver = await webhookReceiver(SECRET);
});
afterAll(async () => {
  await receiver?.down();
  await store?.close();
  await env?.teardown();
});

describe('webhooks from the account workflow', () => {
  it('delivers tier charges, alerts and parked effects through the outbox: delayed while the receiver is down, never lost or doubled', async () => {
    const endpoints = parseWebhookConfig(
      JSON.stringify({ endpoints: [{ id: 'crm', url: receiver.url, secret: SECRET, events: ['alert.warning', 'alert.exhausted', 'tier.charged', 'effect.parked'] }] }),
    );
    const real = createActivities({ store, mailer: null, log: quiet, webhooks: endpoints, webhookTimeoutMs: 2_000 });
    const fakes = fakeActivities();
    const activities: CreditActivities = {
      ...fakes,
      deliverWebhook: real.deliverWebhook,
      // The billing system refuses upgrades for good: the charge is parked, and that is told too.
      chargeTier: async (charge) => {
        if (charge.reason === 'upgrade') throw ApplicationFailure.nonRetryable('card declined', 'charge_refused');
        return fakes.chargeTier(charge);
      },
    };
    const worker = await startWorker(env, activities);
    try {
      const anchor = new Date((await env.currentTimeMs()) - 86_400_000).toISOString();
      const h = await startAccount(env.client, worker.taskQueue, { accountId: 'hook-1', plan: 'growth', users: 1, creditTier: 'tier-2', cycleAnchor: anchor, admins: ['ops@acme.test'] });
      await untilOpen(h);
      await waitFor(() => fakes.charges.length === 1, 'the cycle-start charge');

      const granted = (await h.query(summaryQuery)).credits.granted as number;
      await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: Math.ceil(granted * 0.8), idempotencyKey: 'u1' }] });
      await waitFor(() => fakes.alerts.length === 1, 'the warning alert');
      await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-4' }] });
      await waitFor(async () => (await h.query(summaryQuery)).parkedEffects === 1, 'the refused upgrade charge parked');

      // Down: every attempt is logged as refused, and the ledger keeps being written meanwhile.
      await env.sleep('2 minutes');
      await waitFor(async () => (await store.listWebhookAttempts({ accountId: 'hook-1' })).length >= 2, 'failed attempts in the log');
      expect((await store.listWebhookAttempts({ accountId: 'hook-1' })).every((a) => !a.delivered && a.error === 'ECONNREFUSED')).toBe(true);
      await waitFor(() => fakes.ledger.some((e) => e.idempotencyKey === 'u1'), 'the usage entry written while webhooks wait');
      expect(receiver.requests).toHaveLength(0);

      await receiver.up();
      for (let i = 0; i < 20 && receiver.events.size < 3; i += 1) {
        await env.sleep('10 minutes');
        await new Promise((r) => setTimeout(r, 200));
      }
      await waitFor(() => receiver.events.size === 3, 'every event delivered', 30_000);
      const events = [...receiver.events.values()];
      expect(events.map((e) => e.type)).toEqual(['tier.charged', 'alert.warning', 'effect.parked']);
      expect(events.every((e) => e.accountId === 'hook-1' && !Number.isNaN(Date.parse(e.created)))).toBe(true);
      expect(events[0]).toMatchObject({ id: `tier.charged:${fakes.charges[0]?.chargeId}`, data: { tierId: 'tier-2', reason: 'cycle_start' } });
      expect(events[1]).toMatchObject({ id: `alert.warning:${fakes.alerts[0]?.alertId}` });
      expect(events[2]).toMatchObject({ type: 'effect.parked', data: { count: 1, error: expect.stringContaining('card declined'), effects: [{ type: 'charge' }] } });
      // Signed, and each id taken by the receiver once: nothing doubled.
      expect(receiver.requests.every((r) => r.verified)).toBe(true);
      expect(receiver.requests).toHaveLength(3);
      const log = await store.listWebhookAttempts({ accountId: 'hook-1' });
      expect(log.filter((a) => a.delivered).map((a) => a.eventId).sort()).toEqual(events.map((e) => e.id).sort());

      // The delivery is a patched command, so histories recorded before webhooks replay.
      const history = await h.fetchHistory();
      const markers = history.events?.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch') ?? [];
      expect(markers.length).toBeGreaterThan(0);
      expect(WEBHOOKS_PATCH).toBe('webhooks');
      expect((await h.query(summaryQuery)).credits.available).toBeGreaterThan(0);
    } finally {
      await worker.stop();
    }
  });
});
