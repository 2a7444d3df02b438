/**
 * Errors of the credits client. Every failure a caller can act on has its own class and a
 * stable `code`, so a product service branches on `err.code` (or a guard) and never parses a
 * message. Business outcomes (usage refused for lack of credits, a call not authorized) are
 * not errors: they come back in the typed result.
 */
import type { InputProblemCode } from '../domain/input-problems';

/** Stable codes of {@link CreditsError}. */
export const CREDITS_ERROR_CODES = [
  /** The workflow's validator (or the same check run locally) refused the input: fix it, do not retry. */
  'input_rejected',
  /** No running workflow for the account: never started, or closed. */
  'account_not_found',
  /** `startAccount` for an account whose workflow is already running. */
  'account_already_running',
  /**
   * `startAccount` for an account whose workflow ran and closed (terminated, failed, or
   * completed): a new one would open a fresh pool. Only `restartClosed` starts it.
   */
  'account_closed',
  /** Temporal could not be reached or did not answer in time, after every retry. Safe to retry later. */
  'unavailable',
  /**
   * This process already holds the most usage events it queues for the account (the
   * coalescer's `maxQueued`): the event was not sent. Retry after a moment.
   */
  'overloaded',
  /**
   * The caller cancelled the call (an abort signal) before it was answered: the command may or
   * may not have been applied. Send it again with the same key or request id to find out.
   */
  'cancelled',
  /** A command would take one of the account's bounded tables past its limit (open calls, deactivated agents, manual grants); nothing changed. */
  'limit_reached',
  /** Anything else (a bug or an unexpected server answer); the original error is the `cause`. */
  'unexpected',
] as const;
/** Stable code of a {@link CreditsError}. */
export type CreditsErrorCode = (typeof CREDITS_ERROR_CODES)[number];

/** Base class of every error the credits client throws. */
export class CreditsError extends Error {
  override name = 'CreditsError';
  /** What went wrong, for programs. */
  readonly code: CreditsErrorCode;
  /** The account concerned, when there is one. */
  readonly accountId: string | undefined;

  constructor(code: CreditsErrorCode, message: string, options: { accountId?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.accountId = options.accountId;
  }
}

/**
 * A validator rejection: the input is malformed or names something the rules do not know
 * (unknown feature, plan, tier, call...). Nothing was written to the account's history.
 */
export class CreditsInputError extends CreditsError {
  override name = 'CreditsInputError';
  /** Always `input_rejected`. */
  declare readonly code: 'input_rejected';
  /** The ApplicationFailure type the validator rejected with, e.g. `UnknownFeature`. */
  readonly problem: InputProblemCode;

  constructor(problem: InputProblemCode, message: string, options: { accountId?: string; cause?: unknown } = {}) {
    super('input_rejected', message, options);
    this.problem = problem;
  }
}

/** No running workflow for the account (never started, or it has closed). */
export class AccountNotFoundError extends CreditsError {
  override name = 'AccountNotFoundError';
  /** Always `account_not_found`. */
  declare readonly code: 'account_not_found';
  /**
   * Whether the account's workflow ran and has closed (terminated, failed, completed), rather
   * than never having been started: what a caller outside the operators' team may be told,
   * where the message names the workflow, its namespace and its failure.
   */
  readonly closed: boolean;

  constructor(accountId: string, message: string, options: { cause?: unknown; closed?: boolean } = {}) {
    super('account_not_found', message, { cause: options.cause, accountId });
    this.closed = options.closed === true;
  }
}

/** `startAccount` found the account's workflow already running; nothing was changed. */
export class AccountAlreadyRunningError extends CreditsError {
  override name = 'AccountAlreadyRunningError';
  /** Always `account_already_running`. */
  declare readonly code: 'account_already_running';

  constructor(accountId: string, options: { cause?: unknown } = {}) {
    super('account_already_running', `account ${accountId} is already running`, { ...options, accountId });
  }
}

/**
 * `startAccount` found the account's workflow closed after it had opened (terminated, failed
 * or completed). Nothing was started: a new workflow would open a fresh pool for the current
 * cycle (its included and tier credits granted again, its usage counted from zero), so
 * starting one is a deliberate act (`restartClosed`), never a side effect of a routine start
 * or import. A start the worker rejected (an unknown plan, say) is not this: it may be made again.
 */
export class AccountClosedError extends CreditsError {
  override name = 'AccountClosedError';
  /** Always `account_closed`. */
  declare readonly code: 'account_closed';
  /**
   * How its workflow closed: `terminated`, `failed`, `completed`, `cancelled` or `timed_out`; or
   * `closed` when the worker's start guard found an earlier workflow's entries in the ledger
   * (Temporal no longer holds that run, or it was started around this client).
   */
  readonly status: string;

