/**
 * `credits account list` in-process against the real workflow on the dev server (its
 * visibility store answers the filters): the table, JSON, paging, and refusals of bad filters
 * as usage errors (exit 2) before anything is sent.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreditsClient } from '../../client';
import { devServerEnv, fakeActivities, startWorker } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { runCli, type CliRun } from '../client/cli-run';

let env: TestWorkflowEnvironment;
let worker: Awaited<ReturnType<typeof startWorker>>;

beforeAll(async () => {
  env = await devServerEnv();
  worker = await startWorker(env, fakeActivities());
  const credits = new CreditsClient(env.client, { taskQueue: worker.taskQueue });
  const cycleAnchor = new Date(Date.now() - 2 * 86_400_000).toISOString();
  await credits.startAccount({ accountId: 'list-a', plan: 'growth', users: 1, cycleAnchor, creditTier: 'tier-5', tags: ['chloe-beta'] });
  await credits.startAccount({ accountId: 'list-b', plan: 'growth', users: 1, cycleAnchor });
  await credits.startAccount({ accountId: 'list-c', plan: 'scale', users: 1, cycleAnchor, trial: true, tags: ['chloe-beta'] });
  const available = (await credits.summary('list-b')).credits.available;
  await credits.recordUsage('list-b', { feature: 'enrichment', quantity: available, idempotencyKey: 'all' });
  // Visibility lags: wait until the last change shows.
  await waitFor(async () => (await credits_('account', 'list', '--alert', 'exhausted')).stdout.includes('list-b'), 'list-b exhausted');
});
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

function credits_(...args: string[]): Promise<CliRun> {
  return runCli(args, env.client, worker.taskQueue);
}

describe('credits account list', () => {
  it('prints a table of the accounts matching the filters', async () => {
    const run = await credits_('account', 'list', '--tag', 'chloe-beta');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ACCOUNT +PLAN +TIER +TRIAL +ALERT +AVAILABLE +CYCLE ENDS +PARKED +TAGS$/);
    expect(lines.slice(1).map((l) => l.split(/ +/)[0]).sort()).toEqual(['list-a', 'list-c']);
    expect(run.stdout).toMatch(/list-a +growth +tier-5 +no +ok +[\d,]+ +.* UTC +0 +chloe-beta\n/);

    expect((await credits_('account', 'list', '--tier', 'tier-5', '--tag', 'chloe-beta')).stdout).toMatch(/^ACCOUNT.*\nlist-a /);
    // A plan's alias and a tier in another case, as every other command takes them.
    expect((await credits_('account', 'list', '--tier', 'TIER-5', '--tag', 'chloe-beta')).stdout).toMatch(/^ACCOUNT.*\nlist-a .*\n$/);
    const professional = await credits_('account', 'list', '--plan', 'Professional');
    expect(professional.code).toBe(0);
    expect(professional.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/ +/)[0]).sort()).toEqual(['list-a', 'list-b']);
    expect(await credits_('account', 'list', '--plan', 'gold')).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^credits: --plan "gold" is no plan of the rules/) });
    expect((await credits_('account', 'list', '--trial', '--tag', 'chloe-beta')).stdout).toMatch(/^ACCOUNT.*\nlist-c .*\n$/);
    expect((await credits_('account', 'list', '--parked'))).toEqual({ code: 0, stdout: 'no accounts match\n', stderr: '' });
  });

  it('prints JSON, and pages with the printed token', async () => {
    const first = await credits_('account', 'list', '--plan', 'growth', '--limit', '1', '--json');
    expect(first.code).toBe(0);
    const page = JSON.parse(first.stdout) as { accounts: { accountId: string }[]; nextPageToken: string | null };
    expect(page.accounts).toHaveLength(1);
    expect(page.nextPageToken).toEqual(expect.any(String));
    const table = await credits_('account', 'list', '--plan', 'growth', '--limit', '1');
    expect(table.stdout).toMatch(/\nmore: --page-token [A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16}\n$/);
    const next = await credits_('account', 'list', '--plan', 'growth', '--limit', '1', '--page-token', page.nextPageToken!, '--json');
    const second = JSON.parse(next.stdout) as { accounts: { accountId: string }[] };
    expect(second.accounts.map((a) => a.accountId)).not.toContain(page.accounts[0]!.accountId);
  });

  it('refuses a bad filter before connecting, so also when Temporal cannot be reached', async () => {
    const offline = await runCli(['account', 'list', '--tag', "o'brien"], env.client, worker.taskQueue, {
      temporalClient: undefined,
      env: { TEMPORAL_ADDRESS: '127.0.0.1:1' },
    });
    expect(offline).toEqual({
      code: 2,
      stdout: '',
      stderr: 'credits: rejected: tag may hold only printable ASCII characters without quotes or backslashes [InvalidListFilter]\n',
    });
  });

  it('refuses filters that cannot be queried, as usage errors', async () => {
    expect(await credits_('account', 'list', '--tag', "x' OR 'a'='a")).toEqual({
      code: 2,
      stdout: '',
      stderr: 'credits: rejected: tag may hold only printable ASCII characters without quotes or backslashes [InvalidListFilter]\n',
    });
    expect((await credits_('account', 'list', '--alert', 'red')).code).toBe(2);
    expect((await credits_('account', 'list', '--limit', '0')).code).toBe(2);
    expect((await credits_('account', 'list', '--limit', '1001')).stderr).toMatch(/'1001' is invalid\. expected a whole number of at most 1000/);
    expect((await credits_('account', 'list', '--trial', '--paid')).stderr).toBe('credits: --trial and --paid exclude each other\n');
    expect((await credits_('account', 'list', '--page-token', 'not a token!')).stderr).toMatch(/page token is not one this listing gave/);
  });
});
