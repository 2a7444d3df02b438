/**
 * Records workflow histories from real runs on the time-skipping server into
 * test/fixtures/histories/, for the replay test that guards determinism. Run it again (and
 * commit the result) only when a change to the workflow is meant to be incompatible with
 * histories already recorded, e.g. behind a patch:
 *
 *   npx tsx test/tools/record-replay-histories.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { WorkflowHandle } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { ACCOUNT_UPDATES } from '../../workflows/messages';

const { changeCreditTier, changePlan, endCall, grantCredits, recordUsage, setFeatureEnabled, setUsers, setVoiceAgentActive, startCall } = ACCOUNT_UPDATES;

const OUT = join(__dirname, '..', 'fixtures', 'histories');

/** Follow the chain of runs from the first one (the test server cannot list executions). */
async function saveRuns(suite: WorkflowSuite, handle: WorkflowHandle, name: string): Promise<void> {
  let runId: string | undefined = (handle as WorkflowHandle & { firstExecutionRunId: string }).firstExecutionRunId;
  for (let i = 1; runId; i++) {
    const history: History = await suite.env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    const last = history.events?.[history.events.length - 1];
    const next: string | undefined = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    // A run still open has no end to replay to; the recorded runs are the closed ones.
    if (!next) break;
    writeFileSync(join(OUT, `${name}-run${i}.json`), historyToJSON(history));
    runId = next;
  }
}

async function main(): Promise<void> {
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

    await saveRuns(suite, paid, 'paid-growth');
    await saveRuns(suite, trial, 'trial-conversion');
  } finally {
    await suite.teardown();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
