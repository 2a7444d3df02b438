/**
 * The account page's "over time" sections as server-rendered HTML: usage by day (an SVG bar
 * chart), the projected run-out date beside the warning banner, billing history, usage by
 * user, and the ledger of credit movements with its own paged page. Pure functions of the
 * views' data (admin/usage-over-time.ts), so they are tested without a server.
 */
import { cycleNumber, formatCount, formatPrice, formatUtc, formatUtcDate, formatUtcTime } from '../display';
import type { LedgerEntry } from '../domain/effects';
import type { AccountSummary } from '../domain/wire-contract';
import { TRACK_COLOUR, barWidth } from './chart';
import { html, type SafeHtml } from './html';
import { BAR_COLOUR } from './styles';
import type { BillingHistoryView, CreditLedgerView, UsageByDayView, UsageByUserView } from './usage-over-time';

/** Everything the page's "over time" sections show. */
export interface HistoryViews {
  usageByDay: UsageByDayView;
  usageByUser: UsageByUserView;
  billing: BillingHistoryView;
  ledger: CreditLedgerView;
}

const WIDTH = 720;
const PLOT_TOP = 24;
const PLOT_HEIGHT = 160;
const AXIS = 22;

function path(accountId: string, rest: string): string {
  return `/accounts/${encodeURIComponent(accountId)}${rest}`;
}

function time(instant: string, text = formatUtcDate(instant)): SafeHtml {
  return html`<time datetime="${instant}">${text}</time>`;
}

/**
 * The projected run-out date, shown beside the warning banner: when the balance reaches zero
 * at this cycle's pace. Nothing when the summary has no projection (no usage, already out, or
 * a worker from before the summary carried it).
 */
export function runOutNote(s: AccountSummary): SafeHtml | null {
  // <b>, not <strong>: the banner shows its <strong> headline as a block of its own.
  if (!s.projectedRunOutAt) return null;
  const before = Date.parse(s.projectedRunOutAt) < Date.parse(s.cycle.end);
  return html`<p class="run-out" id="run-out">Projected to run out on <b>${time(s.projectedRunOutAt)}</b> at ${formatUtcTime(s.projectedRunOutAt)}${
    before ? html`, ${daysBetween(s.projectedRunOutAt, s.cycle.end)} before the reset` : null
  }, at this cycle's pace so far.</p>`;
}

function daysBetween(from: string, to: string): string {
  const days = Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000));
  return days === 1 ? '1 day' : `${days} days`;
}

/** Vertical bar chart of credits used per UTC day, the highest day scaled to the plot's height. */
export function dailyChart(view: UsageByDayView, title: string): SafeHtml {
  const days = view.days;
  const slot = days.length > 0 ? WIDTH / days.length : WIDTH;
  const bar = Math.max(1, Math.min(28, slot * 0.7));
  const max = Math.max(0, ...days.map((d) => d.credits));
  // Label every day while they fit, else about every seventh.
  const every = days.length <= 31 ? (slot >= 22 ? 1 : 2) : Math.ceil(days.length / 15);
  const base = PLOT_TOP + PLOT_HEIGHT;
  const bars = days.map((d, i) => {
    const h = barWidth(Math.max(0, d.credits), max, PLOT_HEIGHT);
    const x = Math.round((i * slot + (slot - bar) / 2) * 10) / 10;
    const mid = Math.round((i * slot + slot / 2) * 10) / 10;
    return html`<g class="day">
      <rect x="${x}" y="${PLOT_TOP}" width="${bar}" height="${PLOT_HEIGHT}" fill="${TRACK_COLOUR}"></rect>
      <rect class="bar" data-day="${d.day}" data-credits="${d.credits}" x="${x}" y="${base - h}" width="${bar}" height="${h}" fill="${BAR_COLOUR}"><title>${d.day}: ${formatCount(d.credits)} credits</title></rect>
      ${i % every === 0 ? html`<text x="${mid}" y="${base + 16}" text-anchor="middle">${d.day.slice(8)}</text>` : null}
    </g>`;
  });
  return html`<svg class="chart" id="daily-chart" role="img" aria-labelledby="daily-chart-title" viewBox="0 0 ${WIDTH} ${base + AXIS}" width="${WIDTH}" height="${base + AXIS}" xmlns="http://www.w3.org/2000/svg">
    <title id="daily-chart-title">${title}</title>
    <text class="value" x="0" y="14">Highest day: ${formatCount(max)} credits</text>
    ${bars}
  </svg>`;
}

