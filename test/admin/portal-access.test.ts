/**
 * The admin page's two audiences and its actions, against the real account workflow on the
 * time-skipping server, the real activities and an embedded ledger: every access case over
 * HTTP (no credentials, wrong key, operator key, proxy header, portal links valid, expired,
 * forged, replayed, for another account), CSRF and the operators-only actions, a double submit
 * answered once, and headless Chromium opening an account through a signed link, switching a
 * feature and buying a tier through the confirm page; sessions kept in the ledger, so a second
 * admin server (or the same one restarted) knows them, and a ledger that cannot be reached
 * answered 503 without spending a link.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from '@temporalio/client';
import { accountWorkflowId } from '../../workflows/messages';
import type { Browser } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../admin/server';
import { generateApiKey, hashApiKey } from '../../api/keys';
import { mintPortalLink, type AccountStartInput, type CreditsClient } from '../../client';
import { projectRoot } from '../../infra/project-root';
import { LedgerError } from '../../ledger/errors';
import type { LedgerStore } from '../../ledger/store';
import { colourShare } from './browser';
import { startAdminStack, type AdminStack } from './stack';

const SCREENSHOTS = join(projectRoot(), 'tmp', 'admin-screenshots');
const SECRET = 's'.repeat(48);
const OPERATOR_KEY = generateApiKey();
const PROXY_HEADER = 'x-forwarded-user';

let env: TestWorkflowEnvironment;
let store: LedgerStore;
let credits: CreditsClient;
let admin: AdminServer;
let browser: Browser;
let stack: AdminStack | undefined;
const logged: string[] = [];

beforeAll(async () => {
  stack = await startAdminStack({
    log: (message) => logged.push(message),
    access: {
      operatorKeys: [{ hash: Buffer.from(hashApiKey(OPERATOR_KEY), 'hex') }],
      proxyHeader: PROXY_HEADER,
      trustedProxy: '127.0.0.1',
      portalSecret: SECRET,
    },
  });
  ({ env, store, credits, admin, browser } = stack);
  mkdirSync(SCREENSHOTS, { recursive: true });
  const now = Math.min(Date.now(), (await env.currentTimeMs()) as number);
  const start = (accountId: string, extra: Partial<AccountStartInput> = {}) =>
    credits.startAccount({ accountId, plan: 'growth', users: 1, cycleAnchor: new Date(now - 2 * 86_400_000).toISOString(), ...extra });
  await Promise.all([start('acct-a'), start('acct-b'), start('acct-c'), start('acct-d', { creditTier: 'tier-3' })]);
});
afterAll(async () => {
  await stack?.close();
});

const JSON_ACCEPT = { accept: 'application/json' };
/** What a browser asks for when it opens a page. */
const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${admin.url}${path}`, { headers, redirect: 'manual' });
}

/** The session cookie a response sets, as a request's `cookie` header. */
function sessionCookie(response: Response): string {
  const set = response.headers.get('set-cookie') ?? '';
  expect(set).toMatch(/^credits_admin_session=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
  return set.split(';')[0] ?? '';
}

async function portalSession(accountId: string): Promise<string> {
  const link = await mintPortalLink(accountId, { secret: SECRET, baseUrl: admin.url, adminEmail: 'ann@example.com' });
  const response = await fetch(link.url, { redirect: 'manual' });
  expect(response.status).toBe(200);
  expect(await response.text()).toContain(`<meta http-equiv="refresh" content="0;url=/accounts/${accountId}">`);
  return sessionCookie(response);
}

async function expectProblem(response: Response, status: number, type: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(await response.json()).toMatchObject({ type: `urn:ai-credits:problem:${type}`, status });
}

/** The hidden fields of the form `formId` on a page, as a urlencoded body with `extra` added. */
function formBody(page: string, formId: string, extra: Record<string, string>): string {
  const form = new RegExp(`<form[^>]*id="${formId}"[\\s\\S]*?</form>`).exec(page)?.[0] ?? '';
  const csrf = /name="csrf" value="([^"]+)"/.exec(form)?.[1] ?? '';
  const idem = /name="idem" value="([^"]+)"/.exec(form)?.[1] ?? '';
  expect(csrf).not.toBe('');
  return new URLSearchParams({ csrf, idem, ...extra }).toString();
}

/** An operator's browser session, signed in with the key through /login. */
async function operatorSession(): Promise<string> {
  const login = await fetch(`${admin.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ key: OPERATOR_KEY }).toString(),
    redirect: 'manual',
  });
  return sessionCookie(login);
}

/** Starts an account of its own for a test that changes it, anchored two days back. */
async function freshAccount(accountId: string): Promise<void> {
  const now = Math.min(Date.now(), (await env.currentTimeMs()) as number);
  await credits.startAccount({ accountId, plan: 'growth', users: 1, cycleAnchor: new Date(now - 2 * 86_400_000).toISOString() });
}

/** Every hidden field of a tier confirm page's form, as the browser posts them. */
function confirmBody(page: string): string {
  const fields = [...page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m): [string, string] => [m[1] ?? '', m[2] ?? '']);
  expect(fields.map(([name]) => name)).toEqual(['csrf', 'idem', 'tier', 'effective', 'chargedCents', 'creditsGranted']);
  return new URLSearchParams(fields).toString();
}

