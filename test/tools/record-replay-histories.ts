/**
 * Records workflow histories from real runs on the time-skipping server into
 * test/fixtures/histories/, for the replay test that guards determinism. Run it again (and
 * commit the result) only when a change to the workflow is meant to be incompatible with
 * histories already recorded, e.g. behind a patch:
 *
 *   npx tsx test/tools/record-replay-histories.ts              # every scenario
 *   npx tsx test/tools/record-replay-histories.ts ledger-outage # one of them
 *
 * `ledger-outage` runs on the dev server (updates in flight across continue-as-new stall the
 * time-skipping server): a busy account whose ledger is down spills its backlog to
 * `ledgerSpill` workflows, and one of those writes it once the ledger is back.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { ApplicationFailure } from '@temporalio/common';
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { devServerEnv, fakeActivities, runHistories, startAccount, startWorker, untilOpen, workflowSuite, type RunHistory, type WorkflowSuite } from '../helpers/workflow-harness';
import { patchIds } from '../helpers/patch-markers';
import { startCallsInTens } from '../helpers/call-table';
import { ACCOUNT_LIMITS } from '../../domain/state-budget';
import { waitFor } from '../helpers/wait-for';
import { CreditsClient } from '../../client';
import { CALL_PARTS_ROUNDED_ONCE_PATCH, END_LOST_CALLS_WHEN_FULL_PATCH, EVENTS_PER_RUN, SPILL_AFTER_MS, VOID_EXPIRES_WITH_GRANT_PATCH } from '../../workflows/account-credits';
import { ACCOUNT_QUERIES, ACCOUNT_UPDATES } from '../../workflows/messages';
import type { AccountSummary } from '../../domain/wire-contract';

const { changeCreditTier, changePlan, endCall, grantCredits, recordUsage, setFeatureEnabled, setUsers, setVoiceAgentActive, startCall, voidUsage } = ACCOUNT_UPDATES;
const summary = ACCOUNT_QUERIES.summary.definition;

const OUT = join(__dirname, '..', 'fixtures', 'histories');

/**
 * Save the closed runs, from the first one along its chain (the test server cannot list
 * executions); with `keep`, only the runs it chooses, numbered in the order saved.
 */
async function saveRuns(client: Client, handle: WorkflowHandleWithFirstExecutionRunId, name: string, keep: (history: RunHistory) => boolean = () => true): Promise<void> {
  let i = 0;
  for await (const history of runHistories(client, handle.workflowId, handle.firstExecutionRunId)) {
    // A run still open has no end to replay to; the recorded runs are the closed ones.
    if (!history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes) break;
    if (keep(history)) writeFileSync(join(OUT, `${name}-run${++i}.json`), historyToJSON(history));
  }
}

/**
 * Runs `scenario` on a fresh time-skipping suite, then saves the closed runs of the account it
 * returns that took `patch`, as `name`-runN.json.
 */
async function recordPatchedRuns(name: string, patch: string, scenario: (suite: WorkflowSuite) => Promise<WorkflowHandleWithFirstExecutionRunId>): Promise<void> {
  const suite = await workflowSuite();
  try {
    const h = await scenario(suite);
    await saveRuns(suite.env.client, h, name, (history) => patchIds(history).includes(patch));
  } finally {
    await suite.teardown();
  }
}

/** Sleeps the test server past the account's cycle end and waits for its reset: the new cycle's summary. */
async function pastReset(suite: WorkflowSuite, h: WorkflowHandle, what = 'the reset'): Promise<AccountSummary> {
  const before = await h.query(summary);
  await suite.env.sleep(Date.parse(before.cycle.end) - (await suite.now()) + 1000);
  return waitFor(async () => {
    const s = await h.query(summary);
    return s.cycle.index === before.cycle.index + 1 && s;
  }, what);
}

