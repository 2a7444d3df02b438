/**
 * The production worker: runs the `accountCredits` workflows and their activities.
 *
 *   npm run worker
 *
 * Settings come from the environment: the Temporal connection through @temporalio/envconfig
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE or
 * a config file), and the engine's own CREDITS_* variables (see infra/settings.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry, type Logger, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import { webhookEndpointsFromEnv } from './notify/webhook-config';
import type { CreditActivities } from './activities/credit-activities';
import { jsonLogLine } from './infra/error-json';
import { fetchPrometheusText, ledgerReadiness, startOpsListener, temporalReadiness, type OpsListener, type ReadinessCheck } from './infra/ops-http';
import { projectRoot } from './infra/project-root';
import { WORKFLOW_BUNDLER_OPTIONS } from './infra/workflow-bundler';
import {
  CREDITS_LEDGER_URL,
  CREDITS_LOG_LEVEL,
  CREDITS_MAX_CACHED_WORKFLOWS,
  CREDITS_MAX_CONCURRENT_ACTIVITIES,
  CREDITS_METRICS_HOST,
  CREDITS_TEMPORAL_METRICS_ADDRESS,
  CREDITS_WORKER_METRICS_PORT,
  CREDITS_MAX_CONCURRENT_WORKFLOW_TASKS,
  CREDITS_WORKFLOW_THREADS,
  CREDITS_RULES,
  CREDITS_SHUTDOWN_GRACE_SECONDS,
  CREDITS_TASK_QUEUE,
  DEFAULT_TEMPORAL_ADDRESS,
  DEFAULT_TEMPORAL_METRICS_ADDRESS,
  DEFAULT_TEMPORAL_NAMESPACE,
  isSettingsError,
  type Env,
} from './infra/settings';
import { openLedgerStore } from './ledger/open-store';
import type { LedgerStore } from './ledger/store';
import type { RulesOption } from './ruleset';
import { DEFAULT_TASK_QUEUE } from './workflows/messages';
import { requireSearchAttributes } from './client/account-list';

/** Where `npm run build` writes the prebundled workflow code. */
export const WORKFLOW_BUNDLE_PATH = join(projectRoot(), 'dist', 'workflow-bundle.js');

/** Everything the worker needs besides the connection. */
export interface WorkerSettings {
  taskQueue: string;
  /** Rules file or directory (`CREDITS_RULES`); undefined for the shipped `rules/`. */
  rulesPath?: string;
  /** Ledger location (`CREDITS_LEDGER_URL`); undefined for the embedded default. */
  ledgerUrl?: string;
  maxConcurrentActivityTaskExecutions: number;
  maxConcurrentWorkflowTaskExecutions: number;
  /** Threads running workflow code (`CREDITS_WORKFLOW_THREADS`). */
  workflowThreads: number;
  /** Workflow runs kept in memory (`CREDITS_MAX_CACHED_WORKFLOWS`); undefined to size them to the heap. */
  maxCachedWorkflows?: number;
  /** Port of the ops listener (`CREDITS_WORKER_METRICS_PORT`); undefined for none. */
  metricsPort?: number;
  /** Interface of the ops listener (`CREDITS_METRICS_HOST`). */
  metricsHost: string;
  /** Where the Temporal SDK's Prometheus exporter binds (`CREDITS_TEMPORAL_METRICS_ADDRESS`). */
  temporalMetricsAddress: string;
}

/** A setting that cannot be used, named with its variable (the settings module's error). */
export { SettingsError as WorkerSettingsError } from './infra/settings';

/**
 * The engine's settings from `env` (default `process.env`): `CREDITS_TASK_QUEUE`,
 * `CREDITS_RULES`, `CREDITS_LEDGER_URL`, `CREDITS_MAX_CONCURRENT_ACTIVITIES`,
 * `CREDITS_MAX_CONCURRENT_WORKFLOW_TASKS`, `CREDITS_WORKFLOW_THREADS` and
 * `CREDITS_MAX_CACHED_WORKFLOWS`, with the defaults of
 * infra/settings.ts.
 *
 * @throws SettingsError naming a variable whose value cannot be used.
 */
