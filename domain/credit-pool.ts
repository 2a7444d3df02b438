/**
 * Credits into and out of an account's pool: a grant added (settling any overdraft first), the
 * plan's included credits topped up to what the users are due, and a debit that lets a call
 * in progress run past zero.
 */
import type { GrantSource } from '../ruleset/types';
import type { GrantDebit } from './effects';
import { includedCredits } from '../ruleset/catalog';
import { debitGrants, type Grant } from './grants';
import { available, currentPlan, iso, type AccountState } from './account-state';
import { logEntry } from './outbox';

/** Add a grant of `amount` credits expiring at `expiresAt`, and its ledger entry. */
export function addGrant(
  state: AccountState,
  source: GrantSource,
  label: string,
  amount: number,
  expiresAt: string,
  nowMs: number,
  idempotencyKey?: string,
): Grant {
  const grant: Grant = {
    grantId: `g${++state.counters.grant}.${state.epoch}`,
    source,
    label,
    amount,
    remaining: amount,
    grantedAt: iso(nowMs),
    expiresAt,
    seq: state.counters.grant,
  };
  // An overdraft left by a call that ran past zero is settled by the next credits added.
  const settle = Math.min(state.overdraft, amount);
  grant.remaining -= settle;
  state.overdraft -= settle;
  state.grants.push(grant);
  state.cycleGranted += amount;
  if (available(state) > state.rules.alerts.exhaustedAtBalance) state.exhaustedArmed = true;
  logEntry(state, nowMs, 'grant', amount, {
    grantId: grant.grantId,
    source,
    idempotencyKey,
    note: settle > 0 ? `${label}; ${settle} settled the overdraft` : label,
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

/** Debit the pool; what the grants cannot cover becomes overdraft (usage admitted above zero is charged in full). */
export function debit(state: AccountState, credits: number): GrantDebit[] {
  const outcome = debitGrants(state.grants, credits, state.rules.consumptionPriority);
  state.overdraft += outcome.shortfall;
  state.cycleUsed += credits;
  return outcome.debits;
}
