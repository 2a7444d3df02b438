/**
 * Updates at the edges of time, on the time-skipping server: a grant whose end has come is
 * never spent, even by an update the worker applies before the expiry timer's task
 * (EXPIRE_BEFORE_UPDATE_PATCH); a trial conversion whose rules arrive after the cycle has
 * ended converts after the reset, instead of opening a paid cycle the reset then closes
 * (CONVERSION_AFTER_RESET_PATCH). Each test fails on the code before its patch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { fakeActivities, replayRuns, startAccount, timeSkippingEnv, untilOpen, workflowBundle, type FakeActivities } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { patchIds } from '../helpers/patch-markers';
import { changePlanUpdate, grantCreditsUpdate, recordUsageUpdate, summaryQuery } from '../../workflows/messages';
import { CONVERSION_AFTER_RESET_PATCH, EXPIRE_BEFORE_UPDATE_PATCH, GRANT_RECALL_PATCH } from '../../workflows/account-credits';

const DAY = 86_400_000;
const TASK_QUEUE = 'cycle-edges';

let env: TestWorkflowEnvironment;
let acts: FakeActivities;
/** Real-time delay of each `loadRules` call, by the instant it asks for (0: none). */
let rulesDelay: (at: string) => number = () => 0;
let worker: { stop(): Promise<void> } | undefined;
const opened: WorkflowHandleWithFirstExecutionRunId[] = [];

/** A worker on the file's one task queue (a restarted worker takes the same queue's tasks). */
async function startWorker(): Promise<void> {
  const w = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: TASK_QUEUE,
    // No sticky queue: a task for the stopped worker's cache would wait out its timeout.
    maxCachedWorkflows: 0,
    workflowBundle: await workflowBundle(),
    activities: {
      ...acts,
      async loadRules(input: { at: string }) {
        const ms = rulesDelay(input.at);
        if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
        return acts.loadRules(input);
      },
    },
  });
  const running = w.run();
  running.catch((err: unknown) => console.error('cycle-edges worker stopped:', err));
  worker = {
    async stop() {
      w.shutdown();
      await running;
    },
  };
}

async function open(accountId: string, daysAgo: number, trial = true): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const anchor = new Date(((await env.currentTimeMs()) as number) - daysAgo * DAY).toISOString();
  const handle = await startAccount(env.client, TASK_QUEUE, { accountId, plan: 'growth', users: 1, trial, cycleAnchor: anchor });
  opened.push(handle);
  await untilOpen(handle);
  return handle;
}

/** The patch markers a workflow's history holds, in its first run (or its latest, with `latest`). */
async function patchesOf(handle: WorkflowHandleWithFirstExecutionRunId, latest = false): Promise<string[]> {
  return patchIds(await env.client.workflow.getHandle(handle.workflowId, latest ? undefined : handle.firstExecutionRunId).fetchHistory());
}

beforeAll(async () => {
  env = await timeSkippingEnv();
  acts = fakeActivities();
  await startWorker();
}, 120_000);

afterAll(async () => {
  try {
    await worker?.stop();
    // Every run replays on today's code, as a restarted worker would replay it.
    if (env) await replayRuns(env, ...opened);
  } finally {
    await env?.teardown();
  }
});

describe('a grant whose end has come', () => {
  it('is not spent by an update applied before the expiry timer has had its task', async () => {
    const h = await open('edge-expiry', 2);
    const trial = (await h.query(summaryQuery)).grants.find((g) => g.source === 'trial');
    expect(trial).toMatchObject({ remaining: 1000 });
    // No worker while the trial's end passes (the server's clock runs in real time once it
    // stops skipping): its timer fires on the server, and the next workflow task carries that
    // timer and the update below together.
    await env.sleep(Date.parse(trial?.expiresAt ?? '') - ((await env.currentTimeMs()) as number) - 2_000);
    await worker?.stop();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await env.currentTimeMs()).toBeGreaterThan(Date.parse(trial?.expiresAt ?? ''));
    const usage = h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 400, idempotencyKey: 'after-trial' }] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await startWorker();
    expect(await usage).toMatchObject({ accepted: false, reason: 'credits_exhausted', balance: 0 });
    const after = await h.query(summaryQuery);
    expect(after.credits).toMatchObject({ available: 0, used: 0 });
    const expiry = await waitFor(() => acts.ledger.find((e) => e.accountId === 'edge-expiry' && e.kind === 'expiry'), 'the trial credits expired');
    expect(expiry).toMatchObject({ credits: 1000, source: 'trial', balanceAfter: 0 });
    expect(acts.ledger.filter((e) => e.accountId === 'edge-expiry' && e.kind === 'usage' && e.decision === 'accepted')).toEqual([]);
    expect(await patchesOf(h)).toContain(EXPIRE_BEFORE_UPDATE_PATCH);
  });
});

