/**
 * `credits usage export`: usage recorded through the CLI reaches the real ledger (a PGlite
 * database written by the real activities) and comes back out as CSV, by cycle, by date
 * range, to stdout or a file; unknown accounts and bad ranges are refused clearly.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { startWorker, timeSkippingEnv } from '../helpers/workflow-harness';
import { copyText } from '../../cli/usage-export';
import { lentStore, runCli } from '../client/cli-run';
import { waitFor } from '../helpers/wait-for';

let env: TestWorkflowEnvironment;
let worker: Awaited<ReturnType<typeof startWorker>>;
let store: LedgerStore;
let dir: string;
let cycle0Start: string;

function credits(...args: string[]) {
  return runCli(args, env.client, worker.taskQueue, { openLedger: async () => lentStore(store) });
}

/** Waits until the ledger holds `count` usage entries of the account (activities write them in batches). */
async function usageEntries(accountId: string, count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    let n = 0;
    for await (const e of store.streamEntries({ accountId, kinds: ['usage'] })) if (e) n += 1;
    if (n >= count) return;
    await env.sleep('1 second');
  }
  throw new Error(`ledger never got ${count} usage entries for ${accountId}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credits-export-'));
  store = await openLedgerStore({ url: `pglite:${join(dir, 'ledger')}` });
  env = await timeSkippingEnv();
  worker = await startWorker(env, createActivities({ store, mailer: null, log: { info: () => undefined, warn: () => undefined, error: console.error } }));
  const now = Math.min(Date.now(), (await env.currentTimeMs()) as number);
  const anchor = new Date(now - 2 * 86_400_000).toISOString();
  expect((await credits('account', 'start', 'exp-1', '--plan', 'growth', '--users', '2', '--anchor', anchor)).code).toBe(0);
  cycle0Start = JSON.parse((await credits('account', 'show', 'exp-1', '--json')).stdout).cycle.start;
  await credits('usage', 'record', 'exp-1', 'enrichment', '12', '--key', 'first', '--user', 'ann');
  await credits('usage', 'record', 'exp-1', 'teleport', '1', '--key', 'refused-by-validator');
  await usageEntries('exp-1', 1);
  await env.sleep('31 days');
  await credits('usage', 'record', 'exp-1', 'auto-updates', '3', '--key', 'second', '--user', 'bob');
  await usageEntries('exp-1', 2);
});
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const HEADER = 'time,account,user,feature,quantity,unit,credits,grant_debited,balance_after,decision,reason,idempotency_key,rules_version,kind,cycle,entry_id,amount_cents,note,balance_change,epoch';

function csvLines(text: string): string[] {
  return text.split('\r\n').filter((line) => line !== '');
}

describe('credits usage export', () => {
  it('writes every cycle by default: a header, then one row per usage', async () => {
    const run = await credits('usage', 'export', 'exp-1');
    expect(run.code).toBe(0);
    const lines = csvLines(run.stdout);
    expect(lines[0]).toBe(HEADER);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^[^,]+,exp-1,ann,enrichment,12,field,12,[^,]*,2988,accepted,,first,[^,]+,usage,1,/);
    expect(lines[2]).toMatch(/,exp-1,bob,auto-updates,3,call,6,[^,]*,2994,accepted,,second,[^,]+,usage,2,/);
    expect(run.stderr).toBe('exported 2 rows of exp-1 (all cycles)\n');
  });

  it('exports one billing cycle, numbered from 1 as `account show` prints it', async () => {
    const first = await credits('usage', 'export', 'exp-1', '--cycle', '1');
    expect(csvLines(first.stdout).slice(1).map((l) => l.split(',')[3])).toEqual(['enrichment']);
    expect(first.stderr).toBe('exported 1 row of exp-1 (cycle 1)\n');
    const second = await credits('usage', 'export', 'exp-1', '--cycle', '2');
    expect(csvLines(second.stdout).slice(1).map((l) => l.split(',')[3])).toEqual(['auto-updates']);
    expect(second.stderr).toBe('exported 1 row of exp-1 (cycle 2)\n');
    const shown = await credits('account', 'show', 'exp-1');
    expect(shown.stdout).toMatch(/Cycle +#2: /);
    const zero = await credits('usage', 'export', 'exp-1', '--cycle', '0');
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/expected a whole number of at least 1/);
    // A cycle to come is refused before anything is written, as the admin server refuses it.
    const file = join(dir, 'cycle-99.csv');
    const ahead = await credits('usage', 'export', 'exp-1', '--cycle', '99', '--output', file);
    expect(ahead).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^credits: cycle 99 of exp-1 has not started yet: the ledger \(PGlite at .*\) holds no entry of it\n$/) });
    expect(existsSync(file)).toBe(false);
  });

  it('says a cycle before the account opened is before it, not to come: cycles count from an anchor that may be older', async () => {
    const now = Math.min(Date.now(), (await env.currentTimeMs()) as number);
    const anchor = new Date(now - 100 * 86_400_000).toISOString();
    expect((await credits('account', 'start', 'exp-old', '--plan', 'growth', '--users', '1', '--anchor', anchor)).code).toBe(0);
    const first = /Cycle +#(\d+): /.exec((await credits('account', 'show', 'exp-old')).stdout)?.[1];
    expect(Number(first)).toBeGreaterThan(3);
    await waitFor(async () => (await credits('usage', 'export', 'exp-old', '--cycle', String(first))).code === 0, "the account's opening in the ledger");
    const before = await credits('usage', 'export', 'exp-old', '--cycle', '1');
    expect(before).toMatchObject({ code: 1, stdout: '', stderr: `credits: cycle 1 of exp-old began before the account opened: its first cycle is ${first} (cycles count from its anchor)\n` });
  });

  it('says in one line when the output cannot be written (a full disk)', async () => {
    const full = await credits('usage', 'export', 'exp-1', '--output', '/dev/full');
    expect(full).toEqual({ code: 1, stdout: '', stderr: 'credits: cannot write /dev/full: ENOSPC: no space left on device, write\n' });
  });

  it('exports a date range; a bare --to date includes that whole day', async () => {
    const day = cycle0Start.slice(0, 10);
    const endOfFirstCycle = new Date(Date.parse(cycle0Start) + 29 * 86_400_000).toISOString().slice(0, 10);
    const run = await credits('usage', 'export', 'exp-1', '--from', day, '--to', endOfFirstCycle);
    expect(csvLines(run.stdout).slice(1).map((l) => l.split(',')[3])).toEqual(['enrichment']);
    const none = await credits('usage', 'export', 'exp-1', '--from', '2020-01-01', '--to', '2020-01-31');
    expect(csvLines(none.stdout)).toEqual([HEADER]);
    expect(none.stderr).toBe('exported 0 rows of exp-1 (from 2020-01-01T00:00:00.000Z, before 2020-02-01T00:00:00.000Z)\n');
  });

  it('adds grants and other entries with --all-kinds, and writes to a file with --output', async () => {
    const file = join(dir, 'exp-1.csv');
    const run = await credits('usage', 'export', 'exp-1', '--all-kinds', '--output', file);
    expect(run).toMatchObject({ code: 0, stdout: '' });
    expect(run.stderr).toMatch(new RegExp(`^exported \\d+ rows of exp-1 \\(all cycles\\) to ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n$`));
    const kinds = csvLines(readFileSync(file, 'utf8')).slice(1).map((l) => l.split(',')[13]);
    expect(kinds).toContain('grant');
    expect(kinds.filter((k) => k === 'usage')).toHaveLength(2);
  });

  it('says who holds the embedded ledger, and where the same CSV is served meanwhile', async () => {
    const run = await runCli(['usage', 'export', 'exp-1'], env.client, worker.taskQueue, {
      env: { CREDITS_LEDGER_URL: `pglite:${join(dir, 'ledger')}` },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^credits: ledger database PGlite at .* is in use by process \d+ .*; while it runs, the admin page serves this CSV at \/accounts\/exp-1\/usage\.csv\n$/);
  });

  it('refuses an unknown account, an unreadable date and an empty range', async () => {
    expect(await credits('usage', 'export', 'nobody')).toMatchObject({
      code: 1,
      stdout: '',
      stderr: expect.stringMatching(/^credits: unknown account nobody: the ledger \(PGlite at .*\) has no entries for it\n$/),
    });
    expect((await credits('usage', 'export', 'exp-1', '--from', 'June')).code).toBe(2);
    expect((await credits('usage', 'export', 'exp-1', '--cycle', '-1')).code).toBe(2);
    // Past nine digits a cycle number is a slip (and past 2^53 not the number typed).
    for (const huge of ['1000000000', '9007199254740993', '99999999999999999999']) {
      expect(await credits('usage', 'export', 'exp-1', '--cycle', huge)).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('expected a whole number of at most 999999999') });
    }
    // One meaning whether the ledger is read directly or through the main job, which takes one or the other.
    expect(await credits('usage', 'export', 'exp-1', '--cycle', '1', '--from', '2026-06-01')).toMatchObject({ code: 2, stdout: '', stderr: 'credits: use either --cycle or --from/--to, not both\n' });
    const backwards = await credits('usage', 'export', 'exp-1', '--from', '2026-07-01', '--to', '2026-06-01');
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toMatch(/--from 2026-07-01T00:00:00.000Z is not before --to 2026-06-02T00:00:00.000Z/);
  });
});

describe('copyText', () => {
  it('keeps a character whose bytes arrive in two chunks whole', async () => {
    const bytes = Buffer.from('key,über 日本 \u{1F600}\r\n', 'utf8');
    // Every way of cutting the bytes in two, mid-character cuts included.
    for (let cut = 1; cut < bytes.length; cut++) {
      let text = '';
      const out = new Writable({
        write(chunk: Buffer | string, _encoding, done) {
          text += chunk.toString();
          done();
        },
      });
      async function* chunks() {
        yield bytes.subarray(0, cut);
        yield bytes.subarray(cut);
      }
      expect(await copyText(chunks(), out)).toBe(bytes.length);
      expect(text).toBe('key,über 日本 \u{1F600}\r\n');
    }
  });
});
