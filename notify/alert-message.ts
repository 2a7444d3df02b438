/**
 * The text of a low-credit alert e-mail (plain and HTML) and of its in-app notification:
 * what happened, the numbers (available, used, granted), and what it means for the account's
 * features. Pure: rendering depends on the alert alone, so a retried delivery sends the same
 * message.
 */
import { formatCount, formatUtc, joinNames, percentOf } from '../display';
import type { AlertNotice } from '../domain/effects';

const { max } = Math;

/** A rendered alert. */
export interface AlertMessage {
  subject: string;
  /** Short line for an in-app banner. */
  headline: string;
  text: string;
  html: string;
}

/** Whole percentage of the granted credits used (100 when nothing was granted but some was used). */
export function usedPercent(alert: Pick<AlertNotice, 'used' | 'granted'>): number {
  return percentOf(alert.used, alert.granted);
}

/** Numeric character references (`&#60;`), as the alert e-mails have always been sent; the admin page's escaping uses named ones. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * "credit-based AI features (A, B and C)": the features the alert's rules charge credits for,
 * by their display names; just "credit-based AI features" when they are not known (rules that
 * cannot be read), rather than names that may not be the account's.
 */
function pausedFeatures(names: readonly string[] | undefined): string {
  return names && names.length > 0 ? `credit-based AI features (${joinNames(names)})` : 'credit-based AI features';
}

/** The paragraphs of the message, shared by the plain and HTML parts so they cannot disagree. */
function paragraphs(alert: AlertNotice, creditFeatures: readonly string[] | undefined): string[] {
  const trial = alert.trial;
  // A trial's pool may hold more than its trial credits (a promotion), so neither kind names them.
  const kind = 'AI credits';
  // A call that ran past zero leaves the balance below it: the credits an admin can use are none.
  const past = alert.available < 0 ? ` (a call in progress ran ${formatCount(-alert.available)} credits past zero)` : '';
  const available = `Available: ${formatCount(max(0, alert.available))} credits${past}.`;
  // A cycle that granted nothing and used nothing (a reset after the last grant expired) has no
  // share used to report.
  const numbers =
    alert.granted === 0 && alert.used === 0
      ? available
      : `${available} Used ${trial ? 'so far' : 'this billing cycle'}: ${formatCount(alert.used)} of ` +
        `${formatCount(alert.granted)} granted (${usedPercent(alert)}%).`;
  const reset = formatUtc(alert.cycleEnd);
  const features = pausedFeatures(creditFeatures);
  // Trial credits are granted once: no reset renews them, so none is promised.
  const trialEnd = trial?.endsAt ? ` Your trial credits expire on ${formatUtc(trial.endsAt)}.` : '';
  const addCredits = trial
    ? 'upgrade to a paid plan or add an AI Credit Subscription Plan in Settings > AI Credits'
    : 'add credits with an AI Credit Subscription Plan in Settings > AI Credits';
  const whose = trial ? 'trial account' : 'account';
  const spent = trial ? kind : `${kind} for this billing cycle`;
  if (alert.state === 'warning') {
    const until = trial ? '' : `, before your credits reset on ${reset}`;
    const pace = alert.projectedRunOutAt
      ? `At the current pace they will run out around ${formatUtc(alert.projectedRunOutAt)}${until}.`
      : `At the current pace they will run out${trial ? ' soon' : until}.`;
    return [
      `Your ${whose} ${alert.accountId} has used ${usedPercent(alert)}% of its ${spent}. ${pace}${trialEnd}`,
      numbers,
      `When credits run out, ${features} pause until more credits are added. Free AI features keep working.`,
      `To avoid an interruption, ${addCredits}.`,
    ];
  }
  const capital = features.charAt(0).toUpperCase() + features.slice(1);
  // Credits can run out by expiring as well as by use: "used all" only when use took them.
  const usedUp = alert.used > 0 && alert.used >= alert.granted;
  return [
    usedUp
      ? `Your ${whose} ${alert.accountId} has used all of its ${spent}.`
      : `Your ${whose} ${alert.accountId} has no ${kind} left${trial ? '' : ' for this billing cycle'}.`,
    numbers,
    `${capital} are paused until credits are added; calls already in progress complete. Free AI features keep working.`,
    trial ? `Trial credits do not reset. To keep using them, ${addCredits}.` : `Credits reset on ${reset}. To resume sooner, ${addCredits}.`,
  ];
}

/**
 * Renders the e-mail and in-app text of an alert. `creditFeatures` are the display names of the
 * features that pause at zero, from the rules version of the alert.
 */
export function renderAlertMessage(alert: AlertNotice, creditFeatures?: readonly string[]): AlertMessage {
  const headline =
    alert.state === 'warning'
      ? `AI credits running low: ${usedPercent(alert)}% used`
      : 'AI credits exhausted: credit-based features paused';
  const body = paragraphs(alert, creditFeatures);
  const text = `${body.join('\n\n')}\n`;
  const html =
    `<!doctype html><html><body>` +
    `<h2>${escapeHtml(headline)}</h2>` +
    body.map((p) => `<p>${escapeHtml(p)}</p>`).join('') +
    `</body></html>`;
  return { subject: `${headline} (account ${alert.accountId})`, headline, text, html };
}
