/**
 * The admin web server: the seed's Settings > AI Credits view of one account, its JSON, the
 * usage CSV download and marking in-app notifications read. Started by the main job next to
 * the worker, on the worker's ledger store; balances come from the account's workflow (the
 * source of truth, always current), notifications and the CSV from the ledger database.
 *
 * Access (admin/access.ts): operators see every account, customer admins only their own
 * through a signed portal link; with no operator credential configured it serves loopback only
 * (see docs/admin.md). Actions on the account page are admin/actions.ts.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isAccountNotFoundError, isCreditsUnavailableError, type CreditsClient } from '../client';
import type { AccountSummary } from '../domain/wire-contract';
import { DEFAULT_ADMIN_PORT } from '../infra/settings';
import { addOpsRoutes, ledgerReadiness, temporalReadiness, type ReadinessCheck } from '../infra/ops-http';
import { exportUsageCsv } from '../ledger/csv-export';
import { isLedgerError } from '../ledger/errors';
import type { EntryFilter, LedgerStore } from '../ledger/store';
import { readLedgerFacts } from '../ledger/reconcile';
import { readLedgerChain } from '../ledger/balance-chain';
import { ruleSetSource, rulesOfCycle, type RuleSet, type RulesOption } from '../ruleset';
import { adminAccessFromEnv, assertSafeBinding, createAdminAccess, type AdminAccessOptions } from './access';
import { actionsSection, registerActionRoutes } from './actions';
import { csvFilename, parseCsvKinds, parseCsvQuery } from './csv-query';
import { parseChainEpoch, parseFactsQuery } from './facts-query';
import { HttpError, badRequest } from './errors';
import { historyViews, registerHistoryRoutes } from './history-routes';
import { displayNames, type DisplayNames } from './names';
import { registerOpsAccountRoutes } from './ops-accounts';
import { accountPage, accountPath, errorPage, indexPage } from './pages';
import { wantsJson } from './negotiate';
import { ADMIN_CSS } from './styles';
import { registerWebhookRoutes } from './webhooks-route';
import { consoleLog } from '../infra/console-log';

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions {
  /** Client of the account workflows (the caller owns its connection). */
  client: CreditsClient;
  /** The ledger the worker writes (notifications, CSV export); the caller opens and closes it. */
  store: LedgerStore;
  /** Interface to listen on. Default `127.0.0.1`: the page has no login of its own. */
  host?: string;
  /** Port to listen on. Default 8787; 0 picks any free port (see the returned `url`). */
  port?: number;
  /**
   * Where display names (features, tiers) come from: a rules path (reloaded when it changes),
   * a rule set, or a function returning one. Default `CREDITS_RULES`, else the shipped rules.
   */
  rules?: RulesOption;
  /** Most notifications shown on the page and in the JSON, newest first. Default 50. */
  notificationLimit?: number;
  /** Where unexpected errors and access refusals are logged. Default `console.error`. */
  log?: (message: string, error?: unknown) => void;
  /** What `/readyz` asks. Default: the client's Temporal frontend and the ledger database answer. */
  readinessChecks?: readonly ReadinessCheck[];
  /** Who may see what (operator keys, login proxy, portal secret). Default: from the environment. */
  access?: AdminAccessOptions;
}

/** A running admin server. */
export interface AdminServer {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** Stops listening and waits for open requests to finish. */
  close(): Promise<void>;
}

/** Account ids as the workflow accepts them; anything else cannot name an account. */
const ACCOUNT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Served with every answer: no scripts at all, styles only from our own stylesheet, forms only
 * to ourselves, never framed (the page has a state-changing button).
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  // Not `no-referrer`: under it Chromium sends `Origin: null` with our own form posts.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

type AccountParams = { accountId: string };
type NotificationParams = AccountParams & { notificationId: string };

/** What an error becomes in the answer. */
interface ErrorAnswer {
  status: number;
  code: string;
  title: string;
  message: string;
}

/**
 * The answer for `err`, and whether it is unexpected (and so worth logging). A customer admin
 * (`customer`) is not shown what only operators should see.
 */
function answerFor(err: unknown, customer: boolean): { answer: ErrorAnswer; unexpected: boolean } {
  if (err instanceof HttpError) {
    const title = err.status === 404 ? 'Not found' : err.status === 403 ? 'Not allowed' : 'Bad request';
    return { answer: { status: err.status, code: err.code, title, message: err.message }, unexpected: false };
  }
  if (isAccountNotFoundError(err)) {
    // The client's message names the workflow, its namespace and a failed run's error: for operators.
    const forCustomer = err.closed ? 'This account is closed: its credits are not being tracked. Ask your provider to reopen it.' : 'There is no such account.';
    return { answer: { status: 404, code: 'account_not_found', title: 'Account not found', message: customer ? forCustomer : err.message }, unexpected: false };
  }
  if (isCreditsUnavailableError(err)) {
    return { answer: { status: 503, code: 'unavailable', title: 'Credits service unavailable', message: err.message }, unexpected: true };
  }
  if (isLedgerError(err) && (err.code === 'database_unavailable' || err.code === 'database_locked' || err.code === 'closed')) {
    return { answer: { status: 503, code: 'ledger_unavailable', title: 'Usage ledger unavailable', message: err.message }, unexpected: true };
  }
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own refusals (unsupported media type, body too large, bad URL encoding).
    return { answer: { status, code: 'bad_request', title: 'Bad request', message: (err as Error).message }, unexpected: false };
  }
  return {
    answer: {
      status: 500,
      code: 'internal_error',
      title: 'Something went wrong',
      message: 'The page could not be built because of an unexpected error; it has been logged. Try again in a moment.',
    },
    unexpected: true,
  };
}