async function recordPaidAndTrial(): Promise<void> {
  const suite = await workflowSuite();
  try {
    const paid = await suite.open({ accountId: 'replay-paid', plan: 'growth', users: 4, creditTier: 'tier-2', admins: ['a@x.test'] }, 20);
    await paid.executeUpdate(recordUsage.definition, { args: [{ feature: 'enrichment', quantity: 3000, idempotencyKey: 'r1' }] });
    await paid.executeUpdate(recordUsage.definition, { args: [{ feature: 'enrichment', quantity: 3000, idempotencyKey: 'r1' }] });
    await paid.executeUpdate(setUsers.definition, { args: [{ users: 6 }] });
    await paid.executeUpdate(changeCreditTier.definition, { args: [{ tier: 'tier-4' }] });
    await paid.executeUpdate(changeCreditTier.definition, { args: [{ tier: 'tier-1' }] });
    await paid.executeUpdate(setFeatureEnabled.definition, { args: [{ feature: 'auto-updates', enabled: false }] });
    await paid.executeUpdate(recordUsage.definition, { args: [{ feature: 'auto-updates', quantity: 1, idempotencyKey: 'r2' }] });
    await paid.executeUpdate(recordUsage.definition, { args: [{ feature: 'enrichment', quantity: 16000, idempotencyKey: 'r3' }] });
    await paid.executeUpdate(grantCredits.definition, { args: [{ credits: 100, reason: 'goodwill', validForCycles: 2, idempotencyKey: 'g1' }] });
    await suite.env.sleep('12 days');

    const trial = await suite.open({ accountId: 'replay-trial', plan: 'essentials', users: 2, trial: true }, 3);
    await trial.executeUpdate(setVoiceAgentActive.definition, { args: [{ agentId: 'a1', active: false }] });
    await trial.executeUpdate(startCall.definition, { args: [{ callId: 'c0', agentId: 'a1' }] });
    await trial.executeUpdate(startCall.definition, { args: [{ callId: 'c1', agentId: 'a2' }] });
    await trial.executeUpdate(recordUsage.definition, { args: [{ feature: 'enrichment', quantity: 990, idempotencyKey: 't1' }] });
    await trial.executeUpdate(endCall.definition, { args: [{ callId: 'c1', minutes: 2.5 }] });
    await trial.executeUpdate(changePlan.definition, { args: [{ plan: 'growth' }] });
    await suite.env.sleep('35 days');

    await saveRuns(suite.env.client, paid, 'paid-growth');
    await saveRuns(suite.env.client, trial, 'trial-conversion');
  } finally {
    await suite.teardown();
  }
}

/**
 * A trial holding a tier (bought at the start, upgraded during the trial) and a manual grant,
 * converting, then past the paid calendar's first reset. Recorded twice: `trial-tier-prepatch`
 * on the workflow before the `trial-conversion-keeps-paid-grants` patch (commit 0361f9e, whose
 * conversion charged the tier again), `trial-tier` on the patched workflow.
 */
async function recordTrialWithTier(name: string): Promise<void> {
  const suite = await workflowSuite();
  try {
    const trial = await suite.open({ accountId: `replay-${name}`, plan: 'essentials', users: 2, trial: true, creditTier: 'tier-2' }, 3);
    await trial.executeUpdate(changeCreditTier.definition, { args: [{ tier: 'tier-5' }] });
    await trial.executeUpdate(grantCredits.definition, { args: [{ credits: 500, reason: 'onboarding', validForCycles: 2, idempotencyKey: 'g1' }] });
    await trial.executeUpdate(recordUsage.definition, { args: [{ feature: 'enrichment', quantity: 400, idempotencyKey: 't1' }] });
    await suite.env.sleep('2 days');
    await trial.executeUpdate(changePlan.definition, { args: [{ plan: 'growth' }] });
    await waitFor(() => suite.acts.ledger.some((e) => e.kind === 'plan_change'), 'the conversion in the ledger');
    await suite.env.sleep('35 days');
    await saveRuns(suite.env.client, trial, `${name}-conversion`);
  } finally {
    await suite.teardown();
  }
}

/**
 * A busy account on the workflow with the `compact-ledger-batches` and `quiet-before-continue`
 * patches: 1,200 usage events in batch updates, written as one compact ledger batch, then
 * continued as new (quieted) at the reset.
 */