describe('a trial conversion at the cycle end', () => {
  it('whose rules arrive after the end converts after the reset: one paid cycle from the conversion, none skipped', async () => {
    // Anchored 27 days ago: whatever the month, the cycle ends within days.
    const h = await open('edge-convert', 27);
    const trial = await h.query(summaryQuery);
    const end = Date.parse(trial.cycle.end);
    await env.sleep(end - ((await env.currentTimeMs()) as number) - 3_000);
    // The conversion's rules arrive 5 s after it asks (about 2 s past the end), the reset's
    // 8 s after it asks (at the end): the conversion's answer comes first, in the ended cycle.
    // (3 s of margin for a busy machine: the conversion must ask before the end.)
    rulesDelay = (at) => (Date.parse(at) === end ? 8_000 : 5_000);
    try {
      const converted = await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth' }] });
      expect(converted).toMatchObject({ effective: 'now', creditsGranted: 1500 });
    } finally {
      rulesDelay = () => 0;
    }
    // The reset continues the run as new once the reset and the conversion are both done
    // (whichever order they ran in): the next run holds the account as they left it.
    await waitFor(async () => (await h.describe()).runId !== h.firstExecutionRunId, 'the run after the reset');
    const paid = await h.query(summaryQuery);
    const now = (await env.currentTimeMs()) as number;
    expect(paid.trial).toBe(false);
    // The paid cycle runs from the conversion (after the end), not from a month ahead.
    expect(Date.parse(paid.cycle.start)).toBeGreaterThanOrEqual(end);
    expect(Date.parse(paid.cycle.start)).toBeLessThanOrEqual(now);
    expect(Date.parse(paid.cycle.end) - now).toBeLessThanOrEqual(31 * DAY);
    expect(paid.credits.available).toBe(1500);
    // The included credits of the paid cycle were not expired by a second reset.
    await waitFor(() => acts.ledger.some((e) => e.accountId === 'edge-convert' && e.kind === 'plan_change'), 'the conversion in the ledger');
    const included = acts.ledger.filter((e) => e.accountId === 'edge-convert' && e.kind === 'expiry' && e.source === 'included');
    expect(included).toEqual([]);
    expect(await patchesOf(h)).toContain(CONVERSION_AFTER_RESET_PATCH);
  });
});

describe('a manual grant retried two resets later', () => {
  it('is answered from the live grant, not granted again, though the answer window has forgotten it', async () => {
    const h = await open('edge-grant', 2, false);
    const grant = { credits: 2500, reason: 'goodwill', validForCycles: 3, idempotencyKey: 'ops-7' };
    const first = await h.executeUpdate(grantCreditsUpdate, { args: [grant] });
    for (let reset = 1; reset <= 2; reset++) {
      const before = await h.query(summaryQuery);
      await env.sleep(Date.parse(before.cycle.end) - ((await env.currentTimeMs()) as number) + 1_000);
      await waitFor(async () => (await h.query(summaryQuery)).cycle.index === before.cycle.index + 1, `reset ${reset}`);
    }
    const again = await h.executeUpdate(grantCreditsUpdate, { args: [grant] });
    expect(again).toEqual({ ...first, duplicate: true });
    const after = await h.query(summaryQuery);
    expect(after.grants.filter((g) => g.source === 'manual').map((g) => [g.grantId, g.remaining])).toEqual([[first.grantId, 2500]]);
    expect(acts.ledger.filter((e) => e.accountId === 'edge-grant' && e.kind === 'grant' && e.idempotencyKey === 'ops-7')).toHaveLength(1);
    expect(await patchesOf(h, true)).toContain(GRANT_RECALL_PATCH);
  });
});
