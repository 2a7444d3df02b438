/**
 * Reconciliation of an account's live summary (the workflow's state, the source of truth) with
 * what the ledger database holds for the same billing cycle: the balance after the last entry,
 * usage by feature, credits used, and the tier charges of the billing record. The comparison
 * is a pure function of two plain values, so it is tested with fixtures; reading the ledger's
 * side is one streamed pass over the cycle's entries plus the account's charges.
 *
 * Which entries count is the credit core's own rule (domain/usage-commands.ts): an accepted
 * `usage` and every `call_end` and `call_part` (a call's part charged at a reset) count with
 * their quantity and credits; a refused `usage` or `call_start` counts as rejected; a `void`
 * takes its usage off again (domain/usage-voids.ts). Entries of another epoch (an earlier
 * workflow of the same account id, terminated and started again) are left out.
 */
import { epochOfId, type ChargeRequest, type LedgerEntry } from '../domain/effects';
import { fromMicros, toMicros } from '../domain/pricing';
import type { AccountSummary, FeatureUsageView } from '../domain/wire-contract';
import { RunningBalance, chargeMadeBy, latestEpoch, type BalanceBreak, type LedgerChain, type SequenceGap } from './balance-chain';
import type { LedgerStore } from './store';

/** Which cycle of which account to read. */
export interface LedgerFactsQuery {
  accountId: string;
  /** The summary's cycle: its index, and its bounds (charges are matched by them too). */
  cycle: { index: number; start: string; end: string };
  /**
   * The running workflow's epoch (the first 8 characters of its first run id), which every
   * ledger id of that workflow carries; null when unknown: the latest epoch seen is used.
   */
  epoch: string | null;
}

/** A tier charge as reconciliation compares it. */
export interface ChargeFact {
  chargeId: string;
  tierId: string;
  amountCents: number;
  reason: ChargeRequest['reason'];
  at: string;
}

/** What the ledger holds for one account's cycle. Plain JSON (the admin server sends it as is). */
export interface LedgerFacts {
  accountId: string;
  cycleIndex: number;
  /** The epoch the facts are about (the asked one, or the latest seen); null when the cycle has no entry. */
  epoch: string | null;
  /** Entries of the cycle that were read, every epoch included. */
  entriesRead: number;
  /** The epoch's entry with the highest sequence number: its balance is the account's once the outbox is drained. */
  last: { entryId: string; seq: number; balanceAfter: number; at: string } | null;
  /** Usage by feature, counted as the summary counts it, sorted by feature. */
  usage: FeatureUsageView[];
  /** Usage keys (`usage:<key>`) and calls (`call:<id>`) that more than one accepted entry charged, and how often. */
  repeated: { key: string; times: number }[];
  /** The billing record's charges of this cycle. */
  charges: ChargeFact[];
  /** The ledger's `charge` entries of this cycle: which charge each logged, and its amount. */
  chargeEntries: { chargeId: string; amountCents: number }[];
  /**
   * The epoch's entries of the cycle whose balance after does not follow from the entry before
   * them (balance-chain.ts): the first {@link MAX_REPORTED}. Absent in facts from an older admin server.
   */
  balanceBreaks?: BalanceBreak[];
  /** Sequence numbers missing between the epoch's entries of the cycle, as ranges: the first {@link MAX_REPORTED}. */
  sequenceGaps?: SequenceGap[];
}

/** Kinds of difference between a summary and its ledger. */
export const LEDGER_DIFFERENCE_CODES = [
  /** The summary could not be read (account not running, Temporal unreachable). */
  'summary_unavailable',
  /** The ledger has no entry of the account's current cycle. */
  'no_entries',
  /** The last entry's balance is not the summary's available balance. */
  'balance',
  /** A feature's quantity, credits, count or rejected count differs. */
  'usage',
  /** The credits used this cycle differ. */
  'used',
  /** One usage key or call was charged by more than one ledger entry. */
  'repeated_charge',
  /** The tier the summary shows was not charged (or charged another amount) this cycle. */
  'tier_charge',
  /** The billing record and the ledger's charge entries disagree. */
  'charge_record',
  /** Effects the receiver refused for good: they will never reach the ledger. */
  'parked_effects',
  /** An entry's balance after is not the entry before's moved by this entry: a row changed, lost or added. */
  'balance_chain',
  /** Sequence numbers are missing between two entries: not yet written (a spilled batch), parked, or deleted. */
  'sequence_gap',
] as const;
/** Kind of difference between a summary and its ledger. */
export type LedgerDifferenceCode = (typeof LEDGER_DIFFERENCE_CODES)[number];

