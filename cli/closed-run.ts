/**
 * Whether an account's workflow has closed, for the commands that read a summary: Temporal
 * answers a query of a closed run with its final state, which reads like a healthy account.
 */
import type { CreditsClient } from '../client';
import { accountWorkflowId } from '../workflows/messages';

/** How an account's workflow closed. */
export interface ClosedRun {
  /** Temporal's status in words: `terminated`, `failed`, `completed`, `timed out`, `canceled`. */
  status: string;
  /** When it closed, ISO-8601 UTC; null when the server did not say. */
  closedAt: string | null;
}

/** The account's workflow's close, or null while it runs (or when the server cannot tell). */
export async function closedRunOf(client: CreditsClient, accountId: string): Promise<ClosedRun | null> {
  try {
    const run = await client.temporal.workflow.getHandle(accountWorkflowId(accountId)).describe();
    if (run.status.name === 'RUNNING') return null;
    return { status: run.status.name.toLowerCase().replace(/_/g, ' '), closedAt: run.closeTime?.toISOString() ?? null };
  } catch {
    // The summary read just before says whether the account exists; a describe that fails
    // here (the server gone a moment) must not turn a running account into a closed one.
    return null;
  }
}
