/**
 * The ops view: every running account, filtered like `credits account list` (alert state, tier,
 * plan, tag, trial, parked effects), searched by account id prefix and paged, each linking to
 * its account page. Reads the accounts' search attributes through the client library's
 * `listAccounts`; access control is the admin server's concern, not this page's.
 */
import type { FastifyInstance } from 'fastify';
import { formatCount, formatUtcDate } from '../display';
import { ALERT_FILTERS, AccountListFilterError, MAX_LIST_LIMIT, listAccounts, resolveListFilters, type AccountListFilters, type AccountPage, type AlertFilter } from '../client/account-list';
import type { RuleSet } from '../ruleset';
import type { CreditsClient } from '../client';
import { badRequest } from './errors';
import { html, type SafeHtml } from './html';
import { accountPath, layout } from './pages';

/** Path of the ops view. */
export const OPS_ACCOUNTS_PATH = '/ops/accounts';

/** What the ops view was asked for: filters, page size and page token. */
export interface OpsAccountsQuery {
  filters: AccountListFilters;
  limit: number;
  pageToken?: string;
}

const DEFAULT_OPS_LIMIT = 50;

function text(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`give ${name} once`);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/**
 * The ops view's query string as filters. Empty fields mean "any" (the form sends them all).
 *
 * @throws HttpError 400 for an unknown alert state, trial value, or a limit out of range
 */