function csvLink(id: string, href: string): SafeHtml {
  return html`<a class="button" id="${id}" href="${href}">Download CSV</a>`;
}

/** Usage by day this cycle: the chart and the download. */
export function usageByDayCard(view: UsageByDayView): SafeHtml {
  const first = view.days[0];
  const last = view.days[view.days.length - 1];
  const span = first && last ? html`${first.day} → ${last.day}` : html`no days`;
  return html`<section class="card" id="usage-by-day">
  <h2>Usage by day this cycle</h2>
  ${dailyChart(view, 'Credits used per day this cycle (UTC)')}
  <p class="hint" id="usage-by-day-total">${span} · ${formatCount(view.total.credits)} credits in ${formatCount(view.total.uses)} uses, ${formatCount(view.total.refused)} refused · days in UTC; a void counts on the day it was made.</p>
  <p class="hint">${csvLink('usage-by-day-csv', path(view.accountId, '/usage-by-day.csv'))}</p>
</section>`;
}

/** Usage by user this cycle. */
export function usageByUserCard(view: UsageByUserView): SafeHtml {
  const rows = view.users.map(
    (u) => html`<tr data-user="${u.userId ?? ''}">
      <td>${u.userId ?? html`<span class="empty">No user (Voice Agent calls)</span>`}</td>
      <td class="num" data-field="credits">${formatCount(u.credits)}</td>
      <td class="num">${formatCount(u.uses)}</td>
      <td class="num">${formatCount(u.refused)}</td>
    </tr>`,
  );
  const body = rows.length > 0 ? rows : html`<tr><td colspan="4" class="empty">No usage recorded this cycle.</td></tr>`;
  return html`<section class="card" id="usage-by-user">
  <h2>Usage by user this cycle</h2>
  <table id="usage-by-user-table">
    <thead><tr><th>User</th><th class="num">Credits</th><th class="num">Uses</th><th class="num">Refused</th></tr></thead>
    <tbody>${body}</tbody>
  </table>
  <p class="hint">${csvLink('usage-by-user-csv', path(view.accountId, '/usage-by-user.csv'))}</p>
</section>`;
}

const REASONS: Record<string, string> = { cycle_start: 'Monthly renewal', purchase: 'Purchase', upgrade: 'Upgrade' };

/** Billing history: the next charge due, then the tier charges made, newest first. */
export function billingCard(view: BillingHistoryView): SafeHtml {
  const n = view.next;
  const next = n
    ? html`<p id="next-charge" data-at="${n.at}" data-cents="${n.amountCents ?? ''}">Next charge: <strong>${
        n.amountCents === null ? 'price unknown (rules unreadable)' : formatPrice(n.amountCents, n.currency)
      }</strong> for ${n.tierName} on <strong>${time(n.at)}</strong>${n.basis === 'pending_downgrade' ? ' (the downgrade waiting for the next cycle)' : null}.</p>`
    : html`<p id="next-charge" class="empty">${view.noneDue}</p>`;
  const rows = view.charges.map(
    (c) => html`<tr data-charge="${c.chargeId}">
      <td>${time(c.at)}</td><td>${c.tierName}</td><td>${REASONS[c.reason] ?? c.reason}</td>
      <td class="num" data-field="amount" data-cents="${c.amountCents}">${formatPrice(c.amountCents, c.currency)}</td><td class="num">${cycleNumber(c.cycleIndex)}</td>
    </tr>`,
  );
  const body = rows.length > 0 ? rows : html`<tr><td colspan="5" class="empty">No tier charges yet.</td></tr>`;
  return html`<section class="card" id="billing-history">
  <h2>Billing history</h2>
  ${next}
  <table id="billing-table">
    <thead><tr><th>Date</th><th>Tier</th><th>Reason</th><th class="num">Amount</th><th class="num">Cycle</th></tr></thead>
    <tbody>${body}</tbody>
  </table>
  <p class="hint">${formatPrice(view.totalCents, view.currency)} charged in all · ${csvLink('billing-csv', path(view.accountId, '/billing-history.csv'))}</p>
</section>`;
}

