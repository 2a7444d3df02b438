/**
 * Writing a batch of ledger entries when one of them is poison. The database takes a batch in
 * one transaction, so a single entry it refuses for its data (NUL in a text, a number out of
 * range) would fail its 499 neighbours with it. Splitting the failing batch in halves until
 * each refusal stands alone writes every other entry and names exactly the refused ones, at
 * the cost of about two statements per halving (a handful for one poison in 500).
 */
import type { LedgerEntry, RefusedEntry } from '../domain/effects';
import { LedgerError, isLedgerError } from '../ledger/errors';
import type { LedgerStore } from '../ledger/store';
import type { LedgerAppendResult } from './credit-activities';

/** A refusal of the data itself, which a smaller batch can isolate (not a bad URL or schema). */
function isDataRefusal(err: unknown): boolean {
  return isLedgerError(err) && err.code === 'invalid_input';
}

async function appendHalving(store: LedgerStore, entries: readonly LedgerEntry[], refused: RefusedEntry[]): Promise<number> {
  try {
    return await store.appendEntries(entries);
  } catch (err) {
    if (!isDataRefusal(err)) throw err;
    const [only] = entries;
    if (entries.length === 1 && only !== undefined) {
      // Every entry has a string id (checked before the first write).
      refused.push({ entryId: only.entryId, error: (err as Error).message });
      return 0;
    }
    const middle = Math.ceil(entries.length / 2);
    return (
      (await appendHalving(store, entries.slice(0, middle), refused)) +
      (await appendHalving(store, entries.slice(middle), refused))
    );
  }
}

/**
 * Appends `entries`, isolating the ones the ledger refuses for their data. Each half that
 * succeeds is committed on its own, in order; a transient failure (database down) is thrown
 * as it is, and the retried call skips what was already written.
 *
 * @returns `refused` only when an entry was refused.
 * @throws LedgerError anything but a per-entry data refusal, and `invalid_input` for a batch
 *   that is not a list or holds an entry without an id (then nothing is written).
 */
export async function appendIsolatingRefusals(store: LedgerStore, entries: readonly LedgerEntry[]): Promise<LedgerAppendResult> {
  if (!Array.isArray(entries) || entries.length === 0) return { written: await store.appendEntries(entries) };
  // An entry without a usable id cannot be parked by id, so it fails the whole batch: before
  // anything is written, or the halves before it would be written and the rest refused.
  const unnamed = entries.findIndex((e) => typeof (e as Partial<LedgerEntry> | null)?.entryId !== 'string');
  if (unnamed !== -1) {
    throw new LedgerError('invalid_input', `ledger batch refused whole: entry ${unnamed} (of ${entries.length}) has no entryId string; nothing was written`);
  }
  const refused: RefusedEntry[] = [];
  const written = await appendHalving(store, entries, refused);
  // Without refusals the result is exactly what it always was.
  return refused.length === 0 ? { written } : { written, refused };
}
