/**
 * Usage intake benchmark (a script, not a test): on ONE dev server in one run, side by side,
 * for each account count,
 *   (a) `per-event`: one `recordUsage` update per event (`CreditsClient` with `coalesce: false`),
 *   (b) `coalescing`: `CreditsClient.recordUsage` with its default coalescing,
 *   (c) `http`: the HTTP usage API (`startUsageApi` on 127.0.0.1, a generated key), posted to by
 *       a bounded pool of concurrent `fetch` clients, each request an array of events,
 *   (d) `ceiling`: a no-op batch update (bench/noop-workflow.ts, own task queue and worker)
 *       driven with (b)'s measured batch size and in-flight updates per account.
 * After each account phase the admitted credits are checked exactly against the accounts'
 * summaries and then against the ledger once it has caught up (or reported as behind).
 *
 *   npm run bench:intake -- [--accounts-list 1,100] [--seconds 10 | --events N]
 *     [--concurrency N,...] [--http-clients N,...] [--http-batch 50] [--ledger-wait 40]
 *     (--concurrency and --http-clients take one value per account count, the last repeated;
 *      by default 100 callers and 2 HTTP clients per account, at least 2,000 and 64:
 *      a closed loop batches at most its callers per account, so 100 accounts need more callers
 *      than one for the same batches; each caller's latency then includes its wait in the queue)
 *     [--phases per-event,coalescing,http,ceiling]   (the ceiling without coalescing uses 500 events an update)
 *     [--max-in-flight N] [--linger MS]              (the coalescing client's options, for comparison)
 *     [--rate N,...]                                 (the coalescing and HTTP phases as open loops instead: N events/s
 *                                                     offered over all the accounts, one row per rate, each call sent on
 *                                                     its schedule whether or not earlier ones were answered and its
 *                                                     latency counted from that schedule: the latency at a given load,
 *                                                     where the closed loops measure the most events/s; with --events,
 *                                                     N events at the rate, not the phase's seconds)
 *     [--rounds N]                                   (every phase N times, rounds interleaved, on fresh accounts;
 *                                                     each row is then the round with the median events/s, the
 *                                                     lower one for even N, and lists every round's rate)
 *     [--same-workers]                               (every round on the same worker processes, not fresh ones:
 *                                                     a memory study, each row's peak RSS then counting the
 *                                                     rounds before it; with BENCH_WORKER_NODE_ARGS=--trace-gc
 *                                                     the worker prints each isolate's heap after every collection)
 *     [--ledger postgres | pglite]                   (default postgres: a throwaway server, as in production;
 *                                                     pglite embeds the ledger in the worker process, on its main thread)
 *   BENCH_WORKER_PROFILE=DIR writes the worker process's CPU profiles (every thread) to DIR.
 *   BENCH_WORKER_NODE_ARGS='--flag ...' passes Node flags to the worker process (e.g. --trace-deopt).
 * Besides the table it prints, per phase, the workflow tasks that failed (each makes the worker
 * replay a run's whole history), and the table has the most runs of one account.
 *
 * The account worker runs in a process of its own (bench/worker-process.ts: the account
 * workflows and their activities over the ledger), and the no-op ceiling's worker in another, so
 * the peak RSS of an account phase is the account worker's alone (a ceiling row shows the no-op
 * worker's); this process is the callers and the HTTP API server. The ledger is a throwaway
 * PostgreSQL server by default (`--ledger pglite`: the embedded database in a temp dir, inside
 * the account worker's process, whose RSS it then adds to).
 * Run `npm run build` first: the prebundled workflow code is used when present.
 */
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { generateApiKey, hashApiKey } from '../api/keys';
import { startUsageApi } from '../api/server';
import { CreditsClient, DEFAULT_COALESCE, type RecordUsageInput, type RecordUsageResult } from '../client';
import { startPostgres } from '../infra/postgres-server';
import { temporalBinaryPath } from '../infra/temporal-binaries';
import { largestStartInput } from '../scripts/chaos-run';
import { runBench, startBenchAccounts } from './bench-accounts';
import { startWorkerProcess, type WorkerProcess } from './worker-process';
import { accountWorkflowId } from '../workflows/messages';
import { ACCOUNT_SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

const { values } = parseArgs({
  options: {
    'accounts-list': { type: 'string', default: '1,100' },
    seconds: { type: 'string', default: '10' },
    events: { type: 'string' },
    concurrency: { type: 'string' },
    'http-clients': { type: 'string' },
    'http-batch': { type: 'string', default: '50' },
    'ledger-wait': { type: 'string', default: '40' },
    phases: { type: 'string', default: 'per-event,coalescing,http,ceiling' },
    'max-in-flight': { type: 'string' },
    linger: { type: 'string' },
    ledger: { type: 'string', default: 'postgres' },
    rounds: { type: 'string', default: '1' },
    'same-workers': { type: 'boolean', default: false },
    rate: { type: 'string' },
  },
});
const accountsList = values['accounts-list'].split(',').map(Number);
const seconds = Number(values.seconds);
const totalEvents = values.events === undefined ? undefined : Number(values.events);
// Defaults follow the account count: 100 callers and 2 HTTP clients per account, at least 2,000 and 64.
const concurrencyList = values.concurrency?.split(',').map(Number) ?? accountsList.map((a) => Math.max(2000, 100 * a));
const httpClientsList = values['http-clients']?.split(',').map(Number) ?? accountsList.map((a) => Math.max(64, 2 * a));
/** The value of a per-account-count list for the i-th account count (the last one repeats). */
const nth = (list: number[], i: number): number => list[Math.min(i, list.length - 1)] ?? 1;
const httpBatch = Number(values['http-batch']);
const rounds = Number(values.rounds);
/** Offered events/s over all accounts, one open-loop coalescing and HTTP phase each; none: closed loops. */
const offeredRates = values.rate?.split(',').map(Number) ?? [];
const sameWorkers = values['same-workers'];
const ledgerWaitMs = Number(values['ledger-wait']) * 1000;
const PHASES = ['per-event', 'coalescing', 'http', 'ceiling'] as const;
const ledgerKind = values.ledger;
if (ledgerKind !== 'postgres' && ledgerKind !== 'pglite') {
  console.error('--ledger is postgres (a throwaway PostgreSQL server, as in production) or pglite (embedded in the worker process)');
  process.exit(2);
}
const phases = new Set(values.phases.split(','));
if (![...phases].every((p) => (PHASES as readonly string[]).includes(p))) {
  console.error(`--phases is a comma-separated list of ${PHASES.join(', ')}`);
  process.exit(2);
}
const positive = [...accountsList, seconds, ...concurrencyList, ...httpClientsList, httpBatch, ledgerWaitMs, totalEvents ?? 1, rounds, ...offeredRates];
if (!positive.every((n) => Number.isSafeInteger(n) && n >= 1) || httpBatch > 1000) {
  console.error('--accounts-list, --concurrency, --http-clients and --rate (comma-separated), --seconds, --events, --http-batch (at most 1,000), --ledger-wait and --rounds must be positive integers');
  process.exit(2);
}

const FEATURE = 'enrichment';
const ACCOUNT_QUEUE = 'intake-bench';
const NOOP_QUEUE = 'intake-noop';

/** Updates sent to the server (every attempt, retries included), counted by a client interceptor. */
let updatesSent = 0;

/**
 * One unit of work: `count` events for one account, their keys starting at `first`; resolves
 * with the credits they were admitted for.
 */
type Send = (account: number, first: number, count: number) => Promise<number>;

interface Load {
  events: number;
  seconds: number;
  /** Each event's latency in ms (a unit's latency counts once per event in it). */
  latencies: number[];
  /** Credits admitted per account, summed from the answers. */
  admitted: number[];
  /** Events whose call failed (after the client's own retries); each was sent once more with the same keys. */
  errors: number;
  /** Events that failed again when resent: their fate is unknown, so the balance check cannot be exact. */
  lost: number;
  firstError?: string;
  /** Open loop only: each event's latency by the second of the phase it was scheduled in (is the tail a warm-up or steady?). */
  bySecond?: number[][];
}

/**
 * `callers` concurrent loops, each taking the next account in turn and sending `unit` events
 * to it, until the time or the event budget is spent.
 */
async function drive(accounts: number, callers: number, unit: number, send: Send): Promise<Load> {
  const next = new Array<number>(accounts).fill(0);
  const load: Load = { events: 0, seconds: 0, latencies: [], admitted: new Array<number>(accounts).fill(0), errors: 0, lost: 0 };
  const failed: { account: number; first: number; count: number }[] = [];
  let ticket = 0;
  let budget = totalEvents ?? Number.POSITIVE_INFINITY;
  const started = performance.now();
  const deadline = totalEvents === undefined ? started + seconds * 1000 : Number.POSITIVE_INFINITY;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (budget > 0 && performance.now() < deadline) {
        const count = Math.min(unit, budget);
        budget -= count;
        const account = ticket++ % accounts;
        const first = next[account] ?? 0;
        next[account] = first + count;
        const t = performance.now();
        try {
          const credits = await send(account, first, count);
          const ms = performance.now() - t;
          for (let i = 0; i < count; i++) load.latencies.push(ms);
          load.admitted[account] = (load.admitted[account] ?? 0) + credits;
          load.events += count;
        } catch (err) {
          load.errors += count;
          load.firstError ??= err instanceof Error ? err.message : String(err);
          failed.push({ account, first, count });
        }
      }
    }),
  );
  load.seconds = (performance.now() - started) / 1000;
  await resendFailed(load, failed, send);
  return load;
}

