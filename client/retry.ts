/**
 * Which Temporal failures are worth retrying, and the backoff between attempts. Retrying is
 * safe because every attempt of one call carries the same update id, which the server answers
 * with the first outcome while the run that applied it is running; and across a continue-as-new,
 * usage and grants are idempotent by key, calls by call id, and the updates that set a target
 * value (users, plan, tier, toggles, admins, tags) by that update id, which the account
 * remembers for the current and the previous cycle.
 */
import { WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcServiceError } from '@temporalio/client';

/** How often and how patiently a call is retried on transient failures. */
export interface RetryPolicy {
  /** Attempts in all, the first one included (1 = no retry). */
  maxAttempts: number;
  /** Delay before the first retry, in milliseconds. */
  initialDelayMs: number;
  /** Longest delay between two attempts, in milliseconds. */
  maxDelayMs: number;
  /** Factor by which the delay grows after each retry. */
  backoffCoefficient: number;
}

/**
 * Default policy: twelve attempts whose waits add up to 19-38 s (about 28 s on average),
 * enough to ride out a worker restart (a workflow task that was running on the dead worker
 * is retried after its 10 s timeout) or a server restart, and only then give up.
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 12,
  initialDelayMs: 250,
  maxDelayMs: 5_000,
  backoffCoefficient: 2,
};

/** gRPC status codes, as `@grpc/grpc-js` numbers them. */
const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/**
 * gRPC codes that mean "not now" whatever their message: a server that is away or overloaded,
 * a call that ran out of time (the request may or may not have been applied, and sending it
 * again is how to find out), a conflict to retry, and FAILED_PRECONDITION, which Temporal
 * answers while an account's workflow task is failing or being retried ("workflow task in
 * failed state", "workflow is busy"): a worker crash or restart that the next worker heals.
 */
const TRANSIENT_GRPC_CODES: ReadonlySet<number> = new Set<number>([
  GRPC.DEADLINE_EXCEEDED,
  GRPC.RESOURCE_EXHAUSTED,
  GRPC.FAILED_PRECONDITION,
  GRPC.ABORTED,
  GRPC.UNAVAILABLE,
]);

/**
 * The messages grpc-js gives INTERNAL and UNKNOWN when the connection, not the server, failed:
 * a stream reset or dropped, an HTTP answer from a proxy instead of gRPC, a failed write. The
 * same codes with any other message come from the server itself (a bug, a payload it cannot
 * decode), which a retry would only repeat.
 */
const TRANSPORT_FAILURE = /Received RST_STREAM|Received HTTP status code|No status information received|Write error|Stream removed|Connection dropped|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up/i;

/** Whether one gRPC failure (a `ServiceError` as `isGrpcServiceError` sees it) is worth retrying. */
export function isTransientGrpcError(err: unknown): boolean {
  if (!isGrpcServiceError(err)) return false;
  if (TRANSIENT_GRPC_CODES.has(err.code)) return true;
  return (err.code === GRPC.INTERNAL || err.code === GRPC.UNKNOWN) && TRANSPORT_FAILURE.test(err.details);
}

/**
 * Whether `err` is a transient failure worth sending again with the same input (and so the
 * same idempotency key): a transport or timeout failure, a server or worker restarting, an
 * update that got no answer because no workflow task completed in time. Never true for a
 * validator rejection or a business outcome.
 *
 * @param deadline the failed attempt's deadline (ms since the epoch), when it had one: a
 *   CANCELLED that arrives once it has passed is that deadline running out. The server (or a
 *   proxy) cuts the call off at the deadline it was sent, which is never earlier than the
 *   client's own, and when the client's event loop is busy that reset can arrive before the
 *   client's deadline timer fires: grpc-js then reports the reset as CANCELLED ("Call
 *   cancelled") instead of DEADLINE_EXCEEDED. A CANCELLED before the deadline is someone
 *   cancelling the call, not retried.
 * @param now the current time, for tests
 */
export function isTransientTemporalError(err: unknown, deadline?: number, now: number = Date.now()): boolean {
  // The update RPC timed out, or was cut off at its deadline: the update may still be applied,
  // or not yet. One its caller cancelled is the caller's to decide about.
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return !isCallerCancelled(err, deadline, now);
  const pastDeadline = deadline !== undefined && now >= deadline;
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (isTransientGrpcError(e)) return true;
    if (pastDeadline && isGrpcServiceError(e) && e.code === GRPC.CANCELLED) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether `err` is a call its caller cancelled (an abort signal, through the Temporal client's
 * `withAbortSignal`) before the attempt's deadline: a gRPC CANCELLED among its causes while the
 * deadline had not passed (see {@link isTransientTemporalError} for one that arrives after it).
 */
export function isCallerCancelled(err: unknown, deadline?: number, now: number = Date.now()): boolean {
  if (deadline !== undefined && now >= deadline) return false;
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (isGrpcServiceError(e) && e.code === GRPC.CANCELLED) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Delay before retry number `retry` (1 for the first retry), with full jitter. */
export function backoffDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.backoffCoefficient ** (retry - 1));
  // Full jitter: many services retrying after the same outage do not all come back at once.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
