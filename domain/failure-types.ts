/**
 * Types of the ApplicationFailures the account workflow throws besides input problems (those
 * are `INPUT_PROBLEM_CODES`). The workflow throws with these constants and the client matches
 * them, so neither side spells a type a second time.
 */

/** Stable failure types of the account workflow, other than input problems. */
export const WORKFLOW_FAILURE_TYPES = {
  /** The `summary` query before the account has loaded its rules and opened: ask again. */
  accountOpening: 'AccountOpening',
  /** A state that cannot take a command (a bug or incompatible rules), never user input. */
  accountState: 'AccountStateError',
  /**
   * A command would take one of the account's tables past its documented bound (open calls,
   * deactivated agents, live manual grants), which keeps the carried state within its budget.
   */
  accountLimit: 'AccountLimitReached',
  /**
   * An update that arrived while the run hands over to the next one (continue-as-new): refused
   * by the validator, so nothing was done and nothing is in the history. Send it again with the
   * same input; it lands on the next run (the client library does this itself).
   */
  accountContinuing: 'AccountContinuing',
  /**
   * A start of an account whose ledger holds entries of an earlier workflow (it ran and closed)
   * without `restartClosed: true`: the new workflow failed before opening, so no second pool
   * was granted. Start it again with that field only on purpose.
   */
  accountClosed: 'AccountClosed',
} as const;
/** Stable failure type of the account workflow, other than an input problem. */
export type WorkflowFailureType = (typeof WORKFLOW_FAILURE_TYPES)[keyof typeof WORKFLOW_FAILURE_TYPES];

/** Whether a value is a `WorkflowFailureType` (e.g. the type of a failure a client received). */
export function isWorkflowFailureType(value: unknown): value is WorkflowFailureType {
  return typeof value === 'string' && (Object.values(WORKFLOW_FAILURE_TYPES) as readonly string[]).includes(value);
}

/**
 * Message of the `AccountOpening` failure. Part of the wire contract, because a query failure
 * reaches callers as its message alone: the Temporal TypeScript worker (SDK 1.24) sends no
 * failure with a query's answer (sdk-core issue 867), so its type never leaves the worker.
 */
export const ACCOUNT_OPENING_MESSAGE = 'the account is still opening; ask again in a moment';

/** Message of the `AccountContinuing` refusal. */
export const ACCOUNT_CONTINUING_MESSAGE = 'the account is handing over to its next run; send the update again in a moment';
