/**
 * The account workflow's activities (`CreditActivities`), backed by the usage ledger, the
 * worker's rules files and the alert mailer. Every activity is idempotent on the stable id of
 * its input, so Temporal may retry it freely: a failure that a retry can fix (database down,
 * SMTP refusing) is thrown as a retryable failure with a message saying what and where; only
 * input that can never succeed is thrown as non-retryable.
 */
import { log as activityLog } from '@temporalio/activity';
import { ApplicationFailure, type Logger } from '@temporalio/common';
import type { AlertNotice, ChargeRequest, LedgerEntry } from '../domain/effects';
import { SMTP_URL } from '../infra/settings';
import { isLedgerError, isPermanentLedgerError } from '../ledger/errors';
import type { LedgerStore } from '../ledger/store';
import { restartHistoryOf } from '../ledger/restart-history';
import { renderAlertMessage } from '../notify/alert-message';
import { alertMessageId, createSmtpMailer, isPlainAddress, smtpConfigFromEnv, type AlertMailer } from '../notify/email';
import { quote } from '../domain/input-text';
import { isNotifyError, NotifyError } from '../notify/errors';
import { isRulesError, ruleSetSource, rulesForCycleStart, type Rules, type RulesOption } from '../ruleset';
import type { ChargeReceipt, CreditActivities, LedgerAppendInput, LedgerAppendResult } from './credit-activities';
import { decodeLedgerBatch, isCompactLedgerBatch } from '../domain/ledger-batch';
import { LedgerError } from '../ledger/errors';
import { appendIsolatingRefusals } from './ledger-append';
import { countLedgerWrite, countLedgerWriteFailure, countParkedEffect } from './activity-metrics';
import { alertEmailFailures, alertEmailsAbandoned, alertsSent, secondsSince, tierCharges } from '../infra/metrics';
import { webhookDelivery } from './webhook-delivery';
import { webhookEndpointsFromEnv, type WebhookEndpoint } from '../notify/webhook-config';

/** Where activities log: the activity's logger by default. */
export type ActivityLog = Pick<Logger, 'info' | 'warn' | 'error'>;

/** What the activities need. */
export interface ActivityDeps {
  /** The usage ledger; the caller opens and closes it. */
  store: LedgerStore;
  /**
   * The rules: a file or directory path, reloaded when its files change, or a function
   * returning the current rule set. Default: `CREDITS_RULES`, else the shipped `rules/`.
   */
  rules?: RulesOption;
  /**
   * Sends alert e-mails. Default: an SMTP mailer configured by `SMTP_URL`/`SMTP_FROM`, or none
   * when `SMTP_URL` is unset. `null`: in-app notifications only.
   */
  mailer?: AlertMailer | null;
  /** Where to log; default: the Temporal activity logger (console outside activities). */
  log?: ActivityLog;
  /** How long an e-mail delivery attempt holds its claim before another may take over (ms). */
  deliveryLeaseMs?: number;
  /**
   * How long an alert's e-mail is retried before it is given up on (ms), counted from its first
   * attempt; default {@link EMAIL_GIVE_UP_AFTER_MS}.
   */
  emailGiveUpAfterMs?: number;
  /** Webhook endpoints. Default: those of `CREDITS_WEBHOOKS_FILE` (read once; a bad file fails here), else none. */
  webhooks?: readonly WebhookEndpoint[];
  /** Per-POST timeout of webhook deliveries (ms). */
  webhookTimeoutMs?: number;
  /** How long an endpoint is retried for one webhook event before it is given up on for it (ms); default 3 days. */
  webhookGiveUpAfterMs?: number;
}

/**
 * How long an alert's e-mail is retried before it is given up on: 15 minutes. The account's
 * effects leave in order, so an alert whose e-mail keeps failing holds up the ledger writes and
 * tier charges queued behind it; billing records must not wait on a mail server for longer. The
 * in-app notification is stored before the first attempt and stands either way.
 */
export const EMAIL_GIVE_UP_AFTER_MS = 15 * 60_000;

/** Temporal failure type of rules that cannot be read or compiled (retryable: files can be fixed). */
const RULES_UNAVAILABLE = 'rules_unavailable';

/**
 * Turns an error into the Temporal failure that says whether retrying helps. Errors of unknown
 * origin are rethrown as they are (retryable, Temporal's default).
 */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (isLedgerError(err)) {
    return ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: isPermanentLedgerError(err), cause: err });
  }
  if (isNotifyError(err)) {
    return ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: false, cause: err });
  }
  if (isRulesError(err)) {
    const badInput = err.diagnostics.every((d) => d.code === 'bad-instant');
    return ApplicationFailure.create({
      message: err.message,
      type: badInput ? 'bad-instant' : RULES_UNAVAILABLE,
      nonRetryable: badInput,
      cause: err,
    });
  }
  return err;
}

