/**
 * Who may see and act on what in the admin page. Two audiences:
 *
 * - operators (billing ops) see every account and may take every action. They prove it with an
 *   operator key (`Authorization: Bearer`, or typed once into /login for a browser session),
 *   or through the company's login proxy, whose identity header is believed only from the
 *   proxy's own address;
 * - a customer admin reaches only their own account, through a short-lived signed link
 *   (client/portal-link.ts) that /portal trades for a session cookie once.
 *
 * With no operator credential configured at all the page is the local developer's: every
 * request is an operator, and {@link assertSafeBinding} refuses any interface but loopback.
 *
 * Sessions live in the ledger database, under a digest of the cookie's id, so a restart signs
 * nobody out and every admin server on one ledger knows every session; each carries the CSRF
 * token its forms must echo. While that database cannot be reached a sign-in is answered 503,
 * never taken unchecked. Every refusal is logged with its reason, path and peer, never with a
 * key or a token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findApiCaller, parseApiKeyHashes, type ApiKeyEntry } from '../api/keys';
import { ApiProblem } from '../api/problems';
import { portalSecretFromEnv, PortalTokenError, verifyPortalToken } from '../client/portal-link';
import { formatUtc } from '../display';
import type { AdminSessionRecord, LedgerStore } from '../ledger/store';
import {
  CREDITS_ADMIN_OPERATOR_KEY_HASHES,
  CREDITS_ADMIN_PROXY_HEADER,
  CREDITS_ADMIN_TRUSTED_PROXY,
  SettingsError,
  type Env,
} from '../infra/settings';
import { HttpError } from './errors';
import { html } from './html';
import { acceptsHtml, wantsJson } from './negotiate';
import { accountPath, errorPage, layout } from './pages';

/** How the admin server tells operators and customer admins apart. */
export interface AdminAccessOptions {
  /** Operator keys, as hashes (see api/keys.ts); none: no key login. */
  operatorKeys?: readonly ApiKeyEntry[];
  /** Header the login proxy puts the operator's identity in (any case); unset: no proxy login. */
  proxyHeader?: string;
  /** The proxy's IP address; the header is ignored from any other peer. Required with `proxyHeader`. */
  trustedProxy?: string;
  /** Secret of portal links; unset: /portal is off. */
  portalSecret?: string;
  /** Lifetime of a customer admin's session after the link is used, in seconds. Default 1 hour. */
  customerSessionSeconds?: number;
  /** Lifetime of an operator's browser session, in seconds. Default 12 hours. */
  operatorSessionSeconds?: number;
}

/** Who is asking. */
export type Caller =
  | { role: 'operator'; who: string }
  | { role: 'customer'; accountId: string; adminEmail?: string; expiresAt: string };

/** A signed-in browser. */
export interface AdminSession {
  readonly caller: Caller;
  /** What every form of this session must echo. */
  readonly csrf: string;
  readonly expiresAtMs: number;
}

/** The last action's answer, shown once on the account page it was taken on. */
export interface ActionFlash {
  accountId: string;
  ok: boolean;
  text: string;
}

/**
 * Where the admin page keeps what every admin server on one ledger must agree on: used portal
 * links and browser sessions. The admin server gives its ledger store.
 */
export type AccessStore = Pick<LedgerStore, 'claimPortalLink' | 'saveAdminSession' | 'setAdminSessionFlash' | 'adminSession' | 'deleteAdminSession'>;

/** The session cookie's name. */
export const SESSION_COOKIE = 'credits_admin_session';
// Probes are public (they say only ok or unreachable); `/metrics` needs an operator (a scraper
// sends an operator key as Bearer), since its series name accounts' features and routes.
const PUBLIC_PATHS = new Set(['/assets/admin.css', '/login', '/portal', '/logout', '/healthz', '/readyz']);
const ACCOUNT_ROUTE = /^\/(?:api\/)?accounts\/([^/]+)/;
/**
 * The names an open page answers to. A web page can point a name of its own at 127.0.0.1 (DNS
 * rebinding) and then be same-origin with the open page, past SameSite cookies, CSRF tokens
 * and the Origin check: the Host it sends is its own name, so only a loopback name is served.
 */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

/**
 * The access settings the environment gives.
 *
 * @throws SettingsError when a value cannot be used (a scoped operator key, a header without its proxy).
 */
