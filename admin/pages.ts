/**
 * The admin pages as server-rendered HTML: the account's Settings > AI Credits view (the seed's
 * "Viewing Your Usage" and "Low-Credit Notifications"), the index and the error page. Pure
 * functions of the data they are given, so they are tested without a server.
 */
import type { ClosedRun } from '../client';
import { cycleNumber, formatCount, formatPrice, formatQuantity, formatUtc, formatUtcDate, formatUtcTime, joinNames, percentOf, plural } from '../display';
import type { AccountSummary, FeatureUsageView } from '../domain/wire-contract';
import type { InAppNotification } from '../ledger/store';
import { renderAlertMessage } from '../notify/alert-message';
import { progressBar, usageChart, type ChartBar } from './chart';
import { historySections, runOutNote, type HistoryViews } from './history-views';
import { html, type SafeHtml } from './html';
import type { DisplayNames } from './names';

/** Everything the account page shows. */
export interface AccountPageData {
  summary: AccountSummary;
  /** The account's in-app notifications, newest first. */
  notifications: readonly InAppNotification[];
  names: DisplayNames;
  /** The "over time" sections (usage by day and user, billing, credit ledger); left out when absent. */
  history?: HistoryViews;
  /** The actions section (admin/actions.ts) for the caller, if any: inserted after the plan. */
  actions?: SafeHtml;
  /** Set when the account's workflow has closed: the page shows its last state, and says so. */
  closed?: ClosedRun | null;
}

/** Above everything on a closed account's page: what follows is its last state, frozen. */
function closedBanner(closed: ClosedRun | null | undefined): SafeHtml | null {
  if (!closed) return null;
  const when = closed.closedAt ? html` on ${time(closed.closedAt)}` : '';
  return html`<div class="banner banner-exhausted" role="alert" id="closed-banner" data-state="closed">
  <strong>Account closed</strong>
  <p>Its workflow was ${closed.status}${when}. What this page shows is its last state: it takes no more usage, resets or charges, and its actions are refused. Start it again on purpose with <code>credits account start ... --restart-closed</code>.</p>
</div>`;
}

/** Path of an account's page; ids are restricted to URL-safe characters, but encode anyway. */
export function accountPath(accountId: string): string {
  return `/accounts/${encodeURIComponent(accountId)}`;
}

/** A whole HTML document around `body`; `head` adds to its head (e.g. a refresh). */
export function layout(title: string, crumbs: SafeHtml, body: SafeHtml, head: SafeHtml | null = null): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/assets/admin.css">
${head}
</head>
<body>
<header class="topbar"><a class="brand" href="/">AI Credits admin</a><span class="crumbs">${crumbs}</span></header>
<main>
${body}
</main>
</body>
</html>
`.markup;
}

function time(instant: string, text = formatUtcDate(instant)): SafeHtml {
  return html`<time datetime="${instant}">${text}</time>`;
}

/** The low-credit banner, or nothing while all is well. */
function banner(s: AccountSummary, names: DisplayNames): SafeHtml | null {
  const reset = time(s.cycle.end);
  if (s.alert === 'warning') {
    const pct = percentOf(s.credits.used, s.credits.granted);
    return html`<div class="banner banner-warning" role="alert" id="credit-banner" data-state="warning">
  <strong>Credits running low</strong>
  <p>You've used ≥${names.warningPercent}% of your credits and are on pace to run out before ${reset}.</p>
  ${runOutNote(s)}
  <p>${pct}% used: ${formatCount(s.credits.used)} of ${formatCount(s.credits.granted)} credits this cycle. Add credits with an AI Credit Subscription Plan to avoid an interruption.</p>
</div>`;
  }
  if (s.alert === 'exhausted') {
    const paused = joinNames(names.creditFeatures.map((f) => f.name));
    return html`<div class="banner banner-exhausted" role="alert" id="credit-banner" data-state="exhausted">
  <strong>Credits exhausted</strong>
  <p>Credits are fully depleted: ${paused} are paused until credits are added; free features keep working.</p>
  <p>Calls already in progress complete. ${
    // A trial's credits are its one grant: no reset renews them.
    s.trial ? 'Trial credits do not reset: upgrade to a paid plan or add an AI Credit Subscription Plan to keep using them.' : html`Credits reset on ${reset}.`
  }</p>
