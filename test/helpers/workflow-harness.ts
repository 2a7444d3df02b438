/**
 * Real Temporal servers for workflow tests: the time-skipping test server and the CLI's dev
 * server, both from the project's .venv, with a worker running the real workflow code and
 * recording fakes of the activities (the tests are about the workflow; the activities have
 * their own tests against the real ledger database and SMTP server).
 */
import { restartHistoryOf } from '../../ledger/restart-history';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Client, Connection, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { CreditActivities, LedgerAppendInput } from '../../activities/credit-activities';
import { epochOfId, ledgerIdPrefix, type AlertNotice, type ChargeRequest, type LedgerEntry } from '../../domain/effects';
import type { AccountStartInput } from '../../domain/wire-contract';
import { decodeLedgerBatch } from '../../domain/ledger-batch';
import type { WebhookEvent } from '../../domain/webhook-events';
import { temporalBinaryPath } from '../../infra/temporal-binaries';
import { WORKFLOW_BUNDLER_OPTIONS } from '../../infra/workflow-bundler';
import { defaultRulesPath, loadRuleSet, type RuleSet } from '../../ruleset';
import { accountWorkflowId, summaryQuery, WORKFLOW_TYPE } from '../../workflows/messages';
import { isAccountOpening } from '../../client';
import { searchAttributeTypes } from '../../client/account-list';
import { ACCOUNT_SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';

/**
 * A time-skipping test server from .venv, with the accounts' search attributes registered. It
 * takes no `--search-attribute` flag but implements the operator call that adds them; unregistered,
 * it refuses a start that sets them (and an upsert of them fails the workflow task).
 */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalBinaryPath('temporal-test-server') } },
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: searchAttributeTypes(),
  });
  return env;
}

/** The real dev server (the Temporal CLI's `server start-dev`) from .venv, with the accounts' search attributes. */
export function devServerEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinaryPath('temporal') },
      searchAttributes: [...ACCOUNT_SEARCH_ATTRIBUTE_KEYS],
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow code, bundled once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, '../../workflows/index.ts'), logger: quietLogger, ...WORKFLOW_BUNDLER_OPTIONS });
  return bundle;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string, meta?: unknown) => console.error(message, meta),
};

/** The entries an `appendLedger` call carries, compact or plain. */
export function entriesOf(input: LedgerAppendInput): LedgerEntry[] {
  return input.batch ? decodeLedgerBatch(input.batch) : (input.entries ?? []);
}

/** Recording fakes of the activities, with the shipped rules (or another rule set). */
export interface FakeActivities extends CreditActivities {
  readonly ledger: LedgerEntry[];
  readonly charges: ChargeRequest[];
  readonly alerts: AlertNotice[];
  /** Charge ids seen, with how many times each was attempted. */
  readonly chargeAttempts: Map<string, number>;
  /** Webhook events delivered, each once (by id), in order. */
  readonly webhooks: WebhookEvent[];
}

/** Fakes that behave like the real activities' contract: idempotent on their ids. */
export function fakeActivities(ruleSet: RuleSet = loadRuleSet(defaultRulesPath())): FakeActivities {
  const ledger: LedgerEntry[] = [];
  const charges: ChargeRequest[] = [];
  const alerts: AlertNotice[] = [];
  const chargeAttempts = new Map<string, number>();
  const webhooks: WebhookEvent[] = [];
  const seenEntries = new Set<string>();
  return {
    ledger,
    charges,
    alerts,
    chargeAttempts,
    webhooks,
    async loadRules({ at }) {
      const earliest = Date.parse(ruleSet.earliest.effectiveFrom);
      return ruleSet.at(Date.parse(at) < earliest ? ruleSet.earliest.effectiveFrom : at);
    },
    async appendLedger(input) {
      const entries = entriesOf(input);
      let written = 0;
      for (const e of entries) {
        if (seenEntries.has(e.entryId)) continue;
        seenEntries.add(e.entryId);
        ledger.push(e);
        written += 1;
      }
      return { written };
    },
    async chargeTier(charge) {
      chargeAttempts.set(charge.chargeId, (chargeAttempts.get(charge.chargeId) ?? 0) + 1);
      if (charges.some((c) => c.chargeId === charge.chargeId)) return { chargeId: charge.chargeId, charged: false };
      charges.push(charge);
      return { chargeId: charge.chargeId, charged: true };
    },
    async sendAlert(alert) {
      if (!alerts.some((a) => a.alertId === alert.alertId)) alerts.push(alert);
      return { delivered: true };
    },
    async deliverWebhook(event) {
      if (webhooks.some((w) => w.id === event.id)) return { endpoints: 1, delivered: 0 };
      webhooks.push(event);
      return { endpoints: 1, delivered: 1 };
    },
    async restartFacts({ accountId, epoch, periodStart, at }) {
      const own = ledgerIdPrefix(accountId, epoch);
      const granted = ledger.flatMap((e) =>
        e.accountId === accountId && !e.entryId.startsWith(own) && e.kind === 'grant' && e.source === 'promotion' && e.note !== undefined ? [{ name: e.note, rulesVersion: e.rulesVersion }] : [],
      );
      const accountCharges = charges.filter((c) => c.accountId === accountId);
      return restartHistoryOf(granted, accountCharges, at === undefined ? { start: periodStart } : { start: periodStart, at }, (version) => ruleSet.byVersion(version)?.promotions);
    },
    async earlierEpoch({ accountId, epoch }) {
      const own = ledgerIdPrefix(accountId, epoch);
      const earlier = ledger.filter((e) => e.accountId === accountId && !e.entryId.startsWith(own)).sort((a, b) => a.at.localeCompare(b.at)).pop();
      return earlier ? { epoch: epochOfId(earlier.entryId) ?? '', entryId: earlier.entryId, at: earlier.at } : null;
    },
  };
}

