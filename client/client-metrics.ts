/**
 * What the client library counts in the caller's process (infra/metrics.ts): how long each
 * update kept its caller waiting, and the usage answers the caller got. Every usage event is
 * counted once, whether it went alone (`recordUsage`) or in a coalesced `recordUsageBatch`.
 */
import type { RecordUsageBatchAnswer, RecordUsageBatchInput, RecordUsageInput } from '../domain/wire-contract';
import { clientUsageAnswers, secondsSince, updateDuration } from '../infra/metrics';
import { ACCOUNT_UPDATES } from '../workflows/messages';

/** Label of events refused as input: their feature may be anything a caller sent, so it is not a label. */
const INVALID_FEATURE = 'invalid';

function countAnswer(feature: string, answer: RecordUsageBatchAnswer | undefined): void {
  if (answer === undefined) return;
  if (answer.reason === 'invalid_event') {
    clientUsageAnswers.inc({ feature: INVALID_FEATURE, outcome: 'invalid', reason: answer.code });
  } else if (answer.duplicate) {
    clientUsageAnswers.inc({ feature, outcome: 'duplicate' });
  } else if (answer.accepted) {
    clientUsageAnswers.inc({ feature, outcome: 'accepted' });
  } else {
    clientUsageAnswers.inc({ feature, outcome: 'refused', reason: answer.reason ?? 'unknown' });
  }
}

/**
 * Records an update's wait (`startNs` from `process.hrtime.bigint()`) and, for usage updates
 * answered, each event's answer. Never throws: counting must not fail a caller's update.
 */
export function observeUpdate(name: string, startNs: bigint, input: unknown, result: unknown, failed: boolean): void {
  try {
    updateDuration.observe({ update: name, outcome: failed ? 'error' : 'ok' }, secondsSince(startNs));
    if (failed) return;
    if (name === ACCOUNT_UPDATES.recordUsage.definition.name) {
      countAnswer((input as RecordUsageInput).feature, result as RecordUsageBatchAnswer);
    } else if (name === ACCOUNT_UPDATES.recordUsageBatch.definition.name) {
      const { events } = input as RecordUsageBatchInput;
      const { results } = result as { results: RecordUsageBatchAnswer[] };
      results.forEach((answer, i) => countAnswer(events[i]?.feature ?? INVALID_FEATURE, answer));
    }
  } catch {
    // A result of an unexpected shape (an older worker): the update's own answer still stands.
  }
}