function sendError(request: FastifyRequest, reply: FastifyReply, answer: ErrorAnswer): FastifyReply {
  reply.code(answer.status);
  if (wantsJson(request)) return reply.send({ error: { code: answer.code, message: answer.message } });
  return reply.type('text/html; charset=utf-8').send(errorPage(answer.status, answer.title, answer.message));
}

function checkedAccountId(id: string): string {
  if (!ACCOUNT_ID.test(id)) {
    throw new HttpError(404, 'account_not_found', `no account can be named ${JSON.stringify(id)}: account ids are 1-64 characters of A-Z, a-z, 0-9, ".", "_" and "-"`);
  }
  return id;
}

/** The current rule set, or undefined (logged once per failure) when the rules cannot be read. */
function rulesSource(rules: AdminServerOptions['rules'], log: (message: string, error?: unknown) => void): () => RuleSet | undefined {
  let current: (() => RuleSet) | undefined;
  let failing = false;
  return () => {
    try {
      // Resolved on first use, inside the guard: even finding the default path can fail.
      current ??= ruleSetSource(rules, (err) => log('admin page: rules changed on disk but failed to load; using the previous rules', err));
      const ruleSet = current();
      failing = false;
      return ruleSet;
    } catch (err) {
      // The page still renders, with ids instead of names.
      if (!failing) log('admin page: cannot load the rules; showing ids instead of names', err);
      failing = true;
      return undefined;
    }
  };
}