</div>`;
  }
  return null;
}

function creditsCard(s: AccountSummary): SafeHtml {
  const c = s.credits;
  const pct = percentOf(c.used, c.granted);
  const stat = (label: string, field: string, value: number) =>
    html`<div><dt>${label}</dt><dd data-field="${field}">${formatCount(value)}</dd></div>`;
  return html`<section class="card" id="credits">
  <div class="label">Credits remaining</div>
  <div class="remaining"><span id="credits-remaining">${formatCount(c.available)}</span> <small>of ${formatCount(c.granted)} credits</small></div>
  ${progressBar(pct, s.alert, `${pct}% of this cycle's credits used`)}
  <div class="label" id="used-percent">${pct}% used this cycle</div>
  <dl class="stats">
    ${stat('Available', 'available', c.available)}
    ${stat('Granted', 'granted', c.granted)}
    ${stat('Used', 'used', c.used)}
    ${stat('Overdraft', 'overdraft', c.overdraft)}
  </dl>
  <p class="cycle" id="cycle">Current cycle <strong>${time(s.cycle.start)} → ${time(s.cycle.end)}</strong> ·
    resets on <strong id="reset-date">${time(s.cycle.end)}</strong> at ${formatUtcTime(s.cycle.end)}</p>
</section>`;
}

function tierFacts(s: AccountSummary, names: DisplayNames): SafeHtml {
  const current = s.tier
    ? html`${s.tier.name}: ${formatPrice(s.tier.priceCents, names.currency)}/month for ${formatCount(s.tier.credits)} credits`
    : html`No subscription (included credits only)`;
  const pending = s.pendingTier
    ? html`<br><span class="pending" id="pending-tier">${s.tier?.name ?? 'No subscription'} → ${
        s.pendingTier.tier === null ? 'no subscription (cancelled)' : names.tier(s.pendingTier.tier)
      } on ${time(s.pendingTier.effectiveAt)}</span>`
    : null;
  return html`<dt>AI credit subscription</dt><dd id="tier">${current}${pending}</dd>`;
}

function planCard(s: AccountSummary, names: DisplayNames): SafeHtml {
  const pendingPlan = s.pendingPlan
    ? html`<br><span class="pending" id="pending-plan">${s.plan.name} → ${s.pendingPlan.name} on ${time(s.pendingPlan.effectiveAt)}</span>`
    : null;
  const toggles = s.features.map(
    (f) => html`<dt>${names.feature(f.feature)}</dt><dd><span class="badge ${f.enabled ? 'badge-on' : 'badge-off'}" data-toggle="${f.feature}">${
      f.enabled ? 'On' : 'Off'
    }</span></dd>`,
  );
  const agents = s.inactiveAgents.length > 0 ? html`<dt>Inactive voice agents</dt><dd>${s.inactiveAgents.join(', ')}</dd>` : null;
  return html`<section class="card" id="plan">
  <h2>Plan</h2>
  <dl class="facts">
    <dt>CRM plan</dt><dd id="crm-plan">${s.plan.name} · ${plural(s.users, 'user')}${pendingPlan}</dd>
    <dt>Trial</dt><dd>${s.trial ? 'Yes: fixed trial credits, which do not roll over into a paid plan' : 'No'}</dd>
    ${tierFacts(s, names)}
    ${toggles}
    ${agents}
    <dt>Telephony</dt><dd>${formatQuantity(s.telephonyMinutes)} minutes this cycle (billed separately)</dd>
    <dt>Calls in progress</dt><dd>${formatCount(s.openCalls)}</dd>
  </dl>