let queueCounter = 0;
/** A worker on a fresh task queue running the real workflow with the given activities. */
export async function startWorker(env: TestWorkflowEnvironment, activities: CreditActivities) {
  const taskQueue = `test-${process.pid}-${++queueCounter}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  const running = worker.run();
  return {
    taskQueue,
    worker,
    /** Stop the worker and wait for it to finish. */
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

/** Start an account workflow the way billing ops would, with a plain Temporal client. */
export async function startAccount(client: Client, taskQueue: string, input: AccountStartInput): Promise<WorkflowHandleWithFirstExecutionRunId> {
  return client.workflow.start(WORKFLOW_TYPE, {
    taskQueue,
    workflowId: accountWorkflowId(input.accountId),
    args: [input],
  });
}

/**
 * Wait until the account has loaded its rules and answers queries (updates wait by
 * themselves; a query sent in the first moments is refused as `AccountOpening`). Returns
 * early if the workflow has ended (a test of invalid start input then reads its result).
 */
export async function untilOpen(handle: WorkflowHandle): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await handle.query(summaryQuery);
      return;
    } catch (err) {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') return;
      if (!isAccountOpening(err)) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** A run's history, as `fetchHistory` gives it. */
export type RunHistory = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** The histories of a workflow's runs, from `runId` along its chain of continue-as-new. */
export async function* runHistories(client: Client, workflowId: string, runId: string): AsyncGenerator<RunHistory> {
  for (let run: string | undefined = runId; run; ) {
    const history = await client.workflow.getHandle(workflowId, run).fetchHistory();
    yield history;
    run = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
}

/** A started workflow, as `runHistories` follows it from its first run. */
type Started = Pick<WorkflowHandleWithFirstExecutionRunId, 'workflowId' | 'firstExecutionRunId'>;

/**
 * Replay every run of each workflow against today's workflow code, from its first run along
 * its chain of continue-as-new, as a worker restarting would. Rejects with the SDK's
 * `DeterminismViolationError` on the first run that would not replay; resolves to the
 * histories replayed, in order.
 */
export async function replayRuns(env: TestWorkflowEnvironment, ...started: Started[]): Promise<RunHistory[]> {
  const bundled = await workflowBundle();
  // The time-skipping server sends a history in one message, over gRPC's 4 MiB default for a busy run.
  const connection = await Connection.connect({ address: env.address, channelArgs: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 } });
  try {
    const client = new Client({ connection, namespace: env.namespace ?? 'default' });
    const replayed: RunHistory[] = [];
    for (const { workflowId, firstExecutionRunId } of started) {
      for await (const history of runHistories(client, workflowId, firstExecutionRunId)) {
        await Worker.runReplayHistory({ workflowBundle: bundled }, history);
        replayed.push(history);
      }
    }
    return replayed;
  } finally {
    await connection.close();
  }
}

/** One time-skipping server and one worker shared by a test file's tests. */
export interface WorkflowSuite {
  env: TestWorkflowEnvironment;
  acts: FakeActivities;
  taskQueue: string;
  /** Start an account whose anchor is `daysAgo` days before the server's clock (default 2). */
  open(input: Partial<AccountStartInput> & { accountId: string }, daysAgo?: number): Promise<WorkflowHandleWithFirstExecutionRunId>;
  /** The server's clock. */
  now(): Promise<number>;
  /**
   * Stop the worker, replay every account opened through `open` (each of its runs, as a worker
   * restarting would: a nondeterminism error fails the test file), then stop the server.
   */
  teardown(): Promise<void>;
}

/** Start the server and worker for a test file (call from `beforeAll`). */
export async function workflowSuite(ruleSet?: RuleSet): Promise<WorkflowSuite> {
  const env = await timeSkippingEnv();
  const acts = fakeActivities(ruleSet);
  const worker = await startWorker(env, acts);
  const now = async () => (await env.currentTimeMs()) as number;
  const opened: Started[] = [];
  return {
    env,
    acts,
    taskQueue: worker.taskQueue,
    now,
    async open(input, daysAgo = 2) {
      const anchor = new Date((await now()) - daysAgo * 86_400_000).toISOString();
      const handle = await startAccount(env.client, worker.taskQueue, { plan: 'growth', users: 1, cycleAnchor: anchor, ...input });
      opened.push(handle);
      await untilOpen(handle);
      return handle;
    },
    async teardown() {
      try {
        await worker.stop();
        await replayRuns(env, ...opened);
      } finally {
        await env.teardown();
      }
    },
  };
}