export function adminAccessFromEnv(env: Env = process.env): AdminAccessOptions {
  const hashes = CREDITS_ADMIN_OPERATOR_KEY_HASHES.read(env);
  const operatorKeys = hashes === undefined ? [] : parseApiKeyHashes(hashes, CREDITS_ADMIN_OPERATOR_KEY_HASHES.name);
  if (operatorKeys.some((k) => k.accounts !== undefined)) {
    throw new SettingsError(`${CREDITS_ADMIN_OPERATOR_KEY_HASHES.name}: operator keys are for every account; give hashes only`);
  }
  const proxyHeader = CREDITS_ADMIN_PROXY_HEADER.read(env);
  const trustedProxy = CREDITS_ADMIN_TRUSTED_PROXY.read(env);
  if ((proxyHeader === undefined) !== (trustedProxy === undefined)) {
    throw new SettingsError(`${CREDITS_ADMIN_PROXY_HEADER.name} and ${CREDITS_ADMIN_TRUSTED_PROXY.name} go together: set both or neither`);
  }
  return { operatorKeys, proxyHeader, trustedProxy, portalSecret: portalSecretFromEnv(env) };
}

/** Whether no operator credential is configured: the local developer's open page. */
export function isOpenAccess(options: AdminAccessOptions): boolean {
  return (options.operatorKeys ?? []).length === 0 && options.proxyHeader === undefined;
}

/**
 * Refuses to serve an open page (no operator credential) anywhere but on loopback.
 *
 * @throws SettingsError naming what to configure.
 */
export function assertSafeBinding(options: AdminAccessOptions, host: string): void {
  const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
  if (isOpenAccess(options) && !loopback) {
    throw new SettingsError(
      `the admin page has no operator credential, so it serves loopback only; to listen on ${host}, set ${CREDITS_ADMIN_OPERATOR_KEY_HASHES.name} or ${CREDITS_ADMIN_PROXY_HEADER.name}`,
    );
  }
}

