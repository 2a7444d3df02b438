/**
 * Webhook events in the account's state: built from effects only (so a replay or a retry
 * makes the same id), queued at the tail and acknowledged from the head, and the field gone
 * from the carried state once the queue is empty.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccountState } from '../../domain/account-state';
import { ackWebhook, chargeEvent, eventOfEffect, parkedEvent, pendingWebhooks, queueWebhook } from '../../domain/webhook-events';
import { tierCharge, usageEntry, warningAlert } from '../ledger/entry-fixtures';

describe('webhook events', () => {
  it('queue at the tail, leave from the head, and leave no field behind', () => {
    const state = {} as AccountState;
    const a = chargeEvent(tierCharge('acme'));
    const b = eventOfEffect({ type: 'alert', alert: warningAlert('acme') });
    queueWebhook(state, a);
    queueWebhook(state, b);
    queueWebhook(state, eventOfEffect({ type: 'ledger', entry: usageEntry('acme', 1) })); // a ledger entry tells nobody
    expect(pendingWebhooks(state)).toBe(2);
    ackWebhook(state);
    expect(state.webhooks).toEqual([b]);
    ackWebhook(state);
    expect('webhooks' in state).toBe(false);
    ackWebhook(state); // nothing pending: nothing to do
    expect(pendingWebhooks(state)).toBe(0);
  });

  it('property: the id is a function of the effect alone, and distinct effects get distinct ids', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9:-]{1,30}$/), { minLength: 2, maxLength: 10 }), (ids) => {
        const charges = ids.map((chargeId) => tierCharge('acme', { chargeId }));
        const events = charges.map((c) => chargeEvent(c));
        expect(charges.map((c) => chargeEvent({ ...c }).id)).toEqual(events.map((e) => e.id));
        expect(new Set(events.map((e) => e.id)).size).toBe(ids.length);
        const parked = parkedEvent('acme', charges.map((charge) => ({ type: 'charge' as const, charge })), 'refused', '2026-06-01T00:00:00.000Z');
        expect(parked?.id).toBe(`effect.parked:${ids[0]}`);
        expect((parked?.data.effects as unknown[]).length).toBe(Math.min(ids.length, 20));
      }),
    );
  });
});
