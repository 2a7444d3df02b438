/**
 * Usage admission benchmark (a script, not a test): the real workflow on the real dev server,
 * N accounts each receiving M `recordUsage` updates from C concurrent callers per account (the
 * server allows 10 updates in flight per workflow). Prints updates per second, latency
 * percentiles, how many runs continue-as-new produced, and the worker process's peak RSS.
 *
 *   npm run bench:usage -- [--accounts 4] [--updates 500] [--concurrency 8]
 *
 * Activities are the real ones over an embedded ledger in a temp directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { temporalBinaryPath } from '../infra/temporal-binaries';
import { openLedgerStore } from '../ledger/open-store';
import { workflowCodeOptions } from '../worker';
import { driveUsage, startBenchAccounts } from './bench-accounts';

const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '4' },
    updates: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
  },
});
const accounts = Number(values.accounts);
const perAccount = Number(values.updates);
const concurrency = Math.min(9, Number(values.concurrency));
if (![accounts, perAccount, concurrency].every((n) => Number.isSafeInteger(n) && n >= 1)) {
  console.error('--accounts, --updates and --concurrency must be positive integers');
  process.exit(2);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'usage-bench-'));
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBinaryPath('temporal') } },
  });
  const store = await openLedgerStore({ url: `pglite:${join(scratch, 'ledger')}` });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const taskQueue = 'bench';
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...workflowCodeOptions(),
    activities: createActivities({ store, mailer: null }),
  });
  const running = worker.run();
  try {
    const handles = await startBenchAccounts(env.client, taskQueue, 'bench', accounts);
    const latencies: number[] = [];
    const started = Date.now();
    await driveUsage(handles, perAccount, concurrency, (ms) => latencies.push(ms));
    const seconds = (Date.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    let runs = 0;
    for (const h of handles) {
      const first = (h as typeof h & { firstExecutionRunId: string }).firstExecutionRunId;
      runs += (await h.describe()).runId === first ? 1 : 2;
    }
    const total = accounts * perAccount;
    console.log(`updates: ${total} over ${accounts} accounts, ${concurrency} in flight per account`);
    console.log(`throughput: ${(total / seconds).toFixed(0)} updates/s (${seconds.toFixed(1)} s)`);
    console.log(
      `latency ms: p50 ${percentile(latencies, 50).toFixed(1)}  p90 ${percentile(latencies, 90).toFixed(1)}  p99 ${percentile(latencies, 99).toFixed(1)}  max ${(latencies[latencies.length - 1] ?? 0).toFixed(1)}`,
    );
    console.log(`accounts that continued as new mid-cycle: ${runs - accounts} of ${accounts}`);
    console.log(`peak RSS of this process (worker, ledger, client): ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    clearInterval(sampler);
    worker.shutdown();
    await running;
    await store.close();
    await env.teardown();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
