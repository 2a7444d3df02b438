/**
 * Coalescing of `recordUsage` calls into `recordUsageBatch` updates: the coalescer alone
 * (batch size, batches in flight, linger, each caller its own answer) and the client against
 * the real workflow on the time-skipping server (fewer updates, own answers and own errors, a
 * retried batch charging nothing twice).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Client, ServiceError, WorkflowUpdateFailedError, type WorkflowClientInterceptor } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ACCOUNT_CONTINUING_MESSAGE, WORKFLOW_FAILURE_TYPES } from '../../domain/failure-types';
import { CreditsClient, isCreditsError, isCreditsInputError, isUsageOverloadedError, type RecordUsageBatchAnswer, type RecordUsageInput } from '../../client';
import { UsageCoalescer } from '../../client/usage-coalescer';
import { accountWorkflowId } from '../../workflows/messages';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';

const ev = (idempotencyKey: string, quantity = 1, feature = 'enrichment'): RecordUsageInput => ({ feature, quantity, idempotencyKey });
const echo = (events: RecordUsageInput[]): RecordUsageBatchAnswer[] =>
  events.map((e) => ({ accepted: true, credits: e.quantity, balance: 0, duplicate: false, key: e.idempotencyKey }) as RecordUsageBatchAnswer);
const keyOf = (answer: RecordUsageBatchAnswer) => (answer as unknown as { key: string }).key;
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('UsageCoalescer', () => {
  it('keeps batches within maxBatch and batches in flight within maxInFlight, per account', async () => {
    let inFlight = 0;
    let peak = 0;
    const sizes: number[] = [];
    const coalescer = new UsageCoalescer(
      async (_account, events) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        sizes.push(events.length);
        await tick(5);
        inFlight -= 1;
        return echo(events);
      },
      { lingerMs: 1, maxBatch: 7, maxInFlight: 2 },
    );
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => coalescer.submit('a', ev(`k-${i}`))));
    expect(answers.map(keyOf)).toEqual(Array.from({ length: 100 }, (_, i) => `k-${i}`));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(7);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(100);
    expect(peak).toBeLessThanOrEqual(2);
    expect(sizes.length).toBeLessThan(100 / 3);
  });

  it('sends a lone event after the linger, not later', async () => {
    const sentAfter: number[] = [];
    const start = Date.now();
    const coalescer = new UsageCoalescer(async (_a, events) => {
      sentAfter.push(Date.now() - start);
      return echo(events);
    }, { lingerMs: 40 });
    await coalescer.submit('a', ev('alone'));
    expect(sentAfter).toHaveLength(1);
    expect(sentAfter[0]).toBeGreaterThanOrEqual(35);
    expect(sentAfter[0]).toBeLessThan(40 + 60);
  });

  it('holds a partial batch while one is in flight and sends it whole once that one is answered; full batches go beside it', async () => {
    const sizes: number[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const coalescer = new UsageCoalescer(
      async (_a, events) => {
        sizes.push(events.length);
        if (sizes.length === 1) await gate;
        return echo(events);
      },
      { lingerMs: 1, maxBatch: 4, maxInFlight: 3 },
    );
    const first = coalescer.submit('a', ev('first'));
    await tick(20);
    expect(sizes).toEqual([1]);
    // Three events trickle in past the linger while the first batch is unanswered: they wait.
    const partial = [coalescer.submit('a', ev('p1')), coalescer.submit('a', ev('p2'))];
    await tick(20);
    partial.push(coalescer.submit('a', ev('p3')));
    await tick(20);
    expect(sizes).toEqual([1]);
    // One more makes a full batch of four, which goes beside the one in flight.
    partial.push(coalescer.submit('a', ev('p4')));
    await tick(20);
    expect(sizes).toEqual([1, 4]);
    const late = [coalescer.submit('a', ev('l1')), coalescer.submit('a', ev('l2'))];
    await tick(20);
    expect(sizes).toEqual([1, 4]);
    release();
    expect((await Promise.all([first, ...partial, ...late])).map(keyOf)).toEqual(['first', 'p1', 'p2', 'p3', 'p4', 'l1', 'l2']);
    expect(sizes).toEqual([1, 4, 2]);
  });

  it('sends a full batch at once, without waiting out the linger', async () => {
    const start = Date.now();
    const coalescer = new UsageCoalescer(async (_a, events) => echo(events), { lingerMs: 10_000, maxBatch: 3 });
    await Promise.all([coalescer.submit('a', ev('1')), coalescer.submit('a', ev('2')), coalescer.submit('a', ev('3'))]);
    expect(Date.now() - start).toBeLessThan(1_000);
  });

  it('fails every caller of a batch that failed, and keeps serving the account', async () => {
    let fail = true;
    const coalescer = new UsageCoalescer(async (_a, events) => {
      if (fail) throw new Error('down');
      return echo(events);
    });
    const failed = await Promise.allSettled([coalescer.submit('a', ev('1')), coalescer.submit('a', ev('2'))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(keyOf(await coalescer.submit('a', ev('3')))).toBe('3');
  });

  it('refuses an event at once, sending nothing, while maxQueued events already wait; takes events again once there is room', async () => {
    const release: (() => void)[] = [];
    const sent: string[] = [];
    const coalescer = new UsageCoalescer(
      async (_a, events) => {
        sent.push(...events.map((e) => e.idempotencyKey));
        await new Promise<void>((resolve) => release.push(resolve));
        return echo(events);
      },
      { lingerMs: 0, maxBatch: 2, maxInFlight: 1, maxQueued: 3 },
    );
    const first = coalescer.submit('a', ev('1'));
    await tick(5); // '1' is in flight, alone
    const queued = [coalescer.submit('a', ev('2')), coalescer.submit('a', ev('3')), coalescer.submit('a', ev('4'))];
    const refused = coalescer.submit('a', ev('5'));
    await expect(refused).rejects.toSatisfy((err: unknown) => isUsageOverloadedError(err) && (err as { accountId?: string }).accountId === 'a');
    // Another account has its own queue.
    const other = coalescer.submit('b', ev('b1'));
    await tick(5);
    while (release.length > 0) {
      release.shift()?.();
      await tick(5);
    }
    expect((await Promise.all([first, ...queued, other])).map(keyOf)).toEqual(['1', '2', '3', '4', 'b1']);
    expect(sent).not.toContain('5');
    const again = coalescer.submit('a', ev('6'));
    await tick(5);
    release.shift()?.();
    expect(keyOf(await again)).toBe('6');
  });

  it('refuses options that would never send', () => {
    expect(() => new UsageCoalescer(async () => [], { maxQueued: 0 })).toThrow(RangeError);
    expect(() => new UsageCoalescer(async () => [], { maxBatch: 0 })).toThrow(RangeError);
    expect(() => new UsageCoalescer(async () => [], { maxInFlight: 0 })).toThrow(RangeError);
    expect(() => new UsageCoalescer(async () => [], { lingerMs: Number.NaN })).toThrow(RangeError);
    expect(() => new UsageCoalescer(async () => [], { lingerMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });

  it('lets a caller give up on its own event: unsent while it waits, answered at once once sent, the others untouched', async () => {
    const batches: string[][] = [];
    let release: () => void = () => undefined;
    const coalescer = new UsageCoalescer(
      async (_a, events) => {
        batches.push(events.map((e) => e.idempotencyKey));
        if (batches.length === 1) await new Promise<void>((r) => (release = r));
        return echo(events);
      },
      { lingerMs: 5, maxBatch: 2, maxInFlight: 1 },
    );
    const waitingCaller = new AbortController();
    const sentCaller = new AbortController();
    const first = coalescer.submit('a', ev('sent-1'), sentCaller.signal);
    const second = coalescer.submit('a', ev('sent-2'));
    // The first batch (sent-1, sent-2) is in flight; these two wait behind it.
    const third = coalescer.submit('a', ev('waits-1'), waitingCaller.signal);
    const fourth = coalescer.submit('a', ev('waits-2'));
    await tick(10);
    sentCaller.abort();
    waitingCaller.abort();
    const firstErr = await first.catch((e: unknown) => e);
    expect(isCreditsError(firstErr) && firstErr.code).toBe('cancelled');
    expect((firstErr as Error).message).toMatch(/after its batch was sent: it may still be applied/);
    const thirdErr = await third.catch((e: unknown) => e);
    expect(isCreditsError(thirdErr) && thirdErr.code).toBe('cancelled');
    expect((thirdErr as Error).message).toMatch(/before it was sent: nothing was recorded/);
    release();
    expect(keyOf(await second)).toBe('sent-2');
    expect(keyOf(await fourth)).toBe('waits-2');
    expect(batches).toEqual([['sent-1', 'sent-2'], ['waits-2']]);

    const already = new AbortController();
    already.abort();
    const err = await coalescer.submit('a', ev('never'), already.signal).catch((e: unknown) => e);
    expect(isCreditsError(err) && err.code).toBe('cancelled');
    await tick(20);
    expect(batches.flat()).not.toContain('never');
  });

  it('takes one signal for many events (as the usage API gives a request\'s), cancelling all of them, with no leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const sent: string[] = [];
      const coalescer = new UsageCoalescer(async (_a, events) => {
        sent.push(...events.map((e) => e.idempotencyKey));
        return echo(events);
      }, { lingerMs: 50 });
      const request = new AbortController();
      const calls = Array.from({ length: 50 }, (_, i) => coalescer.submit('a', ev(`one-signal-${i}`), request.signal).catch((e: unknown) => e));
      request.abort();
      const answers = await Promise.all(calls);
      expect(answers.every((e) => isCreditsError(e) && e.code === 'cancelled')).toBe(true);
      await tick(80);
      expect(sent).toEqual([]);
      // Answered events stop being watched: a signal kept for later calls does not hold them.
      const kept = new AbortController();
      expect(keyOf(await coalescer.submit('a', ev('kept-1'), kept.signal))).toBe('kept-1');
      kept.abort();
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it("sends each batch in its own context, not in the context of the caller whose event started it", async () => {
    // The Temporal client reads a call's abort signal and metadata from such a context.
    const callerContext = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const coalescer = new UsageCoalescer(async (_a, events) => {
      seen.push(callerContext.getStore());
      return echo(events);
    }, { lingerMs: 5, maxBatch: 2 });
    const answers = await Promise.all([
      callerContext.run('caller-a', () => coalescer.submit('a', ev('a-1'))),
      callerContext.run('caller-b', () => coalescer.submit('a', ev('b-1'))),
      callerContext.run('caller-c', () => coalescer.submit('a', ev('c-1'))),
    ]);
    expect(answers.map(keyOf)).toEqual(['a-1', 'b-1', 'c-1']);
    expect(seen).toEqual([undefined, undefined]);
  });

  it('drains at close: what waits leaves at once without the linger, each caller answered before it resolves, nothing taken after', async () => {
    const sent: string[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const coalescer = new UsageCoalescer(
      async (_a, events) => {
        sent.push(events.map((e) => e.idempotencyKey));
        if (sent.length === 1) await gate;
        return echo(events);
      },
      { lingerMs: 60_000, maxBatch: 3, maxInFlight: 1 },
    );
    const answered: string[] = [];
    const calls = ['a-1', 'a-2', 'a-3', 'a-4', 'a-5'].map((k) => coalescer.submit('a', ev(k)).then((a) => answered.push(keyOf(a))));
    const other = coalescer.submit('b', ev('b-1')).then((a) => answered.push(keyOf(a)));
    await tick(5);
    // The first full batch left; the rest would wait a minute for company.
    expect(sent).toEqual([['a-1', 'a-2', 'a-3']]);
    let drained = false;
    const draining = coalescer.drain().then(() => (drained = true));
    expect(coalescer.drain()).toBe(coalescer.drain());
    await tick(5);
    // Account b leaves at once; a's partial batch waits only for a's batch in flight (maxInFlight 1).
    expect(sent).toEqual([['a-1', 'a-2', 'a-3'], ['b-1']]);
    const late = await coalescer.submit('a', ev('late')).catch((e: unknown) => e);
    expect(isCreditsError(late) && late.code).toBe('unavailable');
    expect(drained).toBe(false);
    release();
    await draining;
    expect(sent).toEqual([['a-1', 'a-2', 'a-3'], ['b-1'], ['a-4', 'a-5']]);
    expect(answered.sort()).toEqual(['a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'b-1']);
    await Promise.all([...calls, other]);
    // Nothing queued: a later drain has nothing to wait for.
    await new UsageCoalescer(async (_a, events) => echo(events)).drain();
  });

  it('answers every caller with its own event, in each account’s order, for any arrivals', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ account: fc.constantFrom('a', 'b', 'c'), delay: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 4 }),
        async (arrivals, maxBatch, maxInFlight) => {
          const sent: { account: string; keys: string[] }[] = [];
          const coalescer = new UsageCoalescer(
            async (account, events) => {
              sent.push({ account, keys: events.map((e) => e.idempotencyKey) });
              await tick(1);
              return echo(events);
            },
            { lingerMs: 1, maxBatch, maxInFlight },
          );
          const answers = await Promise.all(
            arrivals.map(async ({ account, delay }, i) => {
              await tick(delay);
              return keyOf(await coalescer.submit(account, ev(`${account}-${i}`)));
            }),
          );
          expect(answers).toEqual(arrivals.map(({ account }, i) => `${account}-${i}`));
          for (const { account, keys } of sent) {
            expect(keys.length).toBeLessThanOrEqual(maxBatch);
            expect(keys.every((k) => k.startsWith(`${account}-`))).toBe(true);
          }
          expect(sent.flatMap((s) => s.keys).sort()).toEqual(answers.slice().sort());
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('CreditsClient.recordUsage, coalesced, against the real workflow', () => {
  let suite: WorkflowSuite;
  let credits: CreditsClient;
  beforeAll(async () => {
    suite = await workflowSuite();
    credits = new CreditsClient(suite.env.client, { taskQueue: suite.taskQueue });
  });
  afterAll(() => suite?.teardown());

  const updatesAccepted = async (accountId: string) => {
    const history = await suite.env.client.workflow.getHandle(accountWorkflowId(accountId)).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
  };

  it('answers many concurrent callers each on their own, in far fewer updates', async () => {
    await suite.open({ accountId: 'coalesce-many', plan: 'scale', users: 10 });
    const n = 300;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => credits.recordUsage('coalesce-many', ev(`m-${i}`, 1 + (i % 3)))));
    expect(answers.every((a) => a.accepted && !a.duplicate)).toBe(true);
    expect(answers.map((a) => a.credits)).toEqual(Array.from({ length: n }, (_, i) => 1 + (i % 3)));
    const charged = answers.reduce((sum, a) => sum + a.credits, 0);
    // Each balance is the one after its own event: all distinct, the lowest the final balance.
    expect(new Set(answers.map((a) => a.balance)).size).toBe(n);
    expect(Math.min(...answers.map((a) => a.balance))).toBe(20000 - charged);
    expect((await credits.summary('coalesce-many')).credits.used).toBe(charged);
    expect(await updatesAccepted('coalesce-many')).toBeLessThanOrEqual(n / 20);
  });

  it('answers its queued calls at close, then refuses usage without sending it', async () => {
    await suite.open({ accountId: 'coalesce-close', plan: 'scale', users: 10 });
    // A linger of a minute: only the close sends these.
    const closing = new CreditsClient(suite.env.client, { taskQueue: suite.taskQueue, coalesce: { lingerMs: 60_000 } });
    const calls = [1, 2, 3].map((i) => closing.recordUsage('coalesce-close', ev(`close-${i}`, i)));
    await closing.close();
    const answers = await Promise.all(calls);
    expect(answers).toMatchObject([
      { accepted: true, credits: 1, duplicate: false },
      { accepted: true, credits: 2, duplicate: false },
      { accepted: true, credits: 3, duplicate: false },
    ]);
    const late = await closing.recordUsage('coalesce-close', ev('close-late', 7)).catch((e: unknown) => e);
    expect(isCreditsError(late) && [late.code, late.message]).toEqual([
      'unavailable',
      'recordUsage was not sent: this client is closed; send it again, with the same key, through an open one',
    ]);
    expect((await credits.summary('coalesce-close')).credits.used).toBe(6);
    expect(await updatesAccepted('coalesce-close')).toBe(1);
  });

  it('refuses a malformed event locally and an event the rules refuse for its caller only', async () => {
    await suite.open({ accountId: 'coalesce-bad', plan: 'scale', users: 10 });
    const settled = await Promise.allSettled([
      credits.recordUsage('coalesce-bad', ev('ok-1')),
      credits.recordUsage('coalesce-bad', { feature: 'enrichment', quantity: 1 } as RecordUsageInput),
      credits.recordUsage('coalesce-bad', ev('bad-feature', 1, 'teleportation')),
      credits.recordUsage('coalesce-bad', ev('voice', 1, 'voice-agent')),
      credits.recordUsage('coalesce-bad', ev('ok-2')),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    const problems = settled.map((s) => (s.status === 'rejected' && isCreditsInputError(s.reason) ? s.reason.problem : undefined));
    expect(problems).toEqual([undefined, 'MissingIdempotencyKey', 'UnknownFeature', 'UseCallUpdates', undefined]);
    expect((await credits.summary('coalesce-bad')).credits.used).toBe(2);
    // The malformed event never left the process: one batch carried the other four.
    expect(await updatesAccepted('coalesce-bad')).toBe(1);
  });

  it('charges each call under the key it had when called, when the caller reuses one object', async () => {
    await suite.open({ accountId: 'coalesce-reuse', plan: 'scale', users: 10 });
    const shared: RecordUsageInput = { feature: 'enrichment', quantity: 5, idempotencyKey: '' };
    const calls: Promise<unknown>[] = [];
    for (const key of ['k-1', 'k-2', 'k-3']) {
      shared.idempotencyKey = key;
      calls.push(credits.recordUsage('coalesce-reuse', shared));
    }
    const answers = await Promise.all(calls);
    expect(answers).toMatchObject([
      { accepted: true, credits: 5, duplicate: false },
      { accepted: true, credits: 5, duplicate: false },
      { accepted: true, credits: 5, duplicate: false },
    ]);
    expect((await credits.summary('coalesce-reuse')).credits.used).toBe(15);
  });

  it('sends what a caller gave at the call: changing its object afterwards neither changes its event nor fails another caller', async () => {
    await suite.open({ accountId: 'coalesce-change', plan: 'scale', users: 10 });
    const mine: RecordUsageInput = { feature: 'enrichment', quantity: 2, idempotencyKey: 'mine' };
    const calls = [credits.recordUsage('coalesce-change', mine), credits.recordUsage('coalesce-change', ev('theirs', 3))];
    mine.quantity = -1;
    mine.idempotencyKey = 'changed';
    expect(await Promise.all(calls)).toMatchObject([
      { accepted: true, credits: 2, duplicate: false },
      { accepted: true, credits: 3, duplicate: false },
    ]);
    expect((await credits.summary('coalesce-change')).credits.used).toBe(5);
  });

  it('refuses an id no account can have before sending anything, in a short message', async () => {
    for (const id of ['x'.repeat(10_000), 'nul\u0000id', '\ud800', 42 as unknown as string, '']) {
      const err = await credits.recordUsage(id, ev('any')).catch((e: unknown) => e);
      expect(isCreditsInputError(err) && err.problem).toBe('InvalidInput');
      expect((err as Error).message).toMatch(/^accountId must be 1-64 characters of A-Z, a-z, 0-9, "\.", "_" or "-" \(got /);
      expect((err as Error).message.length).toBeLessThan(200);
      expect((err as Error).message).not.toContain('\u0000');
      const viaSummary = await credits.summary(id).catch((e: unknown) => e);
      expect(isCreditsInputError(viaSummary) && viaSummary.problem).toBe('InvalidInput');
      const viaUpdate = await credits.grantCredits(id, { credits: 1, reason: 'r', validForCycles: 1, idempotencyKey: 'g' }).catch((e: unknown) => e);
      expect(isCreditsInputError(viaUpdate) && viaUpdate.problem).toBe('InvalidInput');
    }
  });

  it('answers a retried batch with its first answers (the same update id), charging nothing twice', async () => {
    await suite.open({ accountId: 'coalesce-retry', plan: 'scale', users: 10 });
    // The first attempt reaches the workflow, its answer is lost; the retry sends the same events.
    let attempts = 0;
    const interceptor: WorkflowClientInterceptor = {
      async startUpdate(input, next) {
        attempts += 1;
        const output = await next(input);
        if (attempts === 1) {
          throw new ServiceError('Failed to start update', {
            cause: Object.assign(new Error('14 UNAVAILABLE: connection reset by peer'), { code: 14, details: 'connection reset by peer', metadata: {} }),
          });
        }
        return output;
      },
    };
    const temporal = new Client({ connection: suite.env.connection, namespace: suite.env.namespace ?? 'default', interceptors: { workflow: [interceptor] } });
    const flaky = new CreditsClient(temporal, { taskQueue: suite.taskQueue, retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 }, coalesce: { lingerMs: 20 } });
    const answers = await Promise.all(['r-1', 'r-2', 'r-3'].map((k) => flaky.recordUsage('coalesce-retry', ev(k, 5))));
    expect(attempts).toBe(2);
    // The lost attempt was applied: the server answers the retry (same update id) with its
    // outcome. (A retry reaching the next run is answered from the duplicate window instead:
    // test/workflows/usage-batch.test.ts.)
    expect(answers).toEqual(Array.from({ length: 3 }, (_, i) => ({ accepted: true, credits: 5, balance: 20000 - 5 * (i + 1), duplicate: false })));
    expect((await credits.summary('coalesce-retry')).credits.used).toBe(15);
  });

  it('sends a batch refused while the run hands over to the next (AccountContinuing) again, without using up its attempts', async () => {
    await suite.open({ accountId: 'coalesce-handover', plan: 'scale', users: 10 });
    // The run's validator refuses while it continues as new; here the refusal is made up for
    // the first three attempts, more than the client's two attempts could absorb.
    let attempts = 0;
    const interceptor: WorkflowClientInterceptor = {
      async startUpdate(input, next) {
        attempts += 1;
        if (attempts <= 3) {
          throw new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.retryable(ACCOUNT_CONTINUING_MESSAGE, WORKFLOW_FAILURE_TYPES.accountContinuing));
        }
        return next(input);
      },
    };
    const temporal = new Client({ connection: suite.env.connection, namespace: suite.env.namespace ?? 'default', interceptors: { workflow: [interceptor] } });
    const patient = new CreditsClient(temporal, { taskQueue: suite.taskQueue, retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 }, coalesce: { lingerMs: 5 } });
    const answers = await Promise.all(['h-1', 'h-2'].map((k) => patient.recordUsage('coalesce-handover', ev(k, 5))));
    expect(attempts).toBe(4);
    expect(answers.map((a) => [a.accepted, a.duplicate])).toEqual([
      [true, false],
      [true, false],
    ]);
    expect((await credits.summary('coalesce-handover')).credits.used).toBe(10);
  });
});
