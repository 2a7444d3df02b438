/**
 * The `deliverWebhook` activity: posts an event, signed, to every endpoint subscribed to it
 * that has not yet answered 2xx for its id, and records each attempt in the delivery log.
 * While any endpoint fails (down, timing out, answering non-2xx) the activity fails as
 * retryable, so Temporal retries it with backoff; endpoints that took the event are skipped
 * on the retry. Delivery is at least once: receivers drop duplicates by the event id. An
 * endpoint still failing its give-up span (its `giveUpAfter`, else {@link WEBHOOK_GIVE_UP_AFTER_MS})
 * after its first attempt at an event is given up on for that event (the log's last attempt
 * says so) and not posted that event again: an endpoint gone for good (moved, its secret
 * rotated, 410) would otherwise hold the account's later events behind it for ever, and once
 * 100 wait, its ledger writes too.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { WebhookEvent } from '../domain/webhook-events';
import type { LedgerStore } from '../ledger/store';
import { subscribers, type WebhookEndpoint } from '../notify/webhook-config';
import { WEBHOOK_SIGNATURE_HEADER, signWebhookPayload } from '../notify/webhook-signature';
import type { WebhookDeliveryResult } from './credit-activities';

/** Temporal failure type while some endpoint has not taken the event (retryable). */
export const WEBHOOK_UNDELIVERED = 'webhook_undelivered';
/** How long one POST may take before it counts as failed. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** How long an endpoint's attempts at one event go on before it is given up on for that event: 3 days, as common webhook senders do. */
export const WEBHOOK_GIVE_UP_AFTER_MS = 3 * 86_400_000;

/** What the delivery needs. */
export interface WebhookDeliveryDeps {
  store: LedgerStore;
  endpoints: readonly WebhookEndpoint[];
  /** The clock (ms), for the signature's timestamp and the log. */
  now?: () => number;
  /** Per-POST timeout (ms); default {@link WEBHOOK_TIMEOUT_MS}. */
  timeoutMs?: number;
  /**
   * How long an endpoint without a `giveUpAfter` of its own is retried for one event (ms);
   * default {@link WEBHOOK_GIVE_UP_AFTER_MS}.
   */
  giveUpAfterMs?: number;
}

/** `ms` as whole hours, or minutes below an hour, for the log. */
function spanText(ms: number): string {
  return ms >= 3_600_000 ? `${Math.floor(ms / 3_600_000)} h` : `${Math.max(0, Math.floor(ms / 60_000))} min`;
}

async function post(endpoint: WebhookEndpoint, event: WebhookEvent, nowMs: number, timeoutMs: number): Promise<{ status: number | null; error: string | null }> {
  const body = JSON.stringify(event);
  try {
    const response = await fetch(endpoint.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'ai-credits-webhooks/1',
        [WEBHOOK_SIGNATURE_HEADER]: signWebhookPayload(body, endpoint.secret, Math.floor(nowMs / 1000)),
        'Credits-Event-Id': event.id,
        ...(endpoint.authorization ? { authorization: endpoint.authorization } : {}),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel().catch(() => undefined);
    const ok = response.status >= 200 && response.status < 300;
    return { status: response.status, error: ok ? null : `answered HTTP ${response.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    // The log and the retry's message name the endpoint, never its URL (a query may hold a token).
    const text = cause?.code ?? cause?.message ?? (err as Error).message;
    return { status: null, error: text.split(endpoint.url).join(endpoint.name) };
  }
}

/** The activity's body over `deps`. */
export function webhookDelivery(deps: WebhookDeliveryDeps): (event: WebhookEvent) => Promise<WebhookDeliveryResult> {
  const now = deps.now ?? Date.now;
  return async (event) => {
    const targets = subscribers(deps.endpoints, event);
    if (targets.length === 0) return { endpoints: 0, delivered: 0 };
    const progress = await deps.store.webhookProgress(event.id);
    const failed: string[] = [];
    let delivered = 0;
    let abandoned = 0;
    for (const endpoint of targets) {
      if (progress.delivered.has(endpoint.name)) continue;
      const giveUpAfterMs = endpoint.giveUpAfterMs ?? deps.giveUpAfterMs ?? WEBHOOK_GIVE_UP_AFTER_MS;
      const first = progress.firstAttemptAt.get(endpoint.name);
      const last = progress.lastAttemptAt.get(endpoint.name);
      // Given up on at its last attempt (a retry for another endpoint's sake): not posted again.
      if (first !== undefined && last !== undefined && Date.parse(last) - Date.parse(first) >= giveUpAfterMs) {
        abandoned += 1;
        continue;
      }
      const at = now();
      const outcome = await post(endpoint, event, at, deps.timeoutMs ?? WEBHOOK_TIMEOUT_MS);
      const tried = first === undefined ? 0 : at - Date.parse(first);
      const giveUp = outcome.error !== null && tried >= giveUpAfterMs;
      if (giveUp) outcome.error = `${outcome.error}; given up after ${spanText(tried)} of attempts`;
      await deps.store.recordWebhookAttempt({
        eventId: event.id,
        eventType: event.type,
        accountId: event.accountId,
        endpoint: endpoint.name,
        attempt: (progress.attempts.get(endpoint.name) ?? 0) + 1,
        at: new Date(at).toISOString(),
        httpStatus: outcome.status,
        delivered: outcome.error === null,
        error: outcome.error,
      });
      if (outcome.error === null) delivered += 1;
      else if (giveUp) abandoned += 1;
      else failed.push(`${endpoint.name}: ${outcome.error}`);
    }
    if (failed.length > 0) {
      throw ApplicationFailure.create({
        message: `webhook ${event.id} not yet delivered to ${failed.join('; ')}; retrying`,
        type: WEBHOOK_UNDELIVERED,
        nonRetryable: false,
      });
    }
    return abandoned > 0 ? { endpoints: targets.length, delivered, abandoned } : { endpoints: targets.length, delivered };
  };
}
