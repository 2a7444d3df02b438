/**
 * What the benchmarks share: accounts big enough never to run out (Scale, 10 users, the
 * largest tier) started on a task queue, and usage driven into them by concurrent callers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { temporalBinaryPath } from '../infra/temporal-binaries';
import { openLedgerStore } from '../ledger/open-store';
import type { LedgerStore } from '../ledger/store';
import { workflowCodeOptions } from '../worker';
import { accountWorkflowId, recordUsageUpdate, WORKFLOW_TYPE } from '../workflows/messages';
import { ACCOUNT_SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

/** Start `count` accounts named `<prefix>-<n>`, anchored a day ago. */
export function startBenchAccounts(client: Client, taskQueue: string, prefix: string, count: number): Promise<WorkflowHandle[]> {
  const anchor = new Date(Date.now() - 86_400_000).toISOString();
  return Promise.all(
    Array.from({ length: count }, (_, a) =>
      client.workflow.start(WORKFLOW_TYPE, {
        taskQueue,
        workflowId: accountWorkflowId(`${prefix}-${a}`),
        args: [{ accountId: `${prefix}-${a}`, plan: 'scale', users: 10, cycleAnchor: anchor, creditTier: 'tier-17' }],
      }),
    ),
  );
}

/**
 * Send `perAccount` usages of one credit each to every account, `concurrency` in flight per
 * account (the server admits 10); `onLatency` hears each call's time in ms.
 */
export async function driveUsage(handles: WorkflowHandle[], perAccount: number, concurrency: number, onLatency?: (ms: number) => void): Promise<void> {
  await Promise.all(
    handles.map(async (h) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < perAccount) {
            const i = next++;
            const t = performance.now();
            await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 1, idempotencyKey: `b-${i}` }] });
            onLatency?.(performance.now() - t);
          }
        }),
      );
    }),
  );
}

/** What {@link withBenchWorker} gives a benchmark. */
export interface BenchWorker {
  env: TestWorkflowEnvironment;
  /** The embedded ledger the worker's activities write. */
  store: LedgerStore;
  /** This process's peak RSS (worker, ledger and client together) since the start or the last reset. */
  peakRss(): number;
  /** Starts a new peak from the current RSS, e.g. at a phase's start. */
  resetPeakRss(): void;
}

/**
 * Runs `body` against a fresh dev server with an in-process worker on `taskQueue` (the real
 * activities over an embedded ledger in a temp dir), sampling the process's RSS, and tears it
 * all down afterwards.
 */
export async function withBenchWorker(taskQueue: string, body: (bench: BenchWorker) => Promise<void>): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-'));
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBinaryPath('temporal') }, searchAttributes: [...ACCOUNT_SEARCH_ATTRIBUTE_KEYS] },
  });
  const store = await openLedgerStore({ url: `pglite:${join(scratch, 'ledger')}` });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...workflowCodeOptions(),
    activities: createActivities({ store, mailer: null }),
  });
  const running = worker.run();
  try {
    await body({ env, store, peakRss: () => peak, resetPeakRss: () => (peak = process.memoryUsage().rss) });
  } finally {
    clearInterval(sampler);
    worker.shutdown();
    await running;
    await store.close();
    await env.teardown();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs a benchmark's main: its error is printed as a message, and the exit code says it failed. */
export function runBench(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
