/**
 * The chaos suite (`npm run chaos`): the compiled worker, a Temporal dev server on a SQLite
 * file and a real PostgreSQL ledger, all on 127.0.0.1, under load from the client library
 * while the worker is SIGKILLed at random moments, the dev server restarted on its file and
 * PostgreSQL stopped for a while. At the end it waits for every account to answer and the
 * ledger to catch up, then checks that what callers saw accepted, the summaries and the ledger
 * agree exactly (`credits ledger verify`'s own {@link verifyAccounts}), and reports a table.
 *
 * Every random choice comes from one seed, printed with the table, so a run can be repeated.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { verifyAccounts, workflowEpoch } from '../cli/ledger-verify';
import { CreditsClient, isCreditsError } from '../client';
import type { AccountSummary } from '../domain/wire-contract';
import { startDevServer, type DevServer } from '../infra/dev-server';
import { freePort, startPostgres, type PostgresServer } from '../infra/postgres-server';
import { projectRoot } from '../infra/project-root';
import { openLedgerStore } from '../ledger/open-store';
import { readLedgerFacts } from '../ledger/reconcile';
import type { LedgerStore } from '../ledger/store';
import { accountWorkflowId } from '../workflows/messages';
import { CARRIED_STATE_BUDGET_BYTES } from '../domain/state-budget';
import { ACCOUNT_SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

/** What a chaos run does. */
export interface ChaosOptions {
  /** Accounts under load; the first is the busy one. */
  accounts: number;
  /** Seconds of load (faults happen inside this window). */
  loadSeconds: number;
  /** Times the worker is SIGKILLed (and restarted). */
  workerKills: number;
  /** Times the dev server is stopped and started again on its SQLite file. */
  serverRestarts: number;
  /** Seconds PostgreSQL is down, once, under load. */
  outageSeconds: number;
  /** Operations per second on the busy account. */
  busyRate: number;
  /** Operations per second on each other account. */
  rate: number;
  /** Seconds allowed at the end for accounts to answer and the ledger to catch up. */
  settleSeconds: number;
  /** Seed of every random choice. */
  seed: number;
  /** Keep the work directory (server files, logs) instead of removing it. */
  keep: boolean;
  /** Progress lines. */
  log: (line: string) => void;
}

/** The issue's run: 20 worker kills, 4 server restarts, a 5-minute ledger outage on a busy account. */
export const DEFAULT_CHAOS: Omit<ChaosOptions, 'seed' | 'log'> = {
  accounts: 6,
  loadSeconds: 420,
  workerKills: 20,
  serverRestarts: 4,
  outageSeconds: 300,
  busyRate: 20,
  rate: 2,
  settleSeconds: 420,
  keep: false,
};

/** A reduced run for `npm test`: 2 kills, 1 restart, a 20-second outage, 2 accounts. */
export const QUICK_CHAOS: Omit<ChaosOptions, 'seed' | 'log'> = {
  accounts: 2,
  loadSeconds: 40,
  workerKills: 2,
  serverRestarts: 1,
  outageSeconds: 20,
  busyRate: 8,
  rate: 3,
  settleSeconds: 90,
  keep: false,
};

/** The carried-state budget the report checks against (the domain's own constant). */
export const CARRIED_STATE_BUDGET = CARRIED_STATE_BUDGET_BYTES;

