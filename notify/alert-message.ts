/**
 * The text of a low-credit alert e-mail (plain and HTML) and of its in-app notification:
 * what happened, the numbers (available, used, granted), and what it means for the account's
 * features. Pure: rendering depends on the alert alone, so a retried delivery sends the same
 * message.
 */
import { formatCount, formatUtc, percentOf } from '../display';
import type { AlertNotice } from '../domain/effects';

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

/** The paragraphs of the message, shared by the plain and HTML parts so they cannot disagree. */
function paragraphs(alert: AlertNotice): string[] {
  const numbers =
    `Available: ${formatCount(alert.available)} credits. Used this billing cycle: ${formatCount(alert.used)} of ` +
    `${formatCount(alert.granted)} granted (${usedPercent(alert)}%).`;
  const reset = formatUtc(alert.cycleEnd);
  if (alert.state === 'warning') {
    const pace = alert.projectedRunOutAt
      ? `At the current pace they will run out around ${formatUtc(alert.projectedRunOutAt)}, before your credits reset on ${reset}.`
      : `At the current pace they will run out before your credits reset on ${reset}.`;
    return [
      `Your account ${alert.accountId} has used ${usedPercent(alert)}% of its AI credits for this billing cycle. ${pace}`,
      numbers,
      'When credits run out, credit-based AI features (such as Chloe Voice Agents, Enrichment and Auto Updates) pause until more credits are added. Free AI features keep working.',
      'To avoid an interruption, add credits with an AI Credit Subscription Plan in Settings > AI Credits.',
    ];
  }
  return [
    `Your account ${alert.accountId} has used all of its AI credits for this billing cycle.`,
    numbers,
    'Credit-based AI features (such as Chloe Voice Agents, Enrichment and Auto Updates) are paused until credits are added; calls already in progress complete. Free AI features keep working.',
    `Credits reset on ${reset}. To resume sooner, add credits with an AI Credit Subscription Plan in Settings > AI Credits.`,
  ];
}

/** Renders the e-mail and in-app text of an alert. */
export function renderAlertMessage(alert: AlertNotice): AlertMessage {
  const headline =
    alert.state === 'warning'
      ? `AI credits running low: ${usedPercent(alert)}% used`
      : 'AI credits exhausted: credit-based features paused';
  const body = paragraphs(alert);
  const text = `${body.join('\n\n')}\n`;
  const html =
    `<!doctype html><html><body>` +
    `<h2>${escapeHtml(headline)}</h2>` +
    body.map((p) => `<p>${escapeHtml(p)}</p>`).join('') +
    `</body></html>`;
  return { subject: `${headline} (account ${alert.accountId})`, headline, text, html };
}