export function workerSettingsFromEnv(env?: Env): WorkerSettings {
  return {
    taskQueue: CREDITS_TASK_QUEUE.read(env) ?? DEFAULT_TASK_QUEUE,
    rulesPath: CREDITS_RULES.read(env),
    ledgerUrl: CREDITS_LEDGER_URL.read(env),
    maxConcurrentActivityTaskExecutions: CREDITS_MAX_CONCURRENT_ACTIVITIES.read(env),
    maxConcurrentWorkflowTaskExecutions: CREDITS_MAX_CONCURRENT_WORKFLOW_TASKS.read(env),
    workflowThreads: CREDITS_WORKFLOW_THREADS.read(env),
    maxCachedWorkflows: CREDITS_MAX_CACHED_WORKFLOWS.read(env),
    metricsPort: CREDITS_WORKER_METRICS_PORT.read(env),
    metricsHost: CREDITS_METRICS_HOST.read(env) ?? '127.0.0.1',
    temporalMetricsAddress: CREDITS_TEMPORAL_METRICS_ADDRESS.read(env) ?? DEFAULT_TEMPORAL_METRICS_ADDRESS,
  };
}

/**
 * Workflow code for the worker: the prebundled file when there is one (fast start, and the
 * code that was tested is the code that runs), else bundled now from source (development).
 */
export function workflowCodeOptions(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> {
  if (existsSync(WORKFLOW_BUNDLE_PATH)) return { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } };
  return { workflowsPath: require.resolve('./workflows'), bundlerOptions: WORKFLOW_BUNDLER_OPTIONS };
}

/**
 * The worker options the concurrency settings set: one place for the production worker and the
 * benchmarks' worker process, so a benchmark measures the concurrency that runs in production.
 */
export function workerConcurrencyOptions(
  settings: WorkerSettings,
): Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'workflowThreadPoolSize' | 'maxCachedWorkflows'> {
  return {
    maxConcurrentActivityTaskExecutions: settings.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: settings.maxConcurrentWorkflowTaskExecutions,
    workflowThreadPoolSize: settings.workflowThreads,
    maxCachedWorkflows: settings.maxCachedWorkflows ?? defaultMaxCachedWorkflows(getHeapStatistics().heap_size_limit, settings.maxConcurrentWorkflowTaskExecutions),
  };
}

/**
 * Heap a cached account workflow may hold, with margin: measured at 6.5 MiB for an account at
 * its carried-state budget (100,000 usage events of 30-character keys in a cycle: its duplicate
 * window, answers and billable keys full), of which the state carried at continue-as-new is
 * at most 1 MiB as JSON. A quiet account holds far less.
 */
export const CACHED_ACCOUNT_BYTES = 8 * 1024 * 1024;

/** Heap the worker keeps for itself before its cache, as the SDK reckons it. */
const WORKER_HEAP_RESERVE_BYTES = 200 * 1024 * 1024;

/**
 * How many workflow runs a worker with this heap limit keeps in memory by default: as many
 * accounts at {@link CACHED_ACCOUNT_BYTES} as fit the heap, and at least `minimum` (the workflow
 * tasks it runs at once, which must each have a place). The SDK's own default assumes about
 * 1.7 MiB a run: about 2,300 runs for a 4 GiB heap, so a worker with that many busy accounts
 * would run out of heap before its cache filled. A run that is not cached is replayed from its
 * history at its next task: CPU, never a wrong answer.
 */
export function defaultMaxCachedWorkflows(heapLimitBytes: number, minimum: number): number {
  return Math.max(minimum, 2, Math.floor(Math.max(0, heapLimitBytes - WORKER_HEAP_RESERVE_BYTES) / CACHED_ACCOUNT_BYTES));
}

/** A worker with its ledger, ready to run. */
export interface CreditsWorker {
  worker: Worker;
  store: LedgerStore;
  activities: CreditActivities;
  /** Run until shut down (SIGINT/SIGTERM or `worker.shutdown()`), then close the ledger. */
  run(): Promise<void>;
}

/**
 * Create the worker on an open connection. The ledger store can be passed in (the main job
 * shares one embedded database between the worker and the admin page); otherwise it is
 * opened from the settings and closed when the worker stops.
 */
export async function createCreditsWorker(options: {
  connection: NativeConnection;
  namespace: string;
  settings: WorkerSettings;
  store?: LedgerStore;
  /** The rules to run with instead of `settings.rulesPath` (the main job's demo adds a promotion). */
  rules?: RulesOption;
}): Promise<CreditsWorker> {
  const { connection, namespace, settings } = options;
  const ownsStore = options.store === undefined;
  // Read before the ledger opens: a bad endpoints file stops the start with its problems listed.
  const webhooks = webhookEndpointsFromEnv();
  const store = options.store ?? (await openLedgerStore({ url: settings.ledgerUrl, waitForDatabase: true }));
  const activities = createActivities({ store, rules: options.rules ?? settings.rulesPath, webhooks });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: settings.taskQueue,
    ...workflowCodeOptions(),
    activities,
    ...workerConcurrencyOptions(settings),
  });
  return {
    worker,
    store,
    activities,
    async run() {
      try {
        await worker.run();
      } finally {
        if (ownsStore) await store.close();
      }
    },
  };
}

