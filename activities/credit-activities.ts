/**
 * The activities the account workflow calls, defined once: the workflow proxies this
 * interface, the worker registers an implementation of it, and workflow tests register fakes.
 */
import type { Rules } from '../ruleset/types';
import type { AlertNotice, ChargeRequest, LedgerEntry } from '../domain/effects';

/** Result of a charge: the billing system's receipt. */
export interface ChargeReceipt {
  chargeId: string;
  /** False when this charge id had already been charged (a retry): nothing was billed again. */
  charged: boolean;
}

/** Everything the account workflow asks of the outside world. */
export interface CreditActivities {
  /**
   * The rules version in force at `at` (the earliest version when `at` precedes them all),
   * loaded from the worker's `CREDITS_RULES` path.
   */
  loadRules(input: { at: string }): Promise<Rules>;
  /** Append ledger entries; entries whose `entryId` is already stored are skipped. */
  appendLedger(input: { entries: LedgerEntry[] }): Promise<{ written: number }>;
  /** Charge a tier price, at most once per `chargeId`. */
  chargeTier(input: ChargeRequest): Promise<ChargeReceipt>;
  /** Deliver a low-credit alert by e-mail and in-app, at most once per `alertId`. */
  sendAlert(input: AlertNotice): Promise<{ delivered: boolean }>;
}