/** Builds the application (routes, error pages, headers) without listening. */
function buildApp(options: AdminServerOptions): FastifyInstance {
  const { client, store } = options;
  const log = options.log ?? consoleLog;
  const limit = options.notificationLimit ?? 50;
  const ruleSet = rulesSource(options.rules, log);
  const rulesFor = (summary: AccountSummary) => {
    const set = ruleSet();
    return set === undefined ? undefined : rulesOfCycle(set, summary);
  };
  const namesFor = (summary: AccountSummary): DisplayNames => displayNames(rulesFor(summary));
  const history = { client, store, rulesFor, checkedAccountId };
  // A customer admin is told a closed account is closed (the client's AccountNotFoundError);
  // an operator sees its last state, marked closed.
  const accountData = async (accountId: string, customer: boolean) => {
    const [summary, notifications] = await Promise.all([client.summary(accountId, { running: customer }), store.listNotifications(accountId, { limit })]);
    return { summary, notifications, closed: customer ? null : await client.closedRun(accountId) };
  };

  // Notification ids carry the account id, which may be 64 characters long by itself.
  const maxParamLength = 512;
  const app = Fastify({
    logger: false,
    routerOptions: { maxParamLength },
    // Answered before any hook runs: the error page and its headers are set here.
    frameworkErrors: (_err, request, reply) =>
      sendError(request, reply.headers(SECURITY_HEADERS), {
        status: 404,
        code: 'not_found',
        title: 'Not found',
        message: `There is no page at an address that is not valid percent-encoded UTF-8, or with a part over ${maxParamLength} characters.`,
      }),
  });
  // The page's forms: small urlencoded bodies (the mark-read form's is empty).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
    // A field given twice (`credits=1&credits=3`) has no one meaning: refused, never last-wins.
    const fields = [...new URLSearchParams(String(body))];
    const seen = new Set<string>();
    for (const [name] of fields) {
      if (seen.has(name)) return done(badRequest(`the form gives ${JSON.stringify(name.slice(0, 40))} twice; send each field once`), undefined);
      seen.add(name);
    }
    return done(null, Object.fromEntries(fields));
  });
  const access = createAdminAccess(options.access, (message) => log(message), store);
  access.register(app);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });
  app.setErrorHandler((err, request, reply) => {
    const { answer, unexpected } = answerFor(err, access.isCustomer(request));
    // The path only: a query may carry a portal link's token.
    if (unexpected) log(`admin page: ${request.method} ${request.url.split('?')[0]} failed`, err);
    return sendError(request, reply, answer);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, { status: 404, code: 'not_found', title: 'Not found', message: `There is no page at ${request.url.split('?')[0]}.` }),
  );

  addOpsRoutes(app, {
    server: 'admin',
    checks: options.readinessChecks ?? [temporalReadiness(() => client.temporal.connection), ledgerReadiness(store)],
    log,
  });

  app.get('/assets/admin.css', (_request, reply) => reply.type('text/css; charset=utf-8').send(ADMIN_CSS));

  app.get('/', (_request, reply) => reply.type('text/html; charset=utf-8').send(indexPage()));

  // The index's form submits here; a readable URL per account is what admins bookmark.
  app.get<{ Querystring: { id?: unknown } }>('/accounts', (request, reply) => {
    const id = typeof request.query.id === 'string' ? request.query.id.trim() : '';
    if (id === '') throw badRequest('give the account id to open, e.g. /accounts?id=acme-corp');
    return reply.redirect(accountPath(checkedAccountId(id)), 303);
  });

  app.get<{ Params: AccountParams }>('/accounts/:accountId', async (request, reply) => {
    const { summary, notifications, closed } = await accountData(checkedAccountId(request.params.accountId), access.isCustomer(request));
    const names = namesFor(summary);
    const flash = await access.takeFlash(request, summary.accountId);
    const actions = actionsSection(summary, names, rulesFor(summary), access.callerOf(request), access.sessionOf(request), flash);
    const views = await historyViews(history, summary, Boolean(closed));
    return reply.type('text/html; charset=utf-8').send(accountPage({ summary, notifications, names, actions, history: views, closed }));
  });
  registerActionRoutes(app, { client, access, rulesFor, namesFor, log: (message) => log(message) }, checkedAccountId);

  app.get<{ Params: AccountParams }>('/api/accounts/:accountId', async (request) => accountData(checkedAccountId(request.params.accountId), access.isCustomer(request)));

  registerOpsAccountRoutes(app, client, ruleSet);

  // For `credits ledger verify` while this process holds the embedded ledger: the ledger's side
  // of the reconciliation (the CLI reads the summary itself).
  app.get('/api/ledger/accounts', async () => ({ accounts: await store.listAccountIds() }));
  registerWebhookRoutes(app, store);
  app.get<{ Params: AccountParams; Querystring: Record<string, unknown> }>('/api/accounts/:accountId/ledger', async (request) =>
    readLedgerFacts(store, parseFactsQuery(checkedAccountId(request.params.accountId), request.query)),
  );
  app.get<{ Params: AccountParams; Querystring: Record<string, unknown> }>('/api/accounts/:accountId/ledger/chain', async (request) =>
    readLedgerChain(store, checkedAccountId(request.params.accountId), parseChainEpoch(request.query)),
  );

  app.get<{ Params: AccountParams; Querystring: Record<string, unknown> }>('/accounts/:accountId/usage.csv', async (request, reply) => {
    const accountId = checkedAccountId(request.params.accountId);
    const summary = await client.summary(accountId);
    const range = parseCsvQuery(request.query, summary.cycle.index);
    const allKinds = parseCsvKinds(request.query);
    const filter: EntryFilter =
      range.kind === 'cycle'
        ? { accountId, cycleIndex: range.cycleIndex }
        : range.kind === 'all'
          ? { accountId }
          : { accountId, from: range.from, to: range.to };
    const body = new PassThrough();
    exportUsageCsv(store, filter, body, { allKinds }).catch((err: unknown) => {
      log(`admin page: usage CSV of ${accountId} failed part way; the download was cut off`, err);
      body.destroy(err instanceof Error ? err : new Error(String(err)));
    });
    // Wait for the header row: a database that is down is then a proper 503 page, not a
    // 200 download that breaks off. (The export destroys `body` with its error.)
    await once(body, 'readable');
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${csvFilename(accountId, range)}"`)
      .send(body);
  });

  registerHistoryRoutes(app, { ...history, isCustomer: (request) => access.isCustomer(request) });

  app.post<{ Params: NotificationParams }>('/accounts/:accountId/notifications/:notificationId/read', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin !== undefined && originHost(origin) !== request.headers.host) {
      throw new HttpError(403, 'cross_origin', 'notifications can only be marked read from this admin page');
    }
    const accountId = checkedAccountId(request.params.accountId);
    const { notificationId } = request.params;
    const notification = (await store.listNotifications(accountId)).find((n) => n.alertId === notificationId);
    if (!notification) {
      throw new HttpError(404, 'notification_not_found', `account ${accountId} has no notification ${JSON.stringify(notificationId)}`);
    }
    let readAt = notification.readAt;
    if (readAt === null) {
      readAt = new Date().toISOString();
      await store.markNotificationRead(notificationId, readAt);
    }
    if (wantsJson(request)) return reply.send({ notification: { ...notification, readAt } });
    // Post/redirect/get: a reload of the page must not post again.
    return reply.redirect(`${accountPath(accountId)}#notifications`, 303);
  });

  return app;
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/**
 * Starts the admin server and resolves once it listens.
 *
 * @throws the listen error (e.g. `EADDRINUSE`) when the port cannot be had.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const host = options.host ?? '127.0.0.1';
  const access = options.access ?? adminAccessFromEnv();
  assertSafeBinding(access, host);
  const app = buildApp({ ...options, access });
  await app.listen({ host, port: options.port ?? DEFAULT_ADMIN_PORT });
  const { port } = app.server.address() as AddressInfo;
  // A wildcard address is reachable locally on loopback; print an address a browser can open.
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return {
    url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`,
    close: () => app.close(),
  };
}
