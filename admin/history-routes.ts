/**
 * The admin server's "over time" routes: for each view (usage by day, usage by user, billing
 * history, the ledger of credit movements) a JSON route under `/api` and a CSV download, both
 * from the view's one data function, plus the paged ledger page. Every route asks the account's
 * workflow for its summary first, so an unknown account is a 404 rather than an empty view.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CreditsClient } from '../client';
import type { AccountSummary } from '../domain/wire-contract';
import { CSV_COLUMNS, csvDocument, entryToCsvRow } from '../ledger/csv-export';
import type { LedgerStore } from '../ledger/store';
import type { Rules } from '../ruleset';
import { parseCsvQuery, type CsvRange } from './csv-query';
import { badRequest } from './errors';
import { ledgerPageBody, type HistoryViews } from './history-views';
import { html } from './html';
import { layout } from './pages';
import {
  BILLING_CSV_COLUMNS,
  DAY_CSV_COLUMNS,
  USER_CSV_COLUMNS,
  billingCsvRows,
  billingHistoryView,
  type BillingHistoryView,
  creditLedgerView,
  creditMovements,
  dayCsvRows,
  parseLedgerPageQuery,
  usageByDayView,
  usageByUserView,
  userCsvRows,
} from './usage-over-time';

/** What the routes need from the server. */
export interface HistoryRouteDeps {
  client: Pick<CreditsClient, 'summary' | 'closedRun'>;
  store: LedgerStore;
  /** The rules the account is priced with (tier names and prices), or undefined when unreadable. */
  rulesFor(summary: AccountSummary): Rules | undefined;
  /** The account id of a path, or an HttpError 404 when no account can have it. */
  checkedAccountId(id: string): string;
  /**
   * Whether a request is a customer admin's: a closed account is then "not found, closed", as
   * on its page, rather than its last state. Absent: every request is an operator's.
   */
  isCustomer?(request: FastifyRequest): boolean;
}

/** Credit ledger entries shown on the account page itself; older ones are a page away. */
const PAGE_LEDGER_ENTRIES = 10;

type Params = { Params: { accountId: string }; Querystring: Record<string, unknown> };

/** The usage views' query: the CSV export's `cycle` or `from`/`to` (default: the current cycle). */
function usageRange(query: Record<string, unknown>, summary: AccountSummary): CsvRange {
  if ('kinds' in query) throw badRequest('kinds applies to usage.csv only: usage by day and by user always count usage');
  return parseCsvQuery(query, summary.cycle.index);
}

function noQuery(query: Record<string, unknown>, what: string): void {
  const names = Object.keys(query);
  if (names.length > 0) throw badRequest(`unknown query parameter ${names.join(', ')}: ${what} takes none`);
}

function rangeLabel(range: CsvRange): string {
  return range.kind === 'cycle' ? `cycle-${range.cycleIndex}` : range.kind === 'all' ? 'all-cycles' : range.label;
}

function sendCsv(reply: FastifyReply, view: string, accountId: string, what: string, body: string): FastifyReply {
  // Only characters that need no quoting or encoding in Content-Disposition.
  const filename = `ai-credits-${view}-${accountId}-${what}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`).send(body);
}

/** The page's "over time" views of the current cycle, and the newest credit movements. */
export async function historyViews(deps: HistoryRouteDeps, summary: AccountSummary, closed = false): Promise<HistoryViews> {
  const current: CsvRange = { kind: 'cycle', cycleIndex: summary.cycle.index };
  const [usageByDay, usageByUser, billing, ledger] = await Promise.all([
    usageByDayView(deps.store, summary, current),
    usageByUserView(deps.store, summary, current),
    billingHistoryView(deps.store, summary, deps.rulesFor(summary), closed),
    creditLedgerView(deps.store, summary.accountId, { limit: PAGE_LEDGER_ENTRIES }),
  ]);
  return { usageByDay, usageByUser, billing, ledger };
}

/** Adds the "over time" routes to the admin server. */
export function registerHistoryRoutes(app: FastifyInstance, deps: HistoryRouteDeps): void {
  const { store } = deps;
  const summaryOf = (request: FastifyRequest<Params>): Promise<AccountSummary> =>
    deps.client.summary(deps.checkedAccountId(request.params.accountId), { running: deps.isCustomer?.(request) === true });

  /** The JSON route and CSV download of a usage view over the CSV export's periods. */
  const usageView = <V>(name: string, view: (store: LedgerStore, summary: AccountSummary, range: CsvRange) => Promise<V>, columns: readonly string[], rows: (v: V) => string[][]) => {
    app.get<Params>(`/api/accounts/:accountId/${name}`, async (request) => {
      const summary = await summaryOf(request);
      return view(store, summary, usageRange(request.query, summary));
    });
    app.get<Params>(`/accounts/:accountId/${name}.csv`, async (request, reply) => {
      const summary = await summaryOf(request);
      const range = usageRange(request.query, summary);
      return sendCsv(reply, name, summary.accountId, rangeLabel(range), csvDocument(columns, rows(await view(store, summary, range))));
    });
  };
  usageView('usage-by-day', usageByDayView, DAY_CSV_COLUMNS, dayCsvRows);
  usageView('usage-by-user', usageByUserView, USER_CSV_COLUMNS, userCsvRows);

  /** The billing history the JSON route and the CSV download answer; a customer's summary already refused a closed account. */
  const billingOf = async (request: FastifyRequest<Params>, what: string): Promise<BillingHistoryView> => {
    const summary = await summaryOf(request);
    noQuery(request.query, what);
    const closed = deps.isCustomer?.(request) !== true && (await deps.client.closedRun(summary.accountId)) !== null;
    return billingHistoryView(store, summary, deps.rulesFor(summary), closed);
  };
  app.get<Params>('/api/accounts/:accountId/billing-history', (request) => billingOf(request, 'billing history'));
  app.get<Params>('/accounts/:accountId/billing-history.csv', async (request, reply) => {
    const view = await billingOf(request, 'the billing history CSV');
    return sendCsv(reply, 'billing-history', view.accountId, 'all', csvDocument(BILLING_CSV_COLUMNS, billingCsvRows(view)));
  });

  app.get<Params>('/api/accounts/:accountId/credit-ledger', async (request) => {
    const summary = await summaryOf(request);
    return creditLedgerView(store, summary.accountId, parseLedgerPageQuery(request.query));
  });
  app.get<Params>('/accounts/:accountId/credit-ledger', async (request, reply) => {
    const summary = await summaryOf(request);
    const view = await creditLedgerView(store, summary.accountId, parseLedgerPageQuery(request.query));
    const page = layout(`Credit ledger · ${summary.accountId}`, html`Settings › AI Credits › ${summary.accountId} › Credit ledger`, ledgerPageBody(view));
    return reply.type('text/html; charset=utf-8').send(page);
  });
  app.get<Params>('/accounts/:accountId/credit-ledger.csv', async (request, reply) => {
    const summary = await summaryOf(request);
    noQuery(request.query, 'the credit ledger CSV');
    // Grants, expiries, write-offs and voids are a few a cycle: one document, not a stream.
    const rows: string[][] = [];
    for await (const entry of store.streamEntries(creditMovements(summary.accountId))) rows.push(entryToCsvRow(entry));
    return sendCsv(reply, 'credit-ledger', summary.accountId, 'all', csvDocument(CSV_COLUMNS, rows));
  });
}
