/**
 * The data of the account page's "over time" views: usage by day, usage by user, billing
 * history (tier charges made and the next one due) and the ledger of credit movements. One
 * function per view; the page section, the JSON route and the CSV download all take their data
 * from it, so the three never disagree. Also each view's CSV rows, escaped as the ledger export
 * escapes them.
 */
import type { ChargeRequest, LedgerEntry } from '../domain/effects';
import type { AccountSummary } from '../domain/wire-contract';
import { cycleNumber } from '../display';
import { csvNumber, csvText } from '../ledger/csv-export';
import { CREDIT_MOVEMENT_KINDS, type DayUsage, type EntryPageCursor, type UsageTotals, type UserUsage } from '../ledger/history-queries';
import type { EntryFilter, LedgerStore } from '../ledger/store';
import type { Rules } from '../ruleset';
import type { CsvRange } from './csv-query';
import { badRequest } from './errors';

const DAY_MS = 86_400_000;
/** Longest period whose days without usage are filled in as zeros (a year and a day). */
const MAX_FILLED_DAYS = 366;
/** Ledger view page sizes: the default and the most one page may hold. */
export const LEDGER_PAGE_DEFAULT = 25;
const LEDGER_PAGE_MAX = 200;

/** Which period a usage view covers, as asked. */
export type UsagePeriod =
  | { kind: 'cycle'; cycleIndex: number; current: boolean }
  | { kind: 'all' }
  | { kind: 'range'; from: string; to: string };

/** Usage by UTC day. */
export interface UsageByDayView {
  accountId: string;
  period: UsagePeriod;
  /** Every day of the period, oldest first (days without usage as zeros while the period is at most a year). */
  days: DayUsage[];
  total: UsageTotals;
}

/** Usage by user. */
export interface UsageByUserView {
  accountId: string;
  period: UsagePeriod;
  /** Most credits first; `userId: null` gathers what has no user (Voice Agent calls). */
  users: UserUsage[];
  total: UsageTotals;
}

/** One tier charge made. */
export interface ChargeMade {
  chargeId: string;
  at: string;
  tierId: string;
  tierName: string;
  amountCents: number;
  currency: string;
  reason: ChargeRequest['reason'];
  cycleIndex: number;
}

/** The next tier charge, when one is due. */
export interface ChargeDue {
  /** When it is charged: the next cycle start (or the end of a period already paid). */
  at: string;
  tierId: string;
  tierName: string;
  /** The tier's price in the account's rules; null when the rules cannot be read. */
  amountCents: number | null;
  currency: string;
  /** Why it is this tier: the tier held, or the downgrade waiting for the next cycle. */
  basis: 'current_tier' | 'pending_downgrade';
}

/** Billing history: the charges made, newest first, and the next one due. */
export interface BillingHistoryView {
  accountId: string;
  currency: string;
  charges: ChargeMade[];
  /** Sum of the charges made, in cents. */
  totalCents: number;
  next: ChargeDue | null;
  /** Why nothing is due, when nothing is: no tier, or the tier is cancelled at the reset. */
  noneDue: string | null;
}

/** One page of the ledger of credit movements (grants, expiries, forfeits, write-offs, voids). */
export interface CreditLedgerView {
  accountId: string;
  /** Newest first. */
  entries: LedgerEntry[];
  limit: number;
  /** Sequence number the page starts below; null for the newest page. */
  beforeSeq: number | null;
  /** `before` of the next (older) page; null on the last page. */
  nextBeforeSeq: number | null;
  /** `beforeId` of the next (older) page: its last entry's id; null on the last page. */
  nextBeforeId: string | null;
}

/** The period a CSV-style range names, and the ledger filter that reads it. */
function periodOf(summary: AccountSummary, range: CsvRange): { period: UsagePeriod; filter: Omit<EntryFilter, 'kinds'> } {
  const accountId = summary.accountId;
  if (range.kind === 'cycle') {
    return { period: { kind: 'cycle', cycleIndex: range.cycleIndex, current: range.cycleIndex === summary.cycle.index }, filter: { accountId, cycleIndex: range.cycleIndex } };
  }
  if (range.kind === 'all') return { period: { kind: 'all' }, filter: { accountId } };
  return { period: { kind: 'range', from: range.from, to: range.to }, filter: { accountId, from: range.from, to: range.to } };
}

