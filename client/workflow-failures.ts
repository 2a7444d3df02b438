/**
 * Recognising the account workflow's failures in what the Temporal client throws: by the
 * failure's type wherever the SDK carries it, never by reading its message for meaning.
 */
import { ApplicationFailure, QueryNotRegisteredError, isGrpcServiceError } from '@temporalio/client';
import { ACCOUNT_OPENING_MESSAGE, WORKFLOW_FAILURE_TYPES } from '../domain/failure-types';

/** How deep a cause chain is followed; Temporal's own errors nest two or three levels. */
const MAX_CAUSE_DEPTH = 5;

/** `err` and its causes, outermost first. */
function causeChain(err: unknown): Error[] {
  const chain: Error[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < MAX_CAUSE_DEPTH; e = e.cause) chain.push(e);
  return chain;
}

/** Messages of an error and its causes, outermost first, joined for a readable report. */
export function messageChain(err: unknown): string {
  return causeChain(err)
    .map((e) => e.message)
    .join(': ');
}

/** The ApplicationFailure at or below `err`, if any. */
export function applicationFailure(err: unknown): ApplicationFailure | undefined {
  return causeChain(err).find((e): e is ApplicationFailure => e instanceof ApplicationFailure);
}

/**
 * Whether `err` is the account workflow's `AccountOpening` failure: the `summary` query of an
 * account that has not loaded its rules yet. Ask again in a moment.
 *
 * Any error that carries an ApplicationFailure is known by its type. A failed query carries
 * none: the worker (SDK 1.24) sends a query handler's message without its failure (sdk-core
 * issue 867), and the client turns the server's answer into a `QueryNotRegisteredError` or,
 * from the time-skipping test server, a `ServiceError` over a gRPC INTERNAL error, each with
 * that message alone. For those the failure is known by its whole message, the constant the
 * workflow throws with.
 */
export function isAccountOpening(err: unknown): boolean {
  return causeChain(err).some(
    (e) =>
      (e instanceof ApplicationFailure && e.type === WORKFLOW_FAILURE_TYPES.accountOpening) ||
      (e instanceof QueryNotRegisteredError && e.message === ACCOUNT_OPENING_MESSAGE) ||
      (isGrpcServiceError(e) && e.details === ACCOUNT_OPENING_MESSAGE),
  );
}

/**
 * Whether `err` says the workflow has no handler for update `name`: a worker older than the
 * update (during a rolling upgrade). The SDK rejects such an update with an ApplicationFailure
 * of no type of its own, so it is known by the whole message the SDK writes for it.
 */
export function isUnregisteredUpdate(err: unknown, name: string): boolean {
  return causeChain(err).some((e) => e instanceof ApplicationFailure && e.message === `No registered handler for update: ${name}`);
}