</section>`;
}

function quantityText(u: FeatureUsageView, names: DisplayNames): string {
  const unit = names.unit(u.feature);
  return unit ? plural(u.quantity, unit) : formatQuantity(u.quantity);
}

/** Chart rows: every credit-based feature of the rules, plus anything else that cost credits. */
function chartBars(s: AccountSummary, names: DisplayNames): ChartBar[] {
  const byFeature = new Map(s.usage.map((u) => [u.feature, u.credits]));
  const bars = names.creditFeatures.map((f) => ({ id: f.id, label: f.name, credits: byFeature.get(f.id) ?? 0 }));
  for (const u of s.usage) {
    if (u.credits > 0 && !bars.some((b) => b.id === u.feature)) bars.push({ id: u.feature, label: names.feature(u.feature), credits: u.credits });
  }
  return bars;
}

function usageCard(s: AccountSummary, names: DisplayNames): SafeHtml {
  const rows = [...s.usage]
    .sort((a, b) => b.credits - a.credits || a.feature.localeCompare(b.feature))
    .map(
      (u) => html`<tr data-feature="${u.feature}">
      <td>${names.feature(u.feature)}</td>
      <td class="num">${quantityText(u, names)}</td>
      <td class="num" data-field="credits">${formatCount(u.credits)}</td>
      <td class="num">${formatCount(u.count)}</td>
      <td class="num">${formatCount(u.rejected)}</td>
    </tr>`,
    );
  const body = rows.length > 0 ? rows : html`<tr><td colspan="5" class="empty">No usage recorded this cycle.</td></tr>`;
  return html`<section class="card" id="usage">
  <h2>Usage by feature this cycle</h2>
  ${usageChart(chartBars(s, names), 'Credits used by feature this cycle')}
  <table id="usage-table">
    <thead><tr><th>Feature</th><th class="num">Quantity</th><th class="num">Credits</th><th class="num">Uses</th><th class="num">Refused</th></tr></thead>
    <tbody>${body}</tbody>
  </table>
</section>`;
}

function grantsCard(s: AccountSummary): SafeHtml {
  const rows = s.grants.map(
    (g) => html`<tr data-grant="${g.grantId}">
      <td>${g.label}</td><td>${g.source}</td>
      <td class="num">${formatCount(g.amount)}</td><td class="num">${formatCount(g.remaining)}</td>
      <td>${time(g.grantedAt)}</td><td>${time(g.expiresAt)}</td>
    </tr>`,
  );
  const body = rows.length > 0 ? rows : html`<tr><td colspan="6" class="empty">No live grants.</td></tr>`;
  return html`<section class="card" id="grants">
  <h2>Credit grants</h2>
  <table>
    <thead><tr><th>Grant</th><th>Source</th><th class="num">Amount</th><th class="num">Remaining</th><th>Granted</th><th>Expires</th></tr></thead>
    <tbody>${body}</tbody>
  </table>
</section>`;
}

/**
 * How the notification's e-mail went, in words an admin can act on: to whom it did not go, and
 * why one was given up on (a refused mailbox is theirs to fix).
 */
export function deliveryText(n: Pick<InAppNotification, 'deliveries'>): string {
  const email = n.deliveries.find((d) => d.channel === 'email');
  if (email === undefined) return 'e-mail pending';
  switch (email.status) {
    case 'sent':
      // The note names only the account's own admin addresses (the mail server's refusals, and
      // addresses that are not one plain address), never the server.
      return email.lastError ? `e-mail sent, but not to every admin: ${email.lastError.replace(/^refused recipients: /, 'refused by the mail server: ')}` : 'e-mail sent';
    case 'skipped':
      return `no e-mail: ${email.lastError ?? 'nothing to send'}`;
    case 'abandoned':
      // The mail server's own words name its host: they stay in the ledger and the worker's log.
      return /refused for good/.test(email.lastError ?? '') ? 'e-mail not delivered: the mail server refused it' : 'e-mail not delivered: the mail server could not take it, and retrying was given up';
    case 'failed':
      return 'e-mail not sent yet: retrying';
    case 'sending':
      return 'e-mail sending';
  }
}

function notificationItem(accountId: string, n: InAppNotification): SafeHtml {
  const message = renderAlertMessage(n);
  const action =
    n.readAt === null
      ? html`<form method="post" action="${accountPath(accountId)}/notifications/${encodeURIComponent(n.alertId)}/read"><button type="submit">Mark as read</button></form>`
      : html`<span class="badge badge-read">Read ${formatUtcDate(n.readAt)}</span>`;
  return html`<li class="${n.readAt === null ? 'unread' : 'read'}" data-alert-id="${n.alertId}">
    <span class="badge badge-${n.state}">${n.state === 'warning' ? 'Warning' : 'Exhausted'}</span>
    <div class="body"><div class="headline">${message.headline}</div>
      <div class="meta">${formatUtc(n.createdAt)} · ${deliveryText(n)}</div></div>
    ${action}
  </li>`;
}

function notificationsCard(accountId: string, notifications: readonly InAppNotification[]): SafeHtml {
  const unread = notifications.filter((n) => n.readAt === null).length;
  const list =
    notifications.length > 0
      ? html`<ul class="notifications">${notifications.map((n) => notificationItem(accountId, n))}</ul>`
      : html`<p class="empty">No notifications. Admins are notified here and by e-mail when credits run low or run out.</p>`;
  return html`<section class="card" id="notifications">
  <h2>Notifications ${unread > 0 ? html`<span class="badge badge-unread" id="unread-count">${unread} unread</span>` : null}</h2>
  ${list}
