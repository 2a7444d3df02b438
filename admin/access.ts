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
 * Sessions live in this process's memory (a restart signs everyone out, which is acceptable
 * for an admin page); each carries the CSRF token its forms must echo. Every refusal is logged
 * with its reason, path and peer, never with a key or a token.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findApiCaller, parseApiKeyHashes, type ApiKeyEntry } from '../api/keys';
import { ApiProblem } from '../api/problems';
import { portalSecretFromEnv, PortalTokenError, verifyPortalToken } from '../client/portal-link';
import { formatUtc } from '../display';
import {
  CREDITS_ADMIN_OPERATOR_KEY_HASHES,
  CREDITS_ADMIN_PROXY_HEADER,
  CREDITS_ADMIN_TRUSTED_PROXY,
  SettingsError,
  type Env,
} from '../infra/settings';
import { HttpError } from './errors';
import { html } from './html';
import { wantsJson } from './negotiate';
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
  /** The last action's answer, shown once on the account page. */
  flash?: { accountId: string; ok: boolean; text: string };
}

/** The session cookie's name. */
export const SESSION_COOKIE = 'credits_admin_session';
const MAX_SESSIONS = 10_000;
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
  // Only a link that cannot be checked while the ledger is away: a minute is enough to retry.
  503: { problem: 'unavailable', title: 'Try again in a minute', headers: { 'retry-after': '30' } },
} as const;

/** The access control of one admin server: hooks, the sign-in routes, sessions and CSRF. */
export class AdminAccess {
  private readonly sessions = new Map<string, AdminSession>();
  /**
   * Portal link ids already traded for a session, until their link expires: when no
   * {@link LinkClaimer} is given (a page without a ledger, tests), this server's memory.
   */
  private readonly usedLinks = new Map<string, number>();
  private readonly callers = new WeakMap<FastifyRequest, { caller: Caller; session?: AdminSession }>();
  private readonly operatorKeys: readonly ApiKeyEntry[];
  private readonly proxyHeader: string | undefined;

  constructor(
    private readonly options: AdminAccessOptions,
    private readonly log: (message: string) => void,
    private readonly claimLink?: LinkClaimer,
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
      if (id !== undefined) this.sessions.delete(id);
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

  /** The browser session of `request`, if it has one. */
  sessionOf(request: FastifyRequest): AdminSession | undefined {
    return this.callers.get(request)?.session;
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

  /** Whether this is the link's first use, recording it (in the ledger when there is one). */
  private async firstUse(linkId: string, accountId: string, expiresAt: string): Promise<boolean> {
    if (this.claimLink) return this.claimLink({ linkId, accountId, expiresAt });
    const now = Date.now();
    for (const [id, until] of this.usedLinks) if (until <= now) this.usedLinks.delete(id);
    if (this.usedLinks.has(linkId)) return false;
    this.usedLinks.set(linkId, Date.parse(expiresAt));
    return true;
  }

  private newSession(reply: FastifyReply, request: FastifyRequest, caller: Caller, seconds: number): AdminSession {
    const now = Date.now();
    if (this.sessions.size >= MAX_SESSIONS) {
      for (const [id, s] of this.sessions) if (s.expiresAtMs <= now) this.sessions.delete(id);
      // Still full: drop the oldest, so a flood of sign-ins cannot grow memory without bound.
      const oldest = this.sessions.keys().next();
      if (this.sessions.size >= MAX_SESSIONS && oldest.done !== true) this.sessions.delete(oldest.value);
    }
    const id = randomBytes(32).toString('base64url');
    const session: AdminSession = { caller, csrf: randomBytes(24).toString('base64url'), expiresAtMs: now + seconds * 1000 };
    this.sessions.set(id, session);
    const secure = this.overHttps(request) ? '; Secure' : '';
    reply.header('set-cookie', `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${seconds}${secure}`);
    return session;
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

  private currentSession(request: FastifyRequest): AdminSession | undefined {
    const id = cookieValue(request, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (session && session.expiresAtMs > Date.now()) return session;
    this.sessions.delete(id);
    return undefined;
  }

  /** Who asks, from a key, a session, the proxy's header or the open page; a string is a refusal. */
  private identify(request: FastifyRequest): { caller: Caller; session?: AdminSession } | { refused: string; message: string } {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const key = /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
      const found = key === undefined ? undefined : findApiCaller(this.operatorKeys, key);
      if (!found) return { refused: 'wrong operator key', message: 'The operator key is not valid.' };
      return { caller: { role: 'operator', who: `operator key #${found.keyIndex + 1}` } };
    }
    const session = this.currentSession(request);
    if (session) return { caller: session.caller, session };
    if (this.proxyHeader !== undefined) {
      const value = request.headers[this.proxyHeader];
      if (typeof value === 'string' && value.trim() !== '') {
        if (peerAddress(request) === this.options.trustedProxy) return { caller: { role: 'operator', who: identityText(value.trim()) } };
        this.refusalLog(request, `identity header ${this.proxyHeader} from an untrusted peer, ignored`);
      }
    }
    if (this.open) return { caller: { role: 'operator', who: 'local' } };
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
    const who = this.identify(request);
    if ('refused' in who) return this.refuse(request, reply, 401, who.refused, who.message);
    let { session } = who;
    // A browser page gets a session so its forms can carry a CSRF token tied to it.
    if (!session && request.method === 'GET' && !wantsJson(request)) {
      session = this.newSession(reply, request, who.caller, this.options.operatorSessionSeconds ?? 12 * 3600);
    }
    this.callers.set(request, { caller: who.caller, session });
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
    this.newSession(reply, request, { role: 'operator', who: `operator key #${found.keyIndex + 1}` }, this.options.operatorSessionSeconds ?? 12 * 3600);
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
    let first: boolean;
    try {
      first = await this.firstUse(claims.linkId, claims.accountId, claims.expiresAt);
    } catch (err) {
      // Not known to be unused: refused rather than risk a second session from one link.
      const reason = `portal link ${claims.linkId} for ${claims.accountId} not checked: ${(err as Error).message}`;
      return this.refuse(request, reply, 503, reason, 'This link cannot be checked right now; try it again in a minute.');
    }
    if (!first) {
      return this.refuse(request, reply, 401, `portal link ${claims.linkId} for ${claims.accountId} used again`, 'This link has already been used; ask for a new one.');
    }
    const caller: Caller = { role: 'customer', accountId: claims.accountId, adminEmail: claims.adminEmail, expiresAt: claims.expiresAt };
    this.newSession(reply, request, caller, this.options.customerSessionSeconds ?? 3600);
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
 * Records a portal link's use and says whether it was the first (false: used before). The
 * admin server gives the ledger's (`LedgerStore.claimPortalLink`), shared by every server on it
 * and kept across restarts.
 */
export type LinkClaimer = (link: { linkId: string; accountId: string; expiresAt: string }) => Promise<boolean>;

/**
 * The access control for `options`, with refusals and sign-ins logged through `log`; portal
 * links' uses are recorded by `claimLink`, or in this server's memory without it.
 */
export function createAdminAccess(options: AdminAccessOptions | undefined, log: (message: string) => void, claimLink?: LinkClaimer): AdminAccess {
  return new AdminAccess(options ?? adminAccessFromEnv(), log, claimLink);
}