async function recordLargeLedgerBatch(): Promise<void> {
  const suite = await workflowSuite();
  try {
    const busy = await suite.open({ accountId: 'replay-large-batch', plan: 'scale', users: 10, creditTier: 'tier-5' }, 20);
    for (let b = 0; b < 3; b++) {
      const events = Array.from({ length: 400 }, (_, i) => ({ feature: 'enrichment', quantity: 1, idempotencyKey: `lb-${b}-${i}` }));
      await busy.executeUpdate(ACCOUNT_UPDATES.recordUsageBatch.definition, { args: [{ events }] });
    }
    await waitFor(() => suite.acts.ledger.filter((e) => e.kind === 'usage').length >= 1200, 'the usage in the ledger');
    await suite.env.sleep('12 days');
    await saveRuns(suite.env.client, busy, 'ledger-batch-large');
  } finally {
    await suite.teardown();
  }
}

/**
 * A busy account on the workflow with the `ledger-linger-busy`, `ledger-linger-on-step`,
 * `search-balance-throttle` and `search-balance-on-step` patches: usage batches two seconds
 * apart for 24 s, so its ledger writes linger as a busy account's do and go with a later batch
 * (the linger's timer cancelled), as does its throttled balance; then quiet, so the last write
 * waits for the linger's timer; then continued as new at the reset. Recorded before today's code:
 * `busy-account-run1.json` (the balance on a timer of its own) and
 * `busy-account-on-step-run1.json` (each ledger write when the linger's timer fired).
 */
async function recordBusyAccount(): Promise<void> {
  const suite = await workflowSuite();
  try {
    const busy = await suite.open({ accountId: 'replay-busy', plan: 'scale', users: 10, creditTier: 'tier-5' }, 20);
    for (let b = 0; b < 12; b++) {
      const events = Array.from({ length: 100 }, (_, i) => ({ feature: 'enrichment', quantity: 1, idempotencyKey: `busy-${b}-${i}` }));
      await busy.executeUpdate(ACCOUNT_UPDATES.recordUsageBatch.definition, { args: [{ events }] });
      await suite.env.sleep('2 seconds');
    }
    await suite.env.sleep('15 seconds');
    await waitFor(() => suite.acts.ledger.filter((e) => e.kind === 'usage').length >= 1200, 'the usage in the ledger');
    await suite.env.sleep('12 days');
    await saveRuns(suite.env.client, busy, 'busy-account-linger-on-step');
  } finally {
    await suite.teardown();
  }
}

/**
 * An account on the workflow with the `conditions-on-recorded-clock` patch: accepted usage and
 * user changes interleaved with updates its validators refuse (each an empty workflow task on
 * the time-skipping server), refused ones carrying the run past its history bound, then the
 * continue-as-new at the next accepted update.
 */
async function recordRejectedUpdates(): Promise<void> {
  const suite = await workflowSuite();
  try {
    const h = await suite.open({ accountId: 'replay-rejected', plan: 'scale', users: 5 }, 2);
    const refuse = (args: unknown[]) => h.executeUpdate(setUsers.definition, { args: args as [{ users: number }] }).catch(() => undefined);
    for (let i = 0; (await h.describe()).historyLength < EVENTS_PER_RUN - 80; i++) {
      await h.executeUpdate(recordUsage.definition, { args: [{ feature: 'enrichment', quantity: 1, idempotencyKey: `rj-${i}` }] });
      await refuse([{ users: -1 }]);
      if (i % 10 === 0) await h.executeUpdate(setUsers.definition, { args: [{ users: 5 + (i % 3) }] });
    }
    await suite.env.sleep('30 seconds');
    while ((await h.describe()).historyLength < EVENTS_PER_RUN + 6) await refuse([{ users: 0.5 }]);
    await h.executeUpdate(setUsers.definition, { args: [{ users: 5 }] });
    await suite.env.sleep('30 seconds');
    await saveRuns(suite.env.client, h, 'rejected-updates');
  } finally {
    await suite.teardown();
  }
}

/**
 * An account on the workflow with the start guard (`start-guard-earlier-epoch`: the ledger
 * asked at the fresh start) and target-value answers kept by update id
 * (`target-updates-answered-across-runs`): a tier purchase and a users change in the first
 * run, then, after the reset, another admin's users change and cancellation, and those two
 * sent again with their update ids, answered from memory, up to the next reset.
 */
