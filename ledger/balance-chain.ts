/**
 * The ledger's running balance followed entry by entry: each entry's `balanceAfter` must be the
 * one before it (same epoch, the sequence number before) moved by what the entry moved
 * (`balanceMove`, the credit core's own rule), and no sequence number may be missing. A break
 * means a row was changed, added or lost after the workflow wrote it; a gap, entries not yet
 * written (a spilled batch), parked, or deleted. Reconciliation follows one cycle this way;
 * {@link readLedgerChain} follows an account's whole ledger, every cycle.
 */
import { balanceMove, epochOfId, type LedgerEntry } from '../domain/effects';
import type { LedgerStore } from './store';

/** An entry whose balance after does not follow from the entry before it. */
export interface BalanceBreak {
  entryId: string;
  seq: number;
  kind: LedgerEntry['kind'];
  cycleIndex: number;
  /** The entry before's balance after, moved by this entry. */
  expected: number;
  balanceAfter: number;
}

/** Sequence numbers missing between two entries read: `from` to `to`, both included. */
export interface SequenceGap {
  from: number;
  to: number;
}

/** How many balance breaks and sequence gaps are kept: the first ones tell where to look. */
export const MAX_REPORTED = 20;

/**
 * The epoch that wrote last among `epochs` (by each one's latest entry time): the running
 * workflow's, when the caller does not know its epoch. Null when there is none.
 */
export function latestEpoch(epochs: ReadonlyMap<string, { latestAt: string }>): string | null {
  let chosen: string | null = null;
  let latest = '';
  for (const [id, e] of epochs) if (chosen === null || e.latestAt > latest) [chosen, latest] = [id, e.latestAt];
  return chosen;
}

/** One epoch's running balance, fed its entries in sequence order. */
export class RunningBalance {
  /** The entry with the highest sequence number so far. */
  last: { entryId: string; seq: number; balanceAfter: number; at: string } | null = null;
  readonly balanceBreaks: BalanceBreak[] = [];
  readonly sequenceGaps: SequenceGap[] = [];

  /** Follows `e`; false for an entry at or before the last one (a duplicate read), which is left out. */
  add(e: LedgerEntry): boolean {
    const previous = this.last;
    if (previous !== null && e.seq <= previous.seq) return false;
    this.last = { entryId: e.entryId, seq: e.seq, balanceAfter: e.balanceAfter, at: e.at };
    if (previous === null) return true;
    if (e.seq > previous.seq + 1) {
      // What the missing entries moved is unknown: the entry after a gap cannot be checked.
      if (this.sequenceGaps.length < MAX_REPORTED) this.sequenceGaps.push({ from: previous.seq + 1, to: e.seq - 1 });
      return true;
    }
    const expected = previous.balanceAfter + balanceMove(e);
    if (e.balanceAfter !== expected && this.balanceBreaks.length < MAX_REPORTED) {
      this.balanceBreaks.push({ entryId: e.entryId, seq: e.seq, kind: e.kind, cycleIndex: e.cycleIndex, expected, balanceAfter: e.balanceAfter });
    }
    return true;
  }
}

/** What following an account's whole ledger found for one epoch. Plain JSON (the admin server sends it as is). */
export interface LedgerChain {
  accountId: string;
  /** The epoch followed (the asked one, or the latest seen); null when the account has no entry. */
  epoch: string | null;
  /** Entries of that epoch followed. */
  entries: number;
  /** The last entry followed, null when none. */
  last: RunningBalance['last'];
  balanceBreaks: BalanceBreak[];
  sequenceGaps: SequenceGap[];
}

/** Follows every epoch of one account's entries (in sequence order within each epoch). */
class AccountChain {
  private readonly epochs = new Map<string, { balance: RunningBalance; entries: number; latestAt: string }>();

  constructor(private readonly accountId: string) {}

  add(e: LedgerEntry): void {
    if (e.accountId !== this.accountId) return;
    const epoch = epochOfId(e.entryId) ?? '';
    const followed = this.epochs.get(epoch) ?? { balance: new RunningBalance(), entries: 0, latestAt: '' };
    this.epochs.set(epoch, followed);
    if (followed.balance.add(e)) followed.entries += 1;
    if (e.at > followed.latestAt) followed.latestAt = e.at;
  }

  chain(epoch: string | null): LedgerChain {
    const chosen = epoch ?? latestEpoch(this.epochs);
    const followed = chosen === null ? undefined : this.epochs.get(chosen);
    return {
      accountId: this.accountId,
      epoch: followed === undefined ? null : chosen,
      entries: followed?.entries ?? 0,
      last: followed?.balance.last ?? null,
      balanceBreaks: followed?.balance.balanceBreaks ?? [],
      sequenceGaps: followed?.balance.sequenceGaps ?? [],
    };
  }
}

/** Follows an account's entries (any order, any epochs) for `epoch` (null: the latest). Pure. */
export function ledgerChainOf(accountId: string, epoch: string | null, entries: Iterable<LedgerEntry>): LedgerChain {
  const chain = new AccountChain(accountId);
  for (const e of [...entries].sort((a, b) => a.seq - b.seq)) chain.add(e);
  return chain.chain(epoch);
}

/** Follows an account's whole ledger from the store: one streamed pass, in sequence order. */
export async function readLedgerChain(store: Pick<LedgerStore, 'streamEntries'>, accountId: string, epoch: string | null): Promise<LedgerChain> {
  const chain = new AccountChain(accountId);
  for await (const e of store.streamEntries({ accountId })) chain.add(e);
  return chain.chain(epoch);
}
