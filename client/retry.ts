/**
 * Which Temporal failures are worth retrying, and the backoff between attempts. Retrying is
 * safe only because every call is idempotent on the account side: usage and grants by
 * idempotency key, calls by call id, and the remaining updates set a target value (users,
 * plan, tier, toggles) that a repeat leaves unchanged. So a request whose answer was lost
 * (server restarted, deadline passed) can simply be sent again.
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

/** Default policy: five attempts over roughly five seconds, enough to ride out a server restart. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 5,
  initialDelayMs: 200,
  maxDelayMs: 3_000,
  backoffCoefficient: 2,
};

/**
 * gRPC codes of a server that is away or overloaded, or a call that ran out of time: the
 * request may or may not have been applied, and sending it again is how to find out.
 */
const TRANSIENT_GRPC_CODES: ReadonlySet<number> = new Set([
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED (rate limited)
  10, // ABORTED
  14, // UNAVAILABLE
]);

/**
 * Whether `err` is a transient transport or timeout failure (server unavailable, deadline
 * exceeded, an update that got no answer because no workflow task completed in time). Never
 * true for a validator rejection or a business outcome.
 */
export function isTransientTemporalError(err: unknown): boolean {
  // The update RPC timed out or was cancelled: the update may still be applied, or not yet.
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (isGrpcServiceError(e) && TRANSIENT_GRPC_CODES.has(e.code)) return true;
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
