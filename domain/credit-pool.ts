/**
 * Credits into and out of an account's pool: a grant added (usable in full at once), the plan's
 * included credits topped up to what the users are due, a debit that lets only a call in
 * progress run past zero, and the write-off of what such a call took past zero.
 *
 * Credits added are credits usable: a balance a call left below zero is not paid back out of
 * the next grant (a customer who buys a tier while paused would stay paused and get less than
 * the answer says). The overage is written off as `call_overage` for finance instead, when
 * credits are next added or at the reset, whichever comes first. Hence, for the cycle:
 * available = granted − used + callOverage (and available = live grants' remaining − overdraft).
 */
import type { GrantSource } from '../ruleset/types';
import type { GrantDebit } from './effects';
import { includedCredits } from '../ruleset/catalog';
import { debitGrants, grantIdOf, grantKeyDigest, type Grant } from './grants';
import { AccountStateError, available, currentPlan, type AccountState } from './account-state';
import { iso } from './calendar';
import { logEntry } from './outbox';

/**
 * Add a grant of `amount` credits expiring at `expiresAt`, and its ledger entry. The whole
 * amount is usable at once: a balance below zero is first written off (see {@link writeOffOverdraft}).
 */
export function addGrant(
  state: AccountState,
  source: GrantSource,
  label: string,
  amount: number,
  expiresAt: string,
  nowMs: number,
  idempotencyKey?: string,
): Grant {
  writeOffOverdraft(state, nowMs, 'when credits were added');
  const grant: Grant = {
    grantId: grantIdOf(++state.counters.grant, state.epoch),
    source,
    label,
    amount,
    remaining: amount,
    grantedAt: iso(nowMs),
    expiresAt,
    seq: state.counters.grant,
    ...(source === 'manual' && idempotencyKey !== undefined ? { key: grantKeyDigest(idempotencyKey) } : {}),
  };
  state.grants.push(grant);
  state.cycleGranted += amount;
  if (available(state) > state.rules.alerts.exhaustedAtBalance) state.exhaustedArmed = true;
  logEntry(state, nowMs, 'grant', amount, {
    grantId: grant.grantId,
    source,
    idempotencyKey,
    note: label,
  });
  return grant;
}

/**
 * Grant the included credits the plan and users are due this cycle beyond those already
 * granted; `label` says why (`included credits` at a cycle start). Returns the credits granted.
 */
export function topUpIncluded(state: AccountState, nowMs: number, label: string): number {
  const plan = currentPlan(state);
  const due = includedCredits(plan, state.users) - state.includedGranted;
  if (due <= 0) return 0;
  state.includedGranted += due;
  addGrant(state, 'included', label === 'included credits' ? `${plan.name} included credits` : `Included credits (${label})`, due, state.cycle.end, nowMs);
  return due;
}

/**
 * Debit the pool. Only a call in progress (`pastZero`) may take more than the balance: what the
 * grants cannot cover becomes overdraft. Anything else was admitted against the balance
 * (usage-commands), so a cost past it is a bug, refused before anything changes.
 */
export function debit(state: AccountState, credits: number, pastZero: boolean): GrantDebit[] {
  if (!pastZero && credits > available(state)) {
    throw new AccountStateError(`a debit of ${credits} credits is more than the ${available(state)} available`);
  }
  const outcome = debitGrants(state.grants, credits, state.rules.consumptionPriority);
  state.overdraft += outcome.shortfall;
  state.cycleUsed += credits;
  return outcome.debits;
}

/**
 * Write off the balance that calls took below zero: one `call_overage` ledger entry of the
 * overage (its balance after is zero), added to the cycle's `callOverage` for finance, and the
 * overdraft cleared. Run before credits are added and at the reset; `when` says which.
 */
export function writeOffOverdraft(state: AccountState, nowMs: number, when: string): void {
  const overage = state.overdraft;
  if (overage <= 0) return;
  state.overdraft = 0;
  state.callOverage = (state.callOverage ?? 0) + overage;
  logEntry(state, nowMs, 'call_overage', overage, { note: `calls ran ${overage} credits past zero; written off ${when}` });
}
