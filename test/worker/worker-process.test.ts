/**
 * The production worker as an operator runs it (`node dist/worker.js`, settings from the
 * environment) against the real dev server, with the real activities and an embedded ledger:
 * usage goes in, the ledger gets it, SIGTERM shuts it down cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerEnv, startAccount, untilOpen } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { openLedgerStore } from '../../ledger/open-store';
import { recordUsageUpdate } from '../../workflows/messages';
import { projectRoot } from '../../infra/project-root';

let env: TestWorkflowEnvironment;
let dir: string;
beforeAll(async () => {
  env = await devServerEnv();
  dir = mkdtempSync(join(tmpdir(), 'credits-worker-'));
});
afterAll(async () => {
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('npm run worker', () => {
  it('runs accounts with the real activities and stops cleanly on SIGTERM', async () => {
    const taskQueue = `worker-process-${process.pid}`;
    const ledger = join(dir, 'ledger');
    const child = spawn(process.execPath, [join(projectRoot(), 'dist', 'worker.js')], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_NAMESPACE: 'default',
        CREDITS_TASK_QUEUE: taskQueue,
        CREDITS_LEDGER_URL: `pglite:${ledger}`,
        SMTP_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    const exit = exitOf(child);
    try {
      const h = await startAccount(env.client, taskQueue, {
        accountId: 'proc-1',
        plan: 'essentials',
        users: 2,
        cycleAnchor: new Date(Date.now() - 86_400_000).toISOString(),
      });
      await untilOpen(h);
      const r = await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'auto-updates', quantity: 5, idempotencyKey: 'p1', userId: 'u-9' }] });
      expect(r).toEqual({ accepted: true, credits: 10, balance: 1990, duplicate: false });
      // The usage entry reaches the ledger once the lingering batch after it is written.
      await waitFor(async () => {
        const events = (await h.fetchHistory()).events ?? [];
        const updated = events.findIndex((e) => e.workflowExecutionUpdateCompletedEventAttributes);
        const write = events.findIndex((e, i) => i > updated && e.activityTaskScheduledEventAttributes?.activityType?.name === 'appendLedger');
        return updated >= 0 && write >= 0 && events.slice(write).some((e) => e.activityTaskCompletedEventAttributes);
      }, 'the ledger write after the usage', 30_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit).toBe(0);
    // Structured logs: JSON lines.
    const lines = out.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    expect(() => lines.forEach((l) => JSON.parse(l))).not.toThrow();

    const store = await openLedgerStore({ url: `pglite:${ledger}` });
    try {
      const entries = [];
      for await (const e of store.streamEntries({ accountId: 'proc-1' })) entries.push(e);
      const usage = entries.find((e) => e.kind === 'usage');
      expect(usage).toMatchObject({ feature: 'auto-updates', quantity: 5, credits: 10, balanceAfter: 1990, userId: 'u-9', decision: 'accepted' });
      expect(usage?.rulesVersion).toMatch(/^2026-06-03\./);
      expect(entries.filter((e) => e.kind === 'grant').map((e) => e.credits)).toEqual([2000]);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('stops at once on a setting it cannot use, naming it, with no stack trace in either log', async () => {
    const child = spawn(process.execPath, [join(projectRoot(), 'dist', 'worker.js')], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, CREDITS_WORKER_METRICS_PORT: '0', CREDITS_TEMPORAL_METRICS_ADDRESS: 'localhost:9465' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    expect(await exitOf(child)).toBe(1);
    const message = 'CREDITS_TEMPORAL_METRICS_ADDRESS must be an IP address and port, such as 127.0.0.1:9465 or [::1]:9465 (not a host name), got "localhost:9465"';
    expect(stderr).toBe(`worker: ${message}\n`);
    const logged = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.map(({ time: _, ...rest }) => rest)).toEqual([{ level: 'ERROR', message: `worker stopped: ${message}`, code: 'invalid_setting' }]);
  }, 60_000);
});
