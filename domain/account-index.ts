/**
 * What billing ops search accounts by: a handful of facts of the account's state, small and
 * flat, that the workflow publishes as Temporal search attributes (workflows/search-attributes.ts).
 */
import type { AlertState } from './wire-contract';
import { alertStateOf, available, type AccountState } from './account-state';

/** The searchable facts of one account. */
export interface AccountIndex {
  plan: string;
  /** The AI Credit Subscription tier held, or null for none. */
  tier: string | null;
  trial: boolean;
  alert: AlertState;
  /** Credits usable now (negative while calls in progress run past zero). */
  available: number;
  /** End of the current cycle (ISO-8601). */
  cycleEnd: string;
  tags: string[];
  /** Effects a receiver refused for good, set aside for billing ops. */
  parkedEffects: number;
}

/** The account's searchable facts at `nowMs` (the alert state may depend on the burn rate). */
export function accountIndexOf(state: AccountState, nowMs: number): AccountIndex {
  return {
    plan: state.planId,
    tier: state.tierId,
    trial: state.trial,
    alert: alertStateOf(state, nowMs).state,
    available: available(state),
    cycleEnd: state.cycle.end,
    tags: state.tags,
    parkedEffects: state.parked?.length ?? 0,
  };
}
