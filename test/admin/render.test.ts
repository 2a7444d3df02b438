/**
 * The admin page's pure parts, without a server: escaping, number and date formats, the CSV
 * query's validation and the page's rendering of hostile or unusual data.
 */
import { describe, expect, it } from 'vitest';
import { barWidth } from '../../admin/chart';
import { csvFilename, parseCsvQuery } from '../../admin/csv-query';
import { HttpError } from '../../admin/errors';
import { html, raw } from '../../admin/html';
import { displayNames } from '../../admin/names';
import { accountPage, deliveryText, errorPage } from '../../admin/pages';
import { formatQuantity, joinNames, percentOf } from '../../display';
import type { DeliveryStatus, InAppNotification } from '../../ledger/store';
import { defaultRulesPath, loadRuleSet } from '../../ruleset';
import { adminSummary } from './history-fixtures';

const rules = loadRuleSet(defaultRulesPath()).latest;

const summary = adminSummary;

function rejection(query: Record<string, unknown>, currentCycle = 3): string {
  try {
    parseCsvQuery(query, currentCycle);
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(400);
    return (err as Error).message;
  }
  throw new Error('expected a 400');
}

describe('html', () => {
  it('writes invisible formatting characters out, so a reason cannot reorder or hide the page around it', () => {
    expect(html`<td>${'\u202Eevil'}</td><td title="${'a\u200Bb'}">${'x'}</td>`.markup).toBe('<td>\\u202eevil</td><td title="a\\u200bb">x</td>');
  });

  it('escapes interpolated text but not markup it made itself', () => {
    const inner = html`<b>${'a & b'}</b>`;
    expect(html`<p title="${'"x"'}">${'<script>'}${inner}${[raw('<i>'), "'", null, false, undefined, 0]}</p>`.markup).toBe(
      '<p title="&quot;x&quot;">&lt;script&gt;<b>a &amp; b</b><i>&#39;0</p>',
    );
  });
});

describe('formats', () => {
  it('writes quantities with separators on the whole part only', () => {
    expect(formatQuantity(1_234_567)).toBe('1,234,567');
    expect(formatQuantity(1234.5)).toBe('1,234.5');
    expect(formatQuantity(0.1 + 0.2)).toBe('0.3');
    expect(formatQuantity(-1500)).toBe('-1,500');
  });

  it('floors percentages, caps them at 100 and lists names the help page way', () => {
    expect(percentOf(1199, 1500)).toBe(79);
    expect(percentOf(2000, 1500)).toBe(100);
    expect(percentOf(0, 0)).toBe(0);
    expect(joinNames(['A', 'B', 'C'])).toBe('A, B and C');
    expect(joinNames(['A'])).toBe('A');
  });

  it('draws no bar for nothing and a visible sliver for a little', () => {
    expect(barWidth(0, 100, 400)).toBe(0);
    expect(barWidth(100, 100, 400)).toBe(400);
    expect(barWidth(1, 100_000, 400)).toBe(2);
  });
});

