/**
 * The intake benchmark's ceiling (bench/intake.ts): a workflow whose one update takes a batch
 * of usage events and does nothing with it, so what the benchmark measures is the server's and
 * the SDK's cost of a batch update alone. Bundled on its own, for its own task queue.
 */
import { allHandlersFinished, condition, continueAsNew, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';

/** The no-op batch update: the events ride in, their count comes back. */
export const noopBatchUpdate = defineUpdate<number, [{ events: unknown[] }]>('noopBatch');

/**
 * Answers `noopBatch` updates until the server suggests continue-as-new (a run's history holds
 * every batch's events, and the server refuses a run past 50 MB), then starts a fresh run; the
 * benchmark resends an update the run's end aborted, and terminates the workflow when done.
 */
export async function noopBatchWorkflow(): Promise<void> {
  setHandler(noopBatchUpdate, (batch) => batch.events.length);
  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof noopBatchWorkflow>();
}
