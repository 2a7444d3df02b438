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
import { parseArgs } from 'node:util';
import { driveUsage, runBench, startBenchAccounts, withBenchWorker } from './bench-accounts';

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
  const taskQueue = 'bench';
  await withBenchWorker(taskQueue, async ({ env, peakRss }) => {
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
    console.log(`peak RSS of this process (worker, ledger, client): ${(peakRss() / 2 ** 20).toFixed(0)} MiB`);
  });
}

runBench(main);
