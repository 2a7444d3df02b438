/**
 * Determinism over random sequences, on the time-skipping server: accepted usage (some keys
 * repeated), updates the validators refuse, user, tier and grant changes, ledger outages, and
 * time passing (lingering writes, the balance's throttle, grant expiries, resets and the
 * continue-as-new at each). Afterwards every run of the account replays as a restarting worker
 * would, no workflow task failed, the ledger holds exactly the usage the answers charged, and
 * its last balance is the summary's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ACCOUNT_UPDATES, summaryQuery } from '../../workflows/messages';
import type { RecordUsageResult } from '../../domain/wire-contract';
import { fakeActivities, replayRuns, startAccount, startWorker, timeSkippingEnv, untilOpen, type FakeActivities } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';

/** One step of a sequence. */
type Step =
  | { kind: 'usage'; keys: number[]; quantity: number }
  | { kind: 'refused'; which: number }
  | { kind: 'users'; users: number }
  | { kind: 'tier'; tier: string }
  | { kind: 'grant'; credits: number; cycles: number; key: number }
  | { kind: 'ledger'; down: boolean }
  | { kind: 'sleep'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('usage' as const), keys: fc.array(fc.nat({ max: 60 }), { minLength: 1, maxLength: 40 }), quantity: fc.integer({ min: 1, max: 400 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('refused' as const), which: fc.nat({ max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('users' as const), users: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tier' as const), tier: fc.constantFrom('tier-1', 'tier-2', 'tier-4') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('grant' as const), credits: fc.integer({ min: 1, max: 5_000 }), cycles: fc.integer({ min: 1, max: 2 }), key: fc.nat({ max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ledger' as const), down: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('sleep' as const),
      ms: fc.oneof(fc.integer({ min: 500, max: 20_000 }), fc.integer({ min: 3_600_000, max: 20 * 86_400_000 })),
    }),
  },
);

/** Updates each validator refuses: a negative user count, an unknown feature, a fractional grant. */
const REFUSED = [
  { name: ACCOUNT_UPDATES.setUsers.definition.name, args: [{ users: -1 }] },
  { name: ACCOUNT_UPDATES.recordUsage.definition.name, args: [{ feature: 'no-such-feature', quantity: 1, idempotencyKey: 'x' }] },
  { name: ACCOUNT_UPDATES.grantCredits.definition.name, args: [{ credits: 0.5, reason: 'r', validForCycles: 1, idempotencyKey: 'g' }] },
];

let env: TestWorkflowEnvironment;
let acts: FakeActivities;
let ledgerDown = false;
let worker: Awaited<ReturnType<typeof startWorker>>;
beforeAll(async () => {
  env = await timeSkippingEnv();
  acts = fakeActivities();
  const write = acts.appendLedger.bind(acts);
  acts.appendLedger = async (input) => {
    if (ledgerDown) throw ApplicationFailure.retryable('ledger database unavailable', 'database_unavailable');
    return write(input);
  };
  worker = await startWorker(env, acts);
});
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

async function apply(h: WorkflowHandle, s: Step, sequence: number, charged: { credits: number }): Promise<void> {
  switch (s.kind) {
    case 'usage': {
      const events = s.keys.map((k) => ({ feature: 'enrichment', quantity: s.quantity, idempotencyKey: `seq${sequence}-k${k}` }));
      const { results } = await h.executeUpdate(ACCOUNT_UPDATES.recordUsageBatch.definition, { args: [{ events }] });
      for (const r of results as RecordUsageResult[]) if (r.accepted && !r.duplicate) charged.credits += r.credits;
      return;
    }
    case 'refused': {
      const { name, args } = REFUSED[s.which] as (typeof REFUSED)[number];
      const refusal = await h.executeUpdate(name, { args: args as [unknown] }).catch((err: unknown) => err);
      expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
      return;
    }
    case 'users':
      await h.executeUpdate(ACCOUNT_UPDATES.setUsers.definition, { args: [{ users: s.users }] });
      return;
    case 'tier':
      await h.executeUpdate(ACCOUNT_UPDATES.changeCreditTier.definition, { args: [{ tier: s.tier }] });
      return;
    case 'grant':
      await h.executeUpdate(ACCOUNT_UPDATES.grantCredits.definition, {
        args: [{ credits: s.credits, reason: 'property test', validForCycles: s.cycles, idempotencyKey: `seq${sequence}-g${s.key}` }],
      });
      return;
    case 'ledger':
      ledgerDown = s.down;
      return;
    case 'sleep':
      await env.sleep(s.ms);
      return;
  }
}

describe('random sequences of updates, refusals, outages and time', () => {
  it('replay, fail no workflow task, and leave the ledger equal to the answers and the summary', async () => {
    let sequence = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 24 }), async (steps) => {
        sequence += 1;
        ledgerDown = false;
        const accountId = `determinism-${sequence}`;
        const anchor = new Date((await env.currentTimeMs()) - 3 * 86_400_000).toISOString();
        const h = await startAccount(env.client, worker.taskQueue, { accountId, plan: 'scale', users: 5, cycleAnchor: anchor });
        await untilOpen(h);
        const charged = { credits: 0 };
        for (const s of steps) await apply(h, s, sequence, charged);

        // The ledger back up, and time for every write to land.
        ledgerDown = false;
        await env.sleep('10 minutes');
        const summary = await h.query(summaryQuery);
        const mine = () => acts.ledger.filter((e) => e.accountId === accountId);
        const settled = await waitFor(() => {
          const entries = mine();
          return entries.at(-1)?.balanceAfter === summary.credits.available && entries;
        }, 'the ledger settled on the summary balance');
        const usage = settled.filter((e) => e.kind === 'usage' && e.decision === 'accepted').reduce((sum, e) => sum + e.credits, 0);
        expect(usage).toBe(charged.credits);

        const runs = await replayRuns(env, h);
        expect(runs.length).toBeGreaterThanOrEqual(1);
        const failedTasks = runs.flatMap((run) => (run.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes));
        expect(failedTasks.map((e) => e.workflowTaskFailedEventAttributes?.failure?.message)).toEqual([]);
        await h.terminate('sequence done');
      }),
      { numRuns: 3, endOnFailure: true },
    );
  }, 240_000);
});
