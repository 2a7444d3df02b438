/**
 * The engine's own Prometheus series, in one registry per process. Each series is counted by
 * the process that sees the event (docs/operations.md lists which): the workflow runs in
 * Temporal's sandbox and cannot count, so admitted and refused usage is counted by the ledger
 * activity on the worker (every decision becomes a ledger entry), and what a caller waits for
 * (update latency, the answers it got) by the client library in the caller's process.
 *
 * The registry is the module's own, not prom-client's global one, so a product service that
 * embeds the client library decides whether to expose it (`engineMetricsText()`, or merge
 * {@link ENGINE_REGISTRY} into its own registry).
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The registry of every `credits_*` series (and, once enabled, the process's `process_*`/`nodejs_*`). */
export const ENGINE_REGISTRY = new Registry();

/** Latency buckets (seconds) for calls a caller waits on: an update takes a few ms to seconds. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Usage events the account admitted, by feature (worker: the ledger activity). */
export const usageAdmitted = new Counter({
  name: 'credits_usage_admitted_total',
  help: 'Usage events admitted by the account workflows, by feature (counted by the worker as their ledger entries are written).',
  labelNames: ['feature'] as const,
  registers: [ENGINE_REGISTRY],
});

/** Credits debited by admitted usage, by feature (worker). */
export const usageAdmittedCredits = new Counter({
  name: 'credits_usage_admitted_credits_total',
  help: 'Credits debited by admitted usage, by feature (worker, from the ledger entries).',
  labelNames: ['feature'] as const,
  registers: [ENGINE_REGISTRY],
});

/** Usage events the account refused, by feature and reason (worker: the ledger activity). */
export const usageRefused = new Counter({
  name: 'credits_usage_refused_total',
  help: 'Usage events refused by the account workflows, by feature and reason (worker, from the ledger entries).',
  labelNames: ['feature', 'reason'] as const,
  registers: [ENGINE_REGISTRY],
});

/** Usage answers as the caller received them (client library: the caller's process). */
export const clientUsageAnswers = new Counter({
  name: 'credits_client_usage_answers_total',
  help: 'Usage answers received by this process through the client library, by feature, outcome (accepted, refused, duplicate, invalid) and refusal reason.',
  labelNames: ['feature', 'outcome', 'reason'] as const,
  registers: [ENGINE_REGISTRY],
});

/** How long a caller waited for an update's answer, retries included (client library). */
export const updateDuration = new Histogram({
  name: 'credits_update_duration_seconds',
  help: 'Time a caller waited for an account update, retries included, by update name and outcome (ok, error).',
  labelNames: ['update', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [ENGINE_REGISTRY],
});

/** How long one ledger write (an `appendLedger` activity's batch) took (worker). */
export const ledgerWriteDuration = new Histogram({
  name: 'credits_ledger_write_duration_seconds',
  help: 'Time one appendLedger activity took to write its batch, by outcome (ok, error).',
  labelNames: ['outcome'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [ENGINE_REGISTRY],
});

/**
 * Entries per ledger write: the head of an account's outbox, up to the workflow's batch of
 * 500, so batches at the top bucket mean the outbox holds a backlog (worker).
 */
export const outboxBatchEntries = new Histogram({
  name: 'credits_outbox_batch_entries',
  help: "Ledger entries per appendLedger call, i.e. the outbox head the workflow flushed (up to 500); full batches mean an outbox backlog.",
  buckets: [1, 2, 5, 10, 25, 50, 100, 250, 499, 500],
  registers: [ENGINE_REGISTRY],
});

/** How long the oldest entry of a batch waited in its account's outbox before being written (worker). */
export const outboxLag = new Histogram({
  name: 'credits_outbox_lag_seconds',
  help: "Age of a written batch's oldest ledger entry (workflow time of the entry to the write): how far the ledger trails the accounts.",
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  registers: [ENGINE_REGISTRY],
});

/** Effects a receiver refused for good, which the workflow parks (worker). */
export const effectsParked = new Counter({
  name: 'credits_effects_parked_total',
  help: 'Effects refused for good and parked by their account (ledger entries the database refused, charges or alerts that failed non-retryably), by type.',
  labelNames: ['type'] as const,
  registers: [ENGINE_REGISTRY],
});

/** Alerts delivered, by alert kind (warning, exhausted) and channel (in_app, email) (worker). */
export const alertsSent = new Counter({
  name: 'credits_alerts_sent_total',
  help: 'Low-credit alerts delivered, by kind (warning, exhausted) and channel (in_app, email); each alert id is counted once per channel.',
  labelNames: ['kind', 'channel'] as const,
  registers: [ENGINE_REGISTRY],
});

/** Failed attempts to e-mail an alert, by the mailer's error code (worker). */
export const alertEmailFailures = new Counter({
  name: 'credits_alert_email_failures_total',
  help: 'Failed attempts to e-mail an alert, by error code (smtp_refused, smtp_unreachable, smtp_auth_failed, smtp_failed); the alert is retried until it is sent or given up on.',
  labelNames: ['code'] as const,
  registers: [ENGINE_REGISTRY],
});

/** Alert e-mails given up on, by why (refused: a permanent SMTP refusal; gave_up: failing past the give-up span) (worker). */
export const alertEmailsAbandoned = new Counter({
  name: 'credits_alert_emails_abandoned_total',
  help: 'Alert e-mails given up on, by reason (refused: the SMTP server refused them for good; gave_up: still failing after the give-up span); the in-app notification stands.',
  labelNames: ['reason'] as const,
  registers: [ENGINE_REGISTRY],
});

/** Tier charges newly recorded (a retried charge is not counted again) (worker). */
export const tierCharges = new Counter({
  name: 'credits_tier_charges_total',
  help: 'Tier charges recorded, by reason (cycle_start, purchase, upgrade); a retried charge id is not counted again.',
  labelNames: ['reason'] as const,
  registers: [ENGINE_REGISTRY],
});

/** HTTP requests answered, by server, route pattern, method and status (admin page, usage API, ops listener). */
export const httpRequests = new Counter({
  name: 'credits_http_requests_total',
  help: 'HTTP requests answered, by server (admin, api, worker), route pattern, method and status code.',
  labelNames: ['server', 'route', 'method', 'status'] as const,
  registers: [ENGINE_REGISTRY],
});

/** HTTP request duration, by server, route pattern and method. */
export const httpRequestDuration = new Histogram({
  name: 'credits_http_request_duration_seconds',
  help: 'Time to answer an HTTP request, by server, route pattern and method.',
  labelNames: ['server', 'route', 'method'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [ENGINE_REGISTRY],
});

let processMetrics = false;
/**
 * Adds the process's CPU, memory, event-loop and GC series to {@link ENGINE_REGISTRY}, once:
 * called by whatever serves `/metrics`, so a library user that never exposes metrics does not
 * pay for them.
 */
export function enableProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: ENGINE_REGISTRY });
}

/** Seconds since `startNs` (from `process.hrtime.bigint()`). */
export function secondsSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}

/** The Prometheus text exposition of {@link ENGINE_REGISTRY}. */
export function engineMetricsText(): Promise<string> {
  return ENGINE_REGISTRY.metrics();
}

/** Content type of the Prometheus text exposition (version 0.0.4). */
export const METRICS_CONTENT_TYPE = ENGINE_REGISTRY.contentType;
