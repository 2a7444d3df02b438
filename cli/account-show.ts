/**
 * `credits account show`: an account's summary as billing ops read it, the same facts the
 * admin's Settings > AI Credits page shows: plan and users, trial, tier and any pending change,
 * the cycle and its reset date, the balance, live grants, usage by feature, telephony minutes
 * and the low-credit alert. Money is printed from integer cents, credits with separators.
 */
import type { ClosedRun } from '../client';
import { cycleNumber, formatCount, formatMoney, formatQuantity, formatUtc, plural } from '../display';
import type { AccountSummary } from '../domain/wire-contract';
import { renderTable } from './text-table';

const ALERT_TEXT: Record<AccountSummary['alert'], string> = {
  ok: 'ok',
  warning: 'WARNING: 75% or more used and on pace to run out before the reset',
  exhausted: 'EXHAUSTED: credit-based features are paused until credits are added',
};

function listOrNone(items: readonly string[]): string {
  return items.length === 0 ? 'none' : items.join(', ');
}

function planLine(s: AccountSummary): string {
  const pending = s.pendingPlan ? ` (changes to ${s.pendingPlan.name} on ${formatUtc(s.pendingPlan.effectiveAt)})` : '';
  return `${s.plan.name}, ${plural(s.users, 'user')}${pending}`;
}

function tierLine(s: AccountSummary): string {
  // A tier bought in a trial may be paid past the first paid cycle's reset: say until when,
  // and when the workflow will charge it next (see tierSettlement), which may not be that reset.
  const through = s.tier?.paidThrough;
  const nextAt = s.tier?.nextChargeAt;
  const paid = through && Date.parse(through) > Date.parse(s.cycle.end) ? `, paid through ${formatUtc(through)}${nextAt ? `; next charged ${formatUtc(nextAt)}` : ''}` : '';
  const current = s.tier ? `${s.tier.name}: ${formatMoney(s.tier.priceCents)}/month for ${formatCount(s.tier.credits)} credits${paid}` : 'none';
  if (!s.pendingTier) return current;
  const next = s.pendingTier.tier === null ? 'cancelled' : `changes to ${s.pendingTier.tier}`;
  return `${current} (${next} on ${formatUtc(s.pendingTier.effectiveAt)})`;
}

/** Label/value lines with the values aligned. */
function fields(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
}

/** The summary as readable lines; `closed`: how the account's workflow closed, when it has. */
export function formatAccountSummary(s: AccountSummary, closed: ClosedRun | null = null): string[] {
  const c = s.credits;
  const lines = [
    `Account ${s.accountId}`,
    ...fields([
      ...(closed
        ? [['Status', `closed: its workflow was ${closed.status}${closed.closedAt ? ` on ${formatUtc(closed.closedAt)}` : ''}; its last state below takes no more usage, resets or charges`] as [string, string]]
        : []),
      ['Plan', planLine(s)],
      ['Trial', s.trial ? 'yes (fixed trial credits; they do not roll over into a paid plan)' : 'no'],
      ['Credit tier', tierLine(s)],
      ['Cycle', `#${cycleNumber(s.cycle.index)}: ${formatUtc(s.cycle.start)} to ${formatUtc(s.cycle.end)} (credits reset ${formatUtc(s.cycle.end)})`],
      ['Available', `${formatCount(c.available)} credits`],
      ['Granted', `${formatCount(c.granted)} credits this cycle`],
      ['Used', `${formatCount(c.used)} credits this cycle`],
      ['Overdraft', `${formatCount(c.overdraft)} credits`],
      ...(c.callOverage > 0
        ? [['Call overage', `${formatCount(c.callOverage)} credits calls ran past zero this cycle, written off (not taken from credits added)`] as [string, string]]
        : []),
      ['Alert', ALERT_TEXT[s.alert]],
      ['Telephony', `${formatQuantity(s.telephonyMinutes)} minutes this cycle (billed as telephony, not credits)`],
      ['Open calls', formatCount(s.openCalls)],
      ['Features', listOrNone(s.features.map((f) => `${f.feature} ${f.enabled ? 'on' : 'off'}`))],
      ['Inactive agents', listOrNone(s.inactiveAgents)],
      ['Tags', listOrNone(s.tags)],
      ['Admins', listOrNone(s.admins)],
      ['Rules version', s.rulesVersion],
      ...(s.parkedEffects > 0
        ? [['Parked effects', `${formatCount(s.parkedEffects)} refused for good by the ledger, billing or mail; see the worker logs`] as [string, string]]
        : []),
      ['As of', formatUtc(s.asOf)],
    ]),
    '',
    'Grants',
  ];
  if (s.grants.length === 0) lines.push('  none');
  else {
    lines.push(
      ...renderTable(
        [{ heading: 'SOURCE' }, { heading: 'LABEL' }, { heading: 'AMOUNT', align: 'right' }, { heading: 'REMAINING', align: 'right' }, { heading: 'EXPIRES' }],
        s.grants.map((g) => [g.source, g.label, formatCount(g.amount), formatCount(g.remaining), formatUtc(g.expiresAt)]),
      ),
    );
  }
  lines.push('', 'Usage this cycle');
  if (s.usage.length === 0) lines.push('  none');
  else {
    lines.push(
      ...renderTable(
        [
          { heading: 'FEATURE' },
          { heading: 'QUANTITY', align: 'right' },
          { heading: 'CREDITS', align: 'right' },
          { heading: 'ACCEPTED', align: 'right' },
          { heading: 'REFUSED', align: 'right' },
        ],
        s.usage.map((u) => [u.feature, formatQuantity(u.quantity), formatCount(u.credits), formatCount(u.count), formatCount(u.rejected)]),
      ),
    );
  }
  return lines;
}