/** The UTC days `[from, to)` covers, or undefined when the period has no known bounds or is too long. */
function daysOf(summary: AccountSummary, period: UsagePeriod): string[] | undefined {
  let bounds: [string, string] | undefined;
  if (period.kind === 'range') bounds = [period.from, period.to];
  if (period.kind === 'cycle' && period.current) bounds = [summary.cycle.start, summary.cycle.end];
  if (!bounds) return undefined;
  const first = Math.floor(Date.parse(bounds[0]) / DAY_MS);
  const last = Math.floor((Date.parse(bounds[1]) - 1) / DAY_MS);
  if (last < first || last - first + 1 > MAX_FILLED_DAYS) return undefined;
  return Array.from({ length: last - first + 1 }, (_, i) => new Date((first + i) * DAY_MS).toISOString().slice(0, 10));
}

function sum(rows: readonly UsageTotals[]): UsageTotals {
  return rows.reduce((t, r) => ({ credits: t.credits + r.credits, uses: t.uses + r.uses, refused: t.refused + r.refused }), { credits: 0, uses: 0, refused: 0 });
}

/** Usage by day of `range` (default: the current cycle, every day of it). */
export async function usageByDayView(store: LedgerStore, summary: AccountSummary, range: CsvRange): Promise<UsageByDayView> {
  const { period, filter } = periodOf(summary, range);
  const found = await store.usageByDay(filter);
  const byDay = new Map(found.map((d) => [d.day, d]));
  const all = daysOf(summary, period);
  // A day outside the filled span (a void after the cycle's end, say) is still shown.
  const days = all ? [...new Set([...all, ...byDay.keys()])].sort() : found.map((d) => d.day);
  const rows = days.map((day) => byDay.get(day) ?? { day, credits: 0, uses: 0, refused: 0 });
  return { accountId: summary.accountId, period, days: rows, total: sum(found) };
}

/** Usage by user of `range`. */
export async function usageByUserView(store: LedgerStore, summary: AccountSummary, range: CsvRange): Promise<UsageByUserView> {
  const { period, filter } = periodOf(summary, range);
  const users = await store.usageByUser(filter);
  return { accountId: summary.accountId, period, users, total: sum(users) };
}

/**
 * The next tier charge the summary implies: the tier held next cycle, at the next cycle start,
 * or when a paid period settles (`tier.nextChargeAt`); none for a closed account.
 */
export function nextCharge(summary: AccountSummary, rules: Rules | undefined, closed = false): { next: ChargeDue | null; noneDue: string | null } {
  if (closed) return { next: null, noneDue: 'The account is closed: it takes no further charge.' };
  const currency = rules?.currency ?? 'USD';
  const pending = summary.pendingTier;
  const tierId = pending ? pending.tier : (summary.tier?.id ?? null);
  if (tierId === null) {
    return { next: null, noneDue: pending ? 'The subscription is cancelled at the reset: no further charge.' : 'No AI credit subscription: nothing is charged.' };
  }
  const paidThrough = summary.tier?.paidThrough;
  // A period paid by an earlier charge (a tier bought in a trial) is not charged again; the
  // workflow says when the cycle it pays in part is settled. A worker from before that said
  // nothing, and charged at the end of the paid period.
  const pastEnd = paidThrough !== undefined && Date.parse(paidThrough) > Date.parse(summary.cycle.end);
  const at = summary.tier?.nextChargeAt ?? (pastEnd ? paidThrough : summary.cycle.end);
  const rule = rules?.tiers.find((t) => t.id === tierId);
  const held = summary.tier?.id === tierId ? summary.tier : undefined;
  return {
    next: {
      at,
      tierId,
      tierName: held?.name ?? rule?.name ?? tierId,
      amountCents: held?.priceCents ?? rule?.priceCents ?? null,
      currency,
      basis: pending ? 'pending_downgrade' : 'current_tier',
    },
    noneDue: null,
  };
}

/** Billing history: the billing record's tier charges, newest first, and the next one due. */
export async function billingHistoryView(store: LedgerStore, summary: AccountSummary, rules: Rules | undefined, closed = false): Promise<BillingHistoryView> {
  const records = await store.listCharges(summary.accountId);
  const tierName = (id: string) => rules?.tiers.find((t) => t.id === id)?.name ?? id;
  const charges = records
    .map((c) => ({ chargeId: c.chargeId, at: c.at, tierId: c.tierId, tierName: tierName(c.tierId), amountCents: c.amountCents, currency: c.currency, reason: c.reason, cycleIndex: c.cycleIndex }))
    .reverse();
  return {
    accountId: summary.accountId,
    currency: rules?.currency ?? charges[0]?.currency ?? 'USD',
    charges,
    totalCents: charges.reduce((t, c) => t + c.amountCents, 0),
    ...nextCharge(summary, rules, closed),
  };
}

