/**
 * Filling an account's open-call places through the client library, as the full-table tests
 * and the replay recorder do.
 */
import type { StartCallResult } from '../../domain/wire-contract';

/**
 * Starts the calls `callIds` ten at a time (the server's in-flight limit per workflow), in
 * order, and returns their answers. Through the client library, a start that arrives while the
 * run hands over to the next is sent again to the new run.
 */
export async function startCallsInTens(start: (callId: string) => Promise<StartCallResult>, callIds: readonly string[]): Promise<StartCallResult[]> {
  const answers: StartCallResult[] = [];
  for (let i = 0; i < callIds.length; i += 10) answers.push(...(await Promise.all(callIds.slice(i, i + 10).map(start))));
  return answers;
}
