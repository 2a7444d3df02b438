/**
 * `ledgerSpill`: holds a chunk of an account's ledger entries durably until the ledger takes
 * them. While the ledger is down an account's unwritten entries would otherwise pile up in the
 * state that continue-as-new carries, past Temporal's payload limit; the account hands each
 * chunk of its backlog to one of these (its input is in Temporal's history, so nothing is lost
 * when a worker or the account's own run goes away) and carries on.
 */
import { proxyActivities, workflowInfo, log } from '@temporalio/workflow';
import type { CreditActivities } from '../activities/credit-activities';
import type { LedgerEntry } from '../domain/effects';
import { headBatch } from '../domain/state-budget';

/** Workflow type name of a spilled chunk. */
export const LEDGER_SPILL_TYPE = 'ledgerSpill';

/** Input of {@link ledgerSpill}. */
export interface LedgerSpillInput {
  accountId: string;
  entries: LedgerEntry[];
}

/** Most entries written by one activity call (as the account's own outbox does). */
const SPILL_BATCH = 500;

// Unlimited retries: the ledger being down is why this workflow exists. Entries carry their
// stable ids, so a retry, or the account writing the same entry too, never doubles one.
const { appendLedger } = proxyActivities<CreditActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** Write `entries` to the ledger, in order and in batches, then end. */
export async function ledgerSpill(input: LedgerSpillInput): Promise<{ written: number }> {
  let written = 0;
  let rest = input.entries;
  while (rest.length > 0) {
    const batch = rest.slice(0, headBatch(rest.map((entry) => ({ type: 'ledger' as const, entry })), SPILL_BATCH).length);
    try {
      const result = await appendLedger({ entries: batch });
      written += result.written;
      // Entries the ledger refused for their data were isolated by the activity: log them with
      // their ids (billing ops find them in this workflow's input), the rest are written.
      if (result.refused && result.refused.length > 0) {
        log.error('spilled ledger entries refused for good', { accountId: input.accountId, spill: workflowInfo().workflowId, refused: result.refused });
      }
    } catch (err) {
      // Retries are unlimited, so only a refusal for good lands here: log it with the entries'
      // ids (billing ops replay them from this workflow's input) and write the rest.
      log.error('spilled ledger entries refused for good', {
        accountId: input.accountId,
        spill: workflowInfo().workflowId,
        first: batch[0]?.entryId,
        count: batch.length,
        error: err instanceof Error ? err.message : String(err),
      });
    }
    rest = rest.slice(batch.length);
  }
  return { written };
}
