/**
 * A worker process always ends, and says why: a worker whose SDK failed exits with a non-zero
 * status for its supervisor to restart it, SIGTERM ends it within the grace period even when
 * the graceful shutdown hangs, and errors are logged as JSON with their message, type, cause
 * chain and stack. The process tests run the compiled worker (`npm run build` first).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from '@temporalio/worker';
import { errorToJson, jsonLogLine } from '../../infra/error-json';
import { projectRoot } from '../../infra/project-root';
import { LedgerError } from '../../ledger/errors';
import { WORKER_FAILED_STATUS, guardWorkerProcess } from '../../worker';
import { startSilentTemporalServer, type SilentTemporalServer } from '../helpers/silent-temporal-server';
import { waitFor } from '../helpers/wait-for';

/** Runs the compiled worker with `env`; resolves with its exit status, output and run time. */
function runWorker(env: Record<string, string>, afterStart?: (kill: (signal: NodeJS.Signals) => void, output: () => string) => Promise<void>) {
  const child = spawn(process.execPath, [join(projectRoot(), 'dist', 'worker.js')], {
    env: { ...process.env, SMTP_URL: '', CREDITS_LEDGER_URL: 'pglite:memory', CREDITS_TASK_QUEUE: `failure-${process.pid}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ status: number | null; signal: string | null; at: number }>((resolve) =>
    child.once('exit', (status, signal) => resolve({ status, signal, at: Date.now() })),
  );
  const driven = afterStart?.((signal) => child.kill(signal), () => out);
  return (async () => {
    try {
      await driven;
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    const exit = await exited;
    return { ...exit, out, json: out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) };
  })();
}

describe('the worker process', () => {
  let server: SilentTemporalServer | undefined;
  afterEach(() => server?.close());

  it('ends within the grace period after SIGTERM even when its graceful shutdown hangs', async () => {
    server = await startSilentTemporalServer();
    let killedAt = 0;
    const run = await runWorker({ TEMPORAL_ADDRESS: server.address, CREDITS_SHUTDOWN_GRACE_SECONDS: '2' }, async (kill, output) => {
      await waitFor(() => output().includes('"state":"RUNNING"'), 'the worker running', 30_000);
      killedAt = Date.now();
      kill('SIGTERM');
    });
    // Two seconds of grace, and a few for the runtime to wind down on a loaded machine.
    expect(run.at - killedAt).toBeLessThan(10_000);
    // The server never answers the shutdown call, so only the grace period ends the process.
    expect(server.calls).toContain('ShutdownWorker');
    expect(run.status).toBe(WORKER_FAILED_STATUS);
    expect(run.json.some((l) => l.level === 'ERROR' && /still running 2s after SIGTERM/.test(String(l.message)))).toBe(true);
  }, 60_000);

  it('exits non-zero when the worker cannot run, logging the error as JSON with its message, type and stack', async () => {
    const run = await runWorker({ TEMPORAL_ADDRESS: '127.0.0.1:1', CREDITS_LEDGER_URL: 'mysql://nowhere' });
    expect(run.status).toBe(WORKER_FAILED_STATUS);
    const logged = run.json.find((l) => l.level === 'ERROR' && typeof l.error === 'object');
    const error = logged?.error as { message?: string; name?: string; stack?: string } | undefined;
    expect(error?.message).toMatch(/\S/);
    expect(error?.name).toMatch(/Error/);
    expect(error?.stack).toContain('at ');
  }, 60_000);
});

describe('guardWorkerProcess', () => {
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  /** Runs `body`, then removes the signal listeners it added (and only those). */
  async function withOwnListeners(body: () => Promise<void> | void): Promise<void> {
    const before = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') };
    try {
      await body();
    } finally {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        for (const l of process.listeners(signal)) if (!before[signal].includes(l)) process.off(signal, l);
      }
      process.exitCode = undefined;
    }
  }

  // A worker the SDK failed (say, on an error it cannot encode) stays alive without polling and
  // cannot be shut down; no outside fault reliably puts a real one there, so a stub stands in.
  it('ends the process with status 1 once the worker has failed and the grace period is over', () =>
    withOwnListeners(async () => {
      const exits: number[] = [];
      const guard = guardWorkerProcess({ graceMs: 200, log: quiet, exit: (s) => exits.push(s) });
      let state = 'RUNNING';
      guard.watch({ getState: () => state } as unknown as Worker);
      await new Promise((r) => setTimeout(r, 700));
      expect(exits).toEqual([]);
      state = 'FAILED';
      await waitFor(() => exits.length > 0, 'the forced exit', 5_000);
      expect(exits).toEqual([WORKER_FAILED_STATUS]);
      expect(process.exitCode).toBe(WORKER_FAILED_STATUS);
    }));

  it('ends the process at once on a second signal', () =>
    withOwnListeners(() => {
      const exits: number[] = [];
      guardWorkerProcess({ graceMs: 60_000, log: quiet, exit: (s) => exits.push(s) });
      process.emit('SIGTERM', 'SIGTERM');
      expect(exits).toEqual([]);
      process.emit('SIGINT', 'SIGINT');
      expect(exits).toEqual([WORKER_FAILED_STATUS]);
    }));
});

describe('JSON logs of errors', () => {
  it('write message, name, code, cause chain and stack instead of {}', () => {
    const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const err = new LedgerError('database_unavailable', 'ledger database PostgreSQL at db:5432/credits is unavailable', { cause: root });
    const line = JSON.parse(jsonLogLine({ level: 'ERROR', message: 'failed', error: err, nested: { inner: [root] }, big: 10n })) as Record<string, unknown>;
    expect(line.error).toMatchObject({
      name: 'LedgerError',
      code: 'database_unavailable',
      message: expect.stringContaining('is unavailable'),
      stack: expect.stringContaining('LedgerError'),
      cause: { name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
    });
    expect(line.nested).toMatchObject({ inner: [{ message: 'connect ECONNREFUSED 127.0.0.1:5432' }] });
    expect(line.big).toBe('10');
    const cyclic: Error & { cause?: unknown } = new Error('loop');
    cyclic.cause = cyclic;
    expect(JSON.stringify(errorToJson(cyclic))).toContain('deeper causes cut');
  });
});
