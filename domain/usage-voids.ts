/**
 * Voids: billing ops reverse a usage of the current cycle by its idempotency key. The usage's
 * credits go back to the grants they were debited from, its feature's counters go down, and a
 * `void` ledger entry records the reversal next to the usage's own entry (negative credits and
 * quantity, and the grants credited back as negative debits).
 *
 * To know which grants a usage debited once its ledger entry has left the outbox, the account
 * keeps a compact record of each credit-charging usage of the current cycle (`voidable`),
 * bounded by {@link VOIDABLE_USAGE_BYTES}: the oldest go first, and all go at the next reset.
 * A grant that has expired since the usage (a trial's credits at the trial's end, a grant whose
 * end a trial conversion moved) takes its credits back and they expire with it at once, as
 * they would have had the usage never happened: a void does not revive a trial that is over
 * nor extend a promotion. Credits the usage took past zero that a later grant has settled go
 * to one grant of the current cycle, {@link RETURNED_CREDITS_LABEL} (source `manual`, expiring
 * with the cycle).
 */
import type { GrantDebit } from './effects';
import type { RecordUsageResult, VoidRejection, VoidUsageInput, VoidUsageResult } from './wire-contract';
import { featureById } from '../ruleset/catalog';
import { fromMicros } from './pricing';
import { grantIdOf, type Grant } from './grants';
import { AccountStateError, available, type AccountState } from './account-state';
import { iso } from './calendar';
import { asDuplicate, type AnswerWindow } from './answers';
import type { RememberedAnswer } from './account-state';
import { logEntry } from './outbox';
import { ownValue } from './own-keys';
import { VOIDABLE_USAGE_BYTES, jsonBytes } from './state-budget';

/**
 * One credit-charging usage of the current cycle, as small as it can be kept (the state
 * carries up to {@link VOIDABLE_USAGE_BYTES} of them).
 */
export interface VoidableUsage {
  /** The usage's idempotency key. */
  k: string;
  /** Its feature id. */
  f: string;
  /** Its quantity in micro-units. */
  m: number;
  /** Credits it was charged. */
  n: number;
  /**
   * The grants it debited, flattened as `[grant seq, credits, grant seq, credits, ...]`; what
   * they did not cover went into the overdraft.
   */
  d: number[];
}

/**
 * Label of the grant that takes back voided credits a later grant settled (the usage took them
 * past zero), and, in runs recorded before voided credits expired with their grant, credits
 * whose own grant had expired since.
 */
export const RETURNED_CREDITS_LABEL = 'Credits returned by voided usage';

// What each voidable list weighs as JSON (its brackets, and each record with its separator),
// cached by list so a usage is not charged for weighing them all; a list without an entry (a
// state just carried, or rebuilt) is weighed once.
const listBytes = new WeakMap<VoidableUsage[], number>();

// The keys each voidable list holds, cached likewise: a usage's check for its own older record
// would otherwise scan the whole list (hundreds of records) on every admitted event.
const listKeys = new WeakMap<VoidableUsage[], Set<string>>();

function keysOf(list: VoidableUsage[]): Set<string> {
  let keys = listKeys.get(list);
  if (keys === undefined) {
    keys = new Set(list.map((r) => r.k));
    listKeys.set(list, keys);
  }
  return keys;
}

function weightOf(list: VoidableUsage[]): number {
  let bytes = listBytes.get(list);
  if (bytes === undefined) {
    bytes = list.reduce((sum, r) => sum + jsonBytes(r) + 1, 1);
    listBytes.set(list, bytes);
  }
  return bytes;
}

/**
 * Keep what a void of an admitted usage would need: its feature, quantity, credits and the
 * grants it debited. Usage that charged no credits is not kept (there is nothing to give back).
 * The oldest records go first once the list outweighs {@link VOIDABLE_USAGE_BYTES}.
 */
