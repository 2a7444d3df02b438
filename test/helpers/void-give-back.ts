/**
 * What a void may give back to spend, read from the ledger the account wrote: the credits its
 * usage took from grants still live, and those it took past zero. Credits it took from a grant
 * that has expired since stay expired.
 */
import type { LedgerEntry } from '../../domain/effects';
import type { Grant } from '../../domain/grants';

/** For the last accepted usage of `key` in `entries`: what it took from grants still in `grants`, and past zero. */
export function spendableGiveBack(entries: readonly LedgerEntry[], grants: readonly Grant[], key: string): { live: number; pastZero: number } {
  const usage = [...entries].reverse().find((e) => e.kind === 'usage' && e.decision === 'accepted' && e.idempotencyKey === key);
  const debits = usage?.debits ?? [];
  let live = 0;
  let debited = 0;
  for (const d of debits) {
    debited += d.credits;
    if (grants.some((g) => g.grantId === d.grantId)) live += d.credits;
  }
  return { live, pastZero: (usage?.credits ?? 0) - debited };
}
