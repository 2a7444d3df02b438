/**
 * Recovery benchmark (a script, not a test): how long after a worker restart every account
 * answers again. N accounts each take M usages on the dev server (so each has a run of real
 * length behind it), the worker is stopped and a new one started on the same task queue with
 * an empty cache, and the time until each account answers its `summary` query is measured:
 * that is a full replay of the account's current run, which continue-as-new keeps short.
 *
 *   npx tsx bench/recovery.ts [--accounts 6] [--updates 600]
 */
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { temporalBinaryPath } from '../infra/temporal-binaries';
import { workflowCodeOptions } from '../worker';
import { summaryQuery } from '../workflows/messages';
import { driveUsage, startBenchAccounts } from './bench-accounts';
import { fakeActivities } from '../test/helpers/workflow-harness';
import { ACCOUNT_SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

const { values } = parseArgs({ options: { accounts: { type: 'string', default: '6' }, updates: { type: 'string', default: '600' } } });
const accounts = Number(values.accounts);
const perAccount = Number(values.updates);
if (![accounts, perAccount].every((n) => Number.isSafeInteger(n) && n >= 1)) {
  console.error('--accounts and --updates must be positive integers');
  process.exit(2);
}

async function main(): Promise<void> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBinaryPath('temporal') }, searchAttributes: [...ACCOUNT_SEARCH_ATTRIBUTE_KEYS] },
  });
  const taskQueue = 'recovery-bench';
  const activities = fakeActivities();
  const newWorker = () => Worker.create({ connection: env.nativeConnection, taskQueue, ...workflowCodeOptions(), activities });
  try {
    const first = await newWorker();
    const firstRunning = first.run();
    const handles = await startBenchAccounts(env.client, taskQueue, 'recovery', accounts);
    await driveUsage(handles, perAccount, 8);
    const lengths = await Promise.all(handles.map(async (h) => (await h.describe()).historyLength));
    first.shutdown();
    await firstRunning;

    const second = await newWorker();
    const secondRunning = second.run();
    const restarted = performance.now();
    const answered = await Promise.all(
      handles.map(async (h) => {
        await h.query(summaryQuery);
        return performance.now() - restarted;
      }),
    );
    answered.sort((a, b) => a - b);
    console.log(`accounts: ${accounts}, usages each: ${perAccount}`);
    console.log(`events in each account's current run: min ${Math.min(...lengths)}, max ${Math.max(...lengths)}`);
    console.log(
      `after the restart, answering again: first ${answered[0]?.toFixed(0)} ms, median ${answered[Math.floor(answered.length / 2)]?.toFixed(0)} ms, last ${answered[answered.length - 1]?.toFixed(0)} ms`,
    );
    second.shutdown();
    await secondRunning;
  } finally {
    await env.teardown();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
