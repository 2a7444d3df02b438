/** A webhook delivery attempt for the delivery log's tests: a refused first try at `crm` unless overridden. */
import type { WebhookAttempt } from '../../ledger/webhook-deliveries';

/** One attempt, with `over` applied. */
export function webhookAttempt(over: Partial<WebhookAttempt> = {}): WebhookAttempt {
  return {
    eventId: 'tier.charged:acme:tier:2026-06-01T00:00:00.000Z',
    eventType: 'tier.charged',
    accountId: 'acme',
    endpoint: 'crm',
    attempt: 1,
    at: '2026-06-01T00:00:01.000Z',
    httpStatus: null,
    delivered: false,
    error: 'ECONNREFUSED',
    ...over,
  };
}
