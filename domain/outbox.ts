/**
 * The account's outbox: effects queued in its state for the workflow to hand to activities
 * (ledger entries, tier charges, low-credit alerts), each with a stable id built from the
 * account's own counters, and the peek, acknowledge and park steps that drain the queue.
 */
import type { TierRule } from '../ruleset/types';
import { ledgerIdPrefix, periodChargeId, type Effect, type LedgerEntry, type RefusedEntry } from './effects';
import { MAX_PARKED, alertStateOf, available, type AccountState } from './account-state';
import { iso } from './calendar';
import { headBatch } from './state-budget';

// Bound once: in the workflow sandbox each lookup of a global costs about 0.3 µs (see
// domain/digest.ts), and a ledger entry is queued for every usage event.
const { entries: entriesOf } = Object;

/**
 * Queue a ledger entry of `kind` moving `credits`, with the balance as it stands after the
 * change. Undefined fields of `extra` are left out of the entry rather than written as null.
 */
export function logEntry(state: AccountState, nowMs: number, kind: LedgerEntry['kind'], credits: number, extra: Partial<LedgerEntry>): void {
  const seq = ++state.counters.entry;
  const entry: LedgerEntry = {
    entryId: `${ledgerIdPrefix(state.accountId, state.epoch)}${seq}`,
    accountId: state.accountId,
    seq,
    at: iso(nowMs),
    kind,
    cycleIndex: state.cycle.index,
    credits,
    balanceAfter: available(state),
    rulesVersion: state.rules.version,
  };
  for (const [k, v] of entriesOf(extra)) if (v !== undefined) (entry as unknown as Record<string, unknown>)[k] = v;
  state.outbox.push({ type: 'ledger', entry });
}

/** Queue a charge of the tier's full price, and its ledger entry. */
export function chargeTier(state: AccountState, tier: TierRule, reason: 'cycle_start' | 'purchase' | 'upgrade', nowMs: number): void {
  // A cycle's tier charge is keyed by the billing period itself, so the same period is never
  // billed twice, even by a restarted workflow; purchases and upgrades by this workflow's own count.
  const chargeId =
    reason === 'cycle_start' ? periodChargeId(state.accountId, state.cycle.start) : `${ledgerIdPrefix(state.accountId, state.epoch)}charge:${++state.counters.charge}`;
  state.outbox.push({
    type: 'charge',
    charge: {
      chargeId,
      accountId: state.accountId,
      at: iso(nowMs),
      tierId: tier.id,
      amountCents: tier.priceCents,
      currency: state.rules.currency,
      reason,
      cycleIndex: state.cycle.index,
      rulesVersion: state.rules.version,
      paidThrough: state.cycle.end,
    },
  });
  logEntry(state, nowMs, 'charge', 0, { amountCents: tier.priceCents, note: `${tier.name} ${reason.replace('_', ' ')}`, idempotencyKey: chargeId });
}

/** Queue the alerts now due, each once: warning once per cycle; exhausted again only after credits were added. */
export function queueDueAlerts(state: AccountState, nowMs: number): void {
  const projection = alertStateOf(state, nowMs);
  if (projection.state === 'exhausted' && state.exhaustedArmed) {
    state.exhaustedArmed = false;
    queueAlert(state, 'exhausted', projection.projectedRunOutMs, nowMs);
  } else if (projection.state === 'warning' && !state.warningSent) {
    state.warningSent = true;
    queueAlert(state, 'warning', projection.projectedRunOutMs, nowMs);
  }
}

/**
 * After a command that added credits (a grant, more users, a tier, a void): a warning already
 * sent this cycle is armed again once the account is out of the warning, so crossing the line
 * again warns again, as exhausted does after credits were added. Without credits added a
 * warning is not armed again, so a pace that merely slows and picks up warns once a cycle.
 * `followBalance` is asked only when it would change something (a workflow's patch).
 */
export function rearmWarningAfterCredits(state: AccountState, availableBefore: number, nowMs: number, followBalance: () => boolean): void {
  if (!state.warningSent || available(state) <= availableBefore) return;
  if (alertStateOf(state, nowMs).state !== 'ok') return;
  if (followBalance()) state.warningSent = false;
}

function queueAlert(state: AccountState, alert: 'warning' | 'exhausted', runOutMs: number | null, nowMs: number): void {
  const alertId = `${ledgerIdPrefix(state.accountId, state.epoch)}alert:${state.cycle.index}:${alert}:${++state.counters.alert}`;
  state.outbox.push({
    type: 'alert',
    alert: {
      alertId,
      accountId: state.accountId,
      at: iso(nowMs),
      state: alert,
      admins: [...state.admins],
      cycleIndex: state.cycle.index,
      cycleEnd: state.cycle.end,
      available: available(state),
      granted: state.cycleGranted,
      used: state.cycleUsed,
      projectedRunOutAt: runOutMs === null ? null : iso(runOutMs),
      rulesVersion: state.rules.version,
      ...(state.trial ? { trial: { endsAt: state.trialGrant?.endsAt ?? null } } : {}),
    },
  });
  logEntry(state, nowMs, 'alert', 0, { note: alert, idempotencyKey: alertId });
}

/**
 * The outbox's head for one activity call: a charge or alert alone, or a run of ledger entries
 * of at most `max` entries and a bounded number of bytes.
 */
export function peekOutbox(state: AccountState, max: number, maxBytes?: number): Effect[] {
  return headBatch(state.outbox, max, maxBytes);
}

/** Drop the first `count` effects once an activity has confirmed them. */
export function ackOutbox(state: AccountState, count: number): void {
  state.outbox.splice(0, count);
}

/** Set the first `count` effects aside after a non-retryable failure, so the rest can go on. */
export function parkOutbox(state: AccountState, count: number, error: string, nowMs: number): void {
  parkEffects(state, state.outbox.splice(0, count).map((effect) => ({ effect, error })), nowMs);
}

/**
 * Set aside exactly the ledger entries among the first `count` effects that the receiver
 * refused (by entry id), each with its own reason; the others stay at the head of the
 * outbox, in order, for the caller to acknowledge.
 *
 * @returns how many effects were parked, so the caller acknowledges `count` minus that.
 */
export function parkRefusedEntries(state: AccountState, count: number, refused: readonly RefusedEntry[], nowMs: number): number {
  const reasons = new Map(refused.map((r) => [r.entryId, r.error]));
  const kept: Effect[] = [];
  const set: { effect: Effect; error: string }[] = [];
  for (const effect of state.outbox.slice(0, count)) {
    const error = effect.type === 'ledger' ? reasons.get(effect.entry.entryId) : undefined;
    if (error === undefined) kept.push(effect);
    else set.push({ effect, error });
  }
  state.outbox.splice(0, count, ...kept);
  parkEffects(state, set, nowMs);
  return set.length;
}

function parkEffects(state: AccountState, effects: readonly { effect: Effect; error: string }[], nowMs: number): void {
  const parked = (state.parked ??= []);
  for (const { effect, error } of effects) parked.push({ effect, at: iso(nowMs), error });
  if (parked.length > MAX_PARKED) parked.splice(0, parked.length - MAX_PARKED);
}
