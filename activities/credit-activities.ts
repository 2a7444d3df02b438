/**
 * The activities the account workflow calls, defined once: the workflow proxies this
 * interface, the worker registers an implementation of it, and workflow tests register fakes.
 */
import type { CompactLedgerBatch } from '../domain/ledger-batch';
import type { Rules } from '../ruleset/types';
import type { AlertNotice, ChargeRequest, LedgerEntry, RefusedEntry } from '../domain/effects';
import type { WebhookEvent } from '../domain/webhook-events';
import type { EarlierEpoch } from '../ledger/store';
import type { RestartHistory } from '../domain/input-problems';

/** Result of a charge: the billing system's receipt. */
export interface ChargeReceipt {
  chargeId: string;
  /** False when this charge id had already been charged (a retry): nothing was billed again. */
  charged: boolean;
}

/**
 * What {@link CreditActivities.appendLedger} writes: a compact batch (`batch`, from runs with
 * the `compact-ledger-batches` patch, and far smaller in the history) or plain `entries` (older runs
 * and the spill workflows).
 */
export interface LedgerAppendInput {
  entries?: LedgerEntry[];
  batch?: CompactLedgerBatch;
}

/** What {@link CreditActivities.appendLedger} did with a batch. */
export interface LedgerAppendResult {
  /** Entries newly written (entries already stored are skipped, not counted). */
  written: number;
  /**
   * Entries the ledger refused for their data, each found by splitting the batch; every other
   * entry was written. Absent in results recorded before refusals were isolated: none refused.
   */
  refused?: RefusedEntry[];
}

/** What {@link CreditActivities.deliverWebhook} did with an event. */
export interface WebhookDeliveryResult {
  /** Endpoints subscribed to the event (by type and account). */
  endpoints: number;
  /** Of those, the ones this call delivered to (the others had taken it on an earlier attempt). */
  delivered: number;
  /** Of those, the ones given up on for this event: still failing 3 days after their first attempt. Absent: none. */
  abandoned?: number;
}

/** Everything the account workflow asks of the outside world. */
export interface CreditActivities {
  /**
   * The rules version in force at `at` (the earliest version when `at` precedes them all),
   * loaded from the worker's `CREDITS_RULES` path.
   */
  loadRules(input: { at: string }): Promise<Rules>;
  /**
   * Append ledger entries; entries whose `entryId` is already stored are skipped. Entries the
   * ledger refuses for their data are reported in `refused`, and the others still written.
   */
  appendLedger(input: LedgerAppendInput): Promise<LedgerAppendResult>;
  /** Charge a tier price, at most once per `chargeId`. */
  chargeTier(input: ChargeRequest): Promise<ChargeReceipt>;
  /**
   * Deliver a low-credit alert in-app (once per `alertId`) and by e-mail (once, or given up on;
   * again only if the ledger cannot record that it was sent, under the same Message-ID).
   */
  sendAlert(input: AlertNotice): Promise<{ delivered: boolean }>;
  /**
   * Post a webhook event, signed, to every endpoint subscribed to it that has not yet answered
   * 2xx for its id; fails (retryably) while any of them has not.
   */
  deliverWebhook(input: WebhookEvent): Promise<WebhookDeliveryResult>;
  /**
   * Whether the account's ledger holds entries of a workflow other than the one of `epoch`: the
   * account ran before, under a workflow that has closed. Its latest such entry, or null.
   */
  earlierEpoch(input: { accountId: string; epoch: string }): Promise<EarlierEpoch | null>;
  /**
   * What a closed account started again on purpose must not be given twice: the promotions it
   * was granted under workflows other than the one of `epoch` (each is granted once per
   * account), and the latest tier charge of the account whose paid period holds `at` (the
   * restart's instant), which already paid for a tier; a charge recorded without its paid
   * period counts when made at or after `periodStart` (the billing period the restart opens
   * in). `at` is absent in restarts scheduled before it was sent.
   */
  restartFacts(input: { accountId: string; epoch: string; periodStart: string; at?: string }): Promise<RestartFacts>;
}

/** What {@link CreditActivities.restartFacts} found. */
export type RestartFacts = RestartHistory;
