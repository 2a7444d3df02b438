/**
 * Webhook events: what the systems around billing (a CRM, Slack, a data warehouse) are told
 * when an alert is sent, a tier is charged or an effect is parked. An event is built from the
 * workflow's own effect, never from a clock or a random source, so its id is the same however
 * often the workflow replays or the activity retries, and a receiver drops duplicates by it.
 *
 * Pending events wait in the account's state (`webhooks`), bounded by
 * {@link MAX_PENDING_WEBHOOKS}, until the delivery activity confirms them.
 */
import type { AccountState } from './account-state';
import type { AlertNotice, ChargeRequest, Effect } from './effects';

/** Every event type a webhook endpoint can subscribe to. */
export const WEBHOOK_EVENT_TYPES = ['alert.warning', 'alert.exhausted', 'tier.charged', 'effect.parked'] as const;
/** One event type. */
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** An event as it is posted (the JSON body), and as it waits in the account's state. */
export interface WebhookEvent {
  /** Stable id: `<type>:<id of the effect it reports>`; equal for every retry and replay. */
  id: string;
  type: WebhookEventType;
  /** UTC ISO-8601 instant of the effect (workflow time). */
  created: string;
  accountId: string;
  data: Record<string, unknown>;
}

/**
 * Most events waiting in the state. While an endpoint is down the queue grows; at this bound
 * the outbox waits for it (delaying later effects) rather than drop an event or let the
 * carried state grow without end. Alerts and charges come a few per cycle, so reaching it
 * takes a long outage.
 */
export const MAX_PENDING_WEBHOOKS = 100;
/** Most effect ids named in one `effect.parked` event (its `count` says how many there were). */
export const MAX_PARKED_IDS_PER_EVENT = 20;
/** Longest error text carried in an `effect.parked` event. */
const MAX_ERROR_CHARS = 500;

/** The event reporting a delivered alert. */
export function alertEvent(alert: AlertNotice): WebhookEvent {
  // The admins' addresses stay out: they are the account's business, not the subscriber's.
  const { admins: _admins, alertId, accountId, at, ...rest } = alert;
  return { id: `alert.${alert.state}:${alertId}`, type: `alert.${alert.state}`, created: at, accountId, data: { alertId, ...rest } };
}

/** The event reporting a recorded tier charge. */
export function chargeEvent(charge: ChargeRequest): WebhookEvent {
  const { accountId, at, ...data } = charge;
  return { id: `tier.charged:${charge.chargeId}`, type: 'tier.charged', created: at, accountId, data };
}

/** The stable id of an effect, whatever its kind. */
export function effectId(effect: Effect): string {
  if (effect.type === 'ledger') return effect.entry.entryId;
  return effect.type === 'charge' ? effect.charge.chargeId : effect.alert.alertId;
}

/**
 * The event reporting effects set aside for good, named by the first of them (an effect is
 * parked at most once, so the id is unique and stable).
 */
export function parkedEvent(accountId: string, effects: readonly Effect[], error: string, at: string): WebhookEvent | undefined {
  const first = effects[0];
  if (!first) return undefined;
  return {
    id: `effect.parked:${effectId(first)}`,
    type: 'effect.parked',
    created: at,
    accountId,
    data: {
      count: effects.length,
      error: error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}…` : error,
      effects: effects.slice(0, MAX_PARKED_IDS_PER_EVENT).map((e) => ({ type: e.type, id: effectId(e) })),
    },
  };
}

/** The event an alert or charge effect calls for; none for a ledger entry. */
export function eventOfEffect(effect: Effect): WebhookEvent | undefined {
  if (effect.type === 'alert') return alertEvent(effect.alert);
  if (effect.type === 'charge') return chargeEvent(effect.charge);
  return undefined;
}

/** How many events wait in the state. */
export function pendingWebhooks(state: AccountState): number {
  return state.webhooks?.length ?? 0;
}

/** Queue an event (the caller first waits for room: see {@link MAX_PENDING_WEBHOOKS}). */
export function queueWebhook(state: AccountState, event: WebhookEvent | undefined): void {
  if (event) (state.webhooks ??= []).push(event);
}

/** Drop the first pending event once delivered; the field goes when the queue is empty. */
export function ackWebhook(state: AccountState): void {
  state.webhooks?.shift();
  if (state.webhooks?.length === 0) delete state.webhooks;
}