/**
 * Structured logs: one JSON object per line, on stdout; errors with message, type, cause chain
 * and stack. With `temporalMetricsAddress`, the SDK's runtime metrics (`temporal_*`: polls,
 * task latencies, slots, sticky cache) are exported in Prometheus form on that `host:port`,
 * which the worker's own `/metrics` reads and serves with the engine's series. The runtime
 * can be installed once per process, before any connection: so both are set here together.
 */
export function installJsonLogger(level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' = 'INFO', options: { temporalMetricsAddress?: string } = {}): void {
  const logger = new DefaultLogger(level, (entry: LogEntry) => {
    const { message, level: lvl, timestampNanos, meta } = entry;
    process.stdout.write(jsonLogLine({ time: new Date(Number(timestampNanos / 1_000_000n)).toISOString(), level: lvl, message, ...meta }));
  });
  const bindAddress = options.temporalMetricsAddress;
  Runtime.install(bindAddress === undefined ? { logger } : { logger, telemetryOptions: { metrics: { prometheus: { bindAddress } } } });
}

/** What the worker's `/readyz` asks once the worker exists: Temporal, the ledger, and the worker polling. */
export function workerReadiness(connection: NativeConnection, credits: CreditsWorker): ReadinessCheck[] {
  const polling: ReadinessCheck = {
    name: 'worker',
    check: async () => {
      const state = credits.worker.getState();
      if (state !== 'RUNNING') throw new Error(`the worker is ${state}`);
    },
  };
  return [temporalReadiness(() => connection), ledgerReadiness(credits.store), polling];
}

/**
 * The worker's ops listener (`/metrics`, `/healthz`, `/readyz`) on `settings.metricsPort`.
 * `/readyz` answers 503 until `ready()` returns checks (the worker is still starting), then
 * runs them; `/metrics` serves the engine's series followed by the SDK runtime's, read from
 * `settings.temporalMetricsAddress` at each scrape.
 */
export function startWorkerOps(settings: WorkerSettings & { metricsPort: number }, ready: () => ReadinessCheck[] | undefined, log: Pick<Logger, 'warn'>): Promise<OpsListener> {
  const starting: ReadinessCheck = { name: 'worker', check: () => Promise.reject(new Error('the worker is still starting')) };
  return startOpsListener({
    server: 'worker',
    host: settings.metricsHost,
    port: settings.metricsPort,
    checks: () => ready() ?? [starting],
    extraMetrics: () => fetchPrometheusText(`http://${settings.temporalMetricsAddress}/metrics`),
    log: (message, error) => log.warn(`${message}: ${error instanceof Error ? error.message : String(error)}`),
  });
}

/** Exit status of a worker process that failed or did not stop in time: its supervisor restarts it. */
export const WORKER_FAILED_STATUS = 1;

/** What {@link guardWorkerProcess} needs; tests pass their own `exit`. */
export interface ProcessGuardOptions {
  /** How long a stop may take before the process exits anyway (ms). */
  graceMs: number;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Ends the process; default `process.exit`. */
  exit?: (status: number) => void;
}

/** A guard over the worker process, from {@link guardWorkerProcess}. */
export interface ProcessGuard {
  /** Watches a created worker: one that fails (its SDK gave up on it) ends the process. */
  watch(worker: Worker): void;
  /** The worker has stopped: the process must now end by itself within the grace period. */
  finished(status: number): void;
}

/**
 * Makes sure the worker process always ends, and says why, so that a supervisor can restart
 * it. The SDK turns SIGINT and SIGTERM into a graceful shutdown, but a worker that has
 * already failed cannot be shut down and would stay alive without polling: so after a signal,
 * a worker failure or the end of `run()`, the process is given `graceMs` to end by itself and
 * then ends with {@link WORKER_FAILED_STATUS} (a second signal ends it at once).
 */
