/**
 * The usage ledger's storage interface: one append-only history per account (every usage
 * decision, grant, expiry, charge and alert), the billing record of tier charges, and the
 * in-app notifications with their e-mail delivery state. Implemented once in SQL
 * (`sql-store.ts`) over the embedded PGlite database or a PostgreSQL server.
 */
import type { FeatureUsageView } from '../domain/wire-contract';
import type { AlertNotice, ChargeRequest, LedgerEntry, LedgerKind } from '../domain/effects';
import type { WebhookAttempt, WebhookLogFilter, WebhookProgress } from './webhook-deliveries';
import type { DayUsage, EntryPage, EntryPageCursor, UserUsage } from './history-queries';

/** Which entries of one account to read. */
export interface EntryFilter {
  accountId: string;
  /** Entries at or after this UTC ISO-8601 instant. */
  from?: string;
  /** Entries strictly before this UTC ISO-8601 instant. */
  to?: string;
  /** Entries of this billing cycle only. */
  cycleIndex?: number;
  /** Entries of these kinds only; all kinds when absent. */
  kinds?: readonly LedgerKind[];
}

/** How {@link LedgerStore.streamEntries} reads. */
export interface StreamOptions {
  /** Rows fetched per round trip; memory use is bounded by this, not by the history's length. Default 1000. */
  pageSize?: number;
}

/** A charge as the billing record holds it. */
export interface ChargeRecord extends ChargeRequest {
  /** When the billing record first stored it (database time). */
  recordedAt: string;
}

/** Outside channels an alert is delivered on (in-app is the notification row itself). */
export type DeliveryChannel = 'email';

/**
 * Where a channel's delivery stands: `sending` while an attempt holds the claim, `sent` once
 * the server accepted, `failed` after a refused attempt (the next retry may claim it),
 * `skipped` when there was nothing to send (no admins, or the channel is not configured),
 * `abandoned` once it was given up on (refused for good, or failing past its give-up span).
 */
export type DeliveryStatus = 'sending' | 'sent' | 'failed' | 'skipped' | 'abandoned';

/** One channel's delivery of one notification. */
export interface DeliveryState {
  channel: DeliveryChannel;
  status: DeliveryStatus;
  attempts: number;
  sentAt: string | null;
  messageId: string | null;
  lastError: string | null;
}

/** An in-app notification: the alert, whether an admin has read it, and its deliveries. */
export interface InAppNotification extends AlertNotice {
  createdAt: string;
  readAt: string | null;
  deliveries: DeliveryState[];
}

/** Answer to {@link LedgerStore.claimDelivery}. */
export type DeliveryClaim =
  /** This caller holds the claim and must now send, then call `finishDelivery`. */
  | {
      claimed: true;
      attempt: number;
      /** When the notification was stored: its first delivery attempt began then. */
      since: string;
    }
  /** Someone already sent it (`sent`, `skipped`) or is sending it right now (`sending`). */
  | { claimed: false; status: DeliveryStatus };

/** How a claimed delivery ended. */
export type DeliveryOutcome =
  | { status: 'sent'; messageId: string; note?: string }
  | { status: 'failed'; error: string }
  | { status: 'abandoned'; error: string }
  | { status: 'skipped'; reason: string };

/** The usage ledger. Every write is idempotent on its record's stable id. */
/** A portal link traded for a session (see {@link LedgerStore.claimPortalLink}). */
export interface UsedPortalLink {
  linkId: string;
  accountId: string;
  /** When the link expires (UTC ISO-8601). */
  expiresAt: string;
}

/**
 * An admin page's browser session as stored (see {@link LedgerStore.saveAdminSession}). The
 * ledger keeps `caller` and `flash` as the admin server gives them (plain JSON objects) and
 * reads nothing in them.
 */
export interface AdminSessionRecord {
  /** Who signed in. */
  caller: Record<string, unknown>;
  /** The token every form of the session must echo. */
  csrf: string;
  /** The last action's answer, until a page has shown it. */
  flash?: Record<string, unknown>;
  /** When the session ends (UTC ISO-8601). */
  expiresAt: string;
}

/** An earlier promotion grant: its entry's note (the promotion's name then) and rules version. */
export interface GrantedPromotion {
  name: string;
  rulesVersion: string;
}

/** What {@link LedgerStore.earlierEpoch} found: the epoch of an earlier workflow, and its latest entry. */
export interface EarlierEpoch {
  epoch: string;
  entryId: string;
  at: string;
}

export interface LedgerStore {
  /** Which database this is, without secrets, for messages and logs. */
  readonly label: string;

  /**
   * Appends a batch of entries in one transaction; entries whose `entryId` is already stored
   * are skipped, so a retried batch writes nothing twice.
   *
   * @returns how many entries were actually written.
   * @throws LedgerError `invalid_input` (nothing written) for a malformed entry,
   *   `database_unavailable` when the database cannot be reached (nothing written; retry).
   */
  appendEntries(entries: readonly LedgerEntry[]): Promise<number>;

  /**
   * An account's entries in sequence order, read a page at a time with a keyset cursor, so a
   * year of a busy account never sits in memory. Stop iterating early to stop reading. An
   * account restarted under its id (a new epoch: a new workflow and pool, its sequence
   * starting again) has each epoch's entries whole, the epochs in the order they began.
   */
  streamEntries(filter: EntryFilter, options?: StreamOptions): AsyncIterable<LedgerEntry>;

