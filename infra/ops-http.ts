/**
 * What operators ask of every engine process over HTTP: `/metrics` (Prometheus text),
 * `/healthz` (liveness: the process answers) and `/readyz` (readiness: what it depends on
 * answers too), plus the request counters of {@link httpRequests}. The admin page and the
 * usage API add them to their own servers; the worker, which has no server, gets a small
 * listener of its own ({@link startOpsListener}).
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { METRICS_CONTENT_TYPE, enableProcessMetrics, engineMetricsText, httpRequestDuration, httpRequests, secondsSince } from './metrics';

/** One dependency `/readyz` asks: `check` resolves when it answers, rejects otherwise. */
export interface ReadinessCheck {
  /** Short name shown in the `/readyz` body, e.g. `temporal`, `ledger`. */
  name: string;
  check(): Promise<void>;
}

/** Options of {@link addOpsRoutes}. */
export interface OpsRoutesOptions {
  /** The `server` label of the HTTP series: `admin`, `api` or `worker`. */
  server: string;
  /** What `/readyz` asks, all at once; a function gives the checks of the moment (a process still starting). */
  checks: readonly ReadinessCheck[] | (() => readonly ReadinessCheck[]);
  /** More Prometheus text appended to the engine's (the worker's Temporal runtime series). */
  extraMetrics?: () => Promise<string>;
  /** How long one readiness check may take before it counts as failed (ms). Default 2,000. */
  checkTimeoutMs?: number;
  /** Where a failed check is logged with its error (the `/readyz` body names the check only). */
  log?: (message: string, error?: unknown) => void;
}

/** The `/readyz` body. */
export interface ReadinessAnswer {
  status: 'ready' | 'not_ready';
  /** Each check's outcome: `ok` or `unreachable`. */
  checks: Record<string, 'ok' | 'unreachable'>;
}

/** Paths of the ops routes, which the servers leave out of their authentication. */
export const OPS_PATHS: readonly string[] = ['/metrics', '/healthz', '/readyz'];

function withTimeout(work: Promise<void>, ms: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Runs every check at once; failures are logged with their error and reported by name only. */
export async function runReadinessChecks(options: Pick<OpsRoutesOptions, 'checks' | 'checkTimeoutMs' | 'log'>): Promise<ReadinessAnswer> {
  const timeoutMs = options.checkTimeoutMs ?? 2000;
  const list = typeof options.checks === 'function' ? options.checks() : options.checks;
  const outcomes = await Promise.allSettled(list.map((c) => withTimeout(Promise.resolve().then(() => c.check()), timeoutMs, c.name)));
  const checks: ReadinessAnswer['checks'] = {};
  outcomes.forEach((outcome, i) => {
    const name = list[i]?.name ?? String(i);
    checks[name] = outcome.status === 'fulfilled' ? 'ok' : 'unreachable';
    // The body never carries the error: it may name hosts or users of the ledger's URL.
    if (outcome.status === 'rejected') options.log?.(`readiness: ${name} is unreachable`, outcome.reason);
  });
  return { status: Object.values(checks).every((c) => c === 'ok') ? 'ready' : 'not_ready', checks };
}

/**
 * Adds `/metrics`, `/healthz` and `/readyz` to `app`, and counts every request it answers in
 * {@link httpRequests} by route pattern (never the raw URL: account ids would make a series each).
 */
export function addOpsRoutes(app: FastifyInstance, options: OpsRoutesOptions): void {
  enableProcessMetrics();
  const started = new WeakMap<object, bigint>();
  app.addHook('onRequest', async (request) => {
    started.set(request, process.hrtime.bigint());
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { server: options.server, route, method: request.method };
    httpRequests.inc({ ...labels, status: String(reply.statusCode) });
    const start = started.get(request);
    if (start !== undefined) httpRequestDuration.observe(labels, secondsSince(start));
  });
  app.get('/metrics', async (_request, reply) => {
    const own = await engineMetricsText();
    const extra = options.extraMetrics ? await options.extraMetrics() : '';
    return reply.type(METRICS_CONTENT_TYPE).send(extra === '' ? own : `${own.replace(/\n*$/, '\n')}${extra}`);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const answer = await runReadinessChecks(options);
    return reply.code(answer.status === 'ready' ? 200 : 503).send(answer);
  });
}

/**
 * A Temporal frontend answers `GetSystemInfo` (any connection of the client or worker SDK).
 * The connection is looked up at each check, so a server can be built before it has one.
 */
export function temporalReadiness(connection: () => { workflowService: { getSystemInfo(request: object): Promise<unknown> } }): ReadinessCheck {
  return { name: 'temporal', check: async () => void (await connection().workflowService.getSystemInfo({})) };
}

/** The ledger database answers a one-row read (a store of ledger/store.ts). */
export function ledgerReadiness(store: { listNotifications(accountId: string, options?: { limit?: number }): Promise<unknown> }): ReadinessCheck {
  // An account id no account can have: the read touches the database and returns nothing.
  return { name: 'ledger', check: async () => void (await store.listNotifications('-readiness-probe-', { limit: 1 })) };
}

/**
 * The Prometheus text served at `url` (the Temporal SDK's exporter), followed by a
 * `credits_temporal_runtime_metrics_up` gauge saying whether it could be read; a scrape
 * never fails because the exporter did not answer.
 */
export async function fetchPrometheusText(url: string, timeoutMs = 2000): Promise<string> {
  const up = (value: 0 | 1) =>
    [
      "# HELP credits_temporal_runtime_metrics_up Whether the Temporal SDK runtime's Prometheus exporter answered this scrape (1) or not (0).",
      '# TYPE credits_temporal_runtime_metrics_up gauge',
      `credits_temporal_runtime_metrics_up ${value}`,
      '',
    ].join('\n');
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return up(0);
    const text = await res.text();
    return `${text.replace(/\n*$/, '\n')}${up(1)}`;
  } catch {
    return up(0);
  }
}

/** Options of {@link startOpsListener}. */
export interface OpsListenerOptions extends OpsRoutesOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one (see the returned `url`). */
  port: number;
}

/** A running ops listener. */
export interface OpsListener {
  /** Base URL, e.g. `http://127.0.0.1:9464`. */
  url: string;
  close(): Promise<void>;
}

/**
 * A listener serving only the ops routes, for a process without an HTTP server of its own.
 *
 * @throws the listen error (e.g. `EADDRINUSE`).
 */
export async function startOpsListener(options: OpsListenerOptions): Promise<OpsListener> {
  const host = options.host ?? '127.0.0.1';
  const app = Fastify({ logger: false });
  addOpsRoutes(app, options);
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `there is no ${request.method} ${request.url.split('?')[0]}; try /metrics, /healthz or /readyz` }));
  await app.listen({ host, port: options.port });
  const { port } = app.server.address() as AddressInfo;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return { url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`, close: () => app.close() };
}