export function rememberVoidable(state: AccountState, key: string, feature: string, micros: number, credits: number, debits: readonly GrantDebit[]): void {
  if (credits <= 0) return;
  const d: number[] = [];
  for (const debit of debits) {
    const grant = state.grants.find((g) => g.grantId === debit.grantId);
    if (grant) d.push(grant.seq, debit.credits);
  }
  const list = (state.voidable ??= []);
  // A key seen again after its answer was forgotten is new usage: only its newest record counts.
  const keys = keysOf(list);
  if (keys.has(key)) removeAt(list, list.findIndex((r) => r.k === key));
  const record: VoidableUsage = { k: key, f: feature, m: micros, n: credits, d };
  let bytes = weightOf(list) + jsonBytes(record) + 1;
  list.push(record);
  keys.add(key);
  let drop = 0;
  while (list.length - drop > 1 && bytes > VOIDABLE_USAGE_BYTES) {
    const dropped = list[drop];
    bytes -= jsonBytes(dropped) + 1;
    if (dropped) keys.delete(dropped.k);
    drop += 1;
  }
  // One at a time from the front: V8 moves an array's start in place for `shift`, where
  // `splice(0, n)` copies the whole list, on every admitted event once the list is full.
  for (let i = 0; i < drop; i++) list.shift();
  listBytes.set(list, bytes);
}

/** Forget every voidable usage (at a cycle reset: usage of an earlier cycle cannot be voided). */
export function forgetVoidable(state: AccountState): void {
  delete state.voidable;
}

function removeAt(list: VoidableUsage[], index: number): VoidableUsage | undefined {
  const bytes = weightOf(list);
  const keys = keysOf(list);
  const [removed] = list.splice(index, 1);
  if (removed) {
    listBytes.set(list, bytes - jsonBytes(removed) - 1);
    keys.delete(removed.k);
  }
  return removed;
}

/**
 * Void the usage recorded with `input.idempotencyKey` in the current cycle. A repeat gets the
 * first answer with `duplicate: true`; a refusal (`voided: false` and a reason) changes nothing
 * and is not remembered, so the same void can be sent again. `isCall` says whether the key is
 * the id of a Voice Agent call the account has seen. `expireWithGrant` is asked only when a
 * grant the usage debited has expired since: true (the default) lets those credits expire
 * with it; false gives them to the {@link RETURNED_CREDITS_LABEL} grant instead, as voids did
 * before (the workflow answers it from a patch, so runs recorded then replay).
 */
export function voidUsage(
  state: AccountState,
  answers: AnswerWindow,
  input: VoidUsageInput,
  nowMs: number,
  isCall: (id: string) => boolean,
  expireWithGrant: () => boolean = () => true,
): VoidUsageResult {
  const answerKey = `void:${input.idempotencyKey}`;
  const list = state.voidable ?? [];
  const at = list.findIndex((r) => r.k === input.idempotencyKey);
  if (at < 0 && !answers.has(answerKey)) {
    return { voided: false, reason: whyNotVoidable(state, answers, input.idempotencyKey, isCall), credits: 0, balance: available(state), duplicate: false };
  }
  return answers.once(
    answerKey,
    (): VoidUsageResult => {
      const record = removeAt(list, at);
      if (!record) throw new AccountStateError('a voidable usage vanished between its lookup and its void');
      return reverse(state, record, input.reason, nowMs, expireWithGrant);
    },
    asDuplicate,
  );
}

/**
 * Why the usage of `key` cannot be voided, read from the answers remembered in full (recent
 * usage answers, or older states' `remembered` list), else from the compact memory of keys
 * that charged credits (such a key is simply older than the usages kept for voids).
 */
function whyNotVoidable(state: AccountState, answers: AnswerWindow, key: string, isCall: (id: string) => boolean): VoidRejection {
  const usageKey = `usage:${key}`;
  const full = [...state.remembered, ...(state.recentUsage ?? [])];
  let seen: RememberedAnswer | undefined;
  for (let i = full.length - 1; i >= 0 && !seen; i--) if (full[i]?.key === usageKey) seen = full[i];
  if (seen) {
    const answer = seen.answer as RecordUsageResult;
    if (seen.cycle < state.cycle.index) return 'earlier_cycle';
    if (!answer.accepted) return 'usage_refused';
    return answer.credits === 0 ? 'nothing_charged' : 'void_window_passed';
  }
  if (answers.has(usageKey)) return 'void_window_passed';
  return isCall(key) ? 'call_not_voidable' : 'unknown_usage';
}

/**
 * Give a usage's credits back, take it off the counters, and log the reversal (then, for credits
 * given back to a grant that has expired since, that grant's expiry of them).
 */