  /**
   * Per-feature usage of one cycle: accepted usages and ended calls count (with their quantity
   * and credits), refused usages and refused call starts count as `rejected`, and a `void`
   * takes its usage off again.
   */
  usageByFeature(accountId: string, cycleIndex: number): Promise<FeatureUsageView[]>;

  /**
   * Usage by UTC day of the filter's entries (its `kinds` ignored): credits, uses and refusals
   * per day, oldest first, days without usage left out. Counted as {@link usageByFeature} counts.
   */
  usageByDay(filter: Omit<EntryFilter, 'kinds'>): Promise<DayUsage[]>;

  /** Usage by user of the filter's entries (its `kinds` ignored), most credits first. */
  usageByUser(filter: Omit<EntryFilter, 'kinds'>): Promise<UserUsage[]>;

  /**
   * One page of the filter's entries, newest first: up to `limit` entries past the cursor
   * (below `beforeSeq`, or at it below `beforeId`), and the cursor of the next page.
   */
  pageEntries(filter: EntryFilter, page: EntryPageCursor): Promise<EntryPage>;

  /**
   * Records a tier charge in the billing record.
   *
   * @returns false when this `chargeId` was already recorded (nothing is billed again).
   */
  recordCharge(charge: ChargeRequest): Promise<boolean>;

  /** An account's charges, oldest first. */
  listCharges(accountId: string): Promise<ChargeRecord[]>;

  /**
   * Every account id the ledger holds an entry or a charge for, in ascending order: the
   * accounts a reconciliation of the whole ledger walks.
   */
  listAccountIds(): Promise<string[]>;

  /**
   * The latest entry an account's ledger holds from a workflow other than the one of epoch
   * `epoch` (entry ids are `<accountId>:<epoch>:...`), or null when it holds none: whether
   * the account ran before, under an earlier workflow that has closed.
   */
  earlierEpoch(accountId: string, epoch: string): Promise<EarlierEpoch | null>;

  /**
   * The promotions an account was granted under workflows other than the one of epoch `epoch`:
   * each grant entry's note (the promotion's name then) and rules version, each pair once, in
   * ascending order. What a restarted account must not be granted again.
   */
  earlierPromotions(accountId: string, epoch: string): Promise<GrantedPromotion[]>;

  /**
   * Records that a customer admin's portal link was traded for a session, once per `linkId`.
   * Links whose expiry is a day past are forgotten (they are refused as expired anyway).
   *
   * @returns false when the link was already used (by this server or another, before a restart).
   */
  claimPortalLink(link: UsedPortalLink): Promise<boolean>;

  /**
   * Stores (or replaces) the admin page's session under `digest`, a digest of its cookie's id
   * (the id itself is never stored). Sessions whose end has passed are deleted on the way.
   */
  saveAdminSession(digest: string, session: AdminSessionRecord): Promise<void>;

  /**
   * Sets the flash of the session stored under `digest` to `flash`, or, with `expected`, clears
   * it only while it is still `expected` (a page that showed it must not clear a newer one).
   * Nothing when there is no such session.
   */
  setAdminSessionFlash(digest: string, flash: Record<string, unknown> | null, expected?: Record<string, unknown>): Promise<void>;

  /** The session stored under `digest`, or null; the caller checks its `expiresAt`. */
  adminSession(digest: string): Promise<AdminSessionRecord | null>;

  /** Forgets the session stored under `digest` (a sign-out); nothing when there is none. */
  deleteAdminSession(digest: string): Promise<void>;

  /**
   * Stores the in-app notification of an alert.
   *
   * @returns false when this `alertId` was already stored.
   */
  recordNotification(alert: AlertNotice): Promise<boolean>;

  /**
   * Claims the right to deliver a stored notification on `channel`. The claim is refused when
   * the delivery is done (`sent`, `skipped`) or another attempt claimed it less than
   * `leaseMs` ago (default two minutes), so concurrent or retried activities never both send.
   */
  claimDelivery(alertId: string, channel: DeliveryChannel, options?: { leaseMs?: number }): Promise<DeliveryClaim>;

  /** Records how a claimed delivery ended; `failed` releases the claim for the next attempt. */
  finishDelivery(alertId: string, channel: DeliveryChannel, outcome: DeliveryOutcome): Promise<void>;

  /** An account's in-app notifications, newest first. */
  listNotifications(accountId: string, options?: { unreadOnly?: boolean; limit?: number }): Promise<InAppNotification[]>;

  /**
   * Marks a notification read (the first time only).
   *
   * @returns false when there is no such notification or it was already read.
   */
  markNotificationRead(alertId: string, at?: string): Promise<boolean>;

  /** Records one attempt to post a webhook event to an endpoint (the delivery log). */
  recordWebhookAttempt(attempt: WebhookAttempt): Promise<void>;

  /** The endpoints that already answered 2xx for a webhook event, how many attempts each endpoint had, and since when. */
  webhookProgress(eventId: string): Promise<WebhookProgress>;

  /** The delivery log, newest first. */
  listWebhookAttempts(filter?: WebhookLogFilter): Promise<WebhookAttempt[]>;

  /** Closes the database; the store cannot be used afterwards. */
  close(): Promise<void>;
}