export function guardWorkerProcess(options: ProcessGuardOptions): ProcessGuard {
  const { graceMs, log } = options;
  const exit = options.exit ?? ((status: number) => process.exit(status));
  const seconds = graceMs / 1000;
  let deadline: NodeJS.Timeout | undefined;
  let watcher: NodeJS.Timeout | undefined;
  const exitAfterGrace = (why: string, status: number): void => {
    if (deadline) return;
    // Unreferenced: a process with nothing left to do ends by itself, sooner and with its own status.
    deadline = setTimeout(() => {
      log.error(`worker process still running ${seconds}s after ${why}; exiting with status ${status}`);
      exit(status);
    }, graceMs).unref();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (deadline) {
      log.warn(`${signal} again while stopping: exiting now with status ${WORKER_FAILED_STATUS}`);
      exit(WORKER_FAILED_STATUS);
      return;
    }
    log.info(`${signal}: stopping the worker (tasks in progress may finish; exiting anyway in ${seconds}s)`);
    exitAfterGrace(signal, WORKER_FAILED_STATUS);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    watch(worker) {
      watcher = setInterval(() => {
        if (worker.getState() !== 'FAILED') return;
        clearInterval(watcher);
        process.exitCode = WORKER_FAILED_STATUS;
        log.error(`the worker failed and no longer polls; exiting with status ${WORKER_FAILED_STATUS} so it is restarted`);
        exitAfterGrace('the worker failed', WORKER_FAILED_STATUS);
      }, 500).unref();
    },
    finished(status) {
      clearInterval(watcher);
      exitAfterGrace('the worker stopped', status);
    },
  };
}

/**
 * The worker's connection, from the environment through @temporalio/envconfig.
 *
 * @throws Error naming the address and the settings to check when the server cannot be reached.
 */
export async function connectWorker(): Promise<{ connection: NativeConnection; namespace: string; address: string }> {
  const { connectionOptions, namespace = DEFAULT_TEMPORAL_NAMESPACE } = loadClientConnectConfig();
  const address = connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS;
  try {
    return { connection: await NativeConnection.connect(connectionOptions), namespace, address };
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${address} (namespace ${namespace}): is the server up, and are TEMPORAL_ADDRESS and its TLS/API key settings right? (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

/**
 * Connect with the environment's settings and run the worker until a shutdown signal. The
 * process ends with status 0 after a clean stop, and with {@link WORKER_FAILED_STATUS} when the
 * worker could not start, failed while running, or did not stop within
 * `CREDITS_SHUTDOWN_GRACE_SECONDS`.
 */
export async function main(): Promise<void> {
  // Read before the runtime is installed: the exporter's address is a runtime option.
  const early = (() => {
    try {
      return workerSettingsFromEnv();
    } catch {
      return undefined; // reported below, with the logger installed
    }
  })();
  const withMetrics = early?.metricsPort !== undefined;
  installJsonLogger(CREDITS_LOG_LEVEL.read(), withMetrics ? { temporalMetricsAddress: early?.temporalMetricsAddress } : {});
  const log = Runtime.instance().logger;
  const guard = guardWorkerProcess({ graceMs: CREDITS_SHUTDOWN_GRACE_SECONDS.read() * 1000, log });
  let ops: OpsListener | undefined;
  try {
    const settings = workerSettingsFromEnv();
    let checks: ReadinessCheck[] | undefined;
    // Up before the connection and the ledger: a probe then sees a live process that is not ready yet.
    if (settings.metricsPort !== undefined) {
      ops = await startWorkerOps({ ...settings, metricsPort: settings.metricsPort }, () => checks, log);
      log.info(`worker metrics at ${ops.url}/metrics (health: /healthz, /readyz)`);
    }
    const { connection, namespace } = await connectWorker();
    try {
      await requireSearchAttributes(connection, namespace, (message) => log.warn(message));
      const credits = await createCreditsWorker({ connection, namespace, settings });
      checks = workerReadiness(connection, credits);
      guard.watch(credits.worker);
      // The runtime turns SIGINT and SIGTERM into a graceful shutdown: polling stops, tasks in
      // progress finish, then run() resolves and the ledger is closed.
      await credits.run();
    } finally {
      await connection.close();
    }
  } catch (err) {
    process.exitCode = WORKER_FAILED_STATUS;
    // A setting that cannot be used is the operator's to mend, and its message says how: its
    // stack would only bury that. Anything else keeps its stack for whoever debugs it.
    log.error(`worker stopped: ${err instanceof Error ? err.message : String(err)}`, isSettingsError(err) ? { code: err.code } : { error: err });
    throw err;
  } finally {
    await ops?.close().catch(() => undefined);
    guard.finished(Number(process.exitCode ?? 0));
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`worker: ${message}\n`);
    process.exitCode = WORKER_FAILED_STATUS;
  });
}