function reverse(state: AccountState, record: VoidableUsage, reason: string, nowMs: number, expireWithGrant: () => boolean): VoidUsageResult {
  const returned: GrantDebit[] = [];
  // Credits given back to grants that have expired since the usage: they expire again at once.
  const expiredBack: GrantDebit[] = [];
  let debited = 0;
  let orphaned = 0;
  for (let i = 0; i + 1 < record.d.length; i += 2) {
    const seq = record.d[i] as number;
    const credits = record.d[i + 1] as number;
    debited += credits;
    const grant = state.grants.find((g) => g.seq === seq);
    if (grant) {
      grant.remaining += credits;
      returned.push({ grantId: grant.grantId, credits: -credits });
    } else if (expireWithGrant()) {
      const grantId = grantIdOf(seq, state.epoch);
      returned.push({ grantId, credits: -credits });
      expiredBack.push({ grantId, credits });
    } else orphaned += credits;
  }
  // What the grants did not cover went into the overdraft: take it off what is still owed, then
  // off what was written off as call overage since (never paid, so never given back), and give
  // back only what a later grant has really settled.
  const shortfall = record.n - debited;
  const unsettled = Math.min(state.overdraft, shortfall);
  state.overdraft -= unsettled;
  const writtenOff = Math.min(state.callOverage ?? 0, shortfall - unsettled);
  if (writtenOff > 0) state.callOverage = (state.callOverage ?? 0) - writtenOff;
  orphaned += shortfall - unsettled - writtenOff;
  if (orphaned > 0) returned.push({ grantId: returnGrant(state, orphaned, nowMs).grantId, credits: -orphaned });

  state.cycleUsed -= record.n;
  const usage = ownValue(state.usage, record.f);
  if (usage) {
    usage.micros -= record.m;
    usage.credits -= record.n;
    usage.count -= 1;
  }
  const feature = featureById(state.rules, record.f);
  if (feature?.telephonyMinutes) state.telephonyMicros -= record.m;
  if (available(state) > state.rules.alerts.exhaustedAtBalance) state.exhaustedArmed = true;
  const overdraftNote =
    (unsettled > 0 ? `; ${unsettled} taken off the overdraft` : '') + (writtenOff > 0 ? `; ${writtenOff} taken off the call overage` : '');
  // The void's entry carries the balance with the expired grants' credits back in them, each
  // expiry's the balance once its grant's are gone again: the ledger's running balance steps by each.
  const expired = expiredBack.reduce((sum, back) => sum + back.credits, 0);
  logEntry(state, nowMs, 'void', -record.n, {
    feature: record.f,
    quantity: -fromMicros(record.m),
    unit: feature?.cost?.unit,
    idempotencyKey: record.k,
    debits: returned.length > 0 ? returned : undefined,
    note: `voided: ${reason}${overdraftNote}`,
    balanceAfter: available(state) + expired,
  });
  let stillBack = expired;
  for (const back of expiredBack) {
    // As for any grant ending mid-cycle, what it held comes off the cycle's granted credits.
    state.cycleGranted -= back.credits;
    stillBack -= back.credits;
    logEntry(state, nowMs, 'expiry', back.credits, {
      grantId: back.grantId,
      note: `credits given back by the void of usage ${record.k} to a grant that had expired since`,
      balanceAfter: available(state) + stillBack,
    });
  }
  return { voided: true, credits: record.n, ...(expired > 0 ? { expired } : {}), balance: available(state), duplicate: false };
}

/**
 * The cycle's grant for voided credits that have no grant of their own to go back to, topped
 * up with `credits` (created on first use). Not a new grant of credits but the same credits returned,
 * so the cycle's granted total does not move (the void takes them off the used total instead).
 */
function returnGrant(state: AccountState, credits: number, nowMs: number): Grant {
  const end = state.cycle.end;
  const existing = state.grants.find((g) => g.source === 'manual' && g.label === RETURNED_CREDITS_LABEL && g.expiresAt === end);
  if (existing) {
    existing.amount += credits;
    existing.remaining += credits;
    return existing;
  }
  const seq = ++state.counters.grant;
  const grant: Grant = { grantId: `g${seq}.${state.epoch}`, source: 'manual', label: RETURNED_CREDITS_LABEL, amount: credits, remaining: credits, grantedAt: iso(nowMs), expiresAt: end, seq };
  state.grants.push(grant);
  return grant;
}