function post(path: string, cookie: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${admin.url}${path}`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
    redirect: 'manual',
  });
}

/** The real store, but for the methods named in `failing`, which fail as a database that cannot be reached. */
function flakyStore(failing: Set<string>): LedgerStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      if (typeof name === 'string' && failing.has(name)) return () => Promise.reject(new LedgerError('database_unavailable', 'ledger database is unavailable'));
      const value: unknown = Reflect.get(target, name, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('who may see what', () => {
  it('refuses a request without credentials: 401 problem body for JSON, a page for browsers, logged', async () => {
    const json = await get('/api/accounts/acct-a');
    await expectProblem(json, 401, 'unauthorized');
    expect(json.headers.get('www-authenticate')).toBe('Bearer');
    const page = await get('/accounts/acct-a');
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('Sign-in needed');
    expect((await get('/')).status).toBe(401);
    expect(logged.some((l) => l.includes('no credentials') && l.includes('/api/accounts/acct-a'))).toBe(true);
    // The stylesheet and the sign-in page are public.
    expect((await get('/assets/admin.css')).status).toBe(200);
    expect((await get('/login')).status).toBe(200);
  });

  it('refuses a wrong operator key and accepts the right one on every account', async () => {
    await expectProblem(await get('/api/accounts/acct-a', { authorization: 'Bearer cak_wrong' }), 401, 'unauthorized');
    const auth = { authorization: `Bearer ${OPERATOR_KEY}` };
    expect((await get('/api/accounts/acct-a', auth)).status).toBe(200);
    expect((await get('/api/accounts/acct-b', auth)).status).toBe(200);
    expect((await get('/api/ledger/accounts', auth)).status).toBe(200);
    expect(logged.some((l) => l.includes('wrong operator key'))).toBe(true);
    expect(logged.join('\n')).not.toContain(OPERATOR_KEY);
  });

  it('signs an operator in with the key through /login, and refuses a wrong one', async () => {
    const wrong = await fetch(`${admin.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'key=nope', redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That key is not an operator key of this page.');
    const right = await fetch(`${admin.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: OPERATOR_KEY }).toString(),
      redirect: 'manual',
    });
    expect(right.status).toBe(303);
    const cookie = sessionCookie(right);
    expect((await get('/accounts/acct-b', { cookie })).status).toBe(200);
  });

  it("believes the login proxy's identity header from the trusted proxy only", async () => {
    expect((await get('/api/accounts/acct-a', { [PROXY_HEADER]: 'ops@example.com' })).status).toBe(200);
    const elsewhere = await startAdminServer({
      client: credits,
      store,
      port: 0,
      log: (message) => logged.push(message),
      access: { proxyHeader: PROXY_HEADER, trustedProxy: '10.1.2.3', portalSecret: SECRET },
    });
    try {
      await expectProblem(await fetch(`${elsewhere.url}/api/accounts/acct-a`, { headers: { [PROXY_HEADER]: 'ops@example.com' } }), 401, 'unauthorized');
      expect(logged.some((l) => l.includes('untrusted peer'))).toBe(true);
    } finally {
      await elsewhere.close();
    }
  });

  it("opens a customer admin's own account through a signed link, and nothing else", async () => {
    const cookie = await portalSession('acct-a');
    expect((await get('/api/accounts/acct-a', { cookie })).status).toBe(200);
    const page = await get('/accounts/acct-a', { cookie });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('id="actions"');
    expect(html).not.toContain('id="grant-form"');
    expect(html).not.toContain('id="void-form"');
    await expectProblem(await get('/api/accounts/acct-b', { cookie }), 403, 'forbidden');
    const other = await get('/accounts/acct-b', { cookie });
    expect(other.status).toBe(403);
    expect(await other.text()).toContain('Your link opens your own account only.');
    expect((await get('/accounts/acct-b/usage.csv', { cookie })).status).toBe(403);
    await expectProblem(await get('/api/ledger/accounts', { cookie }), 403, 'forbidden');
    const home = await get('/', { cookie });
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe('/accounts/acct-a');
    expect(logged.some((l) => l.includes('customer of acct-a asked for another account'))).toBe(true);
  });

  it("tells a customer admin an account is unknown without the workflow and namespace an operator is shown", async () => {
    const cookie = await portalSession('acct-never-started');
    const customer = await get('/api/accounts/acct-never-started', { cookie, ...JSON_ACCEPT });
    expect(customer.status).toBe(404);
    expect(await customer.json()).toEqual({ error: { code: 'account_not_found', message: 'There is no such account.' } });
    const page = await get('/accounts/acct-never-started', { cookie, ...BROWSER });
    expect(page.status).toBe(404);
    expect(await page.text()).not.toMatch(/workflow|namespace|ai-credits:/);
    const operator = await get('/api/accounts/acct-never-started', { authorization: `Bearer ${OPERATOR_KEY}`, ...JSON_ACCEPT });
    expect(operator.status).toBe(404);
    expect(((await operator.json()) as { error: { message: string } }).error.message).toMatch(/^unknown account acct-never-started: no workflow ai-credits:acct-never-started in namespace /);
  });

  it('tells a customer admin a closed account is closed, and shows an operator its last state marked closed', async () => {
    await freshAccount('acct-closed');
    // A client that never lets the time-skipping server jump ahead around the closed workflow.
    const plain = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
    await plain.workflow.getHandle(accountWorkflowId('acct-closed')).terminate('closed by ops');
    const cookie = await portalSession('acct-closed');
    const customer = await get('/api/accounts/acct-closed', { cookie, ...JSON_ACCEPT });
    expect(customer.status).toBe(404);
    expect(await customer.json()).toEqual({ error: { code: 'account_not_found', message: 'This account is closed: its credits are not being tracked. Ask your provider to reopen it.' } });
    const operator = await get('/api/accounts/acct-closed', { authorization: `Bearer ${OPERATOR_KEY}`, ...JSON_ACCEPT });
    expect(operator.status).toBe(200);
    expect(await operator.json()).toMatchObject({ summary: { accountId: 'acct-closed' }, closed: { status: 'terminated', closedAt: expect.any(String) } });
    const page = await get('/accounts/acct-closed', { authorization: `Bearer ${OPERATOR_KEY}`, ...BROWSER });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<div class="banner banner-exhausted" role="alert" id="closed-banner" data-state="closed">\s*<strong>Account closed<\/strong>\s*<p>Its workflow was terminated on /);
    const running = await get('/api/accounts/acct-a', { authorization: `Bearer ${OPERATOR_KEY}`, ...JSON_ACCEPT });
    expect(await running.json()).toMatchObject({ closed: null });
    // Its history views too: closed to the customer, with no charge due to the operator.
    const customerBilling = await get('/api/accounts/acct-closed/billing-history', { cookie, ...JSON_ACCEPT });
    expect(customerBilling.status).toBe(404);
    expect(await customerBilling.json()).toEqual({ error: { code: 'account_not_found', message: 'This account is closed: its credits are not being tracked. Ask your provider to reopen it.' } });
    const operatorBilling = await get('/api/accounts/acct-closed/billing-history', { authorization: `Bearer ${OPERATOR_KEY}`, ...JSON_ACCEPT });
    expect(await operatorBilling.json()).toMatchObject({ next: null, noneDue: 'The account is closed: it takes no further charge.' });
  });

  it('refuses a link used twice, an expired link, a forged one and one for an unknown secret', async () => {
    const link = await mintPortalLink('acct-a', { secret: SECRET, baseUrl: admin.url });
    expect((await fetch(link.url, { redirect: 'manual' })).status).toBe(200);
    const replay = await fetch(link.url, { redirect: 'manual' });
    expect(replay.status).toBe(401);
    expect(await replay.text()).toContain('This link has already been used');

    // The use is in the ledger: another admin server on it (or this one restarted) refuses it too.
    const elsewhere = await startAdminServer({ client: credits, store, port: 0, log: () => undefined, access: { portalSecret: SECRET } });
    try {
      const there = await fetch(link.url.replace(admin.url, elsewhere.url), { redirect: 'manual' });
      expect(there.status).toBe(401);
      expect(await there.text()).toContain('This link has already been used');
    } finally {
      await elsewhere.close();
    }

    const expired = await mintPortalLink('acct-a', { secret: SECRET, baseUrl: admin.url, ttlSeconds: 60, nowMs: Date.now() - 3_600_000 });
    const late = await fetch(expired.url, { headers: JSON_ACCEPT, redirect: 'manual' });
    await expectProblem(late, 401, 'unauthorized');
    const latePage = await fetch(expired.url, { redirect: 'manual' });
    expect(await latePage.text()).toContain('this link has expired');

    const forged = await mintPortalLink('acct-b', { secret: 'f'.repeat(48), baseUrl: admin.url });
    const refused = await fetch(forged.url, { redirect: 'manual' });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('this link is not valid');
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect((await fetch(`${admin.url}/portal`, { redirect: 'manual' })).status).toBe(401);

    const lines = logged.join('\n');
    expect(lines).toContain('portal link expired');
    expect(lines).toContain('portal link invalid');
    for (const token of [link.token, expired.token, forged.token]) expect(lines).not.toContain(token);
  });

  it('refuses a link replayed after it expired', async () => {
    const link = await mintPortalLink('acct-a', { secret: SECRET, baseUrl: admin.url, ttlSeconds: 1 });
    expect((await fetch(link.url, { redirect: 'manual' })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const replay = await fetch(link.url, { redirect: 'manual' });
    expect(replay.status).toBe(401);
    expect(await replay.text()).toContain('this link has expired');
  });
});

/** A GET with a Host header of the caller's choosing (fetch sends the URL's own). */
function getWithHost(base: string, path: string, host: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, headers: { host, accept: 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('at the edges', () => {
  it('an open page (no credential) answers only to loopback names, so a rebinding web page cannot act on it', async () => {
    const open = await startAdminServer({ client: credits, store, port: 0, log: (message) => logged.push(message), access: {} });
    try {
      const port = new URL(open.url).port;
      expect((await getWithHost(open.url, '/api/accounts/acct-a', `127.0.0.1:${port}`)).status).toBe(200);
      expect((await getWithHost(open.url, '/api/accounts/acct-a', `localhost:${port}`)).status).toBe(200);
      const rebound = await getWithHost(open.url, '/api/accounts/acct-a', `rebind.attacker.example:${port}`);
      expect(rebound.status).toBe(403);
      expect(JSON.parse(rebound.text)).toMatchObject({ type: 'urn:ai-credits:problem:forbidden' });
      expect(logged.some((l) => l.includes('loopback'))).toBe(true);
    } finally {
      await open.close();
    }
  });

  it('marks the session cookie Secure when the trusted proxy says the browser came over HTTPS, and only then', async () => {
    const proxied = await get('/accounts/acct-a', { [PROXY_HEADER]: 'ops@example.com', 'x-forwarded-proto': 'https', ...BROWSER });
    expect(proxied.headers.get('set-cookie')).toMatch(/; Secure$/);
    const link = await mintPortalLink('acct-a', { secret: SECRET, baseUrl: admin.url });
    const portal = await fetch(link.url, { headers: { 'x-forwarded-proto': 'https, http' }, redirect: 'manual' });
    expect(portal.headers.get('set-cookie')).toMatch(/; Secure$/);
    const plain = await get('/accounts/acct-a', { [PROXY_HEADER]: 'ops@example.com', ...BROWSER });
    expect(plain.headers.get('set-cookie')).not.toMatch(/Secure/);
    // From a peer that is not the trusted proxy, the header is the client's word.
    const elsewhere = await startAdminServer({ client: credits, store, port: 0, log: () => undefined, access: { proxyHeader: PROXY_HEADER, trustedProxy: '10.1.2.3', portalSecret: SECRET } });
    try {
      const other = await mintPortalLink('acct-a', { secret: SECRET, baseUrl: elsewhere.url });
      const direct = await fetch(other.url, { headers: { 'x-forwarded-proto': 'https' }, redirect: 'manual' });
      expect(direct.status).toBe(200);
      expect(direct.headers.get('set-cookie')).not.toMatch(/Secure/);
    } finally {
      await elsewhere.close();
    }
  });

  it('refuses a link it cannot check while the ledger is away (503), and takes it once the ledger is back', async () => {
    // The link check fails as a database that cannot be reached.
    const failing = new Set(['claimPortalLink']);
    const elsewhere = await startAdminServer({ client: credits, store: flakyStore(failing), port: 0, log: (message) => logged.push(message), access: { portalSecret: SECRET } });
    try {
      const link = await mintPortalLink('acct-c', { secret: SECRET, baseUrl: elsewhere.url });
      const page = await fetch(link.url, { redirect: 'manual' });
      expect(page.status).toBe(503);
      expect(page.headers.get('retry-after')).toBe('30');
      expect(page.headers.get('set-cookie')).toBeNull();
      expect(await page.text()).toContain('This link cannot be checked right now');
      await expectProblem(await fetch(link.url, { headers: JSON_ACCEPT, redirect: 'manual' }), 503, 'unavailable');
      expect(logged.some((l) => l.includes('not checked: ledger database is unavailable'))).toBe(true);
      failing.clear();
      const later = await fetch(link.url, { redirect: 'manual' });
      expect(later.status).toBe(200);
      sessionCookie(later);
    } finally {
      await elsewhere.close();
    }
  });

  it('answers an address that is not valid percent-encoding with its error page and headers', async () => {
    for (const path of ['/accounts/%ZZ', '/%', `/accounts/${'a'.repeat(600)}`]) {
      const response = await get(path, { [PROXY_HEADER]: 'ops@example.com' });
      expect(response.status, path.slice(0, 40)).toBe(404);
      expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await response.text()).toContain('not valid percent-encoded');
    }
  });

  it('refuses a link that lives for a year with 401, and logs neither it nor its token', async () => {
    const { SignJWT } = await import('jose');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('acct-a')
      .setAudience('ai-credits-portal')
      .setJti('year-long')
      .setExpirationTime('365d')
      .sign(new TextEncoder().encode(SECRET));
    const response = await fetch(`${admin.url}/portal?token=${token}`, { redirect: 'manual' });
    expect(response.status).toBe(401);
    expect(await response.text()).toContain('longer than 24 hours');
    expect(logged.join('\n')).not.toContain(token);
  });
});

describe('actions', () => {
  it('refuses a tier confirm page reviewed before the account changed, charging nothing, and takes one that still holds', async () => {
    await freshAccount('acct-stale');
    const cookie = await portalSession('acct-stale');
    const ask = (tier: string, idem: string) => get(`/accounts/acct-stale/actions/tier?tier=${tier}&idem=${idem}`, { cookie }).then((r) => r.text());
    const buyTwo = await ask('tier-2', 'adm_staleconfirm1');
    expect(buyTwo).toContain('Buy Tier 2: $50 charged now');
    // Meanwhile (another tab, an operator) the account bought Tier 3: Tier 2 is now a downgrade.
    await credits.changeCreditTier('acct-stale', { tier: 'tier-3' });
    const stale = await post('/accounts/acct-stale/actions/tier', cookie, confirmBody(buyTwo), JSON_ACCEPT);
    expect(stale.status).toBe(422);
    expect(await stale.json()).toEqual({
      ok: false,
      text: expect.stringMatching(/^What this change does has changed since you reviewed it, so nothing was changed or charged\. It would now be: Downgrade to Tier 2 \(\$50\/month\) from \d{4}-\d{2}-\d{2}: nothing charged now; Tier 3 stays until then\. Review it again to go ahead\.$/),
    });
    expect((await credits.summary('acct-stale')).tier?.id).toBe('tier-3');
    expect((await credits.summary('acct-stale')).pendingTier).toBeNull();
    // A form without what was shown (an old page, a hand-made post) is refused too.
    const bare = new URLSearchParams(confirmBody(buyTwo));
    for (const name of ['effective', 'chargedCents', 'creditsGranted']) bare.delete(name);
    bare.set('idem', 'adm_staleconfirm2');
    expect(await (await post('/accounts/acct-stale/actions/tier', cookie, bare.toString(), JSON_ACCEPT)).json()).toEqual({
      ok: false,
      text: 'This confirmation is incomplete; review the change again from the account page.',
    });
    // Reviewed again, it goes ahead as shown.
    const again = await post('/accounts/acct-stale/actions/tier', cookie, confirmBody(await ask('tier-2', 'adm_staleconfirm3')), JSON_ACCEPT);
    expect(await again.json()).toEqual({ ok: true, text: expect.stringMatching(/^Tier 2 from \d{4}-\d{2}-\d{2}; nothing was charged now\.$/) });
    // Tier 3's credits are the only tier credits granted: the stale page bought nothing, the downgrade waits.
    const after = await credits.summary('acct-stale');
    expect([after.tier?.id, after.pendingTier?.tier, after.credits.granted]).toEqual(['tier-3', 'tier-2', 1_500 + 7_000]);
  });

  it('says a void or a grant sent again was done before, and refuses a form that gives a field twice', async () => {
    await freshAccount('acct-twice');
    const cookie = await operatorSession();
    const auth = { cookie, ...JSON_ACCEPT };
    const page = await (await get('/accounts/acct-twice', { cookie })).text();
    const form = (id: string, extra: Record<string, string>) => formBody(page, id, extra);
    await credits.recordUsage('acct-twice', { feature: 'enrichment', quantity: 4, idempotencyKey: 'admin-void-twice' });
    const voidOnce = (idem: string) => {
      const body = new URLSearchParams(form('void-form', { usageKey: 'admin-void-twice', reason: 'test data' }));
      body.set('idem', idem);
      return post('/accounts/acct-twice/actions/void', cookie, body.toString(), auth).then((r) => r.json());
    };
    expect(await voidOnce('adm_voidtwice01')).toMatchObject({ ok: true, text: expect.stringMatching(/^Voided: 4 credits returned; /) });
    expect(await voidOnce('adm_voidtwice02')).toEqual({ ok: true, text: 'Already voided earlier (that void returned 4 credits); nothing was returned again.' });
    // The same grant key with another amount (a form replayed with its field changed).
    const grant = (credits: string) => {
      const body = new URLSearchParams(form('grant-form', { credits, reason: 'goodwill', validForCycles: '1' }));
      body.set('idem', 'adm_granttwice01');
      return body.toString();
    };
    // A second admin server on the same ledger knows the session, not the first one's answers.
    const second = await startAdminServer({ client: credits, store, port: 0, log: (message) => logged.push(message), access: { operatorKeys: [{ hash: Buffer.from(hashApiKey(OPERATOR_KEY), 'hex') }], portalSecret: SECRET } });
    try {
      // The grant was made under this key elsewhere (the CLI, or another server's form).
      await credits.grantCredits('acct-twice', { credits: 100, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'adm_granttwice01' });
      const same = await post('/accounts/acct-twice/actions/grant', cookie, grant('100'), auth);
      expect(await same.json()).toEqual({ ok: true, text: expect.stringMatching(/^This grant was already made \(expiring \d{4}-\d{2}-\d{2}\); nothing was granted again\.$/) });
      const replayed = await fetch(`${second.url}/accounts/acct-twice/actions/grant`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth }, body: grant('9999') });
      expect(await replayed.json()).toEqual({ ok: false, text: 'This form was already used for another grant; nothing was granted. Reload the account page for a new form.' });
    } finally {
      await second.close();
    }
    expect((await credits.summary('acct-twice')).grants.filter((g) => g.label === 'goodwill').map((g) => g.amount)).toEqual([100]);
    const twice = await post('/accounts/acct-twice/actions/grant', cookie, `${form('grant-form', { credits: '1', reason: 'x', validForCycles: '1' })}&credits=3`, auth);
    expect(twice.status).toBe(400);
    expect(await twice.json()).toEqual({ error: { code: 'bad_request', message: 'the form gives "credits" twice; send each field once' } });
  });

  it('refuses a form without its CSRF token, and customers granting or voiding', async () => {
    const cookie = await portalSession('acct-b');
    const page = await (await get('/accounts/acct-b', { cookie })).text();
    const body = formBody(page, 'agent-form', { agentId: 'agent-1', active: 'no' });
    const noCsrf = await post('/accounts/acct-b/actions/agent', cookie, body.replace(/csrf=[^&]+/, 'csrf=forged'));
    expect(noCsrf.status).toBe(403);
    expect(await noCsrf.text()).toContain('Reload the page and try again');
    // Another session's token does not do either.
    const otherPage = await (await get('/accounts/acct-a', { [PROXY_HEADER]: 'ops@example.com', ...BROWSER })).text();
    expect((await post('/accounts/acct-b/actions/agent', cookie, formBody(otherPage, 'agent-form', { agentId: 'x', active: 'no' }))).status).toBe(403);

    const grant = body.replace(/agentId=[^&]+&active=no/, 'credits=100&reason=gift&validForCycles=1');
    const refused = await post('/accounts/acct-b/actions/grant', cookie, grant);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Only billing operators can grant credits or void usage.');
    expect((await post('/accounts/acct-b/actions/void', cookie, grant)).status).toBe(403);
    expect((await credits.summary('acct-b')).credits.granted).toBe(1_500);

    const done = await post('/accounts/acct-b/actions/agent', cookie, body);
    expect(done.status).toBe(303);
    const after = await (await get('/accounts/acct-b', { cookie })).text();
    expect(after).toContain('Voice Agent agent-1 is now inactive.');
    expect((await credits.summary('acct-b')).inactiveAgents).toEqual(['agent-1']);
  });

  it('answers a double submit once, and shows refusals in words', async () => {
    const login = await fetch(`${admin.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: OPERATOR_KEY }).toString(),
      redirect: 'manual',
    });
    const cookie = sessionCookie(login);
    const page = await (await get('/accounts/acct-d', { cookie })).text();
    const body = formBody(page, 'grant-form', { credits: '250', reason: 'goodwill', validForCycles: '1' });
    const [first, second] = await Promise.all([
      post('/accounts/acct-d/actions/grant', cookie, body, JSON_ACCEPT),
      post('/accounts/acct-d/actions/grant', cookie, body, JSON_ACCEPT),
    ]);
    const answer = await first.json();
    expect(answer).toMatchObject({ ok: true, text: expect.stringMatching(/^Granted 250 credits, expiring \d{4}-\d{2}-\d{2}\.$/) });
    expect(await second.json()).toEqual(answer);
    const third = await post('/accounts/acct-d/actions/grant', cookie, body, JSON_ACCEPT);
    expect(await third.json()).toEqual(answer);
    const summary = await credits.summary('acct-d');
    expect(summary.grants.filter((g) => g.source === 'manual' || g.label === 'goodwill')).toHaveLength(1);

    const bad = await post('/accounts/acct-d/actions/grant', cookie, formBody(page, 'void-form', { credits: 'lots', reason: 'x' }), JSON_ACCEPT);
    expect(bad.status).toBe(422);
    expect(await bad.json()).toEqual({ ok: false, text: 'Credits must be a whole number.' });
    const tooMany = await post('/accounts/acct-d/actions/grant', cookie, formBody(page, 'agent-form', { credits: '999999999', reason: 'x' }), JSON_ACCEPT);
    expect(await tooMany.json()).toMatchObject({ ok: false, text: expect.stringMatching(/^Refused: credits must be/) });
    const unknown = await post('/accounts/acct-d/actions/void', cookie, formBody(page, 'void-form', { usageKey: 'never-recorded', reason: 'test' }), JSON_ACCEPT);
    expect(await unknown.json()).toEqual({ ok: false, text: 'Not voided: no usage with that key is known to this account.' });
    const downgrade = await get('/accounts/acct-d/actions/tier?tier=tier-1&idem=adm_downgrade1', { cookie });
    expect(await downgrade.text()).toMatch(/Downgrade to Tier 1 \(\$20\/month\) from \d{4}-\d{2}-\d{2}: nothing charged now; Tier 3 stays until then\./);
    const noAction = await post('/accounts/acct-d/actions/explode', cookie, body, JSON_ACCEPT);
    expect(noAction.status).toBe(404);
  });
});