/** One difference, with both sides' values. */
export interface LedgerDifference {
  code: LedgerDifferenceCode;
  /** What differs, e.g. `credits.available` or `usage.enrichment.count`. */
  field: string;
  summary: number | string | null;
  ledger: number | string | null;
  /**
   * Whether waiting can resolve it: effects not yet written (the workflow writes its outbox
   * within seconds, longer during a ledger outage). A repeated charge or a parked effect never goes away.
   */
  mayCatchUp: boolean;
  /** The difference in one sentence. */
  message: string;
}

interface EpochTally {
  /** The running balance, in sequence order; its last entry is the epoch's latest. */
  balance: RunningBalance;
  /** The epoch's earliest entry of the cycle: a period charge made before it is another workflow's. */
  firstAt: string;
  latestAt: string;
  usage: Map<string, { micros: number; credits: number; count: number; rejected: number }>;
  charged: Map<string, number>;
  chargeEntries: { chargeId: string; amountCents: number }[];
}

function newTally(): EpochTally {
  return { balance: new RunningBalance(), firstAt: '', latestAt: '', usage: new Map(), charged: new Map(), chargeEntries: [] };
}

/** Adds one entry to its epoch's tally (the credit core's counting rule). */
function tallyEntry(tally: EpochTally, e: LedgerEntry): void {
  tally.balance.add(e);
  if (e.at > tally.latestAt) tally.latestAt = e.at;
  if (tally.firstAt === '' || e.at < tally.firstAt) tally.firstAt = e.at;
  if (e.kind === 'charge' && e.idempotencyKey !== undefined) {
    tally.chargeEntries.push({ chargeId: e.idempotencyKey, amountCents: e.amountCents ?? 0 });
  }
  if (e.feature === undefined || (e.kind !== 'usage' && e.kind !== 'call_start' && e.kind !== 'call_end' && e.kind !== 'call_part' && e.kind !== 'void')) return;
  const u = tally.usage.get(e.feature) ?? { micros: 0, credits: 0, count: 0, rejected: 0 };
  tally.usage.set(e.feature, u);
  if (e.kind === 'void') {
    // A void reverses one accepted usage: its quantity and credits are negative.
    u.micros += toMicros(e.quantity ?? 0);
    u.credits += e.credits;
    u.count -= 1;
    return;
  }
  if (e.decision === 'rejected') {
    u.rejected += 1;
    return;
  }
  if (e.kind === 'call_start') return;
  u.micros += toMicros(e.quantity ?? 0);
  u.credits += e.credits;
  u.count += 1;
  const key = e.kind === 'usage' ? `usage:${e.idempotencyKey ?? e.entryId}` : `call:${e.callId ?? e.entryId}`;
  tally.charged.set(key, (tally.charged.get(key) ?? 0) + 1);
}

/** Tallies a cycle's entries one at a time, per epoch, so a cycle of any length streams through. */
class CycleTally {
  private readonly tallies = new Map<string, EpochTally>();
  private entriesRead = 0;

  constructor(private readonly query: LedgerFactsQuery) {}

  add(e: LedgerEntry): void {
    if (e.accountId !== this.query.accountId || e.cycleIndex !== this.query.cycle.index) return;
    this.entriesRead += 1;
    const epoch = epochOfId(e.entryId) ?? '';
    const tally = this.tallies.get(epoch) ?? newTally();
    this.tallies.set(epoch, tally);
    tallyEntry(tally, e);
  }

  facts(charges: readonly ChargeRequest[]): LedgerFacts {
    const query = this.query;
    const epoch = query.epoch ?? latestEpoch(this.tallies);
    const tally = (epoch === null ? undefined : this.tallies.get(epoch)) ?? newTally();
    const ownCharge = (c: ChargeRequest) => chargeMadeBy(c, epoch, tally.firstAt);
    const inCycle = (c: ChargeRequest) =>
      c.accountId === query.accountId && c.cycleIndex === query.cycle.index && c.at >= query.cycle.start && c.at < query.cycle.end;
    return {
      accountId: query.accountId,
      cycleIndex: query.cycle.index,
      epoch: tally.balance.last === null ? null : epoch,
      entriesRead: this.entriesRead,
      last: tally.balance.last,
      usage: [...tally.usage]
        .map(([feature, u]) => ({ feature, quantity: fromMicros(u.micros), credits: u.credits, count: u.count, rejected: u.rejected }))
        .sort((a, b) => compareText(a.feature, b.feature)),
      repeated: [...tally.charged].filter(([, n]) => n > 1).map(([key, times]) => ({ key, times })),
      charges: charges
        .filter((c) => inCycle(c) && ownCharge(c))
        .map((c) => ({ chargeId: c.chargeId, tierId: c.tierId, amountCents: c.amountCents, reason: c.reason, at: c.at }))
        .sort(compareCharges),
      chargeEntries: tally.chargeEntries,
      balanceBreaks: tally.balance.balanceBreaks,
      sequenceGaps: tally.balance.sequenceGaps,
    };
  }
}