/**
 * Outside the clock: a failed call may still have been applied, so its events are sent again
 * with the same keys, and the answers (duplicates included) say what was admitted.
 */
async function resendFailed(load: Load, failed: { account: number; first: number; count: number }[], send: Send): Promise<void> {
  for (const { account, first, count } of failed) {
    try {
      load.admitted[account] = (load.admitted[account] ?? 0) + (await send(account, first, count));
    } catch {
      load.lost += count;
    }
  }
}

/**
 * The open loop: `rate` events a second offered for the phase's time, `unit` events a call,
 * each call sent at its scheduled time whether or not earlier ones were answered (the load of
 * independent product services, not of callers that wait for each other). Each event's latency
 * runs from its scheduled time, not from when the loop got to it, so a loop that falls behind
 * shows as latency instead of hiding it (coordinated omission). The phase's time runs until
 * the last call is answered; calls that failed are resent outside the clock ({@link resendFailed}).
 */
async function driveOpen(accounts: number, rate: number, unit: number, send: Send): Promise<Load> {
  const next = new Array<number>(accounts).fill(0);
  const load: Load = { events: 0, seconds: 0, latencies: [], admitted: new Array<number>(accounts).fill(0), errors: 0, lost: 0, bySecond: [] };
  const failed: { account: number; first: number; count: number }[] = [];
  const planned = totalEvents ?? Math.round(rate * seconds);
  const callsPerSecond = rate / unit;
  const pending: Promise<void>[] = [];
  const started = performance.now();
  let issued = 0;
  let ticket = 0;
  while (issued < planned) {
    const due = Math.min(planned, Math.floor(((performance.now() - started) / 1000) * callsPerSecond) * unit);
    for (; issued < due; issued += unit) {
      const count = Math.min(unit, planned - issued);
      const scheduled = started + (issued / unit / callsPerSecond) * 1000;
      const account = ticket++ % accounts;
      const first = next[account] ?? 0;
      next[account] = first + count;
      pending.push(
        send(account, first, count).then(
          (credits) => {
            const ms = performance.now() - scheduled;
            const second = ((load.bySecond as number[][])[Math.floor((scheduled - started) / 1000)] ??= []);
            for (let i = 0; i < count; i++) {
              load.latencies.push(ms);
              second.push(ms);
            }
            load.admitted[account] = (load.admitted[account] ?? 0) + credits;
            load.events += count;
          },
          (err: unknown) => {
            load.errors += count;
            load.firstError ??= err instanceof Error ? err.message : String(err);
            failed.push({ account, first, count });
          },
        ),
      );
    }
    // A timer, not a busy loop: the callers' answers run on this same event loop.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  load.seconds = (performance.now() - started) / 1000;
  await resendFailed(load, failed, send);
  return load;
}

/** The usage event numbered `key` of an account: one unit, its own idempotency key. */
function usageEvent(account: number, key: number): RecordUsageInput {
  return { feature: FEATURE, quantity: 1, idempotencyKey: `e-${account}-${key}` };
}

/** `count` usage events of an account, numbered from `first`. */
function usageEvents(account: number, first: number, count: number): RecordUsageInput[] {
  return Array.from({ length: count }, (_, i) => usageEvent(account, first + i));
}

/**
 * Credits an answer admitted. Every key is sent once by the benchmark, so a duplicate answer
 * means a retry (the client's, or the resend of a failed call) whose first attempt was
 * applied: its credits were charged once, and count once.
 */
function admittedCredits(result: RecordUsageResult): number {
  return result.accepted ? result.credits : 0;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** One row of the table. */
interface Row {
  phase: string;
  accounts: number;
  /** Which round of `--rounds` (from 1). */
  round: number;
  load: Load;
  updates: number;
  peakRss: number;
  carried: number | undefined;
  /** Runs per account (continue-as-new included), the largest. */
  runs: number | undefined;
  balances: string;
}

/**
 * The exact-balance check: each account's summary has used exactly the credits its answers
 * admitted; then the ledger's usage credits of the cycle must reach the same, within the wait.
 */
async function checkBalances(client: CreditsClient, worker: WorkerProcess, ids: string[], load: Load): Promise<string> {
  const summaries = await Promise.all(ids.map((id) => client.summary(id)));
  const off = summaries.reduce((sum, s, a) => sum + Math.abs(s.credits.used - (load.admitted[a] ?? 0)), 0);
  if (off !== 0) return `SUMMARY OFF by ${off} credits${load.lost > 0 ? ` (${load.lost} events failed twice)` : ''}`;
  const since = Date.now();
  const until = since + ledgerWaitMs;
  for (;;) {
    const ledger = await Promise.all(
      summaries.map((s) => worker.ledgerUsage(s.accountId, s.cycle.index)),
    );
    const behind = summaries.reduce((sum, s, a) => sum + (s.credits.used - (ledger[a] ?? 0)), 0);
    const wrong = summaries.some((s, a) => (ledger[a] ?? 0) > s.credits.used);
    if (wrong) return 'LEDGER OVER the summary';
    const waited = ((Date.now() - since) / 1000).toFixed(0);
    if (behind === 0) return `exact, ledger after ${waited} s${load.errors > 0 ? ` (${load.errors} events failed once, resent)` : ''}`;
    if (Date.now() > until) return `summary exact, ledger behind by ${behind} after ${waited} s`;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The largest state carried into a run, over the accounts' runs. */
async function carriedState(temporal: Client, ids: string[]): Promise<number> {
  let largest = 0;
  for (const id of ids) largest = Math.max(largest, await largestStartInput(temporal, id).catch(() => 0));
  return largest;
}

/** What the accounts' histories hold over every run from the phase's start: the server's work per accepted update. */
interface HistoryShape {
  updates: number;
  workflowTasks: number;
  activities: number;
  timers: number;
  searchAttributeUpserts: number;
}

/**
 * The most runs of one account (each continue-as-new starts one): what history bounds cost at
 * this rate; the workflow tasks that failed or timed out over every run, by cause (each
 * makes the worker replay the run's whole history); and the histories' shape from `since` on
 * (opening an account, its first rules and its patch markers come before the clock starts).
 */
async function runsAndFailures(temporal: Client, ids: string[], since: Date): Promise<{ runs: number; failures: Map<string, number>; shape: HistoryShape }> {
  const sinceSeconds = Math.floor(since.getTime() / 1000);
  let most = 0;
  const failures = new Map<string, number>();
  const shape: HistoryShape = { updates: 0, workflowTasks: 0, activities: 0, timers: 0, searchAttributeUpserts: 0 };
  for (const id of ids) {
    let runs = 0;
    for await (const run of temporal.workflow.list({ query: `WorkflowId = '${accountWorkflowId(id)}'` })) {
      runs += 1;
      // Small pages: a run's events may be large (each batch's inputs and answers).
      let nextPageToken: Uint8Array | undefined;
      do {
        const page = await temporal.workflowService.getWorkflowExecutionHistory({
          namespace: temporal.options.namespace,
          execution: { workflowId: run.workflowId, runId: run.runId },
          maximumPageSize: 4,
          nextPageToken,
        });
        for (const event of page.history?.events ?? []) {
          const failed = event.workflowTaskFailedEventAttributes;
          const cause = failed ? `failed:${String(failed.cause)}: ${failed.failure?.message?.slice(0, 120) ?? ''}` : event.workflowTaskTimedOutEventAttributes ? 'timed out' : undefined;
          if (cause) failures.set(cause, (failures.get(cause) ?? 0) + 1);
          if (Number(event.eventTime?.seconds ?? 0) < sinceSeconds) continue;
          if (event.workflowExecutionUpdateAcceptedEventAttributes) shape.updates += 1;
          if (event.workflowTaskCompletedEventAttributes) shape.workflowTasks += 1;
          if (event.activityTaskScheduledEventAttributes) shape.activities += 1;
          if (event.timerStartedEventAttributes) shape.timers += 1;
          if (event.upsertWorkflowSearchAttributesEventAttributes) shape.searchAttributeUpserts += 1;
        }
        nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
      } while (nextPageToken);
    }
    most = Math.max(most, runs);
  }
  return { runs: most, failures, shape };
}

/** Waits until every account has opened (answers its summary), so the clock starts on open accounts. */
async function opened(client: CreditsClient, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => client.summary(id)));
}

const rateOf = (r: Row): number => r.load.events / r.load.seconds;

/**
 * One row per phase and account count: the round with the median events/s (the lower middle
 * for an even count, so a lucky round does not make the row), with every round's rate in
 * order, and any round whose balances were not exact named in its balances.
 */
function medianRows(rows: Row[]): { row: Row; rates: number[] }[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    // The ceiling's name carries its batch size, which each round measures anew.
    const key = `${r.phase.split(' ')[0]}|${r.accounts}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((group) => {
    const byRate = [...group].sort((a, b) => rateOf(a) - rateOf(b));
    const median = byRate[Math.floor((byRate.length - 1) / 2)] ?? (group[0] as Row);
    const inexact = group.filter((r) => r !== median && !r.balances.startsWith('exact') && !r.balances.startsWith('n/a (no-op)'));
    const balances = [median.balances, ...inexact.map((r) => `round ${r.round}: ${r.balances}`)].join('; ');
    return { row: { ...median, balances }, rates: group.map(rateOf) };
  });
}

/** The table, with each phase's events/s against the ceiling of its account count. */
function formatTable(all: Row[]): string {
  const chosen = rounds > 1 ? medianRows(all) : all.map((row) => ({ row, rates: [rateOf(row)] }));
  const rows = chosen.map((c) => c.row);
  const ceiling = new Map(rows.filter((r) => r.phase.startsWith('ceiling')).map((r) => [r.accounts, rateOf(r)]));
  const header = ['phase', 'accounts', 'events', 'events/s', 'p50 ms', 'p99 ms', 'updates/event', 'worker peak RSS MiB', 'carried KiB', 'runs', 'vs ceiling', 'balances'];
  if (rounds > 1) header.splice(4, 0, 'by round');
  const lines = chosen.map(({ row: r, rates }) => {
    const sorted = r.load.latencies.sort((x, y) => x - y);
    const rate = rateOf(r);
    const top = ceiling.get(r.accounts);
    return [
      r.phase,
      String(r.accounts),
      String(r.load.events),
      rate.toFixed(0),
      ...(rounds > 1 ? [rates.map((x) => x.toFixed(0)).join('/')] : []),
      percentile(sorted, 50).toFixed(1),
      percentile(sorted, 99).toFixed(1),
      r.load.events > 0 ? (r.updates / r.load.events).toFixed(4) : '-',
      (r.peakRss / 2 ** 20).toFixed(0),
      r.carried === undefined ? '-' : (r.carried / 1024).toFixed(1),
      r.runs === undefined ? '-' : String(r.runs),
      top ? `${(rate / top).toFixed(2)}x` : '-',
      r.balances,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  return [header, ...lines].map((l) => l.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

/**
 * A fresh dev server and the worker in a process of its own (the account workflows over an
 * embedded ledger, and the no-op ceiling), as in production: this process is the load
 * generator and the HTTP API server, so the peak RSS reported is the worker process's.
 */
async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-intake-'));
  const postgres = ledgerKind === 'postgres' ? await startPostgres() : undefined;
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBinaryPath('temporal') }, searchAttributes: [...ACCOUNT_SEARCH_ATTRIBUTE_KEYS] },
  });
  try {
    const server = { address: env.connection.options.address, namespace: env.client.options.namespace ?? 'default' };
    const ledgerUrl = postgres?.url ?? `pglite:${join(scratch, 'ledger')}`;
    const workers: Workers = {};
    try {
      await runPhases(env, workers, async () => {
        if (sameWorkers && workers.accounts) return;
        await stopWorkers(workers);
        workers.accounts = await startWorkerProcess({ ...server, role: 'accounts', taskQueue: ACCOUNT_QUEUE, ledgerUrl });
        workers.noop = await startWorkerProcess({ ...server, role: 'noop', taskQueue: NOOP_QUEUE });
      });
    } finally {
      await stopWorkers(workers);
    }
  } finally {
    await env.teardown();
    postgres?.destroy();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The two worker processes of a round: the account workflows', and the no-op ceiling's. */
interface Workers {
  accounts?: WorkerProcess;
  noop?: WorkerProcess;
}

async function stopWorkers(workers: Workers): Promise<void> {
  await Promise.all([workers.accounts?.stop(), workers.noop?.stop()]);
  workers.accounts = workers.noop = undefined;
}

/**
 * Every phase for every account count, each round on worker processes of its own (`fresh`
 * starts them, unless `--same-workers`): a worker keeps the terminated accounts of earlier
 * rounds in its cache, so a later round's peak RSS on the same process would count theirs too.
 */
async function runPhases(env: TestWorkflowEnvironment, workers: Workers, fresh: () => Promise<void>): Promise<void> {
  const temporal = new Client({
    connection: env.connection,
    namespace: env.client.options.namespace,
    interceptors: {
      workflow: [
        {
          startUpdate: (input, next) => {
            updatesSent += 1;
            return next(input);
          },
        },
      ],
    },
  });
  const perEvent = new CreditsClient(temporal, { taskQueue: ACCOUNT_QUEUE, coalesce: false });
  const coalesce = { ...DEFAULT_COALESCE, ...(values['max-in-flight'] ? { maxInFlight: Number(values['max-in-flight']) } : {}), ...(values.linger ? { lingerMs: Number(values.linger) } : {}) };
  const coalescing = new CreditsClient(temporal, { taskQueue: ACCOUNT_QUEUE, coalesce });
  const httpClient = new CreditsClient(temporal, { taskQueue: ACCOUNT_QUEUE, coalesce });
  const key = generateApiKey();
  const api = await startUsageApi({ client: httpClient, keys: [{ hash: Buffer.from(hashApiKey(key), 'hex') }], host: '127.0.0.1', port: 0 });
  const rows: Row[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      await fresh();
      const worker = workers.accounts as WorkerProcess;
      const noopWorker = workers.noop as WorkerProcess;
      for (const [index, accounts] of accountsList.entries()) {
        const concurrency = nth(concurrencyList, index);
        const httpClients = nth(httpClientsList, index);
        /** Runs one phase on fresh accounts and records its row: a closed loop of `callers`, or the open loop of `rate` events/s. */
        const phase = async (name: string, callers: number, unit: number, send: (ids: string[]) => Send, kind: 'account' | 'noop', rate?: number): Promise<Row> => {
          // An account id takes letters, digits, '.', '_' and '-' only ("coalescing@500/s" becomes "coalescing-500-s").
          const prefix = `${(name.split(' ')[0] ?? name).replace(/[^A-Za-z0-9._-]/g, '-')}-${accounts}${rounds > 1 ? `-r${round}` : ''}`;
          const label = `${name} x${accounts}${rounds > 1 ? ` (round ${round})` : ''}`;
          // Account ids for account phases, workflow ids for the no-op ones.
          const ids = Array.from({ length: accounts }, (_, a) => `${prefix}-${a}`);
          if (kind === 'account') {
            await startBenchAccounts(temporal, ACCOUNT_QUEUE, prefix, accounts);
            await opened(perEvent, ids);
          } else {
            await Promise.all(ids.map((id) => temporal.workflow.start('noopBatchWorkflow', { taskQueue: NOOP_QUEUE, workflowId: id })));
          }
          const updatesBefore = updatesSent;
          // The ceiling's row has its own worker's peak RSS (a process apart, see worker-process.ts).
          const measured = kind === 'account' ? worker : noopWorker;
          await measured.resetPeakRss();
          const started = new Date();
          const load = rate === undefined ? await drive(accounts, callers, unit, send(ids)) : await driveOpen(accounts, rate, unit, send(ids));
          const row: Row = { phase: name, accounts, round, load, updates: updatesSent - updatesBefore, peakRss: await measured.peakRss(), carried: undefined, runs: undefined, balances: 'n/a (no-op)' };
          if (kind === 'account') {
            row.balances = await checkBalances(perEvent, worker, ids, load);
            row.carried = await carriedState(temporal, ids);
            const { runs, failures, shape } = await runsAndFailures(temporal, ids, started);
            row.runs = runs;
            // The server's work per update besides the update itself, from the phase's start.
            const per = (n: number): string => (n / Math.max(1, shape.updates)).toFixed(2);
            console.error(
              `${label}: histories hold ${shape.updates} accepted updates; per update ${per(shape.workflowTasks)} workflow tasks, ` +
                `${per(shape.activities)} activities, ${per(shape.timers)} timers, ${per(shape.searchAttributeUpserts)} search-attribute upserts`,
            );
            if (failures.size > 0) console.error(`${label}: workflow tasks failed or timed out: ${[...failures].map(([c, n]) => `${c} x${n}`).join(', ')}`);
          } else if (load.errors > 0) {
            row.balances = `n/a (no-op), ${load.errors} events failed`;
          }
          if (load.firstError) console.error(`${label}: first error: ${load.firstError}`);
          if (load.bySecond) {
            const p99s = [...load.bySecond].map((l) => (l ? percentile(l.sort((x, y) => x - y), 99).toFixed(0) : '-'));
            console.error(`${label}: p99 ms by second scheduled: ${p99s.join(' ')}`);
          }
          // Done with: none wakes on a timer (a ledger linger, a reset) to take CPU from a later
          // phase. They stay in the worker's cache all the same: it is never told of a termination.
          const workflowIds = kind === 'account' ? ids.map(accountWorkflowId) : ids;
          await Promise.all(workflowIds.map((id) => temporal.workflow.getHandle(id).terminate(`${label} done`).catch(() => undefined)));
          rows.push(row);
          const cached = await measured.cachedWorkflows();
          console.error(
            `done: ${label}: ${load.events} events in ${load.seconds.toFixed(1)} s, ${row.balances}, worker peak RSS ${(row.peakRss / 2 ** 20).toFixed(0)} MiB, ` +
              `${cached} workflow run${cached === 1 ? '' : 's'} in its cache`,
          );
          return row;
        };
        const clientSend =
          (client: CreditsClient) =>
          (ids: string[]): Send =>
          async (account, first) =>
            admittedCredits(await client.recordUsage(ids[account] ?? '', usageEvent(account, first)));

        // (a) one update per event: at most 8 callers an account (the server admits 10 updates in flight).
        if (phases.has('per-event')) await phase('per-event', Math.min(concurrency, 8 * accounts), 1, clientSend(perEvent), 'account');
        // Closed loops, or one open loop per offered rate (the phase's name carries the rate: rounds group by it).
        const loads: (number | undefined)[] = offeredRates.length > 0 ? offeredRates : [undefined];
        const at = (rate: number | undefined): string => (rate === undefined ? '' : `@${rate}/s`);
        // (b) the coalescing client, every caller one event at a time; the last row sets the ceiling's batch.
        let coalesced: Row | undefined;
        if (phases.has('coalescing')) for (const rate of loads) coalesced = await phase(`coalescing${at(rate)}`, concurrency, 1, clientSend(coalescing), 'account', rate);
        // (c) the HTTP API: a bounded pool of clients, each request an array of events.
        if (phases.has('http')) for (const rate of loads) await phase(
          `http${at(rate)} (${httpBatch}/request)`,
          httpClients,
          httpBatch,
          (ids) => async (account, first, count) => {
            const body = usageEvents(account, first, count);
            const response = await fetch(`${api.address}/v1/accounts/${ids[account] ?? ''}/usage`, {
              method: 'POST',
              headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
              body: JSON.stringify(body),
            });
            if (!response.ok) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
            const answers = (await response.json()) as (RecordUsageResult | { error: unknown })[];
            if (answers.length !== count) throw new Error(`HTTP answered ${answers.length} events of ${count}`);
            return answers.reduce((sum, answer) => sum + ('error' in answer ? 0 : admittedCredits(answer)), 0);
          },
          'account',
          rate,
        );
        // (d) the ceiling: (b)'s events per update and updates in flight per account, doing nothing.
        if (!phases.has('ceiling')) continue;
        const batch = coalesced
          ? Math.max(1, Math.min(DEFAULT_COALESCE.maxBatch, Math.round(coalesced.load.events / Math.max(1, coalesced.updates))))
          : DEFAULT_COALESCE.maxBatch;
        const inFlight = Math.min(accounts * coalesce.maxInFlight, Math.max(accounts, Math.ceil(concurrency / batch)));
        await phase(
          `ceiling (${batch}/update)`,
          inFlight,
          batch,
          (ids) => async (account, first, count) => {
            const events = usageEvents(account, first, count);
            const handle = temporal.workflow.getHandle(ids[account] ?? '');
            // An update the run's continue-as-new aborted is sent again (a no-op may run twice).
            let answered = 0;
            for (let attempt = 1; ; attempt++) {
              try {
                answered = await handle.executeUpdate<number, [{ events: RecordUsageInput[] }]>('noopBatch', { args: [{ events }] });
                break;
              } catch (err) {
                if (attempt >= 5) throw err;
                await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
              }
            }
            if (answered !== count) throw new Error(`no-op answered ${answered} events of ${count}`);
            return 0;
          },
          'noop',
        );
      }
    }
    const mode =
      (totalEvents === undefined ? `${seconds} s a phase` : `${totalEvents} events a phase`) +
      (offeredRates.length > 0 ? `, coalescing and HTTP in an open loop at ${offeredRates.join(', ')} events/s offered (latency from each call's scheduled time)` : '') +
      (rounds > 1 ? `, ${rounds} rounds (each row the round with the median events/s)` : '');
    console.log(
      `intake benchmark: ${mode}, ledger on ${ledgerKind === 'postgres' ? 'PostgreSQL' : 'embedded PGlite (in the worker process)'}; ` +
        `concurrent callers ${accountsList.map((a, i) => `${nth(concurrencyList, i)} for ${a} account(s)`).join(', ')} (per-event: at most 8 an account); ` +
        `HTTP clients ${accountsList.map((a, i) => `${nth(httpClientsList, i)} for ${a}`).join(', ')}, posting ${httpBatch} events a request; ` +
        'latency is per event (a request or batch counts once per event in it); updates/event counts every update sent, retries included',
    );
    console.log(formatTable(rows));
  } finally {
    await api.close();
  }
}

runBench(main);