/** The session id a cookie header carries. */
const cookieId = (cookie: string) => cookie.split('=')[1] ?? '';

describe('sessions', () => {
  const access = { operatorKeys: [{ hash: Buffer.from(hashApiKey(OPERATOR_KEY), 'hex') }], proxyHeader: PROXY_HEADER, trustedProxy: '127.0.0.1', portalSecret: SECRET };

  it('are known to a second admin server on the same ledger, and to one started after a restart; sign-out on one ends them on all', async () => {
    const cookie = await portalSession('acct-c');
    const page = await (await get('/accounts/acct-c', { cookie })).text();
    let second = await startAdminServer({ client: credits, store, port: 0, log: (message) => logged.push(message), access });
    try {
      expect((await fetch(`${second.url}/accounts/acct-c`, { headers: { cookie } })).status).toBe(200);
      // Still a customer's session there: its own account only.
      expect((await fetch(`${second.url}/accounts/acct-a`, { headers: { cookie }, redirect: 'manual' })).status).toBe(403);
      // A form of the first server's page is taken by the second, and its answer shown on the first's page.
      const body = formBody(page, 'agent-form', { agentId: 'agent-9', active: 'no' });
      const done = await fetch(`${second.url}/accounts/acct-c/actions/agent`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'manual',
      });
      expect(done.status).toBe(303);
      expect(await (await get('/accounts/acct-c', { cookie })).text()).toContain('Voice Agent agent-9 is now inactive.');
      // Shown once.
      expect(await (await get('/accounts/acct-c', { cookie })).text()).not.toContain('Voice Agent agent-9 is now inactive.');
      // A restart: a new server, nothing in memory.
      await second.close();
      second = await startAdminServer({ client: credits, store, port: 0, log: (message) => logged.push(message), access });
      expect((await fetch(`${second.url}/accounts/acct-c`, { headers: { cookie } })).status).toBe(200);
      const out = await fetch(`${second.url}/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
      expect(out.status).toBe(303);
      expect(out.headers.get('set-cookie')).toMatch(/^credits_admin_session=; .*Max-Age=0$/);
      expect((await get('/accounts/acct-c', { cookie })).status).toBe(401);
    } finally {
      await second.close();
    }
  });

  it("are stored under a digest of the cookie's id, never the id; an ended or foreign one is no session", async () => {
    const cookie = await portalSession('acct-a');
    const id = cookieId(cookie);
    expect(await store.adminSession(id)).toBeNull();
    const stored = await store.adminSession(createHash('sha256').update(id).digest('base64url'));
    expect(stored).toMatchObject({ caller: { role: 'customer', accountId: 'acct-a', adminEmail: 'ann@example.com' }, csrf: expect.any(String) });
    expect(JSON.stringify(stored)).not.toContain(id);
    // A session whose end has passed, and a row this page did not write, sign nobody in.
    const digest = (value: string) => createHash('sha256').update(value).digest('base64url');
    const ended = new Date(Date.now() - 1000).toISOString();
    await store.saveAdminSession(digest('ended-session-id'), { caller: { role: 'operator', who: 'x' }, csrf: 't', expiresAt: ended });
    await store.saveAdminSession(digest('foreign-session-id'), { caller: { role: 'root' }, csrf: 't', expiresAt: new Date(Date.now() + 60_000).toISOString() });
    for (const other of ['ended-session-id', 'foreign-session-id']) {
      await expectProblem(await get('/api/accounts/acct-a', { cookie: `credits_admin_session=${other}` }), 401, 'unauthorized');
    }
  });

  it('are made for a browser page only: not for a caller with an operator key, nor one that does not ask for HTML', async () => {
    const page = await get('/accounts/acct-a', { authorization: `Bearer ${OPERATOR_KEY}`, ...BROWSER });
    expect(page.status).toBe(200);
    expect(page.headers.get('set-cookie')).toBeNull();
    const curl = await get('/accounts/acct-a', { [PROXY_HEADER]: 'ops@example.com', accept: '*/*' });
    expect(curl.status).toBe(200);
    expect(curl.headers.get('set-cookie')).toBeNull();
    const csv = await get('/accounts/acct-a/usage.csv', { [PROXY_HEADER]: 'ops@example.com' });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('set-cookie')).toBeNull();
    sessionCookie(await get('/accounts/acct-a', { [PROXY_HEADER]: 'ops@example.com', ...BROWSER }));
  });

  it('answer 503 while the ledger cannot be reached, spend no link, and show a known caller the page without one', async () => {
    const cookie = await portalSession('acct-b');
    const failing = new Set(['adminSession', 'saveAdminSession']);
    const elsewhere = await startAdminServer({ client: credits, store: flakyStore(failing), port: 0, log: (message) => logged.push(message), access });
    try {
      // A session that cannot be read, and no other credential: 503, to try again.
      const page = await fetch(`${elsewhere.url}/accounts/acct-b`, { headers: { cookie } });
      expect(page.status).toBe(503);
      expect(page.headers.get('retry-after')).toBe('30');
      expect(await page.text()).toContain('Your sign-in cannot be checked right now');
      await expectProblem(await fetch(`${elsewhere.url}/api/accounts/acct-b`, { headers: { cookie, ...JSON_ACCEPT } }), 503, 'unavailable');
      expect(logged.some((l) => l.includes('session not checked: ledger database is unavailable'))).toBe(true);
      // A sign-in at /login: 503.
      const login = await fetch(`${elsewhere.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ key: OPERATOR_KEY }).toString(),
        redirect: 'manual',
      });
      expect(login.status).toBe(503);
      expect(login.headers.get('set-cookie')).toBeNull();
      // A portal link: 503, and not spent.
      const link = await mintPortalLink('acct-b', { secret: SECRET, baseUrl: elsewhere.url });
      const portal = await fetch(link.url, { redirect: 'manual' });
      expect(portal.status).toBe(503);
      expect(portal.headers.get('set-cookie')).toBeNull();
      // The login proxy's operator is known without a session: the page is shown, without a cookie.
      const proxied = await fetch(`${elsewhere.url}/accounts/acct-b`, { headers: { [PROXY_HEADER]: 'ops@example.com', ...BROWSER } });
      expect(proxied.status).toBe(200);
      expect(proxied.headers.get('set-cookie')).toBeNull();
      expect(logged.some((l) => l.includes('operator page without a session'))).toBe(true);
      // Back: the same session and the same link work.
      failing.clear();
      expect((await fetch(`${elsewhere.url}/accounts/acct-b`, { headers: { cookie } })).status).toBe(200);
      const later = await fetch(link.url, { redirect: 'manual' });
      expect(later.status).toBe(200);
      sessionCookie(later);
    } finally {
      await elsewhere.close();
    }
  });

  it('answers a form submitted to two admin servers once: its key is the update id, so the account applies it once', async () => {
    const cookie = await portalSession('acct-a');
    const confirm = await (await get('/accounts/acct-a/actions/tier?tier=tier-2&idem=adm_twoservers1', { cookie })).text();
    const body = confirmBody(confirm);
    expect(new URLSearchParams(body).get('idem')).toBe('adm_twoservers1');
    const second = await startAdminServer({ client: credits, store, port: 0, log: (message) => logged.push(message), access });
    try {
      const submit = (url: string) =>
        fetch(`${url}/accounts/acct-a/actions/tier`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...JSON_ACCEPT }, body });
      const [one, two] = await Promise.all([submit(admin.url), submit(second.url)]);
      const answer = await one.json();
      expect(answer).toEqual({ ok: true, text: 'Tier 2: $50 charged now; 3,200 credits added.' });
      expect(await two.json()).toEqual(answer);
      // Sent to a server that reads the account after the change went through (already on
      // Tier 2): the account, not the page's preview, answers the request id.
      const third = await startAdminServer({ client: credits, store, port: 0, log: (message) => logged.push(message), access });
      try {
        expect(await (await submit(third.url)).json()).toEqual(answer);
      } finally {
        await third.close();
      }
      // And once more after the account moved on: the same answer, nothing done again.
      await credits.changeCreditTier('acct-a', { tier: null });
      expect(await (await submit(second.url)).json()).toEqual(answer);
    } finally {
      await second.close();
    }
    const summary = await credits.summary('acct-a');
    expect(summary.tier?.id).toBe('tier-2');
    expect(summary.pendingTier).toMatchObject({ tier: null });
    expect((await store.listCharges('acct-a')).map((c) => [c.tierId, c.reason])).toEqual([['tier-2', 'purchase']]);
  });

  it('take an action when its answer cannot be kept for the page, and say so in the log', async () => {
    const cookie = await portalSession('acct-b');
    const page = await (await get('/accounts/acct-b', { cookie })).text();
    const failing = new Set<string>();
    const elsewhere = await startAdminServer({ client: credits, store: flakyStore(failing), port: 0, log: (message) => logged.push(message), access });
    try {
      expect((await fetch(`${elsewhere.url}/accounts/acct-b`, { headers: { cookie } })).status).toBe(200);
      // The session is read; only keeping the action's answer fails.
      failing.add('setAdminSessionFlash');
      const done = await fetch(`${elsewhere.url}/accounts/acct-b/actions/agent`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: formBody(page, 'agent-form', { agentId: 'agent-7', active: 'no' }),
        redirect: 'manual',
      });
      expect(done.status).toBe(303);
      expect((await credits.summary('acct-b')).inactiveAgents).toContain('agent-7');
      expect(logged.some((l) => l.includes("an action's answer not kept for its page: ledger database is unavailable"))).toBe(true);
    } finally {
      await elsewhere.close();
    }
  });
});