function peerAddress(request: FastifyRequest): string {
  return (request.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A header value fit for a log line and a page: printable, bounded. */
function identityText(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

/** How each refusal is answered: its problem type, its page's title, its headers. */
const REFUSALS = {
  401: { problem: 'unauthorized', title: 'Sign-in needed', headers: { 'www-authenticate': 'Bearer' } },
  403: { problem: 'forbidden', title: 'Not allowed', headers: {} },
  // Only a link or a session that cannot be checked while the ledger is away: a minute is
  // enough to retry.
  503: { problem: 'unavailable', title: 'Try again in a minute', headers: { 'retry-after': '30' } },
} as const;

/** A request's session as read: the session, its digest (the store's key) and its flash. */
interface OpenSession {
  session: AdminSession;
  digest: string;
  flash?: ActionFlash;
}

/** A session store that could not be reached: the request is answered 503. */
class SessionStoreUnavailable extends Error {}

/** The access control of one admin server: hooks, the sign-in routes, sessions and CSRF. */
export class AdminAccess {
  private readonly callers = new WeakMap<FastifyRequest, { caller: Caller; open?: OpenSession }>();
  private readonly operatorKeys: readonly ApiKeyEntry[];
  private readonly proxyHeader: string | undefined;

  constructor(
    private readonly options: AdminAccessOptions,
    private readonly log: (message: string) => void,
    private readonly store: AccessStore,
  ) {
    this.operatorKeys = options.operatorKeys ?? [];
    this.proxyHeader = options.proxyHeader?.toLowerCase();
  }

  /** Whether the page is open (no operator credential configured). */
  get open(): boolean {
    return isOpenAccess(this.options);
  }

  /** Adds the access hook and the /login, /logout and /portal routes to `app`. */
  register(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => this.guard(request, reply));
    app.get('/login', (_request, reply) => reply.type('text/html; charset=utf-8').send(loginPage()));
    app.post<{ Body: Record<string, string> }>('/login', async (request, reply) => this.login(request, reply));
    app.post('/logout', async (request, reply) => {
      const id = cookieValue(request, SESSION_COOKIE);
      if (id !== undefined) {
        // The browser forgets the cookie whatever happens; a session the ledger could not
        // forget now ends at its expiry.
        await this.store.deleteAdminSession(sessionDigest(id)).catch((err: unknown) => this.log(`admin access: a session not forgotten at sign-out: ${messageOf(err)}`));
      }
      reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      return reply.redirect('/login', 303);
    });
    app.get<{ Querystring: { token?: unknown } }>('/portal', async (request, reply) => this.portal(request, reply));
  }

  /** Who made `request` (every non-public route has one once the hook let it through). */
  callerOf(request: FastifyRequest): Caller {
    const found = this.callers.get(request);
    if (!found) throw new HttpError(401, 'unauthorized', 'sign in first');
    return found.caller;
  }

  /** Whether `request` is a customer admin's (through a portal link), rather than an operator's or nobody's yet. */
  isCustomer(request: FastifyRequest): boolean {
    return this.callers.get(request)?.caller.role === 'customer';
  }

  /** The browser session of `request`, if it has one. */
  sessionOf(request: FastifyRequest): AdminSession | undefined {
    return this.callers.get(request)?.open?.session;
  }

  /**
   * Keeps an action's answer with the session of `request`, for the account page to show
   * once. The action has been taken: a store that cannot be reached loses only the message.
   */
  async setFlash(request: FastifyRequest, flash: ActionFlash): Promise<void> {
    const open = this.callers.get(request)?.open;
    if (!open) return;
    open.flash = flash;
    await this.store
      .setAdminSessionFlash(open.digest, flashRecord(flash))
      .catch((err: unknown) => this.log(`admin access: an action's answer not kept for its page: ${messageOf(err)}`));
  }

  /** The action's answer kept for `accountId`'s page, once: it is forgotten as it is taken. */
  async takeFlash(request: FastifyRequest, accountId: string): Promise<ActionFlash | undefined> {
    const open = this.callers.get(request)?.open;
    const flash = open?.flash;
    if (!open || flash?.accountId !== accountId) return undefined;
    open.flash = undefined;
    // Cleared only while it is still this answer: another tab's newer one stays to be shown.
    await this.store
      .setAdminSessionFlash(open.digest, null, flashRecord(flash))
      .catch((err: unknown) => this.log(`admin access: a shown action's answer not forgotten: ${messageOf(err)}`));
    return flash;
  }

  /**
   * Checks a form's CSRF token against the session's.
   *
   * @throws HttpError 403 `csrf` when there is no session or the token differs.
   */
  checkCsrf(request: FastifyRequest, token: unknown): AdminSession {
    const session = this.sessionOf(request);
    if (!session || typeof token !== 'string' || !sameText(token, session.csrf)) {
      this.refusalLog(request, 'csrf token missing or wrong');
      throw new HttpError(403, 'csrf', 'This form is stale or did not come from this page (its security token does not match your session). Reload the page and try again.');
    }
    return session;
  }

  /** A session that could not be read or stored: 503, to try again in a minute. */
  private unavailable(request: FastifyRequest, reply: FastifyReply, reason: string): FastifyReply {
    return this.refuse(request, reply, 503, reason, 'Your sign-in cannot be checked right now; try again in a minute.');
  }

  /** Drops a stored session no cookie names (best effort: it ends at its expiry anyway). */
  private async forget(open: OpenSession): Promise<void> {
    await this.store.deleteAdminSession(open.digest).catch(() => undefined);
  }

  private refusalLog(request: FastifyRequest, reason: string): void {
    this.log(`admin access refused: ${reason}; ${request.method} ${request.url.split('?')[0]} from ${peerAddress(request)}`);
  }

  private refuse(request: FastifyRequest, reply: FastifyReply, status: 401 | 403 | 503, reason: string, message: string): FastifyReply {
    this.refusalLog(request, reason);
    const { problem: code, title, headers } = REFUSALS[status];
    reply.code(status).headers(headers);
    if (wantsJson(request)) {
      const problem = new ApiProblem(code, message);
      return reply.type('application/problem+json').send(problem.body());
    }
    return reply.type('text/html; charset=utf-8').send(errorPage(status, title, message));
  }

  /** Stores a new session for `caller` (no cookie yet: see {@link setCookie}). */
  private async openSession(caller: Caller, seconds: number): Promise<{ id: string; open: OpenSession }> {
    const id = randomBytes(32).toString('base64url');
    const session: AdminSession = { caller, csrf: randomBytes(24).toString('base64url'), expiresAtMs: Date.now() + seconds * 1000 };
    const open: OpenSession = { session, digest: sessionDigest(id) };
    await this.saveSession(open);
    return { id, open };
  }

  private async saveSession(open: OpenSession): Promise<void> {
    const { session } = open;
    const record: AdminSessionRecord = { caller: { ...session.caller }, csrf: session.csrf, expiresAt: new Date(session.expiresAtMs).toISOString() };
    try {
      await this.store.saveAdminSession(open.digest, record);
    } catch (err) {
      throw new SessionStoreUnavailable(`session not stored: ${messageOf(err)}`);
    }
  }

  private setCookie(reply: FastifyReply, request: FastifyRequest, id: string, seconds: number): void {
    const secure = this.overHttps(request) ? '; Secure' : '';
    reply.header('set-cookie', `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${seconds}${secure}`);
  }

  /** Opens a session for `caller` and gives the browser its cookie. */
  private async newSession(reply: FastifyReply, request: FastifyRequest, caller: Caller, seconds: number): Promise<OpenSession> {
    const { id, open } = await this.openSession(caller, seconds);
    this.setCookie(reply, request, id, seconds);
    return open;
  }

  /**
   * Whether the browser reached the page over HTTPS: this server speaks plain HTTP, so only the
   * trusted proxy, which terminates TLS, can say so (X-Forwarded-Proto); from any other peer the
   * header is the client's word.
   */
  private overHttps(request: FastifyRequest): boolean {
    if (request.protocol === 'https') return true;
    if (this.options.trustedProxy === undefined || peerAddress(request) !== this.options.trustedProxy) return false;
    const proto = request.headers['x-forwarded-proto'];
    return typeof proto === 'string' && proto.split(',')[0]?.trim().toLowerCase() === 'https';
  }

  /** The live session the request's cookie names, if any. */
  private async currentSession(request: FastifyRequest): Promise<OpenSession | undefined> {
    const id = cookieValue(request, SESSION_COOKIE);
    if (id === undefined || id === '') return undefined;
    const digest = sessionDigest(id);
    let record: AdminSessionRecord | null;
    try {
      record = await this.store.adminSession(digest);
    } catch (err) {
      throw new SessionStoreUnavailable(`session not checked: ${messageOf(err)}`);
    }
    const expiresAtMs = record ? Date.parse(record.expiresAt) : NaN;
    const caller = record ? callerOf(record.caller) : undefined;
    // Ended, or not a session this page wrote: no session (the ledger sweeps the ended ones).
    if (!record || !caller || !(expiresAtMs > Date.now())) return undefined;
    return { session: { caller, csrf: record.csrf, expiresAtMs }, digest, flash: flashOf(record.flash) };
  }

  /**
   * Who asks, from a key, a session, the proxy's header or the open page. A session that
   * cannot be read leaves the other ways: only with none of them is the request `unavailable`.
   */
  private async identify(
    request: FastifyRequest,
  ): Promise<{ caller: Caller; open?: OpenSession; byKey?: true } | { refused: string; message: string } | { unavailable: string }> {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const key = /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
      const found = key === undefined ? undefined : findApiCaller(this.operatorKeys, key);
      if (!found) return { refused: 'wrong operator key', message: 'The operator key is not valid.' };
      return { caller: { role: 'operator', who: `operator key #${found.keyIndex + 1}` }, byKey: true };
    }
    let open: OpenSession | undefined;
    let unreadable: string | undefined;
    try {
      open = await this.currentSession(request);
    } catch (err) {
      if (!(err instanceof SessionStoreUnavailable)) throw err;
      unreadable = err.message;
    }
    if (open) return { caller: open.session.caller, open };
    if (this.proxyHeader !== undefined) {
      const value = request.headers[this.proxyHeader];
      if (typeof value === 'string' && value.trim() !== '') {
        if (peerAddress(request) === this.options.trustedProxy) return { caller: { role: 'operator', who: identityText(value.trim()) } };
        this.refusalLog(request, `identity header ${this.proxyHeader} from an untrusted peer, ignored`);
      }
    }
    if (this.open) return { caller: { role: 'operator', who: 'local' } };
    if (unreadable !== undefined) return { unavailable: unreadable };
    return {
      refused: 'no credentials',
      message: 'This page needs a sign-in: operators sign in with their key at /login (or through the company login); customer admins open their account through the link their CRM gives them.',
    };
  }

  private async guard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const path = request.url.split('?')[0] ?? '';
    if (this.open && !LOOPBACK_HOST.test(request.headers.host ?? '')) {
      return this.refuse(request, reply, 403, 'a name other than a loopback one in Host, on the open page', 'This page has no sign-in, so it answers only at 127.0.0.1, localhost or [::1].');
    }
    if (PUBLIC_PATHS.has(path)) return undefined;
    const who = await this.identify(request);
    if ('refused' in who) return this.refuse(request, reply, 401, who.refused, who.message);
    if ('unavailable' in who) return this.unavailable(request, reply, who.unavailable);
    let { open } = who;
    // A browser page gets a session so its forms can carry a CSRF token tied to it. A caller
    // with a key is a script (a browser cannot send the header itself), and one that does not
    // ask for HTML (curl, a CSV download) has no forms: none.
    if (!open && !who.byKey && request.method === 'GET' && acceptsHtml(request)) {
      try {
        open = await this.newSession(reply, request, who.caller, this.options.operatorSessionSeconds ?? 12 * 3600);
      } catch (err) {
        if (!(err instanceof SessionStoreUnavailable)) throw err;
        // The caller is known all the same: the page is shown, and its forms, without a
        // token, are refused until a page is loaded with the ledger back.
        this.log(`admin access: ${who.caller.role} page without a session: ${err.message}`);
      }
    }
    this.callers.set(request, { caller: who.caller, open });
    const caller = who.caller;
    if (caller.role === 'operator') return undefined;
    const match = ACCOUNT_ROUTE.exec(path);
    if (match) {
      let accountId: string;
      try {
        accountId = decodeURIComponent(match[1] ?? '');
      } catch {
        accountId = '';
      }
      if (accountId === caller.accountId) return undefined;
      return this.refuse(request, reply, 403, `customer of ${caller.accountId} asked for another account`, 'Your link opens your own account only.');
    }
    if (path === '/' && request.method === 'GET') return reply.redirect(accountPath(caller.accountId), 303);
    return this.refuse(request, reply, 403, `customer of ${caller.accountId} asked for an operators' page`, 'This page is for billing operators only.');
  }

  private async login(request: FastifyRequest<{ Body: Record<string, string> }>, reply: FastifyReply): Promise<FastifyReply> {
    const key = typeof request.body?.key === 'string' ? request.body.key.trim() : '';
    const found = key === '' ? undefined : findApiCaller(this.operatorKeys, key);
    if (!found) {
      this.refusalLog(request, 'wrong operator key at /login');
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage('That key is not an operator key of this page.'));
    }
    try {
      await this.newSession(reply, request, { role: 'operator', who: `operator key #${found.keyIndex + 1}` }, this.options.operatorSessionSeconds ?? 12 * 3600);
    } catch (err) {
      if (err instanceof SessionStoreUnavailable) return this.unavailable(request, reply, `operator key #${found.keyIndex + 1} at /login: ${err.message}`);
      throw err;
    }
    return reply.redirect('/', 303);
  }

  private async portal(request: FastifyRequest<{ Querystring: { token?: unknown } }>, reply: FastifyReply): Promise<FastifyReply> {
    const secret = this.options.portalSecret;
    if (secret === undefined) {
      return this.refuse(request, reply, 401, 'portal link but no portal secret configured', 'Portal links are not enabled on this server.');
    }
    const token = typeof request.query.token === 'string' ? request.query.token : '';
    let claims;
    try {
      claims = await verifyPortalToken(token, secret);
    } catch (err) {
      if (!(err instanceof PortalTokenError)) throw err;
      return this.refuse(request, reply, 401, `portal link ${err.reason}`, `This link cannot be used: ${err.message}.`);
    }
    const caller: Caller = { role: 'customer', accountId: claims.accountId, adminEmail: claims.adminEmail, expiresAt: claims.expiresAt };
    const seconds = this.options.customerSessionSeconds ?? 3600;
    const unchecked = 'This link cannot be checked right now; try it again in a minute.';
    // The session is stored before the link is taken: a link is never spent on a session that
    // could not be kept. Until the cookie is sent, the stored session is nobody's.
    let opened: { id: string; open: OpenSession };
    try {
      opened = await this.openSession(caller, seconds);
    } catch (err) {
      return this.refuse(request, reply, 503, `portal link ${claims.linkId} for ${claims.accountId} not taken: ${messageOf(err)}`, unchecked);
    }
    let first: boolean;
    try {
      first = await this.store.claimPortalLink({ linkId: claims.linkId, accountId: claims.accountId, expiresAt: claims.expiresAt });
    } catch (err) {
      // Not known to be unused: refused rather than risk a second session from one link.
      await this.forget(opened.open);
      return this.refuse(request, reply, 503, `portal link ${claims.linkId} for ${claims.accountId} not checked: ${messageOf(err)}`, unchecked);
    }
    if (!first) {
      await this.forget(opened.open);
      return this.refuse(request, reply, 401, `portal link ${claims.linkId} for ${claims.accountId} used again`, 'This link has already been used; ask for a new one.');
    }
    this.setCookie(reply, request, opened.id, seconds);
    this.log(`admin access: portal link ${claims.linkId} opened ${claims.accountId}${claims.adminEmail ? ` for ${claims.adminEmail}` : ''}`);
    // A page, not a redirect: after a cross-site click a redirect would still be a cross-site
    // request, and the SameSite=Strict cookie just set would not go with it.
    return reply.type('text/html; charset=utf-8').send(portalPage(claims.accountId));
  }
}

