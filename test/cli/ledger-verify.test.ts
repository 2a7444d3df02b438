/**
 * `credits ledger verify`: an account driven through the CLI (tier, usage, a refusal, a call,
 * a grant), its effects written by the real activities to a PGlite ledger, is found in
 * agreement once the ledger catches up (`--wait`); a forged double charge in the ledger is
 * reported and fails the command; bad command lines are usage errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from '@temporalio/client';
import { accountWorkflowId } from '../../workflows/messages';
import { createActivities } from '../../activities';
import type { LedgerEntry } from '../../domain/effects';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { startWorker, timeSkippingEnv } from '../helpers/workflow-harness';
import { lentStore, runCli } from '../client/cli-run';

let env: TestWorkflowEnvironment;
let worker: Awaited<ReturnType<typeof startWorker>>;
let store: LedgerStore;
let dir: string;

function credits(...args: string[]) {
  return runCli(args, env.client, worker.taskQueue, { openLedger: async () => lentStore(store) });
}

async function entriesOf(accountId: string): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  for await (const e of store.streamEntries({ accountId })) entries.push(e);
  return entries;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credits-verify-'));
  store = await openLedgerStore({ url: `pglite:${join(dir, 'ledger')}` });
  env = await timeSkippingEnv();
  worker = await startWorker(env, createActivities({ store, mailer: null, log: { info: () => undefined, warn: () => undefined, error: console.error } }));
  const now = Math.min(Date.now(), (await env.currentTimeMs()) as number);
  const anchor = new Date(now - 2 * 86_400_000).toISOString();
  for (const id of ['ver-1', 'ver-2']) {
    expect((await credits('account', 'start', id, '--plan', 'growth', '--users', '2', '--tier', 'tier-1', '--anchor', anchor)).code).toBe(0);
    await credits('usage', 'record', id, 'enrichment', '12.5', '--key', 'k1', '--user', 'ann');
    await credits('usage', 'record', id, 'enrichment', '12.5', '--key', 'k1');
    await credits('account', 'feature', id, 'auto-updates', 'off');
    await credits('usage', 'record', id, 'auto-updates', '2', '--key', 'k2');
    await credits('call', 'start', id, 'call-1', '--agent', 'ag-1');
    await credits('call', 'end', id, 'call-1', '--minutes', '3.5');
    await credits('account', 'grant', id, '50', '--reason', 'goodwill', '--key', 'g1');
    await credits('account', 'tier', id, 'tier-2');
  }
});
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('credits ledger verify', () => {
  it('waits for the ledger to catch up, then finds the summary and the ledger in agreement', async () => {
    const run = await credits('ledger', 'verify', 'ver-1', '--wait', '60');
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('ver-1 (cycle 1): summary and ledger agree\n1 account checked: 1 agree, 0 differ\n');
    expect(run.code).toBe(0);
  });

  it('checks every account the ledger knows with --all, as JSON', async () => {
    const run = await credits('ledger', 'verify', '--all', '--wait', '60', '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { agree: boolean; accounts: { accountId: string; agrees: boolean; differences: unknown[] }[] };
    expect(out.agree).toBe(true);
    expect(out.accounts.map((a) => [a.accountId, a.agrees, a.differences])).toEqual([
      ['ver-1', true, []],
      ['ver-2', true, []],
    ]);
  });

  it('reports a usage charged twice in the ledger, and exits 1', async () => {
    const usage = (await entriesOf('ver-2')).find((e) => e.kind === 'usage' && e.idempotencyKey === 'k1') as LedgerEntry;
    const last = (await entriesOf('ver-2')).at(-1) as LedgerEntry;
    // A forged second entry for the same key, as a double write would leave it.
    await store.appendEntries([{ ...usage, entryId: `${usage.entryId}-again`, seq: last.seq + 1000, balanceAfter: last.balanceAfter - usage.credits }]);
    const run = await credits('ledger', 'verify', 'ver-2', '--json');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('credits: 1 account of 1 differ from the ledger\n');
    const [account] = (JSON.parse(run.stdout) as { accounts: { differences: { code: string; field: string; mayCatchUp: boolean }[] }[] }).accounts;
    expect(account?.differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'repeated_charge', field: 'usage:k1', mayCatchUp: false }),
        expect.objectContaining({ code: 'balance', field: 'credits.available' }),
        expect.objectContaining({ code: 'usage', field: 'usage.enrichment.count' }),
      ]),
    );
    const text = await credits('ledger', 'verify', 'ver-2');
    expect(text.stdout).toMatch(/^ver-2 \(cycle 1\): \d+ differences\n/);
    expect(text.stdout).toContain('  repeated_charge: usage:k1 was charged by 2 ledger entries [will not catch up]\n');
  });

  it('follows the running balance through every cycle with --history, and finds a row forged into a closed cycle', async () => {
    // An account whose first reset is an hour away, taken across it.
    const now = Math.min(Date.now(), (await env.currentTimeMs()) as number);
    const anchor = new Date(now - 30 * 86_400_000 + 3_600_000).toISOString();
    expect((await credits('account', 'start', 'ver-3', '--plan', 'growth', '--users', '2', '--anchor', anchor)).code).toBe(0);
    await credits('usage', 'record', 'ver-3', 'enrichment', '40', '--key', 'before-reset');
    await env.sleep(2 * 3_600_000);
    const agrees = await credits('ledger', 'verify', 'ver-3', '--history', '--wait', '60');
    expect(agrees.stderr).toBe('');
    expect(agrees.stdout).toMatch(/^ver-3 \(cycle 2\): summary and ledger agree; \d+ entries of every cycle followed\n/);
    const entries = await entriesOf('ver-3');
    expect(new Set(entries.map((e) => e.cycleIndex))).toEqual(new Set([0, 1]));

    // A usage row of the closed cycle added that took no credits off the balance: the current
    // cycle's check cannot see it.
    const usage = entries.find((e) => e.idempotencyKey === 'before-reset') as LedgerEntry;
    const last = entries.at(-1) as LedgerEntry;
    const seq = last.seq + 1;
    const forged = { ...usage, entryId: usage.entryId.replace(/:\d+$/, `:${seq}`), seq, idempotencyKey: 'forged', balanceAfter: last.balanceAfter };
    await store.appendEntries([forged]);
    expect((await credits('ledger', 'verify', 'ver-3')).code).toBe(0);
    const found = await credits('ledger', 'verify', 'ver-3', '--history', '--json');
    expect(found.code).toBe(1);
    const [account] = (JSON.parse(found.stdout) as { accounts: { differences: { code: string; field: string; mayCatchUp: boolean }[] }[] }).accounts;
    expect(account?.differences).toEqual([
      expect.objectContaining({ code: 'balance_chain', field: `entry.${forged.seq}`, mayCatchUp: false }),
    ]);
  });

  it('agrees about an account closed and started again on its tier within the paid period (the period charge is the earlier workflow\'s)', async () => {
    // A client that never lets the time-skipping server jump ahead while the account is closed.
    const plain = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
    const cli = (...args: string[]) => runCli(args, plain, worker.taskQueue, { openLedger: async () => lentStore(store) });
    const now = Math.min(Date.now(), (await env.currentTimeMs()) as number);
    const start = ['account', 'start', 'ver-4', '--plan', 'growth', '--users', '2', '--tier', 'tier-2', '--anchor', new Date(now - 2 * 86_400_000).toISOString()];
    expect((await cli(...start)).code).toBe(0);
    await cli('usage', 'record', 'ver-4', 'enrichment', '10', '--key', 'first-life');
    expect((await cli('ledger', 'verify', 'ver-4', '--wait', '30')).code).toBe(0);
    await plain.workflow.getHandle(accountWorkflowId('ver-4')).terminate('closed by ops');
    expect((await cli(...start, '--restart-closed')).code).toBe(0);
    for (const history of [[], ['--history']]) {
      const run = await cli('ledger', 'verify', 'ver-4', '--wait', '30', ...history);
      expect([run.code, run.stdout.split('\n')[0]]).toEqual([0, expect.stringMatching(/^ver-4 \(cycle \d+\): summary and ledger agree/)]);
    }
    expect((await store.listCharges('ver-4')).map((c) => [c.reason, c.tierId])).toEqual([['cycle_start', 'tier-2']]);
  });

  it('says an account is closed, in verify and in show: its last state reads like a running account', async () => {
    const plain = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
    const cli = (...args: string[]) => runCli(args, plain, worker.taskQueue, { openLedger: async () => lentStore(store) });
    const now = Math.min(Date.now(), (await env.currentTimeMs()) as number);
    expect((await cli('account', 'start', 'ver-5', '--plan', 'growth', '--users', '1', '--anchor', new Date(now - 86_400_000).toISOString())).code).toBe(0);
    await cli('usage', 'record', 'ver-5', 'enrichment', '10', '--key', 'before-close');
    expect((await cli('ledger', 'verify', 'ver-5', '--wait', '30')).code).toBe(0);
    await plain.workflow.getHandle(accountWorkflowId('ver-5')).terminate('closed by ops');
    const verified = await cli('ledger', 'verify', 'ver-5');
    expect([verified.code, verified.stdout.split('\n')[0]]).toEqual([
      0,
      expect.stringMatching(/^ver-5 \(cycle \d+\): summary and ledger agree; closed \(its workflow was terminated on \d{4}-\d\d-\d\d \d\d:\d\d UTC\): its last state was checked, and takes no more usage, resets or charges$/),
    ]);
    const json = JSON.parse((await cli('ledger', 'verify', 'ver-5', '--json')).stdout) as { accounts: { closed?: { status: string } }[] };
    expect(json.accounts[0]?.closed).toMatchObject({ status: 'terminated', closedAt: expect.any(String) });
    const shown = await cli('account', 'show', 'ver-5');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^Account ver-5\n {2}Status +closed: its workflow was terminated on .* UTC; its last state below takes no more usage, resets or charges\n/);
    const running = await cli('account', 'show', 'ver-1');
    expect(running.stdout).not.toMatch(/Status/);
  });

  it('reports an account it cannot read', async () => {
    const run = await credits('ledger', 'verify', 'nobody-here');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^nobody-here: 1 difference\n {2}summary_unavailable: no summary: unknown account nobody-here/);
  });

  it('wants one account or --all', async () => {
    expect((await credits('ledger', 'verify')).code).toBe(2);
    expect((await credits('ledger', 'verify', 'ver-1', '--all')).code).toBe(2);
    expect((await credits('ledger', 'verify', 'ver-1', '--wait', 'soon')).code).toBe(2);
  });
});