describe('the page in a browser', () => {
  it('opens an account through a signed link, switches a feature and buys a tier through the confirm page', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    try {
      const link = await mintPortalLink('acct-c', { secret: SECRET, baseUrl: admin.url });
      await page.goto(link.url);
      await page.waitForURL(`${admin.url}/accounts/acct-c`);
      expect(page.url()).not.toContain('token');
      expect(await page.locator('#account-id').textContent()).toBe('acct-c');
      expect(await page.locator('#grant-form').count()).toBe(0);

      expect(await page.locator('[data-switch="enrichment"]').textContent()).toBe('On');
      await page.locator('#switch-enrichment').click();
      await page.waitForURL(/\/accounts\/acct-c#actions$/);
      expect(await page.locator('#action-result').textContent()).toBe('Enrichment is now off.');
      expect(await page.locator('[data-switch="enrichment"]').textContent()).toBe('Off');
      expect((await credits.summary('acct-c')).features.find((f) => f.feature === 'enrichment')?.enabled).toBe(false);

      await page.locator('#tier-form select[name="tier"]').selectOption('tier-2');
      await page.locator('#tier-form button').click();
      await page.waitForURL(/\/accounts\/acct-c\/actions\/tier\?/);
      expect(await page.locator('#tier-preview').textContent()).toBe(
        'Buy Tier 2: $50 charged now, and 3,200 credits added at once (no proration; the cycle does not move).',
      );
      await page.locator('#confirm-tier').click();
      await page.waitForURL(/\/accounts\/acct-c#actions$/);
      expect(await page.locator('#action-result').textContent()).toBe('Tier 2: $50 charged now; 3,200 credits added.');
      expect(await page.locator('#tier').textContent()).toContain('Tier 2: $50/month for 3,200 credits');
      const summary = await credits.summary('acct-c');
      expect(summary.tier?.id).toBe('tier-2');
      expect(summary.credits.granted).toBe(1_500 + 3_200);

      const png = await page.screenshot({ path: join(SCREENSHOTS, 'portal-actions.png') });
      const image = PNG.sync.read(png);
      expect([image.width, image.height]).toEqual([1280, 1000]);
      const whole = { x: 0, y: 0, width: 1280, height: 1000 };
      // Not blank: neither all page background nor all white.
      expect(colourShare(png, whole, '#ffffff')).toBeLessThan(0.95);
      // The answer is drawn in the success colours, where the page put it.
      const box = await page.locator('#action-result').boundingBox();
      expect(box?.width).toBeGreaterThan(300);
      expect(colourShare(png, box as NonNullable<typeof box>, '#ecfdf3')).toBeGreaterThan(0.6);
      // Back to the confirm page: it is built afresh, so it says the change is done, with no button.
      await page.goBack();
      await page.waitForURL(/\/accounts\/acct-c\/actions\/tier\?/);
      expect(await page.locator('#tier-preview').textContent()).toBe('You are already on Tier 2.');
      expect(await page.locator('#confirm-tier').count()).toBe(0);
    } finally {
      await page.close();
    }
  });
});
