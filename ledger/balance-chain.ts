/**
 * The ledger's running balance followed entry by entry: each entry's `balanceAfter` must be the
 * one before it (same epoch, the sequence number before) moved by what the entry moved
 * (`balanceMove`, the credit core's own rule), and no sequence number may be missing. A break
 * means a row was changed, added or lost after the workflow wrote it; a gap, entries not yet
 * written (a spilled batch), parked, or deleted. Reconciliation follows one cycle this way;
 * {@link readLedgerChain} follows an account's whole ledger, every cycle.
 */
import { balanceMove, epochOfId, type ChargeRequest, type LedgerEntry } from '../domain/effects';
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
  /** Set when this entry has the sequence number of another (`entryId`): a row added. */
  sharesSeqWith?: string;
}

/** Sequence numbers missing between two entries read: `from` to `to`, both included. */
export interface SequenceGap {
  from: number;
  to: number;
}

/**
 * A charge on which the ledger's `charge` entries and the billing record disagree, in any cycle
 * of the followed epoch: `logged` is what the ledger's entry says (null: no entry logs it),
 * `recorded` what the billing record holds (null: no such charge).
 */
export interface ChargeMismatch {
  chargeId: string;
  logged: number | null;
  recorded: number | null;
}

/**
 * Whether workflow `epoch`, whose first entry (of the ledger, or of the cycle read) is at
 * `firstAt`, made charge `c`: its purchases and upgrades carry its epoch in their ids; a
 * period's charge is keyed by the period, not the workflow, so one made before the epoch's first
 * entry was an earlier workflow's (a restarted account does not charge a period already paid).
 */