describe('the usage CSV query', () => {
  it('defaults to the current cycle and reads a cycle or a date range', () => {
    expect(parseCsvQuery({}, 3)).toEqual({ kind: 'cycle', cycleIndex: 3 });
    // `cycle` is the number the page shows, from 1: cycle=1 is index 0, cycle=4 the current index 3.
    expect(parseCsvQuery({ cycle: '1' }, 3)).toEqual({ kind: 'cycle', cycleIndex: 0 });
    expect(parseCsvQuery({ cycle: '4' }, 3)).toEqual({ kind: 'cycle', cycleIndex: 3 });
    // A `to` date includes its whole day; an instant is taken as it is.
    expect(parseCsvQuery({ from: '2026-06-01', to: '2026-06-30' }, 3)).toEqual({
      kind: 'range',
      from: '2026-06-01T00:00:00.000Z',
      to: '2026-07-01T00:00:00.000Z',
      label: '2026-06-01_to_2026-06-30',
    });
    expect(parseCsvQuery({ from: '2026-06-01T12:00:00Z', to: '2026-06-02T00:00:00+02:00' }, 3)).toMatchObject({
      from: '2026-06-01T12:00:00.000Z',
      to: '2026-06-01T22:00:00.000Z',
    });
  });

  it('refuses bad parameters saying what is expected', () => {
    expect(rejection({ cycle: '-1' })).toBe('cycle must be a whole number from 1 to 4, the current cycle (got "-1")');
    expect(rejection({ cycle: '0' })).toBe('cycle must be a whole number from 1 to 4, the current cycle (got "0")');
    expect(rejection({ cycle: '9' })).toBe('cycle 9 has not started yet: the current cycle is 4');
    expect(rejection({ cycle: '1', from: '2026-06-01' })).toBe('use either cycle=N or from=DATE&to=DATE, not both');
    expect(rejection({ from: '2026-06-01' })).toMatch(/^from and to go together/);
    expect(rejection({ from: '2026-02-30', to: '2026-03-01' })).toMatch(/^from must be a date like 2026-06-01 .* \(got "2026-02-30"\)$/);
    expect(rejection({ from: '2026-06-02', to: '2026-06-01' })).toBe('from (2026-06-02) must be before to (2026-06-01)');
    expect(rejection({ cycle: ['1', '2'] })).toBe('give cycle once (got it 2 times)');
    expect(rejection({ month: 'june' })).toBe('unknown query parameter month: use cycle=N, or from=DATE&to=DATE');
  });

  it('names the file after the account and the entries, with header-safe characters only', () => {
    expect(csvFilename('acme', { kind: 'cycle', cycleIndex: 2 })).toBe('ai-credits-usage-acme-cycle-3.csv');
    expect(csvFilename('acme', { kind: 'range', from: '', to: '', label: '2026-06-01T00:00:00Z_to_2026-07-01' })).toBe(
      'ai-credits-usage-acme-2026-06-01T00_00_00Z_to_2026-07-01.csv',
    );
  });
});

