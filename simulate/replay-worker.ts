/**
 * A worker thread that replays accounts for {@link replayInWorkers}: the main thread reads the
 * ledger and hands each account's entries over in chunks; the replay (the costly part: the
 * credit core runs twice per event) runs here, one account at a time in arrival order.
 * Each chunk is acknowledged once consumed, so the main thread never runs far ahead.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { LedgerEntry } from '../domain/effects';
import { createRuleSet } from '../ruleset/load';
import type { Rules } from '../ruleset/types';
import type { Period } from './period';
import { replayAccount } from './replay';

/** What the worker is started with: everything a replay needs that is the same for every account. */
export interface ReplayWorkerSetup {
  versions: Rules[];
  draft: Rules | null;
  period: Period;
  untilMs: number;
}

/** Messages to the worker. */
export type ToReplayWorker =
  | { type: 'account'; accountId: string; manualExpiries: Map<string, number> }
  | { type: 'entries'; entries: LedgerEntry[] }
  | { type: 'end' };

/** One account's entries as they arrive, consumed by the replay. */
class EntryQueue implements AsyncIterable<LedgerEntry> {
  private readonly chunks: (LedgerEntry[] | null)[] = [];
  private wake: (() => void) | null = null;

  push(chunk: LedgerEntry[] | null): void {
    this.chunks.push(chunk);
    this.wake?.();
    this.wake = null;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LedgerEntry> {
    for (;;) {
      while (this.chunks.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
      const chunk = this.chunks.shift();
      if (chunk === null || chunk === undefined) return;
      yield* chunk;
      parentPort?.postMessage({ type: 'ack' });
    }
  }
}

if (parentPort) {
  const port = parentPort;
  const setup = workerData as ReplayWorkerSetup;
  const ruleSet = createRuleSet(setup.versions);
  let current: EntryQueue | null = null;
  let done: Promise<void> = Promise.resolve();
  port.on('message', (message: ToReplayWorker) => {
    if (message.type === 'account') {
      const queue = new EntryQueue();
      current = queue;
      const { accountId, manualExpiries } = message;
      // Accounts replay one after another; the next one's entries queue meanwhile.
      done = done.then(async () => {
        const outcome = await replayAccount(accountId, queue, { ruleSet, draft: setup.draft, period: setup.period, untilMs: setup.untilMs, manualExpiries });
        port.postMessage({ type: 'outcome', outcome });
      });
    } else if (message.type === 'entries') current?.push(message.entries);
    else current?.push(null);
  });
}
