/**
 * The operators' endpoints, scraped over HTTP as Prometheus would: the production worker
 * (`node dist/worker.js` with `CREDITS_WORKER_METRICS_PORT`) on the real dev server with the
 * real activities and an embedded ledger, the usage API and the admin page in this process.
 * Usage driven through the API must show up as the right deltas in the right processes'
 * series; `/readyz` must fail when the ledger or Temporal is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer } from '../../admin/server';
import { hashApiKey, parseApiKeyHashes } from '../../api/keys';
import { startUsageApi, type UsageApi } from '../../api/server';
import { CreditsClient } from '../../client';
import { projectRoot } from '../../infra/project-root';
import { runReadinessChecks } from '../../infra/ops-http';
import { openLedgerStore } from '../../ledger/open-store';
import { devServerEnv } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';

const KEY = 'metrics-test-key';
const keys = parseApiKeyHashes(hashApiKey(KEY), 'test');

let env: TestWorkflowEnvironment;
let envDown = false;
let dir: string;
let worker: ChildProcess;
let workerOut = '';
let workerUrl: string;
let credits: CreditsClient;
let api: UsageApi;
const taskQueue = `metrics-${process.pid}`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The value of one sample of `text`: the line of `name` carrying every label of `labels` (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const set = match[2] ?? '';
    if (wanted.every((w) => set.includes(w))) return Number(match[3]);
  }
  return 0;
}

async function scrape(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

async function status(url: string): Promise<{ status: number; body: { status?: string; checks?: Record<string, string> } }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as { status?: string; checks?: Record<string, string> } };
}

async function postUsage(accountId: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${api.address}/v1/accounts/${accountId}/usage`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.json();
}

beforeAll(async () => {
  env = await devServerEnv();
  dir = mkdtempSync(join(tmpdir(), 'credits-metrics-'));
  const [port, sdkPort] = [await freePort(), await freePort()];
  worker = spawn(process.execPath, [join(projectRoot(), 'dist', 'worker.js')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: 'default',
      CREDITS_TASK_QUEUE: taskQueue,
      CREDITS_LEDGER_URL: `pglite:${join(dir, 'ledger')}`,
      CREDITS_WORKER_METRICS_PORT: String(port),
      CREDITS_TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${sdkPort}`,
      SMTP_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout?.on('data', (b: Buffer) => (workerOut += b.toString()));
  worker.stderr?.on('data', (b: Buffer) => (workerOut += b.toString()));
  workerUrl = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${workerUrl}/readyz`).then((r) => r.status, () => 0)) === 200, `the worker to be ready:\n${workerOut}`, 60_000);
  credits = new CreditsClient(env.client, { taskQueue });
  api = await startUsageApi({ client: credits, keys, port: 0, log: () => undefined });
}, 120_000);

afterAll(async () => {
  await api?.close();
  if (worker && worker.exitCode === null) {
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  }
  if (!envDown) await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('/metrics', () => {
  it('counts usage admitted and refused by feature and reason, in the worker and in the caller', async () => {
    await credits.startAccount({ accountId: 'metrics-acme', plan: 'essentials', users: 2, cycleAnchor: new Date(Date.now() - 86_400_000).toISOString() });
    const [apiBefore, workerBefore] = [await scrape(api.address), await scrape(workerUrl)];

    const events = [1, 2, 3].map((n) => ({ feature: 'enrichment', quantity: 2, idempotencyKey: `m-${n}` }));
    const answers = (await postUsage('metrics-acme', [...events, { feature: 'enrichment', quantity: 900_000, idempotencyKey: 'm-huge' }])) as { accepted: boolean; reason?: string }[];
    expect(answers.map((a) => a.reason ?? 'accepted')).toEqual(['accepted', 'accepted', 'accepted', 'insufficient_credits']);
    // A retry of the same key: a duplicate, charged nothing.
    await postUsage('metrics-acme', events[0]);

    const apiAfter = await scrape(api.address);
    const delta = (name: string, labels: Record<string, string>) => sample(apiAfter, name, labels) - sample(apiBefore, name, labels);
    expect(delta('credits_client_usage_answers_total', { feature: 'enrichment', outcome: 'accepted' })).toBe(3);
    expect(delta('credits_client_usage_answers_total', { feature: 'enrichment', outcome: 'refused', reason: 'insufficient_credits' })).toBe(1);
    expect(delta('credits_client_usage_answers_total', { feature: 'enrichment', outcome: 'duplicate' })).toBe(1);
    expect(delta('credits_http_requests_total', { server: 'api', route: '/v1/accounts/:accountId/usage', method: 'POST', status: '200' })).toBe(2);
    // Coalesced into batch updates; their wait is a histogram with its buckets.
    expect(apiAfter).toMatch(/^credits_update_duration_seconds_bucket\{le="0\.005",update="recordUsageBatch",outcome="ok"\} \d+$/m);
    expect(sample(apiAfter, 'credits_update_duration_seconds_count', { update: 'recordUsageBatch', outcome: 'ok' })).toBeGreaterThan(0);
    expect(apiAfter).toMatch(/^process_resident_memory_bytes /m);

    // The worker counts each decision as its ledger entry is written (the outbox lingers first).
    const workerAfter = await waitFor(async () => {
      const text = await scrape(workerUrl);
      const refused = sample(text, 'credits_usage_refused_total', { feature: 'enrichment', reason: 'insufficient_credits' });
      return refused - sample(workerBefore, 'credits_usage_refused_total', { feature: 'enrichment', reason: 'insufficient_credits' }) >= 1 && text;
    }, 'the ledger write to be counted');
    const wdelta = (name: string, labels: Record<string, string> = {}) => sample(workerAfter, name, labels) - sample(workerBefore, name, labels);
    expect(wdelta('credits_usage_admitted_total', { feature: 'enrichment' })).toBe(3);
    expect(wdelta('credits_usage_admitted_credits_total', { feature: 'enrichment' })).toBe(6);
    expect(wdelta('credits_usage_refused_total', { feature: 'enrichment', reason: 'insufficient_credits' })).toBe(1);
    expect(wdelta('credits_usage_admitted_total', { feature: 'auto-updates' })).toBe(0);
    expect(workerAfter).toMatch(/^credits_ledger_write_duration_seconds_bucket\{le="0\.001",outcome="ok"\} \d+$/m);
    expect(sample(workerAfter, 'credits_ledger_write_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThan(0);
    expect(sample(workerAfter, 'credits_outbox_batch_entries_count')).toBeGreaterThan(0);
    expect(sample(workerAfter, 'credits_outbox_lag_seconds_count')).toBeGreaterThan(0);
    // The Temporal SDK runtime's own series, served by the same endpoint.
    expect(sample(workerAfter, 'credits_temporal_runtime_metrics_up')).toBe(1);
    expect(workerAfter).toMatch(/^temporal_[a-z_]+(\{[^}]*\})? \S+$/m);
    expect(workerAfter).toMatch(/^temporal_worker_start/m);
    // Exactly one HELP per family: the two sources do not collide.
    const helps = workerAfter.split('\n').filter((l) => l.startsWith('# HELP ')).map((l) => l.split(' ')[2]);
    expect(new Set(helps).size).toBe(helps.length);
  });
});

describe('/healthz and /readyz', () => {
  it('answer 200 on the worker and the usage API while Temporal and the ledger are up', async () => {
    for (const base of [workerUrl, api.address]) {
      expect(await status(`${base}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
      const ready = await status(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('ready');
    }
    expect((await status(`${workerUrl}/readyz`)).body.checks).toEqual({ temporal: 'ok', ledger: 'ok', worker: 'ok' });
    expect((await status(`${api.address}/readyz`)).body.checks).toEqual({ temporal: 'ok' });
  });

  it('the admin page is not ready once its ledger is gone, and says which dependency failed', async () => {
    const store = await openLedgerStore({ url: 'pglite:memory' });
    const logged: string[] = [];
    const admin = await startAdminServer({ client: credits, store, port: 0, log: (m) => logged.push(m) });
    try {
      expect(await status(`${admin.url}/readyz`)).toEqual({ status: 200, body: { status: 'ready', checks: { temporal: 'ok', ledger: 'ok' } } });
      await store.close();
      expect(await status(`${admin.url}/readyz`)).toEqual({ status: 503, body: { status: 'not_ready', checks: { temporal: 'ok', ledger: 'unreachable' } } });
      expect(logged).toContain('readiness: ledger is unreachable');
      // Liveness is the process itself: still 200.
      expect((await status(`${admin.url}/healthz`)).status).toBe(200);
      const text = await scrape(admin.url);
      expect(sample(text, 'credits_http_requests_total', { server: 'admin', route: '/readyz', method: 'GET', status: '503' })).toBe(1);
    } finally {
      await admin.close();
    }
  });

  it('a check that hangs counts as failed after its timeout', async () => {
    const answer = await runReadinessChecks({ checks: [{ name: 'slow', check: () => new Promise(() => undefined) }], checkTimeoutMs: 50 });
    expect(answer).toEqual({ status: 'not_ready', checks: { slow: 'unreachable' } });
  });

  it('the worker and the usage API are not ready once Temporal is down', async () => {
    envDown = true;
    await env.teardown();
    const apiReady = await status(`${api.address}/readyz`);
    expect(apiReady).toEqual({ status: 503, body: { status: 'not_ready', checks: { temporal: 'unreachable' } } });
    const workerReady = await status(`${workerUrl}/readyz`);
    expect(workerReady.status).toBe(503);
    expect(workerReady.body.checks?.temporal).toBe('unreachable');
    expect(workerReady.body.checks?.ledger).toBe('ok');
    expect((await status(`${workerUrl}/healthz`)).status).toBe(200);
  }, 30_000);
});