async function recordUpdateRetries(): Promise<void> {
  const suite = await workflowSuite();
  try {
    const h = await suite.open({ accountId: 'replay-retries', plan: 'growth', users: 2 }, 25);
    await h.executeUpdate(changeCreditTier.definition, { args: [{ tier: 'tier-1' }], updateId: 'buy-tier-1' });
    await h.executeUpdate(setUsers.definition, { args: [{ users: 4 }], updateId: 'users-to-4' });
    await pastReset(suite, h, 'the first reset');
    // Another admin's changes in between, which the retries must not undo (applied again, they
    // would grant two users' credits and buy the tier back: other commands than recorded).
    await h.executeUpdate(setUsers.definition, { args: [{ users: 2 }] });
    await h.executeUpdate(changeCreditTier.definition, { args: [{ tier: null }] });
    await suite.env.sleep('30 seconds');
    await h.executeUpdate(changeCreditTier.definition, { args: [{ tier: 'tier-1' }], updateId: 'buy-tier-1' });
    await h.executeUpdate(setUsers.definition, { args: [{ users: 4 }], updateId: 'users-to-4' });
    await pastReset(suite, h, 'the second reset');
    await saveRuns(suite.env.client, h, 'update-retries');
  } finally {
    await suite.teardown();
  }
}

/**
 * A full open-call table: two calls whose ends are lost, the other places taken a day later
 * (across several runs), then a call that ends the two before it is judged; the account
 * continues as new at the reset. Only the run that ended them is kept (the others replay the
 * plain call path the other fixtures hold).
 */
async function recordFullCallTable(): Promise<void> {
  await recordPatchedRuns('full-call-table', END_LOST_CALLS_WHEN_FULL_PATCH, async (suite) => {
    const h = await suite.open({ accountId: 'replay-full-calls', plan: 'growth', users: 1 }, 25);
    const credits = new CreditsClient(suite.env.client, { taskQueue: suite.taskQueue });
    const start = (callId: string) => credits.startCall('replay-full-calls', { callId, agentId: 'chloe' });
    await credits.grantCredits('replay-full-calls', { credits: 1_000_000, reason: 'room', validForCycles: 1, idempotencyKey: 'room' });
    for (const id of ['lost-0', 'lost-1']) await start(id);
    await suite.env.sleep('23 hours');
    const recent = Array.from({ length: ACCOUNT_LIMITS.openCalls - 2 }, (_, i) => `recent-${i}`);
    await startCallsInTens(start, recent);
    await suite.env.sleep('61 minutes');
    const next = await start('next');
    if (!next.authorized) throw new Error(`the call after the full table was refused: ${JSON.stringify(next)}`);
    await credits.endCall('replay-full-calls', { callId: 'lost-1', minutes: 3 });
    await pastReset(suite, h);
    return h;
  });
}

/**
 * A trial's usage voided after the trial has ended: its credits go back to the trial's grant,
 * which has expired, and expire again with it (VOID_EXPIRES_WITH_GRANT_PATCH).
 */
async function recordVoidAfterTrial(): Promise<void> {
  await recordPatchedRuns('void-after-trial', VOID_EXPIRES_WITH_GRANT_PATCH, async (suite) => {
    const h = await suite.open({ accountId: 'replay-void-trial', plan: 'essentials', users: 3, trial: true });
    await h.executeUpdate(recordUsage.definition, { args: [{ feature: 'enrichment', quantity: 900, idempotencyKey: 'trial-run' }] });
    const trialGrant = (await h.query(summary)).grants.find((g) => g.source === 'trial');
    if (!trialGrant) throw new Error('the trial has no grant');
    await suite.env.sleep(Date.parse(trialGrant.expiresAt) - (await suite.now()) + 86_400_000);
    const answer = await h.executeUpdate(voidUsage.definition, { args: [{ idempotencyKey: 'trial-run', reason: 'a test run on a live trial' }] });
    if (answer.expired !== 900) throw new Error(`the void did not expire the trial's credits again: ${JSON.stringify(answer)}`);
    await h.executeUpdate(recordUsage.definition, { args: [{ feature: 'enrichment', quantity: 1, idempotencyKey: 'after' }] });
    // The run closes at the reset (continue-as-new), so it has an end to replay to.
    await pastReset(suite, h);
    return h;
  });
}