/** A whole number query value, or undefined when absent. */
function wholeNumber(query: Record<string, unknown>, name: string, max: number): number | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value.trim()) || Number(value) > max) {
    throw badRequest(`${name} must be a whole number from ${name === 'limit' ? 1 : 0} to ${max} (got ${typeof value === 'string' ? JSON.stringify(value) : 'it several times'})`);
  }
  return Number(value);
}

/** An entry id as a cursor (`<account>:<epoch>:<n>`): the characters ids are made of, bounded. */
const ENTRY_ID = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * The ledger view's query: `before` (a sequence number, from the previous page's link), with
 * `beforeId` (the entry id that page ended at), and `limit` (entries per page, 1-200, default 25).
 *
 * @throws HttpError 400 naming the bad parameter.
 */
export function parseLedgerPageQuery(query: Record<string, unknown>): EntryPageCursor {
  const unknown = Object.keys(query).filter((k) => k !== 'before' && k !== 'beforeId' && k !== 'limit');
  if (unknown.length > 0) throw badRequest(`unknown query parameter ${unknown.join(', ')}: use before=SEQ, beforeId=ID and limit=N`);
  const limit = wholeNumber(query, 'limit', LEDGER_PAGE_MAX) ?? LEDGER_PAGE_DEFAULT;
  if (limit < 1) throw badRequest(`limit must be a whole number from 1 to ${LEDGER_PAGE_MAX} (got 0)`);
  const beforeSeq = wholeNumber(query, 'before', Number.MAX_SAFE_INTEGER);
  const beforeId = query.beforeId;
  if (beforeId === undefined) return beforeSeq === undefined ? { limit } : { limit, beforeSeq };
  if (typeof beforeId !== 'string' || !ENTRY_ID.test(beforeId)) throw badRequest('beforeId must be the entry id the previous page ended at (its nextBeforeId)');
  if (beforeSeq === undefined) throw badRequest('beforeId goes with before: give both, from the previous page');
  return { limit, beforeSeq, beforeId };
}

/** The ledger filter of the credit movements of an account. */
export function creditMovements(accountId: string): EntryFilter {
  return { accountId, kinds: CREDIT_MOVEMENT_KINDS };
}

/** One page of the account's credit movements, newest first. */
export async function creditLedgerView(store: LedgerStore, accountId: string, page: EntryPageCursor): Promise<CreditLedgerView> {
  const found = await store.pageEntries(creditMovements(accountId), page);
  return { accountId, entries: found.entries, limit: page.limit, beforeSeq: page.beforeSeq ?? null, nextBeforeSeq: found.nextBeforeSeq, nextBeforeId: found.nextBeforeId };
}

/** Columns of the usage-by-day CSV. */
export const DAY_CSV_COLUMNS = ['day', 'credits', 'uses', 'refused'] as const;
/** Columns of the usage-by-user CSV. */
export const USER_CSV_COLUMNS = ['user', 'credits', 'uses', 'refused'] as const;
/** Columns of the billing-history CSV; `status` is `charged`, or `due` for the next charge (first row). */
export const BILLING_CSV_COLUMNS = ['status', 'time', 'tier', 'tier_name', 'reason', 'amount_cents', 'currency', 'cycle', 'charge_id'] as const;

/** The usage-by-day view's CSV rows. */
export function dayCsvRows(view: UsageByDayView): string[][] {
  return view.days.map((d) => [csvText(d.day), csvNumber(d.credits), csvNumber(d.uses), csvNumber(d.refused)]);
}

/** The usage-by-user view's CSV rows (an empty user cell for usage without a user). */
export function userCsvRows(view: UsageByUserView): string[][] {
  return view.users.map((u) => [csvText(u.userId), csvNumber(u.credits), csvNumber(u.uses), csvNumber(u.refused)]);
}

/** The billing history's CSV rows: the charge due first, then the charges made, newest first. */
export function billingCsvRows(view: BillingHistoryView): string[][] {
  const due = view.next
    ? [[csvText('due'), csvText(view.next.at), csvText(view.next.tierId), csvText(view.next.tierName), csvText('cycle_start'), csvNumber(view.next.amountCents), csvText(view.next.currency), '', '']]
    : [];
  const made = view.charges.map((c) => [
    csvText('charged'),
    csvText(c.at),
    csvText(c.tierId),
    csvText(c.tierName),
    csvText(c.reason),
    csvNumber(c.amountCents),
    csvText(c.currency),
    // The cycle number people see (from 1), as the page, the usage export and the ledger CSV.
    csvNumber(cycleNumber(c.cycleIndex)),
    csvText(c.chargeId),
  ]);
  return [...due, ...made];
}
