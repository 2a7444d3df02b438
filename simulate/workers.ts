/**
 * Replays spread over worker threads: this thread reads the ledger (the embedded database
 * lives here) and hands each account to the least busy worker, a chunk of entries at a time;
 * a worker acknowledges each chunk it consumed, and no worker is sent more than a few chunks
 * ahead, so memory stays flat however long the histories are.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LedgerEntry } from '../domain/effects';
import type { LedgerStore } from '../ledger/store';
import type { AccountOutcome } from './replay';
import type { ReplayWorkerSetup, ToReplayWorker } from './replay-worker';

/** Chunks a worker may hold unconsumed before the reader waits for it. */
const MAX_UNACKED = 4;
/** Most entries per chunk sent to a worker (a smaller page size makes smaller chunks). */
const MAX_CHUNK = 1000;

interface Pending {
  accountId: string;
  index: number;
  sent: number;
  acked: number;
}

interface PoolWorker {
  worker: Worker;
  pending: Pending[];
  unacked: number;
}

/** The worker's file next to this one: `.ts` when running from the sources (tsx), `.js` from dist/. */
export function replayWorkerFile(): string | null {
  for (const name of ['replay-worker.js', 'replay-worker.ts']) {
    const file = join(__dirname, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/**
 * Starts a worker on `file`. From the TypeScript sources (tsx) a worker does not inherit the
 * loader, so it registers tsx's require hook itself before loading the file.
 */
function startWorker(file: string, setup: ReplayWorkerSetup): Worker {
  if (!file.endsWith('.ts')) return new Worker(file, { workerData: setup });
  const hook = require.resolve('tsx/cjs');
  return new Worker(`require(${JSON.stringify(hook)}); require(${JSON.stringify(file)});`, { eval: true, workerData: setup });
}

/**
 * Replays `ids` on `count` workers; `onOutcome` hears each account's outcome with its index
 * in `ids`, in whatever order they finish.
 */
export async function replayInWorkers(
  ids: readonly string[],
  store: LedgerStore,
  setup: ReplayWorkerSetup,
  count: number,
  manualExpiries: (accountId: string) => Promise<Map<string, number>>,
  onOutcome: (index: number, outcome: AccountOutcome) => void,
  pageSize: number,
): Promise<void> {
  const file = replayWorkerFile();
  if (file === null) throw new Error('the replay worker file is missing next to simulate/workers');
  let failure: unknown = null;
  let notify: (() => void) | null = null;
  const changed = () => {
    notify?.();
    notify = null;
  };
  const waitFor = async (ready: () => boolean) => {
    while (!ready()) {
      if (failure !== null) throw failure;
      await new Promise<void>((resolve) => (notify = resolve));
    }
    if (failure !== null) throw failure;
  };
  const pool: PoolWorker[] = Array.from({ length: count }, () => {
    const entry: PoolWorker = { worker: startWorker(file, setup), pending: [], unacked: 0 };
    entry.worker.on('message', (message: { type: 'ack' } | { type: 'outcome'; outcome: AccountOutcome }) => {
      const head = entry.pending[0];
      if (message.type === 'ack') {
        if (head) head.acked += 1;
        entry.unacked -= 1;
      } else if (head) {
        entry.pending.shift();
        // Chunks the replay stopped before reading are never acknowledged: count them off here.
        entry.unacked -= head.sent - head.acked;
        onOutcome(head.index, message.outcome);
      }
      changed();
    });
    entry.worker.on('error', (err) => {
      failure = err;
      changed();
    });
    return entry;
  });
  const send = (target: PoolWorker, message: ToReplayWorker) => target.worker.postMessage(message);
  try {
    for (const [index, accountId] of ids.entries()) {
      const target = pool.reduce((best, w) => (w.pending.length < best.pending.length ? w : best));
      const pending: Pending = { accountId, index, sent: 0, acked: 0 };
      await waitFor(() => target.pending.length < 2);
      target.pending.push(pending);
      send(target, { type: 'account', accountId, manualExpiries: await manualExpiries(accountId) });
      let chunk: LedgerEntry[] = [];
      // False once the account's replay has answered (it stopped early, at entries past its end).
      const open = () => target.pending.includes(pending);
      const flush = async () => {
        await waitFor(() => target.unacked < MAX_UNACKED);
        if (!open()) return;
        pending.sent += 1;
        target.unacked += 1;
        send(target, { type: 'entries', entries: chunk });
        chunk = [];
      };
      for await (const entry of store.streamEntries({ accountId }, { pageSize })) {
        chunk.push(entry);
        if (chunk.length < Math.min(MAX_CHUNK, pageSize)) continue;
        await flush();
        if (!open()) break;
      }
      if (chunk.length > 0) await flush();
      send(target, { type: 'end' });
    }
    await waitFor(() => pool.every((w) => w.pending.length === 0));
  } finally {
    await Promise.all(pool.map((w) => w.worker.terminate()));
  }
}
