/**
 * Coalescing of one process's concurrent `recordUsage` calls into `recordUsageBatch` updates.
 * One update per event caps an account at the server's rate of updates (and at its 10 updates
 * in flight per workflow, past which calls are refused and retried); a batch of hundreds costs
 * about as much as one event. Each account has its own queue: an event waits at most the
 * linger for company (or less, once a full batch is queued), at most `maxInFlight` batches are
 * in flight for an account, and every caller gets its own event's answer.
 *
 * Under load the queue works like Nagle's algorithm: while a batch of the account is in flight,
 * only full batches join it; a partial batch waits for the batch in flight to be answered and
 * then leaves whole. Sending every linger's worth at once instead made a busy account's updates
 * small and many (four in flight of four events each, over 100 accounts), and the server's rate
 * of workflow tasks, not the events, set the pace.
 */
import { AsyncResource } from 'node:async_hooks';
import type { RecordUsageBatchAnswer, RecordUsageInput } from '../domain/wire-contract';
import { CreditsError, CreditsUnavailableError, UsageOverloadedError } from './errors';

/** How {@link UsageCoalescer} batches; see {@link DEFAULT_COALESCE}. */
export interface CoalesceOptions {
  /** How long the first event of a batch waits for company, in ms. */
  lingerMs: number;
  /** Most events in one batch (at most the server's 500). */
  maxBatch: number;
  /**
   * Most batches in flight per account (below the server's 10 updates in flight per workflow).
   * Only full batches are sent beside one in flight, so more than one are in flight only while
   * more than `maxBatch` events wait.
   */
  maxInFlight: number;
  /**
   * Most events waiting per account for room in flight. Past it an event is refused at once
   * ({@link UsageOverloadedError}) instead of queuing without bound while the account (or
   * Temporal) cannot keep up: memory stays bounded and callers are told to back off.
   */
  maxQueued: number;
}

/**
 * Defaults: a 5 ms linger (a lone call waits no longer), batches of up to 500 events (the
 * server's maximum), 4 batches in flight per account, which leaves room under the server's
 * 10 in-flight updates per workflow for other updates and other client processes, and at most
 * 20,000 events waiting per account (ten full rounds of batches in flight).
 */
export const DEFAULT_COALESCE: Readonly<CoalesceOptions> = { lingerMs: 5, maxBatch: 500, maxInFlight: 4, maxQueued: 20_000 };

/**
 * Sends one batch of one account's events; resolves with one answer per event, in order, or
 * an Error for an event that failed on its own (its caller gets that error).
 */
export type SendUsageBatch = (accountId: string, events: RecordUsageInput[]) => Promise<(RecordUsageBatchAnswer | Error)[]>;

/** A caller's giving up on its event, before it was sent (`sent` false) or after. */
function cancelled(accountId: string, sent: boolean): CreditsError {
  const message = sent
    ? 'recordUsage was cancelled by its caller after its batch was sent: it may still be applied; send it again with the same key to find out'
    : 'recordUsage was cancelled by its caller before it was sent: nothing was recorded';
  return new CreditsError('cancelled', message, { accountId });
}

interface Waiting {
  event: RecordUsageInput;
  resolve: (answer: RecordUsageBatchAnswer) => void;
  reject: (err: unknown) => void;
}

