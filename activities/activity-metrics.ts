/**
 * What the worker's activities count (infra/metrics.ts). The workflow cannot count (its code
 * is replayed in a sandbox), but every usage decision it makes becomes a ledger entry, so the
 * ledger activity sees each admitted and refused usage exactly when it is written.
 *
 * A write that committed but whose activity was retried (its answer lost) counts its entries
 * again: the counters are for rates and alerts, the ledger stays the record.
 */
import type { LedgerEntry } from '../domain/effects';
import { ledgerWriteDuration, outboxBatchEntries, outboxLag, effectsParked, usageAdmitted, usageAdmittedCredits, usageRefused } from '../infra/metrics';
import type { LedgerAppendResult } from './credit-activities';

/** Counts one successful `appendLedger` batch: its usage decisions, size, lag and parked entries. */
export function countLedgerWrite(entries: readonly LedgerEntry[], result: LedgerAppendResult, seconds: number, nowMs = Date.now()): void {
  ledgerWriteDuration.observe({ outcome: 'ok' }, seconds);
  if (!Array.isArray(entries) || entries.length === 0) return;
  outboxBatchEntries.observe(entries.length);
  const refused = new Set((result.refused ?? []).map((r) => r.entryId));
  if (refused.size > 0) effectsParked.inc({ type: 'ledger' }, refused.size);
  let oldest = Number.POSITIVE_INFINITY;
  for (const entry of entries) {
    const at = Date.parse(entry?.at);
    if (at < oldest) oldest = at;
    if (entry?.kind !== 'usage' || refused.has(entry.entryId)) continue;
    const feature = entry.feature ?? 'unknown';
    if (entry.decision === 'rejected') {
      usageRefused.inc({ feature, reason: entry.reason ?? 'unknown' });
    } else if (entry.decision === 'accepted') {
      usageAdmitted.inc({ feature });
      if (entry.credits > 0) usageAdmittedCredits.inc({ feature }, entry.credits);
    }
  }
  if (Number.isFinite(oldest)) outboxLag.observe(Math.max(0, (nowMs - oldest) / 1000));
}

/** Counts a failed `appendLedger` attempt (the workflow retries it). */
export function countLedgerWriteFailure(seconds: number): void {
  ledgerWriteDuration.observe({ outcome: 'error' }, seconds);
}

/** Counts an effect whose activity failed for good: its workflow parks it. */
export function countParkedEffect(type: 'ledger' | 'charge' | 'alert', failure: unknown): void {
  if ((failure as { nonRetryable?: unknown } | null)?.nonRetryable === true) effectsParked.inc({ type });
}