/**
 * Runs an activity body, translating its failure with {@link toActivityFailure}; a failure for
 * good of an effect's activity is counted as parked (its workflow parks the effect).
 */
async function translated<T>(work: () => Promise<T>, effect?: 'ledger' | 'charge' | 'alert'): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const failure = toActivityFailure(err);
    if (effect) countParkedEffect(effect, failure);
    throw failure;
  }
}

/** The default mailer: SMTP from the environment, or null (logged) when SMTP_URL is unset. */
function mailerFromEnv(log: ActivityLog): AlertMailer | null {
  const config = smtpConfigFromEnv();
  if (config === null) {
    log.info(`${SMTP_URL.name} is not set: low-credit alerts are delivered in-app only, not by e-mail`);
    return null;
  }
  return createSmtpMailer(config);
}

/** Marks an e-mail sent, retrying briefly: once the server accepted, losing that fact would mean sending it again. */
async function markSent(store: LedgerStore, alertId: string, messageId: string, note: string | undefined): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await store.finishDelivery(alertId, 'email', { status: 'sent', messageId, ...(note ? { note } : {}) });
      return;
    } catch (err) {
      if (attempt >= 4) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

/**
 * The entries of an `appendLedger` input: a compact batch decoded, or plain entries (from runs
 * recorded before the compact form, and from the spill workflows). Anything else is refused as
 * `invalid_input`, which the workflow parks.
 */
function ledgerEntriesOf(input: LedgerAppendInput): LedgerEntry[] {
  if (input?.batch !== undefined) {
    if (!isCompactLedgerBatch(input.batch)) throw new LedgerError('invalid_input', 'batch must be a compact ledger batch (version 1 or 2)');
    return decodeLedgerBatch(input.batch);
  }
  return input?.entries as LedgerEntry[];
}

/**
 * The activities over `deps`. Register the result with a Temporal worker.
 *
 * `chargeTier` records the charge in the ledger database's `charges` table and nothing else:
 * no payment processor is wired in, so that table IS the billing record (invoicing reads it),
 * and its primary key is what makes a retried charge bill once.
 */
export function createActivities(deps: ActivityDeps): CreditActivities {
  const { store } = deps;
  const setupLog: ActivityLog = deps.log ?? console;
  const log = (): ActivityLog => deps.log ?? activityLog;
  const currentRules = ruleSetSource(
    deps.rules,
    (err) => log().error(`rules changed on disk but failed to load; still using the previous rules: ${(err as Error).message}`),
    (version, arrivedAt) =>
      log().error(
        `rules version ${version.version} (${version.source}) arrived at ${arrivedAt.toISOString()}, after it took effect at ${version.effectiveFrom}: ` +
          'accounts whose cycle started in between keep the previous version for that whole cycle; deploy versions before their effectiveFrom',
      ),
  );
  const mailer = deps.mailer === undefined ? mailerFromEnv(setupLog) : deps.mailer;
  const giveUpAfterMs = deps.emailGiveUpAfterMs ?? EMAIL_GIVE_UP_AFTER_MS;
  const deliverWebhook = webhookDelivery({ store, endpoints: deps.webhooks ?? webhookEndpointsFromEnv(), timeoutMs: deps.webhookTimeoutMs, giveUpAfterMs: deps.webhookGiveUpAfterMs });

  /** The features that pause at zero under the alert's rules version, by name; undefined when that version cannot be read. */
  function creditFeatureNames(version: string): string[] | undefined {
    try {
      return currentRules()
        .byVersion(version)
        ?.features.filter((f) => f.billing === 'credits')
        .map((f) => f.name);
    } catch {
      return undefined;
    }
  }

  async function deliverEmail(alert: AlertNotice): Promise<void> {
    if (alert.admins.length === 0 || mailer === null) {
      const reason = alert.admins.length === 0 ? 'the account has no admins' : 'e-mail is not configured (SMTP_URL)';
      await store.finishDelivery(alert.alertId, 'email', { status: 'skipped', reason });
      return;
    }
    const claim = await store.claimDelivery(alert.alertId, 'email', { leaseMs: deps.deliveryLeaseMs });
    if (!claim.claimed) {
      if (claim.status === 'sending') {
        throw new NotifyError(
          'delivery_in_progress',
          `alert ${alert.alertId}: another attempt is sending its e-mail right now; retrying later so it is not sent twice`,
        );
      }
      return; // already sent (or skipped) by an earlier attempt
    }
    const to: string[] = [];
    const unsendable: string[] = [];
    // Mail servers read addresses without regard to case, so `Ops@Acme.test` beside
    // `ops@acme.test` is one mailbox: it gets one copy, under the first spelling.
    const seen = new Set<string>();
    for (const admin of alert.admins) {
      if (!isPlainAddress(admin)) unsendable.push(admin);
      else if (!seen.has(admin.toLowerCase())) {
        seen.add(admin.toLowerCase());
        to.push(admin);
      }
    }
    const unsendableNote = unsendable.length > 0 ? `not sent to ${unsendable.map((a) => quote(a)).join(', ')}: not one plain e-mail address` : undefined;
    if (to.length === 0) {
      await store.finishDelivery(alert.alertId, 'email', { status: 'abandoned', error: `${unsendableNote}; refused for good, not retried` });
      alertEmailsAbandoned.inc({ reason: 'refused' });
      log().error(`alert ${alert.alertId}: e-mail given up on; the in-app notification stands: ${unsendableNote}`, { accountId: alert.accountId });
      return;
    }
    const message = renderAlertMessage(alert, creditFeatureNames(alert.rulesVersion));
    const messageId = alertMessageId(alert.alertId, mailer.from);
    let sent;
    try {
      sent = await mailer.send({
        to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId,
        headers: { 'X-Credits-Alert-Id': alert.alertId, 'X-Credits-Account-Id': alert.accountId },
      });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      alertEmailFailures.inc({ code: isNotifyError(err) ? err.code : 'smtp_failed' });
      // A 5xx reply is the server's final word (no such mailbox, message refused): retrying
      // cannot deliver it, and only holds up the effects behind this alert.
      // Wrong credentials are the operator's to mend, so they are retried within the span.
      const refused = isNotifyError(err) && err.code === 'smtp_refused' && err.responseCode !== null && err.responseCode >= 500;
      const triedMs = Date.now() - Date.parse(claim.since);
      if (refused || triedMs >= giveUpAfterMs) {
        const why = refused ? `${error}; refused for good, not retried` : `${error}; given up after ${Math.round(triedMs / 60_000)} minutes of attempts`;
        await store.finishDelivery(alert.alertId, 'email', { status: 'abandoned', error: why });
        alertEmailsAbandoned.inc({ reason: refused ? 'refused' : 'gave_up' });
        log().error(`alert ${alert.alertId}: e-mail given up on; the in-app notification stands: ${why}`, { accountId: alert.accountId });
        return;
      }
      await store.finishDelivery(alert.alertId, 'email', { status: 'failed', error }).catch(() => undefined);
      throw err;
    }
    const refusedNote = sent.rejected.length > 0 ? `refused recipients: ${sent.rejected.join(', ')}` : undefined;
    const note = [refusedNote, unsendableNote].filter((n) => n !== undefined).join('; ') || undefined;
    if (note) log().warn(`alert ${alert.alertId}: SMTP server ${mailer.description} ${note}`);
    await markSent(store, alert.alertId, messageId, note);
    alertsSent.inc({ kind: alert.state, channel: 'email' });
  }

  return {
    loadRules: ({ at }): Promise<Rules> =>
      translated(async () => {
        if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) {
          throw ApplicationFailure.nonRetryable(`loadRules: at must be an ISO-8601 instant (got ${JSON.stringify(at)})`, 'bad-instant');
        }
        return rulesForCycleStart(currentRules(), at);
      }),

    appendLedger: (input: LedgerAppendInput): Promise<LedgerAppendResult> =>
      translated(async () => {
        const entries = ledgerEntriesOf(input);
        const started = process.hrtime.bigint();
        let result: LedgerAppendResult;
        try {
          result = await appendIsolatingRefusals(store, entries);
        } catch (err) {
          countLedgerWriteFailure(secondsSince(started));
          throw err;
        }
        countLedgerWrite(entries, result, secondsSince(started));
        for (const { entryId, error } of result.refused ?? []) log().error(`ledger entry refused for good; the workflow parks it: ${error}`, { entryId });
        return result;
      }, 'ledger'),

    chargeTier: (charge: ChargeRequest): Promise<ChargeReceipt> =>
      translated(async () => {
        const charged = await store.recordCharge(charge);
        if (charged) {
          tierCharges.inc({ reason: charge.reason });
          log().info(`charged ${charge.amountCents} ${charge.currency} cents for ${charge.tierId}`, { chargeId: charge.chargeId });
        }
        return { chargeId: charge.chargeId, charged };
      }, 'charge'),

    sendAlert: (alert: AlertNotice): Promise<{ delivered: boolean }> =>
      translated(async () => {
        if (await store.recordNotification(alert)) alertsSent.inc({ kind: alert.state, channel: 'in_app' });
        await deliverEmail(alert);
        return { delivered: true };
      }, 'alert'),

    deliverWebhook: (event) => translated(() => deliverWebhook(event)),

    earlierEpoch: ({ accountId, epoch }) => translated(() => store.earlierEpoch(accountId, epoch)),

    restartFacts: ({ accountId, epoch, periodStart, at }) =>
      translated(async () => {
        const [granted, charges] = await Promise.all([store.earlierPromotions(accountId, epoch), store.listCharges(accountId)]);
        const period = at === undefined ? { start: periodStart } : { start: periodStart, at };
        return restartHistoryOf(granted, charges, period, (version) => currentRules().byVersion(version)?.promotions);
      }),
  };
}