interface AccountQueue {
  waiting: Waiting[];
  inFlight: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Queues events per account and sends them in batches through `send`. A batch that fails as a
 * whole (after `send`'s own retries) fails each of its callers with that error; the events are
 * never re-queued, so a caller retrying sends its own event again with its own key.
 */
export class UsageCoalescer {
  private readonly queues = new Map<string, AccountQueue>();
  private readonly options: CoalesceOptions;
  /**
   * The async context batches are sent in: the coalescer's own, not that of whichever caller's
   * event happened to start the batch. The Temporal client reads a call's abort signal, deadline
   * and metadata from the async context (`withAbortSignal`, `withMetadata`), so one caller's
   * abort must not cancel, nor its metadata label, the batch it shares with others.
   */
  private readonly home = new AsyncResource('UsageCoalescer');
  /** What each caller's signal must stop when it aborts (see {@link watch}). */
  private readonly watchers = new WeakMap<AbortSignal, Set<() => void>>();
  /** Set by {@link drain}: no event is taken any more, and what waits leaves without the linger. */
  private draining = false;
  /** Called each time an account's queue empties, while {@link drain} waits. */
  private onIdle: (() => void) | undefined;
  /** What {@link drain} waits for, once it was called. */
  private drained: Promise<void> | undefined;

  constructor(
    private readonly send: SendUsageBatch,
    options: Partial<CoalesceOptions> = {},
  ) {
    this.options = { ...DEFAULT_COALESCE, ...options };
    const { lingerMs, maxBatch, maxInFlight, maxQueued } = this.options;
    const whole = [maxBatch, maxInFlight, maxQueued].every((n) => Number.isSafeInteger(n) && n >= 1);
    if (!(lingerMs >= 0) || !Number.isFinite(lingerMs) || !whole) {
      throw new RangeError(`coalesce options must have lingerMs >= 0 and whole maxBatch, maxInFlight, maxQueued >= 1, got ${JSON.stringify(this.options)}`);
    }
  }

  /**
   * Queues one event of an account; resolves with its own answer. Rejects at once with
   * {@link UsageOverloadedError}, sending nothing, while `maxQueued` events already wait.
   *
   * `signal` lets the caller give up on this event alone: aborted while the event waits, it
   * leaves the queue unsent; aborted once its batch is on its way, the caller is answered at
   * once (the event may still be applied) while the batch goes on for the others. Either way
   * the caller gets a `CreditsError` with code `cancelled`.
   */
  submit(accountId: string, event: RecordUsageInput, signal?: AbortSignal): Promise<RecordUsageBatchAnswer> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(cancelled(accountId, false));
        return;
      }
      if (this.draining) {
        reject(new CreditsUnavailableError('recordUsage was not sent: this client is closed; send it again, with the same key, through an open one', { accountId }));
        return;
      }
      let queue = this.queues.get(accountId);
      if (!queue) {
        queue = { waiting: [], inFlight: 0, timer: undefined };
        this.queues.set(accountId, queue);
      }
      if (queue.waiting.length >= this.options.maxQueued) {
        reject(new UsageOverloadedError(`${queue.waiting.length} usage events of this account already wait to be sent; retry later`, { accountId }));
        return;
      }
      queue.waiting.push(signal ? this.abortable(queue, accountId, event, signal, resolve, reject) : { event, resolve, reject });
      if (queue.waiting.length >= this.options.maxBatch) this.flush(accountId, queue);
      else queue.timer ??= setTimeout(() => this.flush(accountId, queue), this.options.lingerMs);
    });
  }

  /**
   * Stops taking events and sends every event already queued at once, without the linger;
   * resolves when each has been answered (or has failed), so the connection under `send` can
   * then be closed without failing a call it had taken. An event submitted from now on is
   * refused with `unavailable`, sending nothing. Calling it again waits for the same.
   */
  drain(): Promise<void> {
    this.drained ??= (async () => {
      this.draining = true;
      for (const [accountId, queue] of this.queues) this.flush(accountId, queue);
      while (this.queues.size > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
    })();
    return this.drained;
  }

  /**
   * A waiting event its caller may give up on through `signal`: settled once, by its answer, its
   * batch's failure, or the abort (which takes it out of the queue if it is still there). Only
   * events with a signal pay for this; the others are queued as they come.
   */
  private abortable(
    queue: AccountQueue,
    accountId: string,
    event: RecordUsageInput,
    signal: AbortSignal,
    resolve: Waiting['resolve'],
    reject: Waiting['reject'],
  ): Waiting {
    let settled = false;
    const settle = (then: () => void): void => {
      if (settled) return;
      settled = true;
      unwatch();
      then();
    };
    const waiting: Waiting = {
      event,
      resolve: (answer) => settle(() => resolve(answer)),
      reject: (err) => settle(() => reject(err)),
    };
    const unwatch = this.watch(signal, () => {
      const at = queue.waiting.indexOf(waiting);
      if (at >= 0) queue.waiting.splice(at, 1);
      settle(() => reject(cancelled(accountId, at < 0)));
    });
    return waiting;
  }

  /**
   * Runs `onAbort` when `signal` aborts; returns how to stop watching. One listener per signal,
   * whatever the number of its events: a caller (the usage API) gives one signal to every event
   * of a request, and an AbortSignal warns of a leak past ten listeners.
   */
  private watch(signal: AbortSignal, onAbort: () => void): () => void {
    const watching = this.watchers.get(signal) ?? new Set<() => void>();
    if (!this.watchers.has(signal)) {
      this.watchers.set(signal, watching);
      signal.addEventListener(
        'abort',
        () => {
          this.watchers.delete(signal);
          for (const f of [...watching]) f();
        },
        { once: true },
      );
    }
    watching.add(onAbort);
    return () => watching.delete(onAbort);
  }

  /**
   * Sends what is queued, a batch at a time, while the account has room in flight: anything
   * waiting when nothing is in flight, only full batches beside a batch in flight (the rest
   * leaves when that batch is answered).
   */
  private flush(accountId: string, queue: AccountQueue): void {
    if (queue.timer !== undefined) clearTimeout(queue.timer);
    queue.timer = undefined;
    // Every event that waited was given up on by its caller: nothing to send, nothing to keep.
    if (queue.waiting.length === 0 && queue.inFlight === 0) this.forget(accountId);
    while (queue.waiting.length > 0 && queue.inFlight < this.options.maxInFlight) {
      if (queue.inFlight > 0 && queue.waiting.length < this.options.maxBatch && !this.draining) break;
      const batch = queue.waiting.splice(0, this.options.maxBatch);
      queue.inFlight += 1;
      void this.home.runInAsyncScope(() => this.sendBatch(accountId, batch)).finally(() => {
        queue.inFlight -= 1;
        // Events that waited for this batch (or for a free slot) have waited long enough: send them now.
        if (queue.waiting.length > 0) this.flush(accountId, queue);
        else if (queue.inFlight === 0 && queue.timer === undefined) this.forget(accountId);
      });
    }
  }

  /** Drops an account's empty queue, waking {@link drain} to look again. */
  private forget(accountId: string): void {
    this.queues.delete(accountId);
    const idle = this.onIdle;
    this.onIdle = undefined;
    idle?.();
  }

  private async sendBatch(accountId: string, batch: Waiting[]): Promise<void> {
    try {
      const answers = await this.send(
        accountId,
        batch.map((w) => w.event),
      );
      batch.forEach((w, i) => {
        const answer = answers[i];
        if (answer instanceof Error) w.reject(answer);
        else if (answer) w.resolve(answer);
        else w.reject(new Error(`recordUsageBatch answered ${answers.length} events of ${batch.length}`));
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
