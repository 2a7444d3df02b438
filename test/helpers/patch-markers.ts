/**
 * The patch ids a workflow history's markers record, in order: what tests read to tell that a
 * run took a patched path (and, by their absence, that an ordinary run recorded nothing).
 */
import type { History } from '@temporalio/common/lib/proto-utils';

/** The ids of the `patched()` markers in `history`, in the order they were recorded. */
export function patchIds(history: History): string[] {
  return (history.events ?? [])
    .map((e) => e.markerRecordedEventAttributes)
    .filter((m) => m?.markerName === 'core_patch')
    .flatMap((m) => m?.details?.['patch-data']?.payloads ?? [])
    .map((p) => (JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString('utf8')) as { id: string }).id);
}