/**
 * A minute's call across a reset, rounded once as a whole (CALL_PARTS_ROUNDED_ONCE_PATCH): the
 * run after the reset charges the rest of the minute, then closes at the next reset.
 */
async function recordCallRoundedOnce(): Promise<void> {
  await recordPatchedRuns('call-rounded-once', CALL_PARTS_ROUNDED_ONCE_PATCH, async (suite) => {
    const h = await suite.open({ accountId: 'replay-call-round', plan: 'growth', users: 1 });
    const first = await h.query(summary);
    await suite.env.sleep(Date.parse(first.cycle.end) - (await suite.now()) - 600);
    await h.executeUpdate(startCall.definition, { args: [{ callId: 'c1', agentId: 'chloe' }] });
    await suite.env.sleep('1 minute');
    await waitFor(async () => (await h.query(summary)).cycle.index === first.cycle.index + 1, 'the first reset');
    await h.executeUpdate(endCall.definition, { args: [{ callId: 'c1', minutes: 1 }] });
    await pastReset(suite, h, 'the second reset');
    return h;
  });
}

async function recordLedgerOutage(): Promise<void> {
  const env = await devServerEnv();
  const acts = fakeActivities();
  let ledgerDown = true;
  const write = acts.appendLedger.bind(acts);
  acts.appendLedger = async (input) => {
    if (ledgerDown) throw ApplicationFailure.retryable('ledger database unavailable', 'database_unavailable');
    return write(input);
  };
  const worker = await startWorker(env, acts);
  try {
    const anchor = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const h = await startAccount(env.client, worker.taskQueue, { accountId: 'replay-outage', plan: 'scale', users: 10, cycleAnchor: anchor });
    await untilOpen(h);
    const credits = new CreditsClient(env.client, { taskQueue: worker.taskQueue, coalesce: false });
    let next = 0;
    const send = (upTo: number) =>
      Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < upTo) {
            const i = next++;
            await credits.recordUsage('replay-outage', { feature: 'enrichment', quantity: 1, idempotencyKey: `o-${i}` });
          }
        }),
      );
    // The ledger is down, not slow: its write waits past SPILL_AFTER_MS before the tail spills.
    await send(100);
    await new Promise((resolve) => setTimeout(resolve, SPILL_AFTER_MS + 2_000));
    await send(1300);
    ledgerDown = false;
    await waitFor(() => acts.ledger.length >= 1300, 'the backlog written', 120_000);
    await saveRuns(env.client, h, 'ledger-outage');
    for await (const wf of env.client.workflow.list({ query: `WorkflowType = 'ledgerSpill'` })) {
      await env.client.workflow.getHandle(wf.workflowId, wf.runId).result();
      const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      writeFileSync(join(OUT, 'ledger-spill-run1.json'), historyToJSON(history));
      break;
    }
    await h.terminate('recorded');
  } finally {
    await worker.stop();
    await env.teardown();
  }
}

const SCENARIOS: Record<string, () => Promise<void>> = {
  'paid-and-trial': recordPaidAndTrial,
  'ledger-outage': recordLedgerOutage,
  'trial-tier': () => recordTrialWithTier('trial-tier'),
  'large-ledger-batch': recordLargeLedgerBatch,
  'busy-account-linger-on-step': recordBusyAccount,
  'rejected-updates': recordRejectedUpdates,
  'update-retries': recordUpdateRetries,
  'full-call-table': recordFullCallTable,
  'void-after-trial': recordVoidAfterTrial,
  'call-rounded-once': recordCallRoundedOnce,
  // Only on the workflow before the patch (see recordTrialWithTier); never part of "every scenario".
  'trial-tier-prepatch': () => recordTrialWithTier('trial-tier-prepatch'),
};
const ON_REQUEST = new Set(['trial-tier-prepatch']);

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  for (const [name, record] of Object.entries(SCENARIOS)) if (wanted.length === 0 ? !ON_REQUEST.has(name) : wanted.includes(name)) await record();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