</section>`;
}

function exportCard(s: AccountSummary): SafeHtml {
  const csv = `${accountPath(s.accountId)}/usage.csv`;
  return html`<section class="card" id="export">
  <h2>Export usage</h2>
  <form class="inline" method="get" action="${csv}">
    <a class="button button-primary" id="csv-current" href="${csv}?cycle=${cycleNumber(s.cycle.index)}">Download this cycle (CSV)</a>
    <label class="field">From<input type="date" name="from" required></label>
    <label class="field">To (inclusive)<input type="date" name="to" required></label>
    <button type="submit">Download range</button>
  </form>
  <p class="hint">One row per usage decision and Voice Agent call from the usage ledger; times are UTC.
    The same data as JSON: <a href="/api${accountPath(s.accountId)}">/api${accountPath(s.accountId)}</a></p>
</section>`;
}

/** The Settings > AI Credits page of one account. */
export function accountPage(data: AccountPageData): string {
  const { summary: s, names } = data;
  const body = html`<h1>AI Credits</h1>
<p class="subtitle">Account <code id="account-id">${s.accountId}</code> · credits are pooled across the account and reset monthly; they do not roll over.</p>
${closedBanner(data.closed)}
${banner(s, names)}
<div class="grid">
${creditsCard(s)}
${planCard(s, names)}
</div>
${data.actions}
${usageCard(s, names)}
${data.history ? historySections(data.history) : null}
${notificationsCard(s.accountId, data.notifications)}
${grantsCard(s)}
${exportCard(s)}
<p class="hint">As of ${formatUtc(s.asOf)} · cycle ${cycleNumber(s.cycle.index)} · rules ${s.rulesVersion}</p>`;
  return layout(`AI Credits · ${s.accountId}`, html`Settings › AI Credits › ${s.accountId}`, body);
}

/** The index: open an account by id. */
export function indexPage(): string {
  const body = html`<h1>AI Credits</h1>
<p class="subtitle">Settings › AI Credits for one customer account: credits remaining, usage by feature, low-credit banners, notifications and the usage export.</p>
<section class="card">
  <h2>Open an account</h2>
  <form class="inline" method="get" action="/accounts">
    <label class="field">Account id<input name="id" required pattern="[A-Za-z0-9._\\-]{1,64}" placeholder="acme-corp" autofocus></label>
    <button class="button-primary" type="submit">Open</button>
  </form>
  <p class="hint">Or <a href="/ops/accounts" id="ops-link">find accounts</a> by alert state, tier, plan, tag or parked effects.</p>
</section>`;
  return layout('AI Credits admin', html`Settings › AI Credits`, body);
}

/** An error page: what went wrong in words, never a stack trace. */
export function errorPage(status: number, title: string, message: string): string {
  const body = html`<section class="card error-card" id="error">
  <p class="code">HTTP ${status}</p>
  <h1>${title}</h1>
  <p>${message}</p>
  <p><a href="/">Open another account</a></p>
</section>`;
  return layout(title, html`Settings › AI Credits`, body);
}
