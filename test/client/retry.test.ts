/**
 * Which Temporal failures the client sends again, on errors shaped exactly as the Temporal
 * client throws them: a grpc-js call error (`code`, `details`, `metadata`) wrapped in the
 * client's `ServiceError`, as `WorkflowClient` rethrows a failed update or query RPC.
 */
import { Metadata, status } from '@grpc/grpc-js';
import { ServiceError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcServiceError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { CreditsClient, isCreditsError, isCreditsUnavailableError } from '../../client';
import { DEFAULT_RETRY_POLICY, backoffDelayMs, isCallerCancelled, isTransientGrpcError, isTransientTemporalError } from '../../client/retry';

/** A call error as grpc-js builds it (its `callErrorFromStatus`). */
function grpcError(code: status, details: string): Error {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

/** The same, as the Temporal client rethrows it from an update RPC. */
function updateRpcError(code: status, details: string): ServiceError {
  return new ServiceError('Workflow Update failed', { cause: grpcError(code, details) });
}

describe('isTransientTemporalError', () => {
  it('is given real grpc-js-shaped errors', () => {
    expect(isGrpcServiceError(grpcError(status.UNAVAILABLE, 'x'))).toBe(true);
  });

  it.each([
    [status.FAILED_PRECONDITION, 'Workflow Task in failed state.'],
    [status.UNAVAILABLE, 'Connection dropped'],
    [status.DEADLINE_EXCEEDED, 'Deadline exceeded after 10.001s'],
    [status.RESOURCE_EXHAUSTED, 'namespace rate limit exceeded'],
    [status.ABORTED, 'operation was aborted'],
    [status.INTERNAL, 'Received RST_STREAM with code 2 (Internal server error)'],
    [status.INTERNAL, 'Received HTTP status code 400'],
    [status.UNKNOWN, 'No status information received'],
    [status.UNKNOWN, 'Stream removed'],
  ])('retries %s (%s), wrapped or not', (code, details) => {
    expect(isTransientGrpcError(grpcError(code, details))).toBe(true);
    expect(isTransientTemporalError(grpcError(code, details))).toBe(true);
    expect(isTransientTemporalError(updateRpcError(code, details))).toBe(true);
  });

  it.each([
    [status.INVALID_ARGUMENT, 'unknown query type'],
    [status.NOT_FOUND, 'workflow not found for ID: account-x'],
    [status.ALREADY_EXISTS, 'Workflow execution is already running'],
    [status.PERMISSION_DENIED, 'Request unauthorized.'],
    [status.UNAUTHENTICATED, 'bad api key'],
    [status.UNIMPLEMENTED, 'unknown method'],
    [status.CANCELLED, 'Cancelled on client'],
    // The same codes as transport failures, with the server's own words: a retry only repeats them.
    [status.INTERNAL, 'unable to decode payload'],
    [status.UNKNOWN, 'some server bug'],
  ])('does not retry %s (%s)', (code, details) => {
    expect(isTransientTemporalError(grpcError(code, details))).toBe(false);
    expect(isTransientTemporalError(updateRpcError(code, details))).toBe(false);
  });

  it('retries an update RPC that timed out, and never a rejection or business outcome', () => {
    expect(isTransientTemporalError(new WorkflowUpdateRPCTimeoutOrCancelledError('timed out', { cause: grpcError(status.DEADLINE_EXCEEDED, 'x') }))).toBe(true);
    const rejected = new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.nonRetryable('bad feature', 'UnknownFeature'));
    expect(isTransientTemporalError(rejected)).toBe(false);
    expect(isTransientTemporalError(new Error('Connection dropped'))).toBe(false); // not a gRPC error at all
    expect(isTransientTemporalError(undefined)).toBe(false);
  });
});

describe('a CANCELLED call', () => {
  // What grpc-js reports when the server resets the stream (RST_STREAM CANCEL) at the deadline
  // it was sent, before the client's own deadline timer has fired on a busy event loop.
  const reset = () => new ServiceError('Failed to query Workflow', { cause: grpcError(status.CANCELLED, 'Call cancelled') });

  it('is a deadline running out once the deadline has passed, and someone cancelling before it', () => {
    expect(isTransientTemporalError(reset(), 1_000, 1_000)).toBe(true);
    expect(isTransientTemporalError(reset(), 1_000, 1_001)).toBe(true);
    expect(isTransientTemporalError(reset(), 1_000, 999)).toBe(false);
    expect(isTransientTemporalError(reset())).toBe(false);
    // Only CANCELLED: a non-transient failure stays one whenever it arrives.
    expect(isTransientTemporalError(new ServiceError('x', { cause: grpcError(status.NOT_FOUND, 'gone') }), 1_000, 5_000)).toBe(false);
  });

  /** A CreditsClient whose every query waits `waitMs` (given its deadline), then fails as `reset()`. */
  function resetClient(attemptTimeoutMs: number, waitMs: (deadline: number) => number): { client: CreditsClient; attempts: () => number } {
    let deadline = 0;
    let attempts = 0;
    const temporal = {
      options: { namespace: 'default' },
      withDeadline: <T>(d: number, fn: () => Promise<T>) => ((deadline = d), fn()),
      workflow: {
        getHandle: () => ({
          query: async () => {
            attempts += 1;
            await new Promise((r) => setTimeout(r, waitMs(deadline)));
            throw reset();
          },
        }),
      },
    } as unknown as Client;
    const client = new CreditsClient(temporal, { taskQueue: 'q', attemptTimeoutMs, retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1, backoffCoefficient: 1 } });
    return { client, attempts: () => attempts };
  }

  it('after the attempt deadline is retried, and reported as the service not answering', async () => {
    const { client, attempts } = resetClient(40, (deadline) => deadline - Date.now() + 5);
    const err: unknown = await client.summary('acct-1').catch((e: unknown) => e);
    expect(isCreditsUnavailableError(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/got no answer after 3 attempts \(Failed to query Workflow/);
    expect(attempts()).toBe(3);
  });

  it('before the attempt deadline is not retried, and said to be the caller cancelling', async () => {
    // A deadline far enough away that a busy machine cannot reach it first.
    const { client, attempts } = resetClient(5_000, () => 0);
    const err: unknown = await client.summary('acct-1').catch((e: unknown) => e);
    expect(isCreditsError(err) && err.code).toBe('cancelled');
    expect((err as Error).message).toBe(
      'summary for account acct-1 was cancelled by its caller before it was answered: it may still be applied; send it again with the same key or request id to find out',
    );
    expect(attempts()).toBe(1);
  });

  it('of an update is retried at its deadline, and not before it', () => {
    const cancelled = () => new WorkflowUpdateRPCTimeoutOrCancelledError('Timed out or cancelled waiting for Workflow Update', { cause: grpcError(status.CANCELLED, 'Call cancelled') });
    expect(isTransientTemporalError(cancelled(), 1_000, 1_000)).toBe(true);
    expect(isTransientTemporalError(cancelled(), 1_000, 999)).toBe(false);
    expect(isCallerCancelled(cancelled(), 1_000, 999)).toBe(true);
    expect(isCallerCancelled(cancelled(), 1_000, 1_000)).toBe(false);
  });
});

describe('DEFAULT_RETRY_POLICY', () => {
  /** Sum of the waits between the attempts of one call, with jitter pinned to `random`. */
  const totalWaitMs = (random: number): number => {
    let total = 0;
    for (let retry = 1; retry < DEFAULT_RETRY_POLICY.maxAttempts; retry++) total += backoffDelayMs(DEFAULT_RETRY_POLICY, retry, () => random);
    return total;
  };

  it('keeps trying for longer than a workflow task timeout (10 s) plus a restart, and gives up within about 40 s', () => {
    expect(totalWaitMs(0)).toBeGreaterThanOrEqual(15_000);
    expect(totalWaitMs(0.5)).toBeGreaterThanOrEqual(25_000);
    expect(totalWaitMs(1)).toBeLessThanOrEqual(40_000);
  });
});

describe('the client options', () => {
  // Never connected: the options are checked when the client is made.
  const temporal = { options: { namespace: 'default' } } as unknown as Client;
  const make = (options: ConstructorParameters<typeof CreditsClient>[1]) => () => new CreditsClient(temporal, { rules: false, ...options });

  it('keep the default for a field given as undefined (a missing config key)', () => {
    expect(make({ retry: { maxAttempts: undefined } })).not.toThrow();
  });

  it.each<[string, ConstructorParameters<typeof CreditsClient>[1], string]>([
    ['maxAttempts NaN', { retry: { maxAttempts: Number.NaN } }, 'retry.maxAttempts must be a whole number of at least 1 (got NaN)'],
    ['maxAttempts 0', { retry: { maxAttempts: 0 } }, 'retry.maxAttempts must be a whole number of at least 1 (got 0)'],
    ['maxAttempts 2.5', { retry: { maxAttempts: 2.5 } }, 'retry.maxAttempts must be a whole number of at least 1 (got 2.5)'],
    ['a negative delay', { retry: { initialDelayMs: -1 } }, 'retry.initialDelayMs must be a finite number of at least 0 (got -1)'],
    ['an endless delay', { retry: { maxDelayMs: Number.POSITIVE_INFINITY } }, 'retry.maxDelayMs must be a finite number of at least 0 (got Infinity)'],
    ['an unknown field', { retry: { attempts: 3 } as never }, 'retry.attempts is not a retry option (maxAttempts, initialDelayMs, maxDelayMs, backoffCoefficient)'],
    ['attemptTimeoutMs NaN', { attemptTimeoutMs: Number.NaN }, 'attemptTimeoutMs must be a positive number of milliseconds (got NaN)'],
    ['attemptTimeoutMs 0', { attemptTimeoutMs: 0 }, 'attemptTimeoutMs must be a positive number of milliseconds (got 0)'],
    ['openTimeoutMs negative', { openTimeoutMs: -5 }, 'openTimeoutMs must be a positive number of milliseconds (got -5)'],
  ])('refuse %s when the client is made, as a RangeError', (_case, options, message) => {
    expect(make(options)).toThrow(new RangeError(message));
  });
});