export function parseOpsQuery(query: Record<string, unknown>): OpsAccountsQuery {
  const alert = text(query, 'alert');
  if (alert !== undefined && !(ALERT_FILTERS as readonly string[]).includes(alert)) throw badRequest(`alert must be one of ${ALERT_FILTERS.join(', ')}`);
  const trial = text(query, 'trial');
  if (trial !== undefined && trial !== 'yes' && trial !== 'no') throw badRequest('trial must be yes or no');
  const parked = text(query, 'parked');
  if (parked !== undefined && parked !== 'yes') throw badRequest('parked must be yes');
  const limitText = text(query, 'limit');
  if (limitText !== undefined && !/^\d{1,4}$/.test(limitText)) throw badRequest(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
  const limit = limitText === undefined ? DEFAULT_OPS_LIMIT : Number(limitText);
  if (limit < 1 || limit > MAX_LIST_LIMIT) throw badRequest(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
  const [tier, plan, tag, idPrefix, pageToken] = ['tier', 'plan', 'tag', 'q', 'page'].map((name) => text(query, name));
  const filters: AccountListFilters = {
    ...(alert === undefined ? {} : { alert: alert as AlertFilter }),
    ...(tier === undefined ? {} : { tier }),
    ...(plan === undefined ? {} : { plan }),
    ...(tag === undefined ? {} : { tag }),
    ...(parked === undefined ? {} : { parked: true }),
    ...(trial === undefined ? {} : { trial: trial === 'yes' }),
    ...(idPrefix === undefined ? {} : { idPrefix }),
  };
  return { filters, limit, ...(pageToken === undefined ? {} : { pageToken }) };
}

/** The query string of the same listing at another page (filters kept). */
export function opsAccountsHref(query: OpsAccountsQuery, pageToken?: string): string {
  const f = query.filters;
  const params = new URLSearchParams();
  if (f.idPrefix !== undefined) params.set('q', f.idPrefix);
  if (f.alert !== undefined) params.set('alert', f.alert);
  if (f.tier !== undefined) params.set('tier', f.tier);
  if (f.plan !== undefined) params.set('plan', f.plan);
  if (f.tag !== undefined) params.set('tag', f.tag);
  if (f.trial !== undefined) params.set('trial', f.trial ? 'yes' : 'no');
  if (f.parked === true) params.set('parked', 'yes');
  if (query.limit !== DEFAULT_OPS_LIMIT) params.set('limit', String(query.limit));
  if (pageToken !== undefined) params.set('page', pageToken);
  const search = params.toString();
  return search === '' ? OPS_ACCOUNTS_PATH : `${OPS_ACCOUNTS_PATH}?${search}`;
}

function option(value: string, label: string, selected: string | undefined): SafeHtml {
  return html`<option value="${value}"${selected === value ? html` selected` : ''}>${label}</option>`;
}

function filterForm(query: OpsAccountsQuery): SafeHtml {
  const f = query.filters;
  const alert = f.alert === 'none' ? 'ok' : f.alert;
  return html`<form class="inline" method="get" action="${OPS_ACCOUNTS_PATH}" id="ops-filters">
  <label class="field">Account id starts with<input name="q" value="${f.idPrefix ?? ''}" placeholder="acme"></label>
  <label class="field">Alert<select name="alert">${option('', 'any', alert ?? '')}${option('ok', 'none', alert)}${option('warning', 'warning', alert)}${option('exhausted', 'exhausted', alert)}</select></label>
  <label class="field">Tier<input name="tier" value="${f.tier ?? ''}" placeholder="tier-5"></label>
  <label class="field">Plan<input name="plan" value="${f.plan ?? ''}" placeholder="growth"></label>
  <label class="field">Tag<input name="tag" value="${f.tag ?? ''}" placeholder="chloe-beta"></label>
  <label class="field">Trial<select name="trial">${option('', 'any', f.trial === undefined ? '' : undefined)}${option('yes', 'trial', f.trial === true ? 'yes' : undefined)}${option('no', 'paid', f.trial === false ? 'no' : undefined)}</select></label>
  <label class="field"><input type="checkbox" name="parked" value="yes"${f.parked === true ? html` checked` : ''}> Parked effects</label>
  <button class="button-primary" type="submit">Filter</button>
</form>`;
}

/** The ops view page for one page of accounts. */
export function opsAccountsPage(query: OpsAccountsQuery, page: AccountPage): string {
  const rows = page.accounts.map(
    (a) => html`<tr data-account="${a.accountId}">
      <td><a href="${accountPath(a.accountId)}">${a.accountId}</a></td>
      <td>${a.plan ?? ''}</td>
      <td>${a.tier ?? '-'}</td>
      <td>${a.trial === true ? 'trial' : 'paid'}</td>
      <td>${a.alert === null || a.alert === 'ok' ? '' : html`<span class="badge badge-${a.alert}">${a.alert}</span>`}</td>
      <td class="num">${a.available === null ? '' : formatCount(a.available)}</td>
      <td>${a.cycleEnd === null ? '' : formatUtcDate(a.cycleEnd)}</td>
      <td class="num">${a.parkedEffects}</td>
      <td>${a.tags.join(', ')}</td>
    </tr>`,
  );
  const body = rows.length > 0 ? rows : html`<tr><td colspan="9" class="empty">No running account matches these filters.</td></tr>`;
  const more =
    page.nextPageToken === null ? '' : html`<p class="hint"><a id="next-page" href="${opsAccountsHref(query, page.nextPageToken)}">Next page →</a></p>`;
  const content = html`<h1>Accounts</h1>
<p class="subtitle">Running accounts by their search attributes; a change shows here a moment after it happens.</p>
<section class="card">${filterForm(query)}</section>
<section class="card" id="accounts">
  <table>
    <thead><tr><th>Account</th><th>Plan</th><th>Tier</th><th>Trial</th><th>Alert</th><th class="num">Available</th><th>Cycle ends</th><th class="num">Parked</th><th>Tags</th></tr></thead>
    <tbody>${body}</tbody>
  </table>
  ${more}
  ${query.pageToken === undefined ? '' : html`<p class="hint"><a href="${opsAccountsHref(query)}">First page</a></p>`}
</section>`;
  return layout('Accounts · AI Credits admin', html`Ops › Accounts`, content);
}

async function listFor(client: CreditsClient, query: OpsAccountsQuery, ruleSet: () => RuleSet | undefined): Promise<AccountPage> {
  try {
    // A plan's name or alias, or a tier in any case, as every other surface takes them; without
    // rules to read, the filters go as typed (ids match).
    const rules = query.filters.plan === undefined && query.filters.tier === undefined ? undefined : ruleSet();
    const filters = rules === undefined ? query.filters : resolveListFilters(query.filters, rules);
    return await listAccounts(client.temporal, filters, { limit: query.limit, ...(query.pageToken === undefined ? {} : { pageToken: query.pageToken }) });
  } catch (err) {
    if (err instanceof AccountListFilterError) throw badRequest(err.message);
    throw err;
  }
}

/** Adds the ops view (`GET /ops/accounts`) and its JSON (`GET /api/ops/accounts`) to the admin app. */
export function registerOpsAccountRoutes(app: FastifyInstance, client: CreditsClient, ruleSet: () => RuleSet | undefined = () => undefined): void {
  app.get<{ Querystring: Record<string, unknown> }>(OPS_ACCOUNTS_PATH, async (request, reply) => {
    const query = parseOpsQuery(request.query);
    const page = await listFor(client, query, ruleSet);
    return reply.type('text/html; charset=utf-8').send(opsAccountsPage(query, page));
  });
  app.get<{ Querystring: Record<string, unknown> }>('/api/ops/accounts', async (request) => listFor(client, parseOpsQuery(request.query), ruleSet));
}