export function chargeMadeBy(c: Pick<ChargeRequest, 'chargeId' | 'reason' | 'at'>, epoch: string | null, firstAt: string): boolean {
  return c.reason === 'cycle_start' ? c.at >= firstAt : epoch !== null && epochOfId(c.chargeId) === epoch;
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

/**
 * One epoch's running balance, fed its entries in sequence order. `fromStart`: the entries are
 * the epoch's whole ledger, so the first must be sequence number 1 and move the balance from 0
 * (a workflow's first entry opens the account with nothing); otherwise (one cycle's entries)
 * the first entry is taken as it is.
 */
export class RunningBalance {
  /** The entry with the highest sequence number so far. */
  last: { entryId: string; seq: number; balanceAfter: number; at: string } | null = null;
  readonly balanceBreaks: BalanceBreak[] = [];
  readonly sequenceGaps: SequenceGap[] = [];

  constructor(private readonly fromStart = false) {}

  /**
   * Follows `e`; false for an entry at or before the last one, which is left out: a duplicate
   * read of an entry already followed, or, when it has the last one's sequence number under
   * another id, a row added (reported as a break).
   */
  add(e: LedgerEntry): boolean {
    const previous = this.last;
    if (previous !== null && e.seq <= previous.seq) {
      if (e.seq === previous.seq && e.entryId !== previous.entryId) {
        this.breakAt(e, previous.balanceAfter, previous.entryId);
      }
      return false;
    }
    this.last = { entryId: e.entryId, seq: e.seq, balanceAfter: e.balanceAfter, at: e.at };
    const before = previous ?? (this.fromStart ? { seq: 0, balanceAfter: 0 } : null);
    if (before === null) return true;
    if (e.seq > before.seq + 1) {
      // What the missing entries moved is unknown: the entry after a gap cannot be checked.
      if (this.sequenceGaps.length < MAX_REPORTED) this.sequenceGaps.push({ from: before.seq + 1, to: e.seq - 1 });
      return true;
    }
    const expected = before.balanceAfter + balanceMove(e);
    if (e.balanceAfter !== expected) this.breakAt(e, expected);
    return true;
  }

  private breakAt(e: LedgerEntry, expected: number, sharesSeqWith?: string): void {
    if (this.balanceBreaks.length >= MAX_REPORTED) return;
    this.balanceBreaks.push({
      entryId: e.entryId,
      seq: e.seq,
      kind: e.kind,
      cycleIndex: e.cycleIndex,
      expected,
      balanceAfter: e.balanceAfter,
      ...(sharesSeqWith === undefined ? {} : { sharesSeqWith }),
    });
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
  /**
   * Charges the epoch's `charge` entries and the billing record disagree on, in every cycle
   * (the first {@link MAX_REPORTED}); absent when the billing record was not read.
   */
  chargeMismatches?: ChargeMismatch[];
}

interface FollowedEpoch {
  balance: RunningBalance;
  entries: number;
  firstAt: string;
  latestAt: string;
  /** The epoch's `charge` entries: charge id to amount logged. */
  charges: Map<string, number>;
}

/** Follows every epoch of one account's entries (in sequence order within each epoch). */
class AccountChain {
  private readonly epochs = new Map<string, FollowedEpoch>();

  constructor(private readonly accountId: string) {}

  add(e: LedgerEntry): void {
    if (e.accountId !== this.accountId) return;
    const epoch = epochOfId(e.entryId) ?? '';
    const followed = this.epochs.get(epoch) ?? { balance: new RunningBalance(true), entries: 0, firstAt: e.at, latestAt: '', charges: new Map<string, number>() };
    this.epochs.set(epoch, followed);
    if (followed.balance.add(e)) {
      followed.entries += 1;
      if (e.kind === 'charge' && e.idempotencyKey !== undefined) followed.charges.set(e.idempotencyKey, e.amountCents ?? 0);
    }
    if (e.at > followed.latestAt) followed.latestAt = e.at;
    if (e.at < followed.firstAt) followed.firstAt = e.at;
  }

  chain(epoch: string | null, billing?: readonly ChargeRequest[]): LedgerChain {
    const chosen = epoch ?? latestEpoch(this.epochs);
    const followed = chosen === null ? undefined : this.epochs.get(chosen);
    return {
      accountId: this.accountId,
      epoch: followed === undefined ? null : chosen,
      entries: followed?.entries ?? 0,
      last: followed?.balance.last ?? null,
      balanceBreaks: followed?.balance.balanceBreaks ?? [],
      sequenceGaps: followed?.balance.sequenceGaps ?? [],
      ...(billing === undefined ? {} : { chargeMismatches: followed && chosen !== null ? chargeMismatches(chosen, followed, billing) : [] }),
    };
  }
}

/**
 * Where the epoch's charge entries and the billing record disagree: each logged charge must be
 * recorded at its amount, and each charge the epoch made ({@link chargeMadeBy}) must be logged.
 */
function chargeMismatches(epoch: string, followed: FollowedEpoch, billing: readonly ChargeRequest[]): ChargeMismatch[] {
  const recorded = new Map(billing.map((c) => [c.chargeId, c.amountCents]));
  const out: ChargeMismatch[] = [];
  for (const [chargeId, logged] of followed.charges) {
    const amount = recorded.get(chargeId);
    if (amount !== logged) out.push({ chargeId, logged, recorded: amount ?? null });
  }
  for (const c of billing) if (chargeMadeBy(c, epoch, followed.firstAt) && !followed.charges.has(c.chargeId)) out.push({ chargeId: c.chargeId, logged: null, recorded: c.amountCents });
  return out.slice(0, MAX_REPORTED);
}

/**
 * Follows an account's entries (any order, any epochs) for `epoch` (null: the latest); with
 * `billing` (the account's charges), also compares its charge entries with them. Pure.
 */
export function ledgerChainOf(accountId: string, epoch: string | null, entries: Iterable<LedgerEntry>, billing?: readonly ChargeRequest[]): LedgerChain {
  const chain = new AccountChain(accountId);
  for (const e of [...entries].sort((a, b) => a.seq - b.seq)) chain.add(e);
  return chain.chain(epoch, billing);
}

/**
 * Follows an account's whole ledger from the store (one streamed pass, in sequence order), and
 * compares its charge entries with the account's billing record.
 */
export async function readLedgerChain(store: Pick<LedgerStore, 'streamEntries' | 'listCharges'>, accountId: string, epoch: string | null): Promise<LedgerChain> {
  const chain = new AccountChain(accountId);
  for await (const e of store.streamEntries({ accountId })) chain.add(e);
  return chain.chain(epoch, await store.listCharges(accountId));
}