  constructor(accountId: string, status: string, options: { cause?: unknown } = {}) {
    super(
      'account_closed',
      `account ${accountId} ran and its workflow ${status}: starting it again opens a fresh pool for the current cycle (credits granted again); start it again only on purpose (credits account start --restart-closed, or startAccount's restartClosed option)`,
      { ...options, accountId },
    );
    this.status = status;
  }
}

/**
 * Temporal was unreachable or did not answer in time, even after retries. Retrying the same
 * call later is safe (idempotency keys and call ids make repeats harmless).
 */
export class CreditsUnavailableError extends CreditsError {
  override name = 'CreditsUnavailableError';
  /** Always `unavailable`. */
  declare readonly code: 'unavailable';

  constructor(message: string, options: { accountId?: string; cause?: unknown } = {}) {
    super('unavailable', message, options);
  }
}

/**
 * The client already queues as many usage events for the account as it may (they wait for
 * room among the account's updates in flight): this one was not sent, so nothing was
 * recorded. Back off and send it again with the same key.
 */
export class UsageOverloadedError extends CreditsError {
  override name = 'UsageOverloadedError';
  /** Always `overloaded`. */
  declare readonly code: 'overloaded';

  constructor(message: string, options: { accountId?: string; cause?: unknown } = {}) {
    super('overloaded', message, options);
  }
}

/** The names of this module's error classes, by which a copy of it is recognised. */
const CREDITS_ERROR_NAMES: ReadonlySet<string> = new Set([
  'CreditsError',
  'CreditsInputError',
  'AccountNotFoundError',
  'AccountAlreadyRunningError',
  'AccountClosedError',
  'CreditsUnavailableError',
  'UsageOverloadedError',
]);

function hasCode(err: unknown, code: CreditsErrorCode): boolean {
  return isCreditsError(err) && err.code === code;
}

/**
 * Whether `err` is a {@link CreditsError}. Checks the shape as well as the class, so it also
 * holds across two copies of this module (e.g. a service bundling its own).
 */
export function isCreditsError(err: unknown): err is CreditsError {
  if (err instanceof CreditsError) return true;
  if (!(err instanceof Error)) return false;
  const code: unknown = (err as Error & { code?: unknown }).code;
  // By the class's own name too: other libraries' errors carry codes such as `unavailable`.
  return typeof code === 'string' && (CREDITS_ERROR_CODES as readonly string[]).includes(code) && CREDITS_ERROR_NAMES.has(err.name);
}

/** Whether `err` is a validator rejection ({@link CreditsInputError}). */
export function isCreditsInputError(err: unknown): err is CreditsInputError {
  return hasCode(err, 'input_rejected');
}

/** Whether `err` says the account has no running workflow ({@link AccountNotFoundError}). */
export function isAccountNotFoundError(err: unknown): err is AccountNotFoundError {
  return hasCode(err, 'account_not_found');
}

/** Whether `err` says the account was already running ({@link AccountAlreadyRunningError}). */
export function isAccountAlreadyRunningError(err: unknown): err is AccountAlreadyRunningError {
  return hasCode(err, 'account_already_running');
}

/** Whether `err` says the account ran and closed, and was not started again ({@link AccountClosedError}). */
export function isAccountClosedError(err: unknown): err is AccountClosedError {
  return hasCode(err, 'account_closed');
}

/** Whether `err` says Temporal was unavailable ({@link CreditsUnavailableError}). */
export function isCreditsUnavailableError(err: unknown): err is CreditsUnavailableError {
  return hasCode(err, 'unavailable');
}

/** Whether `err` says the client's usage queue for the account is full ({@link UsageOverloadedError}). */
export function isUsageOverloadedError(err: unknown): err is UsageOverloadedError {
  return hasCode(err, 'overloaded');
}