/** The table's figures. */
export interface ChaosReport {
  seed: number;
  options: Omit<ChaosOptions, 'log'>;
  /** Operations sent (usage, call starts and ends, grants). */
  sent: number;
  /** Operations whose caller saw them accepted (usage accepted, call authorized or ended, grant made). */
  accepted: number;
  /** Operations refused as a business outcome (credits exhausted, ...). */
  refused: number;
  /** Accepted by a caller but missing from the ledger. */
  lost: number;
  /** Keys or calls charged more than once in the ledger. */
  doubleCharged: number;
  /** Differences found by `ledger verify`, plus callers' answers the ledger or summary contradicts. */
  mismatches: number;
  /** Calls that raised an error to the caller after the client's own retries. */
  callerErrors: number;
  /** Of those, how many still failed when sent again with the same key at the end. */
  callerErrorsAfterResend: number;
  answering: number;
  accountCount: number;
  /** Largest continue-as-new input (the carried state) of any run of any account, in bytes. */
  largestCarriedState: number;
  workerKills: number;
  /** Times the worker exited without being killed (the supervisor restarted it). */
  workerExits: number;
  serverRestarts: number;
  outageSeconds: number;
  /** What each mismatch, loss or double charge was, for people (at most 50 lines). */
  findings: string[];
  /** The distinct messages of caller errors (first 100 characters), with how many calls saw each. */
  errorKinds: { message: string; count: number }[];
  seconds: number;
}

/** Whether the run found a fault: anything lost, double-charged, mismatched, or an account not answering. */
export function chaosFailed(report: ChaosReport): boolean {
  return (
    report.lost > 0 ||
    report.doubleCharged > 0 ||
    report.mismatches > 0 ||
    report.callerErrorsAfterResend > 0 ||
    report.answering < report.accountCount ||
    report.largestCarriedState > CARRIED_STATE_BUDGET
  );
}

/** Distinct error messages, most frequent first. */
function tallyErrors(records: readonly CallerRecord[]): { message: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const r of records) {
    const message = (r.error ?? 'unknown').slice(0, 100);
    counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  return [...counts].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count).slice(0, 10);
}

/** Small seeded generator (mulberry32): the same seed, the same run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The compiled worker as an operator runs it, restarted whenever it exits (as a supervisor would). */
class SupervisedWorker {
  private child: ChildProcess | undefined;
  private stopping = false;
  private killing = false;
  /** Exits nobody asked for. */
  unplannedExits = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly out: WriteStream,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    const child = spawn(process.execPath, [join(projectRoot(), 'dist', 'worker.js')], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(this.out, { end: false });
    child.stderr?.pipe(this.out, { end: false });
    child.once('exit', (code, signal) => {
      if (this.stopping || this.killing) return;
      this.unplannedExits += 1;
      this.log(`worker exited by itself (${signal ?? `code ${code}`}); restarting in 1 s`);
      setTimeout(() => {
        if (!this.stopping && this.child === child) this.start();
      }, 1000);
    });
    this.child = child;
  }

