/**
 * The ops view through HTTP: the admin server on a free port over the real workflow on the dev
 * server (its visibility store answers the filters): the HTML list with links to each account,
 * filters and the id-prefix search, paging, the JSON, and bad input answered with a 400 page.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../admin/server';
import { CreditsClient } from '../../client';
import type { AccountPage } from '../../client/account-list';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { devServerEnv, fakeActivities, startWorker } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';

let env: TestWorkflowEnvironment;
let worker: Awaited<ReturnType<typeof startWorker>>;
let store: LedgerStore;
let admin: AdminServer;
const ledgerDir = mkdtempSync(join(tmpdir(), 'ops-ledger-'));

beforeAll(async () => {
  [env, store] = await Promise.all([devServerEnv(), openLedgerStore({ url: `pglite:${ledgerDir}` })]);
  worker = await startWorker(env, fakeActivities());
  const credits = new CreditsClient(env.client, { taskQueue: worker.taskQueue });
  admin = await startAdminServer({ client: credits, store, port: 0, log: () => undefined });
  const cycleAnchor = new Date(Date.now() - 2 * 86_400_000).toISOString();
  await credits.startAccount({ accountId: 'ops-acme', plan: 'growth', users: 1, cycleAnchor, creditTier: 'tier-5', tags: ['chloe-beta'] });
  await credits.startAccount({ accountId: 'ops-acme-eu', plan: 'growth', users: 1, cycleAnchor });
  await credits.startAccount({ accountId: 'ops-zeta', plan: 'scale', users: 1, cycleAnchor, trial: true });
  const available = (await credits.summary('ops-acme-eu')).credits.available;
  await credits.recordUsage('ops-acme-eu', { feature: 'enrichment', quantity: available, idempotencyKey: 'all' });
  await waitFor(async () => (await json('/api/ops/accounts?alert=exhausted')).accounts.some((a) => a.accountId === 'ops-acme-eu'), 'ops-acme-eu exhausted');
});
afterAll(async () => {
  await admin?.close();
  await worker?.stop();
  await env?.teardown();
  await store?.close();
  rmSync(ledgerDir, { recursive: true, force: true });
});

async function get(path: string): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(`${admin.url}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}
async function json(path: string): Promise<AccountPage> {
  const res = await fetch(`${admin.url}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as AccountPage;
}
const listed = (body: string) => [...body.matchAll(/<tr data-account="([^"]+)">/g)].map((m) => m[1]).sort();

describe('GET /ops/accounts', () => {
  it('lists the running accounts, each linking to its page', async () => {
    const page = await get('/ops/accounts');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    expect(listed(page.body)).toEqual(['ops-acme', 'ops-acme-eu', 'ops-zeta']);
    expect(page.body).toContain('<a href="/accounts/ops-acme">ops-acme</a>');
    expect(page.body).toContain('<span class="badge badge-exhausted">exhausted</span>');
  });

  it('filters, alone and combined, and searches by account id prefix', async () => {
    expect(listed((await get('/ops/accounts?alert=exhausted')).body)).toEqual(['ops-acme-eu']);
    expect(listed((await get('/ops/accounts?tier=tier-5&tag=chloe-beta')).body)).toEqual(['ops-acme']);
    expect(listed((await get('/ops/accounts?trial=yes')).body)).toEqual(['ops-zeta']);
    expect(listed((await get('/ops/accounts?q=ops-acme&alert=&tier=&plan=growth')).body)).toEqual(['ops-acme', 'ops-acme-eu']);
    // A plan's name or alias and a tier in any case, as every other surface takes them.
    expect(listed((await get('/ops/accounts?q=ops-acme&plan=Professional')).body)).toEqual(['ops-acme', 'ops-acme-eu']);
    expect(listed((await get('/ops/accounts?tier=TIER-5&tag=chloe-beta')).body)).toEqual(['ops-acme']);
    const none = await get('/ops/accounts?parked=yes');
    expect(listed(none.body)).toEqual([]);
    expect(none.body).toContain('No running account matches these filters.');
  });

  it('pages with a next-page link that keeps the filters', async () => {
    const first = await get('/ops/accounts?plan=growth&limit=1');
    expect(listed(first.body)).toHaveLength(1);
    const next = /<a id="next-page" href="([^"]+)">/.exec(first.body)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toMatch(/^\/ops\/accounts\?plan=growth&limit=1&page=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16}$/);
    const second = await get(next!);
    expect(listed(second.body)).toHaveLength(1);
    expect(listed(second.body)).not.toEqual(listed(first.body));
    expect(listed([first.body, second.body].join())).toEqual(['ops-acme', 'ops-acme-eu']);
    // The token belongs to its filters: with others it is refused, not sent.
    const token = new URL(next!, admin.url).searchParams.get('page')!;
    const other = await get(`/ops/accounts?plan=scale&limit=1&page=${token}`);
    expect(other.status).toBe(400);
  });

  it('answers the same listing as JSON', async () => {
    const page = await json('/api/ops/accounts?tag=chloe-beta');
    expect(page.accounts).toEqual([expect.objectContaining({ accountId: 'ops-acme', tier: 'tier-5', plan: 'growth', tags: ['chloe-beta'] })]);
    expect(page.nextPageToken).toBeNull();
  });

  it('refuses a plan or tier the rules do not know, naming the known ones', async () => {
    const api = await fetch(`${admin.url}/api/ops/accounts?plan=platinum`);
    expect(api.status).toBe(400);
    expect(await api.json()).toEqual({
      error: { code: 'bad_request', message: 'plan "platinum" is no plan of the rules (known: solo, essentials, growth, scale, or a plan\'s name or alias, in any case)' },
    });
    const page = await get('/ops/accounts?tier=tier-99');
    expect(page.status).toBe(400);
    expect(page.body).toContain('tier &quot;tier-99&quot; is no tier of the rules (known: tier-1,');
  });

  it.each([
    ['/ops/accounts?tag=x%27%20OR%20%27a%27%3D%27a', 'tag may hold only printable ASCII characters without quotes or backslashes'],
    ['/ops/accounts?alert=red', 'alert must be one of ok, none, warning, exhausted'],
    ['/ops/accounts?trial=maybe', 'trial must be yes or no'],
    ['/ops/accounts?limit=0', 'limit must be a whole number from 1 to 1000'],
    ['/ops/accounts?limit=abc', 'limit must be a whole number from 1 to 1000'],
    ['/ops/accounts?tag=a&tag=b', 'give tag once'],
    ['/ops/accounts?page=%3Cscript%3E', 'page token is not one this listing gave (or the filters changed since)'],
    ['/ops/accounts?page=AAAA.AAAAAAAAAAAAAAAA', 'page token is not one this listing gave (or the filters changed since)'],
  ])('refuses %s with a 400 page', async (path, message) => {
    const page = await get(path);
    expect(page.status).toBe(400);
    expect(page.body).toContain(message);
    expect(page.body).not.toContain('<script>');
    const api = await fetch(`${admin.url}${path.replace('/ops/', '/api/ops/')}`);
    expect(api.status).toBe(400);
    expect(await api.json()).toEqual({ error: { code: 'bad_request', message } });
  });
});
