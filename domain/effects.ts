/**
 * What the credit core asks the outside world to do: write ledger entries, charge a tier
 * price, notify admins. The core only describes them (it stays pure and replay-safe); the
 * workflow hands them to activities. Every effect carries a stable id derived from the
 * account's own counters, so an activity that is retried, or re-run after continue-as-new,
 * is recognised by its receiver and never bills, writes or notifies twice.
 */
import type { GrantSource } from '../ruleset/types';
import type { AlertState, UsageRejection, CallRejection } from './wire-contract';

/**
 * Kinds of ledger entry. `call_overage`: credits calls took past zero, written off for finance
 * when credits were next added or at the reset (`overdraft_write_off` is its name in entries
 * written before; no longer written).
 */
export const LEDGER_KINDS = [
  'usage',
  'call_start',
  'call_end',
  'grant',
  'expiry',
  'forfeit',
  'overdraft_write_off',
  'charge',
  'alert',
  'plan_change',
  'tier_change',
  'users_change',
  'feature_toggle',
  'agent_toggle',
  'cycle_start',
  'call_overage',
  // The part of a Voice Agent call still open at a reset, charged to the cycle it ran in.
  'call_part',
  'void',
  'admins_change',
  'tags_change',
] as const;
/** Kind of ledger entry. */
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** How many credits one grant gave up to one debit (negative in a `void` entry: what the grant got back). */
export interface GrantDebit {
  grantId: string;
  credits: number;
}

/** One append-only ledger entry. Absent fields are omitted (not null) to keep histories small. */
export interface LedgerEntry {
  /** Stable id: `<accountId>:<epoch>:<sequence>`; the ledger ignores an id it already holds. */
  entryId: string;
  accountId: string;
  /** Per-account sequence number, strictly increasing. */
  seq: number;
  /** UTC ISO-8601 instant (workflow time). */
  at: string;
  kind: LedgerKind;
  cycleIndex: number;
  /**
   * Credits moved by this entry: debited for usage, granted for a grant, lost for an expiry;
   * negative for a `void`, which reverses a usage (its quantity is negative too).
   */
  credits: number;
  /** Available balance after the entry. */
  balanceAfter: number;
  rulesVersion: string;
  feature?: string;
  quantity?: number;
  unit?: string;
  userId?: string;
  idempotencyKey?: string;
  decision?: 'accepted' | 'rejected';
  reason?: UsageRejection | CallRejection;
  debits?: GrantDebit[];
  grantId?: string;
  source?: GrantSource;
  amountCents?: number;
  callId?: string;
  agentId?: string;
  /** Free text for people: a grant's reason, a change's from -> to. */
  note?: string;
}

/**
 * The start of every id one workflow of an account writes (`<accountId>:<epoch>:`, then a
 * ledger entry's sequence number, `charge:<n>` or `alert:...`): account ids hold no colon, so
 * the prefix names that workflow's entries, charges and alerts.
 */
export function ledgerIdPrefix(accountId: string, epoch: string): string {
  return `${accountId}:${epoch}:`;
}

/**
 * The id of a billing period's tier charge: keyed by the account and the period's start, not by
 * the workflow, so no workflow of the account bills one period twice.
 */
export function periodChargeId(accountId: string, periodStart: string): string {
  return `${accountId}:tier:${periodStart}`;
}

/** The epoch part of a ledger id `<accountId>:<epoch>:...` (see {@link ledgerIdPrefix}). */
export function epochOfId(id: string): string | undefined {
  return id.split(':')[1];
}

/**
 * How an entry moves the available balance, from its kind and `credits`: what the ledger's
 * running balance steps by, so that each entry's `balanceAfter` is the one before it (same
 * epoch, the sequence number before) plus this. Grants add their credits and a write-off of
 * calls' overage brings the balance back up to zero; accepted usage, a call's charged part or
 * end, an expiry and a forfeit take theirs off (a `void`'s credits are negative: it gives them
 * back); every other kind moves nothing.
 */
export function balanceMove(entry: Pick<LedgerEntry, 'kind' | 'credits' | 'decision'>): number {
  switch (entry.kind) {
    case 'grant':
    case 'call_overage':
    case 'overdraft_write_off':
      return entry.credits;
    case 'usage':
      return entry.decision === 'rejected' ? 0 : -entry.credits;
    case 'call_end':
    case 'call_part':
    case 'void':
    case 'expiry':
    case 'forfeit':
      return -entry.credits;
    default:
      return 0;
  }
}

/** A tier charge: at each cycle start, and on purchase or upgrade (full price, no proration). */
export interface ChargeRequest {
  /** Stable id; the billing system charges each id at most once. */
  chargeId: string;
  accountId: string;
  at: string;
  tierId: string;
  amountCents: number;
  currency: string;
  reason: 'cycle_start' | 'purchase' | 'upgrade';
  cycleIndex: number;
  rulesVersion: string;
  /**
   * The end of the period the charge pays the tier for: the end of the cycle it was made in.
   * A closed account started again on purpose before then is not charged for the tier again
   * (see `restartFacts`), whatever calendar it restarts on. Absent in charges made before it
   * was recorded.
   */
  paidThrough?: string;
}

/** A low-credit notification for the account's admins. */
export interface AlertNotice {
  /**
   * Stable id; the notifier sends each id once. Only if the ledger cannot record that the mail
   * server took it (the ledger down for seconds right then) may a later attempt send it again,
   * with the same Message-ID, by which mail clients drop the copy.
   */
  alertId: string;
  accountId: string;
  at: string;
  state: Exclude<AlertState, 'ok'>;
  admins: string[];
  cycleIndex: number;
  cycleEnd: string;
  available: number;
  granted: number;
  used: number;
  /** Projected instant the balance reaches zero at the cycle's burn rate so far, if any. */
  projectedRunOutAt: string | null;
  rulesVersion: string;
  /**
   * Present when the account is on trial: its credits are the trial's one grant, which no
   * reset renews, so the message must not promise one. `endsAt` is when they expire, null when
   * they last until the account converts. Absent in alerts queued before it existed.
   */
  trial?: { endsAt: string | null };
}

/** Work the workflow owes the outside world, kept in its state until an activity confirms it. */
export type Effect =
  | { type: 'ledger'; entry: LedgerEntry }
  | { type: 'charge'; charge: ChargeRequest }
  | { type: 'alert'; alert: AlertNotice };

/**
 * A ledger entry its receiver refused for its data (text the database cannot store, a number
 * out of range): retrying it can never succeed, so it is parked while the rest of its batch
 * is written.
 */
export interface RefusedEntry {
  entryId: string;
  /** Why, as the receiver said it (short: refused values are quoted as a prefix only). */
  error: string;
}