  /** SIGKILL, then a new worker after `pauseMs`. */
  async kill(pauseMs: number): Promise<void> {
    const child = this.child;
    this.killing = true;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    this.killing = false;
    await sleep(pauseMs);
    if (!this.stopping) this.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** What one caller saw. */
interface CallerRecord {
  accountId: string;
  kind: 'usage' | 'call' | 'grant';
  /** Idempotency key (usage, grant) or call id. */
  key: string;
  feature?: string;
  /** Units used, or call minutes. */
  quantity: number;
  outcome: 'accepted' | 'refused' | 'error';
  /** Credits the caller was told were charged (usage, call end). */
  credits?: number;
  error?: string;
  /** The answer when sent again with the same key at the end (errors only). */
  resent?: 'accepted' | 'refused' | 'error';
  /** Whether the call's start was authorized (calls only). */
  authorized?: boolean;
}

/** Runs one operation and records what the caller saw. */
async function operate(client: CreditsClient, r: CallerRecord): Promise<Pick<CallerRecord, 'outcome' | 'credits' | 'authorized' | 'error'>> {
  try {
    if (r.kind === 'usage') {
      const a = await client.recordUsage(r.accountId, { feature: r.feature as string, quantity: r.quantity, idempotencyKey: r.key });
      return { outcome: a.accepted ? 'accepted' : 'refused', credits: a.credits };
    }
    if (r.kind === 'grant') {
      await client.grantCredits(r.accountId, { credits: 2000, reason: 'chaos top-up', validForCycles: 1, idempotencyKey: r.key });
      return { outcome: 'accepted' };
    }
    const start = await client.startCall(r.accountId, { callId: r.key, agentId: 'chaos-agent' });
    if (!start.authorized) return { outcome: 'refused', authorized: false };
    const end = await client.endCall(r.accountId, { callId: r.key, minutes: r.quantity });
    return { outcome: 'accepted', authorized: true, credits: end.credits };
  } catch (err) {
    // A documented bound (e.g. live manual grants) is the account's answer, not a failure to answer.
    if (isCreditsError(err) && err.code === 'limit_reached') return { outcome: 'refused', error: err.message };
    return { outcome: 'error', error: err instanceof Error ? err.message : String(err) };
  }
}

/** The largest start input (the state carried by continue-as-new), in payload bytes, over every run of the account; the chaos suite and the intake benchmark report it. */
export async function largestStartInput(temporal: Client, accountId: string): Promise<number> {
  const workflowId = accountWorkflowId(accountId);
  let largest = 0;
  for await (const run of temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const page = await temporal.workflowService.getWorkflowExecutionHistory({
      namespace: temporal.options.namespace,
      execution: { workflowId, runId: run.runId },
      maximumPageSize: 1,
    });
    // The carried state is the run's second argument (the first is the account's start input).
    const payloads = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const bytes = payloads[1]?.data?.length ?? 0;
    largest = Math.max(largest, bytes);
  }
  return largest;
}

/** The fault schedule: when each kill, restart and the outage happen, in ms from the load's start. */
function schedule(o: ChaosOptions, rand: () => number): { at: number; what: 'kill' | 'restart' | 'outage' }[] {
  const span = o.loadSeconds * 1000;
  const events: { at: number; what: 'kill' | 'restart' | 'outage' }[] = [];
  for (let i = 0; i < o.workerKills; i++) events.push({ at: span * (0.05 + 0.85 * rand()), what: 'kill' });
  for (let i = 0; i < o.serverRestarts; i++) events.push({ at: span * (0.1 + 0.75 * rand()), what: 'restart' });
  if (o.outageSeconds > 0) {
    const room = Math.max(0, span - o.outageSeconds * 1000 - span * 0.1);
    events.push({ at: span * 0.05 + room * rand(), what: 'outage' });
  }
  return events.sort((a, b) => a.at - b.at);
}

/**
 * Runs the chaos suite.
 *
 * @throws Error when dist/ is not built or a server cannot start.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const began = Date.now();
  const workerJs = join(projectRoot(), 'dist', 'worker.js');
  if (!existsSync(workerJs)) throw new Error(`${workerJs} is missing: run "npm run build" first`);
  const rand = random(o.seed);
  const dir = mkdtempSync(join(tmpdir(), 'credits-chaos-'));
  const log = o.log;
  const findings: string[] = [];
  const find = (line: string) => {
    if (findings.length < 50) findings.push(line);
  };
  let pg: PostgresServer | undefined;
  let server: DevServer | undefined;
  let worker: SupervisedWorker | undefined;
  let connection: Connection | undefined;
  let store: LedgerStore | undefined;
  const workerLog = createWriteStream(join(dir, 'worker.log'));
  try {
    pg = await startPostgres();
    const port = await freePort();
    const serverOptions = { dbFile: join(dir, 'temporal.sqlite'), logFile: join(dir, 'temporal.log'), host: '127.0.0.1', port, headless: true, searchAttributes: ACCOUNT_SEARCH_ATTRIBUTE_KEYS };
    server = await startDevServer(serverOptions);
    log(`work directory ${dir}; PostgreSQL ${pg.url}; Temporal ${server.address}`);
    const taskQueue = `chaos-${o.seed}`;
    worker = new SupervisedWorker(
      { ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default', CREDITS_TASK_QUEUE: taskQueue, CREDITS_LEDGER_URL: pg.url, SMTP_URL: '' },
      workerLog,
      log,
    );
    worker.start();
    connection = await Connection.connect({ address: server.address });
    const temporal = new Client({ connection, namespace: 'default' });
    const client = new CreditsClient(temporal, { taskQueue });

    const accountIds = Array.from({ length: o.accounts }, (_, i) => `chaos-${i + 1}`);
    const anchor = new Date(Date.now() - 2 * 86_400_000).toISOString();
    for (const [i, accountId] of accountIds.entries()) {
      await client.startAccount({ accountId, plan: 'scale', users: 20, cycleAnchor: anchor, creditTier: i % 2 === 0 ? 'tier-1' : null });
    }
    log(`${accountIds.length} accounts open; load for ${o.loadSeconds} s`);

    // ---- load ---------------------------------------------------------------------------
    const records: CallerRecord[] = [];
    const loadEnd = Date.now() + o.loadSeconds * 1000;
    const load = accountIds.map(async (accountId, i) => {
      const rate = i === 0 ? o.busyRate : o.rate;
      const inFlight = new Set<Promise<void>>();
      for (let n = 1; Date.now() < loadEnd; n++) {
        const pick = rand();
        const kind: CallerRecord['kind'] = n % 50 === 0 ? 'grant' : pick < 0.06 ? 'call' : 'usage';
        const r: CallerRecord = {
          accountId,
          kind,
          key: `${accountId}:${kind}:${n}`,
          ...(kind === 'usage' ? { feature: pick < 0.6 ? 'enrichment' : 'auto-updates' } : {}),
          quantity: 1 + Math.floor(rand() * 5),
          outcome: 'error',
        };
        records.push(r);
        const op = operate(client, r).then((seen) => {
          Object.assign(r, seen);
          inFlight.delete(op);
        });
        inFlight.add(op);
        // Callers wait for their answers: at most a few in flight per account.
        while (inFlight.size >= 8) await Promise.race(inFlight);
        await sleep(1000 / rate);
      }
      await Promise.all(inFlight);
    });

    // ---- faults -------------------------------------------------------------------------
    const loadStart = Date.now();
    let outageEnds: Promise<void> = Promise.resolve();
    let restarts = 0;
    let kills = 0;
    for (const fault of schedule(o, rand)) {
      await sleep(Math.max(0, loadStart + fault.at - Date.now()));
      if (fault.what === 'kill') {
        kills += 1;
        log(`fault: SIGKILL the worker (${kills}/${o.workerKills})`);
        await worker.kill(Math.floor(rand() * 1500));
      } else if (fault.what === 'restart') {
        restarts += 1;
        log(`fault: restart the dev server (${restarts}/${o.serverRestarts})`);
        await server.stop();
        server = await startDevServer(serverOptions);
      } else {
        log(`fault: PostgreSQL down for ${o.outageSeconds} s`);
        const db = pg;
        db.stop();
        outageEnds = sleep(o.outageSeconds * 1000).then(() => {
          db.start();
          log('PostgreSQL is back');
        });
      }
    }
    await outageEnds;
    await Promise.all(load);
    log(`load done: ${records.length} operations; resending the ones that failed`);

    // ---- settle -------------------------------------------------------------------------
    for (const r of records.filter((x) => x.outcome === 'error')) {
      const again = await operate(client, r);
      r.resent = again.outcome;
      if (again.outcome !== 'error') Object.assign(r, { credits: again.credits, authorized: again.authorized });
    }
    const settleBy = Date.now() + o.settleSeconds * 1000;
    const summaries = new Map<string, AccountSummary>();
    for (const accountId of accountIds) {
      while (!summaries.has(accountId) && Date.now() < settleBy) {
        try {
          summaries.set(accountId, await client.summary(accountId));
        } catch (err) {
          log(`${accountId} does not answer yet: ${err instanceof Error ? err.message : String(err)}`);
          await sleep(2000);
        }
      }
    }
    store = await openLedgerStore({ url: pg.url, warn: () => undefined });
    const ledgerStore = store;
    const verified = await verifyAccounts(
      accountIds,
      { summary: (id) => client.summary(id), epoch: (id) => workflowEpoch(client, id), facts: (q) => readLedgerFacts(ledgerStore, q) },
      { waitMs: Math.max(0, settleBy - Date.now()), pollMs: 2000 },
    );
    let mismatches = 0;
    for (const v of verified) {
      for (const d of v.differences) {
        mismatches += 1;
        find(`${v.accountId}: ledger verify: ${d.code} ${d.message}`);
      }
    }

    // ---- callers against the ledger and the summaries -----------------------------------
    const tallyOf = { lost: 0, doubleCharged: 0 };
    const flag = (what: 'lost' | 'doubleCharged' | 'mismatch', line: string) => {
      if (what === 'mismatch') mismatches += 1;
      else tallyOf[what] += 1;
      find(line);
    };
    for (const accountId of accountIds) {
      const usage = new Map<string, { accepted: number; rejected: number; credits: number }>();
      const grants = new Map<string, number>();
      const callEnds = new Map<string, { count: number; credits: number }>();
      for await (const e of store.streamEntries({ accountId })) {
        if (e.kind === 'usage' && e.idempotencyKey !== undefined) {
          const u = usage.get(e.idempotencyKey) ?? { accepted: 0, rejected: 0, credits: 0 };
          if (e.decision === 'accepted') u.accepted += 1;
          else u.rejected += 1;
          u.credits += e.credits;
          usage.set(e.idempotencyKey, u);
        } else if (e.kind === 'grant' && e.source === 'manual' && e.idempotencyKey !== undefined) {
          grants.set(e.idempotencyKey, (grants.get(e.idempotencyKey) ?? 0) + 1);
        } else if (e.kind === 'call_end' && e.callId !== undefined) {
          const c = callEnds.get(e.callId) ?? { count: 0, credits: 0 };
          callEnds.set(e.callId, { count: c.count + 1, credits: c.credits + e.credits });
        }
      }
      for (const [key, u] of usage) if (u.accepted + u.rejected > 1) flag('doubleCharged', `${accountId}: usage ${key} has ${u.accepted + u.rejected} ledger entries`);
      for (const [key, n] of grants) if (n > 1) flag('doubleCharged', `${accountId}: grant ${key} has ${n} ledger entries`);
      for (const [key, c] of callEnds) if (c.count > 1) flag('doubleCharged', `${accountId}: call ${key} was ended ${c.count} times in the ledger`);

      const counted = new Map<string, { count: number; rejected: number }>();
      const tally = (feature: string, field: 'count' | 'rejected') => {
        const t = counted.get(feature) ?? { count: 0, rejected: 0 };
        t[field] += 1;
        counted.set(feature, t);
      };
      let settled = true;
      for (const r of records.filter((x) => x.accountId === accountId)) {
        const final = r.outcome === 'error' ? r.resent : r.outcome;
        if (final === 'error' || final === undefined) {
          settled = false;
          continue;
        }
        if (r.kind === 'usage') {
          const u = usage.get(r.key);
          tally(r.feature as string, final === 'accepted' ? 'count' : 'rejected');
          if (final === 'accepted' && (u === undefined || u.accepted === 0)) flag('lost', `${accountId}: usage ${r.key} was accepted but the ledger has no accepted entry`);
          else if (final === 'accepted' && u !== undefined && u.credits !== r.credits) flag('mismatch', `${accountId}: usage ${r.key}: caller was charged ${r.credits}, ledger ${u.credits}`);
          else if (final === 'refused' && u !== undefined && u.accepted > 0) flag('mismatch', `${accountId}: usage ${r.key} was refused but the ledger accepted it`);
        } else if (r.kind === 'grant') {
          // A grant refused at the account's bound (limit_reached) changed nothing and must not be in the ledger.
          if (final === 'accepted' && !grants.has(r.key)) flag('lost', `${accountId}: grant ${r.key} was made but the ledger has no grant entry`);
          else if (final === 'refused' && grants.has(r.key)) flag('mismatch', `${accountId}: grant ${r.key} was refused but the ledger has its entry`);
        } else {
          tally('voice-agent', r.authorized ? 'count' : 'rejected');
          const c = callEnds.get(r.key);
          if (r.authorized && c === undefined) flag('lost', `${accountId}: call ${r.key} was ended but the ledger has no call_end`);
          else if (r.authorized && c !== undefined && c.credits !== r.credits) flag('mismatch', `${accountId}: call ${r.key}: caller was charged ${r.credits}, ledger ${c.credits}`);
        }
      }
      // With every caller's answer known, the summary's counts are exactly the callers'.
      const summary = summaries.get(accountId);
      if (settled && summary) {
        for (const feature of new Set([...counted.keys(), ...summary.usage.map((u) => u.feature)])) {
          const seen = counted.get(feature) ?? { count: 0, rejected: 0 };
          const shown = summary.usage.find((u) => u.feature === feature) ?? { count: 0, rejected: 0 };
          if (seen.count !== shown.count || seen.rejected !== shown.rejected) {
            flag('mismatch', `${accountId}: ${feature}: callers saw ${seen.count} accepted / ${seen.rejected} refused, summary shows ${shown.count} / ${shown.rejected}`);
          }
        }
      }
    }

    let largestCarriedState = 0;
    for (const accountId of accountIds) {
      largestCarriedState = Math.max(largestCarriedState, await largestStartInput(temporal, accountId).catch(() => 0));
    }
    const final = (r: CallerRecord) => (r.outcome === 'error' ? r.resent : r.outcome);
    const { log: _log, ...options } = o;
    return {
      seed: o.seed,
      options,
      sent: records.length,
      accepted: records.filter((r) => r.outcome === 'accepted').length,
      refused: records.filter((r) => r.outcome === 'refused').length,
      lost: tallyOf.lost,
      doubleCharged: tallyOf.doubleCharged,
      mismatches,
      callerErrors: records.filter((r) => r.outcome === 'error').length,
      callerErrorsAfterResend: records.filter((r) => final(r) === 'error').length,
      errorKinds: tallyErrors(records.filter((r) => r.outcome === 'error')),
      answering: summaries.size,
      accountCount: accountIds.length,
      largestCarriedState,
      workerKills: kills,
      workerExits: worker.unplannedExits,
      serverRestarts: restarts,
      outageSeconds: o.outageSeconds,
      findings,
      seconds: Math.round((Date.now() - began) / 1000),
    };
  } finally {
    await store?.close().catch(() => undefined);
    await worker?.stop().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    pg?.destroy();
    workerLog.end();
    if (o.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** The report as the table `npm run chaos` prints. */
export function formatChaosTable(r: ChaosReport): string[] {
  const rows: [string, string][] = [
    ['events sent', String(r.sent)],
    ['accepted', String(r.accepted)],
    ['refused (business outcome)', String(r.refused)],
    ['lost (accepted, not in ledger)', String(r.lost)],
    ['double-charged', String(r.doubleCharged)],
    ['ledger mismatches', String(r.mismatches)],
    ['caller errors (after client retries)', String(r.callerErrors)],
    ['  still failing when resent', String(r.callerErrorsAfterResend)],
    ['accounts answering at the end', `${r.answering}/${r.accountCount}`],
    [
      'largest carried state',
      `${r.largestCarriedState} bytes (budget ${CARRIED_STATE_BUDGET}${r.largestCarriedState > CARRIED_STATE_BUDGET ? ', OVER' : ''})`,
    ],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    `chaos run, seed ${r.seed}: ${r.accountCount} accounts, ${r.options.loadSeconds} s of load, ${r.workerKills} worker kills ` +
      `(${r.workerExits} exits by itself), ${r.serverRestarts} server restarts, ${r.outageSeconds} s ledger outage; ${r.seconds} s in all`,
    ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`),
    ...r.findings.map((f) => `  ! ${f}`),
    ...r.errorKinds.map((k) => `  caller error x${k.count}: ${k.message}`),
    chaosFailed(r) ? 'FAILED: accepted events lost, double charges, mismatches or accounts not answering' : 'OK',
  ];
}