const KIND_NAMES: Record<string, string> = {
  grant: 'Grant',
  // At a reset, or mid-cycle (a trial's end, a promotion's window ending after a re-anchor).
  expiry: 'Expired',
  forfeit: 'Forfeited (trial ended)',
  overdraft_write_off: 'Overdraft written off',
  call_overage: 'Call overage written off',
  void: 'Usage voided',
};

function ledgerRows(entries: readonly LedgerEntry[]): SafeHtml | SafeHtml[] {
  if (entries.length === 0) return html`<tr><td colspan="6" class="empty">No grants, expiries, write-offs or voids yet.</td></tr>`;
  return entries.map(
    (e) => html`<tr data-seq="${e.seq}" data-kind="${e.kind}">
      <td>${time(e.at, formatUtc(e.at))}</td><td>${KIND_NAMES[e.kind] ?? e.kind}</td>
      <td class="num" data-field="credits">${formatCount(e.credits)}</td><td class="num">${formatCount(e.balanceAfter)}</td>
      <td>${e.note ?? e.source ?? ''}</td><td class="num">${cycleNumber(e.cycleIndex)}</td>
    </tr>`,
  );
}

function ledgerTable(view: CreditLedgerView): SafeHtml {
  return html`<table id="credit-ledger-table">
    <thead><tr><th>Time</th><th>What</th><th class="num">Credits</th><th class="num">Balance after</th><th>Note</th><th class="num">Cycle</th></tr></thead>
    <tbody>${ledgerRows(view.entries)}</tbody>
  </table>`;
}

function olderLink(view: CreditLedgerView): SafeHtml | null {
  if (view.nextBeforeSeq === null) return null;
  const cursor = new URLSearchParams({ before: String(view.nextBeforeSeq), ...(view.nextBeforeId === null ? {} : { beforeId: view.nextBeforeId }), limit: String(view.limit) });
  return html`<a class="button" id="ledger-older" href="${path(view.accountId, `/credit-ledger?${cursor.toString()}`)}">Older entries →</a>`;
}

/** The newest page of the credit ledger, on the account page. */
export function ledgerCard(view: CreditLedgerView): SafeHtml {
  return html`<section class="card" id="credit-ledger">
  <h2>Grants, expiries, write-offs and voids</h2>
  ${ledgerTable(view)}
  <p class="hint">${olderLink(view)} ${csvLink('credit-ledger-csv', path(view.accountId, '/credit-ledger.csv'))} Credits: granted for a grant, lost for an expiry or forfeit, written off for an overage; a void gives credits back (negative).</p>
</section>`;
}

/** The page's "over time" sections, in the order they are shown. */
export function historySections(views: HistoryViews): SafeHtml {
  return html`${usageByDayCard(views.usageByDay)}
${usageByUserCard(views.usageByUser)}
${billingCard(views.billing)}
${ledgerCard(views.ledger)}`;
}

/** The body of the paged ledger page (`/accounts/:id/credit-ledger`). */
export function ledgerPageBody(view: CreditLedgerView): SafeHtml {
  return html`<h1>Credit ledger</h1>
<p class="subtitle">Account <code id="account-id">${view.accountId}</code> · grants, expiries, forfeits, write-offs and voids, newest first.</p>
<section class="card" id="credit-ledger">
  ${ledgerTable(view)}
  <p class="hint"><a class="button" id="ledger-newest" href="${path(view.accountId, '/credit-ledger')}">Newest</a> ${olderLink(view)} <a href="${path(view.accountId, '')}">Back to the account</a></p>
</section>`;
}
