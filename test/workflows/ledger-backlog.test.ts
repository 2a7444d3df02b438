/**
 * A long ledger outage on a busy account (real dev server): the unwritten backlog leaves the
 * carried state through `ledgerSpill` workflows instead of growing it past Temporal's payload
 * limit, usage keeps being answered, every carried state stays within its budget, and once the
 * ledger is back every accepted usage is written exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { devServerEnv, fakeActivities, startAccount, startWorker, untilOpen } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { CreditsClient } from '../../client';
import { summaryQuery } from '../../workflows/messages';
import { CARRIED_STATE_BUDGET_BYTES, SPILL_AT_ENTRIES } from '../../domain/state-budget';
import { LEDGER_BATCH_LARGE, SPILL_AFTER_MS } from '../../workflows/account-credits';

describe('a ledger outage on a busy account', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await devServerEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('spills the backlog durably, keeps every carried state within budget, and loses nothing', async () => {
    const acts = fakeActivities();
    let ledgerDown = true;
    let refusedWrites = 0;
    const write = acts.appendLedger.bind(acts);
    acts.appendLedger = async (input) => {
      if (ledgerDown) {
        refusedWrites += 1;
        throw ApplicationFailure.retryable('ledger database unavailable', 'database_unavailable');
      }
      return write(input);
    };
    const worker = await startWorker(env, acts);
    const anchor = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const h = await startAccount(env.client, worker.taskQueue, { accountId: 'outage-1', plan: 'scale', users: 10, cycleAnchor: anchor });
    await untilOpen(h);

    // Past what one ledger write holds in flight (the tail behind it is what spills).
    const total = LEDGER_BATCH_LARGE + 4 * SPILL_AT_ENTRIES + 300;
    // One update per event (no coalescing), so the runs continue as new by history length.
    const credits = new CreditsClient(env.client, { taskQueue: worker.taskQueue, coalesce: false });
    let next = 0;
    let accepted = 0;
    const send = (upTo: number) =>
      Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < upTo) {
            const i = next++;
            // Through the client library, which sends an update again (same key) when it meets a
            // run handing over to the next under load.
            const r = await credits.recordUsage('outage-1', { feature: 'enrichment', quantity: 1, idempotencyKey: `k-${i}` });
            if (r.accepted) accepted += 1;
          }
        }),
      );
    // A few events, then a pause longer than a slow write may take: the ledger is down, not slow.
    await send(100);
    await new Promise((resolve) => setTimeout(resolve, SPILL_AFTER_MS + 2_000));
    await send(total);
    // Every usage was answered (and admitted) while the ledger was down.
    expect(accepted).toBe(total);
    expect(refusedWrites).toBeGreaterThan(0);
    expect(acts.ledger).toHaveLength(0);

    // The backlog went to spill workflows, started by the account and outliving its runs.
    const spills: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowType = 'ledgerSpill'` })) spills.push(wf.workflowId);
    expect(spills.length).toBeGreaterThan(0);
    expect(spills.every((id) => id.startsWith(`${h.workflowId}:spill:`))).toBe(true);

    // Every state carried by continue-as-new (the input of each later run) fit the budget.
    const runs: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${h.workflowId}'` })) runs.push(wf.runId);
    expect(runs.length).toBeGreaterThan(1);
    for (const runId of runs) {
      const history = await env.client.workflow.getHandle(h.workflowId, runId).fetchHistory();
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      const carried = started?.input?.payloads?.[1]?.data;
      if (carried) expect(carried.length).toBeLessThan(CARRIED_STATE_BUDGET_BYTES);
    }

    // The ledger comes back: every usage lands exactly once, from the outbox or a spill.
    ledgerDown = false;
    await waitFor(
      () => acts.ledger.filter((e) => e.accountId === 'outage-1' && e.kind === 'usage').length === total,
      'every usage entry in the ledger',
      90_000,
    );
    const ids = acts.ledger.map((e) => e.entryId);
    expect(new Set(ids).size).toBe(ids.length);
    const s = await h.query(summaryQuery);
    expect(s.credits.used).toBe(total);
    await h.terminate('test over');
    await worker.stop();
  }, 240_000);
});
