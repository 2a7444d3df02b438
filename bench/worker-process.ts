/**
 * The benchmarks' workers, each in a process of its own: the account worker as it runs in
 * production (the account workflows and their activities over the ledger: PostgreSQL, or the
 * embedded PGlite, which then runs on that process's main thread), and the no-op ceiling's
 * worker apart, so the account worker's peak RSS is its own and not the ceiling's.
 * Forked by {@link startWorkerProcess} with IPC; measured on its own (its peak RSS is the
 * worker's, not the load generator's), and asked for the ledger's figures over IPC since the
 * embedded ledger admits one process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { WORKFLOW_BUNDLER_OPTIONS } from '../infra/workflow-bundler';
import { openLedgerStore } from '../ledger/open-store';
import { workerConcurrencyOptions, workerSettingsFromEnv, workflowCodeOptions } from '../worker';

/** What the parent asks the worker process. */
type Question = { op: 'ledgerUsage'; accountId: string; cycleIndex: number } | { op: 'peakRss' | 'resetPeakRss' | 'cachedWorkflows' | 'stop' };
type Request = Question & { id: number };

/** How to start a worker process: the account worker, or the no-op ceiling's. */
export type WorkerProcessOptions = {
  address: string;
  namespace: string;
} & (
  | {
      role: 'accounts';
      /** The account workflows' task queue. */
      taskQueue: string;
      /** The ledger's URL (`CREDITS_LEDGER_URL` syntax): a PostgreSQL server, or `pglite:<dir>` embedded in this process. */
      ledgerUrl: string;
    }
  | {
      role: 'noop';
      /** The no-op ceiling workflow's task queue. */
      taskQueue: string;
    }
);

/** The running worker process, as the benchmark sees it. */
export interface WorkerProcess {
  /** Usage credits the ledger holds for an account's cycle (the account worker's process only). */
  ledgerUsage(accountId: string, cycleIndex: number): Promise<number>;
  /** The worker process's peak RSS since its start or the last reset, in bytes. */
  peakRss(): Promise<number>;
  resetPeakRss(): Promise<void>;
  /**
   * Workflow runs the worker holds in its cache. A terminated run stays there until the cache
   * needs its place: the worker is never told of the termination.
   */
  cachedWorkflows(): Promise<number>;
  /** Shuts the worker down and closes the ledger. */
  stop(): Promise<void>;
}

/** Forks a worker process and waits until its worker runs. */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  // BENCH_WORKER_PROFILE=DIR writes the worker process's CPU profiles (every thread) to DIR;
  // BENCH_WORKER_NODE_ARGS adds Node flags of its own (space-separated).
  const profile = process.env.BENCH_WORKER_PROFILE;
  const extra = process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const execArgv = [...(profile ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${profile}`] : process.execArgv), ...extra];
  const child: ChildProcess = fork(__filename, [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const waiting = new Map<number, (value: number) => void>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
    child.once('exit', (code) => reject(new Error(`the worker process exited with ${code}`)));
  });
  child.on('message', (m: { id: number; value: number }) => {
    waiting.get(m.id)?.(m.value);
    waiting.delete(m.id);
  });
  const ask = (request: Question): Promise<number> =>
    new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      child.send({ ...request, id });
    });
  return {
    ledgerUsage: (accountId, cycleIndex) => ask({ op: 'ledgerUsage', accountId, cycleIndex }),
    peakRss: () => ask({ op: 'peakRss' }),
    resetPeakRss: async () => void (await ask({ op: 'resetPeakRss' })),
    cachedWorkflows: () => ask({ op: 'cachedWorkflows' }),
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await ask({ op: 'stop' }).catch(() => undefined);
      await exited;
    },
  };
}

async function runChild(options: WorkerProcessOptions): Promise<void> {
  // Only warnings: the SDK's per-task INFO lines would cost the process what is being measured.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const store = options.role === 'accounts' ? await openLedgerStore({ url: options.ledgerUrl }) : undefined;
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = store
    ? await Worker.create({
        connection,
        namespace: options.namespace,
        taskQueue: options.taskQueue,
        ...workflowCodeOptions(),
        activities: createActivities({ store, mailer: null }),
        // The production worker's concurrency settings (CREDITS_* variables and their defaults).
        ...workerConcurrencyOptions(workerSettingsFromEnv()),
      })
    : await Worker.create({ connection, namespace: options.namespace, taskQueue: options.taskQueue, workflowsPath: require.resolve('./noop-workflow'), bundlerOptions: WORKFLOW_BUNDLER_OPTIONS });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const running = worker.run();
  process.on('message', (m: Request) => {
    const answer = (value: number) => process.send?.({ id: m.id, value });
    if (m.op === 'peakRss') answer(Math.max(peak, process.memoryUsage().rss));
    else if (m.op === 'resetPeakRss') answer((peak = process.memoryUsage().rss));
    else if (m.op === 'cachedWorkflows') answer(worker.getStatus().numCachedWorkflows);
    else if (m.op === 'ledgerUsage') {
      if (!store) answer(Number.NaN);
      else void store.usageByFeature(m.accountId, m.cycleIndex).then((rows) => answer(rows.reduce((sum, f) => sum + f.credits, 0)));
    } else {
      clearInterval(sampler);
      worker.shutdown();
      void running
        .then(() => store?.close())
        .then(() => connection.close())
        .then(() => {
          answer(0);
          process.disconnect();
        });
    }
  });
  process.send?.('ready');
}

if (require.main === module) {
  runChild(JSON.parse(process.argv[2] ?? '{}') as WorkerProcessOptions).catch((err: unknown) => {
    process.send?.(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
