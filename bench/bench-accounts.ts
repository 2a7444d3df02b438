/**
 * What the benchmarks share: accounts big enough never to run out (Scale, 10 users, the
 * largest tier) started on a task queue, and usage driven into them by concurrent callers.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { accountWorkflowId, recordUsageUpdate, WORKFLOW_TYPE } from '../workflows/messages';

/** Start `count` accounts named `<prefix>-<n>`, anchored a day ago. */
export function startBenchAccounts(client: Client, taskQueue: string, prefix: string, count: number): Promise<WorkflowHandle[]> {
  const anchor = new Date(Date.now() - 86_400_000).toISOString();
  return Promise.all(
    Array.from({ length: count }, (_, a) =>
      client.workflow.start(WORKFLOW_TYPE, {
        taskQueue,
        workflowId: accountWorkflowId(`${prefix}-${a}`),
        args: [{ accountId: `${prefix}-${a}`, plan: 'scale', users: 10, cycleAnchor: anchor, creditTier: 'tier-17' }],
      }),
    ),
  );
}

/**
 * Send `perAccount` usages of one credit each to every account, `concurrency` in flight per
 * account (the server admits 10); `onLatency` hears each call's time in ms.
 */
export async function driveUsage(handles: WorkflowHandle[], perAccount: number, concurrency: number, onLatency?: (ms: number) => void): Promise<void> {
  await Promise.all(
    handles.map(async (h) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < perAccount) {
            const i = next++;
            const t = performance.now();
            await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 1, idempotencyKey: `b-${i}` }] });
            onLatency?.(performance.now() - t);
          }
        }),
      );
    }),
  );
}