/** Order of charges made at the same instant: the period's charge first. */
/**
 * The order charges were made in: by time; at one instant (one workflow activation can open a
 * cycle and upgrade its tier) a period's charge before purchases and upgrades, which come in
 * their own order.
 */
export function compareCharges(a: Pick<ChargeRequest, 'at' | 'reason' | 'chargeId'>, b: Pick<ChargeRequest, 'at' | 'reason' | 'chargeId'>): number {
  return compareText(a.at, b.at) || chargeRank(a) - chargeRank(b) || chargeCounter(a) - chargeCounter(b);
}

function chargeRank(c: { reason: ChargeRequest['reason'] }): number {
  return c.reason === 'cycle_start' ? 0 : 1;
}

/** The workflow's own counter in a purchase or upgrade charge id (`<account>:<epoch>:charge:<n>`). */
function chargeCounter(c: { chargeId: string }): number {
  const n = Number(c.chargeId.slice(c.chargeId.lastIndexOf(':') + 1));
  return Number.isSafeInteger(n) ? n : 0;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The facts of one cycle from its entries (any order, any epochs) and the account's charges.
 * Pure: {@link readLedgerFacts} feeds the same tally from the store.
 */
export function ledgerFactsOf(query: LedgerFactsQuery, entries: Iterable<LedgerEntry>, charges: readonly ChargeRequest[]): LedgerFacts {
  const tally = new CycleTally(query);
  // The running balance is followed in sequence order, as the store streams it.
  for (const e of [...entries].sort((a, b) => a.seq - b.seq)) tally.add(e);
  return tally.facts(charges);
}

/**
 * Reads the facts of one account's cycle from the store: one streamed pass over the cycle (in
 * sequence order, which following the running balance needs), and its charges.
 */
export async function readLedgerFacts(store: Pick<LedgerStore, 'streamEntries' | 'listCharges'>, query: LedgerFactsQuery): Promise<LedgerFacts> {
  const tally = new CycleTally(query);
  for await (const e of store.streamEntries({ accountId: query.accountId, cycleIndex: query.cycle.index })) tally.add(e);
  return tally.facts(await store.listCharges(query.accountId));
}

const USAGE_FIELDS = ['quantity', 'credits', 'count', 'rejected'] as const;

function difference(
  code: LedgerDifferenceCode,
  field: string,
  summary: number | string | null,
  ledger: number | string | null,
  message: string,
  mayCatchUp = true,
): LedgerDifference {
  return { code, field, summary, ledger, mayCatchUp, message };
}

/** Differences between two usage tables, feature by feature (a feature missing on one side counts as zeros). */
function usageDifferences(summary: readonly FeatureUsageView[], ledger: readonly FeatureUsageView[]): LedgerDifference[] {
  const zero = (feature: string): FeatureUsageView => ({ feature, quantity: 0, credits: 0, count: 0, rejected: 0 });
  const features = [...new Set([...summary, ...ledger].map((u) => u.feature))].sort();
  const out: LedgerDifference[] = [];
  for (const feature of features) {
    const s = summary.find((u) => u.feature === feature) ?? zero(feature);
    const l = ledger.find((u) => u.feature === feature) ?? zero(feature);
    for (const field of USAGE_FIELDS) {
      // Quantities are compared in the micro-units both sides count in.
      const same = field === 'quantity' ? toMicros(s.quantity) === toMicros(l.quantity) : s[field] === l[field];
      if (!same) {
        out.push(difference('usage', `usage.${feature}.${field}`, s[field], l[field], `${feature} ${field}: summary ${s[field]}, ledger ${l[field]}`));
      }
    }
  }
  return out;
}

/** Differences between the tier the summary shows, the billing record and the ledger's charge entries. */
function chargeDifferences(summary: AccountSummary, facts: LedgerFacts): LedgerDifference[] {
  const out: LedgerDifference[] = [];
  // Downgrades and cancellations wait for the next cycle, so the tier an account is on now is
  // the one its latest charge of this cycle was for (at the cycle start, or a purchase or upgrade).
  const latest = facts.charges.at(-1);
  const tier = summary.tier;
  // A period paid by an earlier cycle's charge (a tier bought during a trial) has none of its own.
  const paidEarlier = tier?.paidThrough !== undefined && latest === undefined;
  if (tier !== null && !paidEarlier && (latest === undefined || latest.tierId !== tier.id || latest.amountCents !== tier.priceCents)) {
    const seen = latest === undefined ? null : `${latest.tierId} ${latest.amountCents}`;
    out.push(
      difference('tier_charge', 'tier', `${tier.id} ${tier.priceCents}`, seen,
        `the account is on ${tier.id} (${tier.priceCents} cents) but the billing record's latest charge this cycle is ${seen ?? 'none'}`),
    );
  }
  if (tier === null && latest !== undefined) {
    out.push(difference('tier_charge', 'tier', null, `${latest.tierId} ${latest.amountCents}`,
      `the account has no tier but the billing record charged ${latest.tierId} this cycle (${latest.chargeId})`, false));
  }
  const recorded = new Map(facts.charges.map((c) => [c.chargeId, c.amountCents]));
  const logged = new Map(facts.chargeEntries.map((c) => [c.chargeId, c.amountCents]));
  for (const [id, cents] of logged) {
    if (recorded.get(id) !== cents) {
      out.push(difference('charge_record', `charge.${id}`, cents, recorded.get(id) ?? null,
        `the ledger logged charge ${id} of ${cents} cents; the billing record has ${recorded.has(id) ? `${recorded.get(id)} cents` : 'no such charge'}`));
    }
  }
  for (const [id, cents] of recorded) {
    if (!logged.has(id)) {
      out.push(difference('charge_record', `charge.${id}`, null, cents, `the billing record has charge ${id} of ${cents} cents that no ledger entry logs`));
    }
  }
  return out;
}

/** The differences a followed running balance found: its breaks (for good) and gaps (which may fill). */
function chainDifferences(breaks: readonly BalanceBreak[], gaps: readonly SequenceGap[]): LedgerDifference[] {
  const out: LedgerDifference[] = [];
  for (const b of breaks) {
    const message =
      b.sharesSeqWith === undefined
        ? `entry ${b.entryId} (${b.kind}) leaves a balance of ${b.balanceAfter}; the entry before it and its own move make ${b.expected}`
        : `entry ${b.entryId} (${b.kind}) has the sequence number ${b.seq} of entry ${b.sharesSeqWith}: a row added after the workflow wrote its ledger`;
    out.push(difference('balance_chain', `entry.${b.seq}`, b.expected, b.balanceAfter, message, false));
  }
  for (const g of gaps) {
    const which = g.from === g.to ? `entry ${g.from} is` : `entries ${g.from}-${g.to} are`;
    out.push(difference('sequence_gap', `seq.${g.from}`, null, g.to - g.from + 1, `${which} missing from the ledger (not yet written, parked, or deleted)`));
  }
  return out;
}

/**
 * The differences in an account's whole ledger (every cycle of the followed epoch): where its
 * running balance breaks, where sequence numbers are missing, and, when the billing record was
 * read, the charges it and the ledger's charge entries disagree on. Pure.
 */
export function ledgerChainDifferences(chain: LedgerChain): LedgerDifference[] {
  const out = chainDifferences(chain.balanceBreaks, chain.sequenceGaps);
  for (const m of chain.chargeMismatches ?? []) {
    const message =
      m.logged === null
        ? `the billing record has charge ${m.chargeId} of ${m.recorded} cents that no ledger entry logs`
        : `the ledger logged charge ${m.chargeId} of ${m.logged} cents; the billing record has ${m.recorded === null ? 'no such charge' : `${m.recorded} cents`}`;
    out.push(difference('charge_record', `charge.${m.chargeId}`, m.logged, m.recorded, message));
  }
  return out;
}

/**
 * Every difference between an account's summary and the ledger's facts of the same cycle;
 * empty when they agree. Pure.
 */
export function reconcileAccount(summary: AccountSummary, facts: LedgerFacts): LedgerDifference[] {
  const out: LedgerDifference[] = [];
  if (summary.parkedEffects > 0) {
    out.push(difference('parked_effects', 'parkedEffects', summary.parkedEffects, 0,
      `${summary.parkedEffects} effect(s) were refused by the ledger for good and parked; see the worker's logs`, false));
  }
  if (facts.last === null) {
    out.push(difference('no_entries', 'entries', null, 0, `the ledger has no entry of cycle ${summary.cycle.index}`));
  } else if (facts.last.balanceAfter !== summary.credits.available) {
    out.push(difference('balance', 'credits.available', summary.credits.available, facts.last.balanceAfter,
      `available balance: summary ${summary.credits.available}, ledger ${facts.last.balanceAfter} (after entry ${facts.last.entryId})`));
  }
  out.push(...usageDifferences(summary.usage, facts.usage));
  const ledgerUsed = facts.usage.reduce((sum, u) => sum + u.credits, 0);
  if (ledgerUsed !== summary.credits.used) {
    out.push(difference('used', 'credits.used', summary.credits.used, ledgerUsed, `credits used: summary ${summary.credits.used}, ledger ${ledgerUsed}`));
  }
  out.push(...chainDifferences(facts.balanceBreaks ?? [], facts.sequenceGaps ?? []));
  for (const { key, times } of facts.repeated) {
    out.push(difference('repeated_charge', key, 1, times, `${key} was charged by ${times} ledger entries`, false));
  }
  out.push(...chargeDifferences(summary, facts));
  return out;
}