function loginPage(problem?: string): string {
  const body = html`<section class="card" id="login">
  <h1>Operator sign-in</h1>
  ${problem ? html`<p class="error" role="alert" id="login-error">${problem}</p>` : null}
  <form method="post" action="/login">
    <label class="field">Operator key<input type="password" name="key" required autocomplete="current-password"></label>
    <button class="button-primary" type="submit">Sign in</button>
  </form>
  <p class="hint">Customer admins: open your account through the link your CRM gives you.</p>
</section>`;
  return layout('Sign in · AI Credits admin', html`Sign in`, body);
}

function portalPage(accountId: string): string {
  const path = accountPath(accountId);
  const body = html`<section class="card" id="portal"><h1>Signed in</h1><p><a href="${path}">Open the AI Credits of ${accountId}</a></p>
  <p class="hint">Signed in at ${formatUtc(new Date().toISOString())}.</p></section>`;
  return layout('Signed in · AI Credits', html`Settings › AI Credits`, body, html`<meta http-equiv="refresh" content="0;url=${path}">`);
}

/**
 * The access control for `options`, with refusals and sign-ins logged through `log`; portal
 * links' uses and sessions are kept in `store` (the admin server's ledger store), shared by
 * every admin server on it and kept across restarts.
 */
export function createAdminAccess(options: AdminAccessOptions | undefined, log: (message: string) => void, store: AccessStore): AdminAccess {
  return new AdminAccess(options ?? adminAccessFromEnv(), log, store);
}

/** The store's key of a session: its cookie's id is never stored. */
function sessionDigest(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A stored caller read back, or undefined when it is not one this page writes. */
function callerOf(value: Record<string, unknown>): Caller | undefined {
  if (value.role === 'operator' && typeof value.who === 'string') return { role: 'operator', who: value.who };
  if (value.role === 'customer' && typeof value.accountId === 'string' && typeof value.expiresAt === 'string') {
    const caller: Caller = { role: 'customer', accountId: value.accountId, expiresAt: value.expiresAt };
    if (typeof value.adminEmail === 'string') caller.adminEmail = value.adminEmail;
    return caller;
  }
  return undefined;
}

/** A flash as stored: its fields always in one order, so a stored one can be matched as text. */
function flashRecord(flash: ActionFlash): Record<string, unknown> {
  return { accountId: flash.accountId, ok: flash.ok, text: flash.text };
}

/** A stored flash read back, or undefined when there is none or it is not one this page writes. */
function flashOf(value: Record<string, unknown> | undefined): ActionFlash | undefined {
  if (value === undefined || typeof value.accountId !== 'string' || typeof value.ok !== 'boolean' || typeof value.text !== 'string') return undefined;
  return { accountId: value.accountId, ok: value.ok, text: value.text };
}