describe('the account page', () => {
  it('numbers the cycle from 1, in its hint and in its CSV link', () => {
    const page = accountPage({ summary: summary(), notifications: [], names: displayNames(rules) });
    expect(page).toContain('· cycle 5 ·');
    expect(page).toContain('/usage.csv?cycle=5"');
    expect(page).not.toContain('cycle 4');
  });

  it("promises a reset to a paid account that ran out, and none to a trial", () => {
    const out = { alert: 'exhausted' as const, credits: { available: 0, granted: 1_000, used: 1_000, overdraft: 0, callOverage: 0 } };
    const paid = accountPage({ summary: summary(out), notifications: [], names: displayNames(rules) });
    expect(paid).toMatch(/Credits reset on <time[^>]*>2026-07-03/);
    const trial = accountPage({ summary: summary({ ...out, trial: true }), notifications: [], names: displayNames(rules) });
    expect(trial).toContain('Trial credits do not reset: upgrade to a paid plan or add an AI Credit Subscription Plan to keep using them.');
    expect(trial).not.toContain('Credits reset on');
  });

  it('escapes whatever the account holds', () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const page = accountPage({
      summary: summary({
        grants: [
          {
            grantId: 'g"1',
            source: 'manual',
            label: hostile,
            amount: 100,
            remaining: 100,
            grantedAt: '2026-06-04T00:00:00.000Z',
            expiresAt: '2026-07-03T00:00:00.000Z',
          },
        ],
        inactiveAgents: ['<agent>'],
        features: [{ feature: 'enrichment', enabled: false }],
      }),
      notifications: [],
      names: displayNames(rules),
    });
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('data-grant="g&quot;1"');
    expect(page).toContain('&lt;agent&gt;');
    expect(page).toContain('<span class="badge badge-off" data-toggle="enrichment">Off</span>');
  });

  it('shows money from integer cents, pending changes and a cancelled subscription', () => {
    const page = accountPage({
      summary: summary({
        tier: { id: 'tier-x', name: 'Tier X', priceCents: 1_250_05, credits: 1_000_000 },
        pendingTier: { tier: null, effectiveAt: '2026-07-03T00:00:00.000Z' },
        pendingPlan: { id: 'essentials', name: 'Essentials', effectiveAt: '2026-07-03T00:00:00.000Z' },
      }),
      notifications: [],
      names: displayNames(rules),
    });
    expect(page).toContain('Tier X: $1,250.05/month for 1,000,000 credits');
    expect(page).toMatch(/Tier X → no subscription \(cancelled\) on <time datetime="2026-07-03T00:00:00.000Z">2026-07-03<\/time>/);
    expect(page).toMatch(/Growth → Essentials on <time[^>]*>2026-07-03<\/time>/);
  });

  it('still names the paused features and shows notifications when the rules cannot be read', () => {
    const notification: InAppNotification = {
      alertId: 'acme:e:alert:4:exhausted:1',
      accountId: 'acme',
      at: '2026-06-20T00:00:00.000Z',
      state: 'exhausted',
      admins: [],
      cycleIndex: 4,
      cycleEnd: '2026-07-03T00:00:00.000Z',
      available: 0,
      granted: 4_500,
      used: 4_500,
      projectedRunOutAt: null,
      rulesVersion: rules.version,
      createdAt: '2026-06-20T00:00:01.000Z',
      readAt: null,
      deliveries: [],
    };
    const page = accountPage({
      summary: summary({ alert: 'exhausted', credits: { available: 0, granted: 4_500, used: 4_500, overdraft: 0, callOverage: 0 } }),
      notifications: [notification],
      names: displayNames(undefined),
    });
    expect(page).toContain('Chloe Voice Agents, Enrichment and Auto Updates are paused until credits are added');
    expect(page).toContain('action="/accounts/acme/notifications/acme%3Ae%3Aalert%3A4%3Aexhausted%3A1/read"');
    expect(page).toContain('AI credits exhausted: credit-based features paused');
  });

  const email = (status: DeliveryStatus, lastError: string | null = null): Pick<InAppNotification, 'deliveries'> => ({
    deliveries: [{ channel: 'email', status, attempts: 1, sentAt: null, messageId: null, lastError }],
  });
  it.each<[string, Pick<InAppNotification, 'deliveries'>, string]>([
    ['none yet', { deliveries: [] }, 'e-mail pending'],
    ['sent', email('sent'), 'e-mail sent'],
    ['sent, one refused', email('sent', 'refused recipients: gone@acme.test'), 'e-mail sent, but not to every admin: refused by the mail server: gone@acme.test'],
    ['sent, one not an address', email('sent', 'not sent to "ops,x@evil.test": not one plain e-mail address'), 'e-mail sent, but not to every admin: not sent to "ops,x@evil.test": not one plain e-mail address'],
    ['retrying', email('failed', 'SMTP server smtp://mail.internal:587 refused ...: 451'), 'e-mail not sent yet: retrying'],
    ['refused for good', email('abandoned', 'SMTP server smtp://mail.internal:587 refused the alert e-mail x to a@b: 550 5.1.1; the mail was not sent; refused for good, not retried'), 'e-mail not delivered: the mail server refused it'],
    ['given up', email('abandoned', 'SMTP server smtp://mail.internal:587 could not be reached ...; given up after 15 minutes of attempts'), 'e-mail not delivered: the mail server could not take it, and retrying was given up'],
    ['skipped', email('skipped', 'the account has no admins'), 'no e-mail: the account has no admins'],
  ])("says how a notification's e-mail went (%s), never the mail server's address", (_case, notification, text) => {
    expect(deliveryText(notification)).toBe(text);
  });

  it('writes errors as words in a page', () => {
    expect(errorPage(404, 'Account not found', 'unknown account <x>')).toContain('<p>unknown account &lt;x&gt;</p>');
  });
});
