/**
 * `CreditsClient`: the typed way for product services and the `credits` CLI to talk to account
 * workflows. It calls through the message table of `workflows/messages.ts` (never names typed
 * a second time), checks input locally with each message's own check, the one the workflow's
 * validator runs (so a missing idempotency key fails at once, without a round trip), retries
 * transient failures with backoff, and turns Temporal's errors into the few this domain has
 * (see `./errors`).
 */
import { randomUUID } from 'node:crypto';
import {
  Client,
  QueryNotRegisteredError,
  QueryRejectedError,
  WorkflowClient,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import type {
  AccountStartInput,
  AccountSummary,
  ChangeCreditTierInput,
  ChangeCreditTierResult,
  ChangePlanInput,
  ChangePlanResult,
  EndCallInput,
  EndCallResult,
  GrantCreditsInput,
  GrantCreditsResult,
  RecordUsageBatchInput,
  RecordUsageBatchResult,
  RecordUsageInput,
  RecordUsageResult,
  SetAdminsInput,
  SetAdminsResult,
  SetFeatureEnabledInput,
  SetFeatureEnabledResult,
  SetTagsInput,
  SetTagsResult,
  SetUsersInput,
  SetUsersResult,
  SetVoiceAgentActiveInput,
  SetVoiceAgentActiveResult,
  StartCallInput,
  StartCallResult,
  VoidUsageInput,
  VoidUsageResult,
} from '../domain/wire-contract';
import { accountIdProblem, checkAdminAddresses, checkStartShape, isInputProblemCode, type InputProblem, type InputProblemCode } from '../domain/input-problems';
import { idProblem } from '../domain/input-text';
import {
  ACCOUNT_QUERIES,
  ACCOUNT_UPDATES,
  DEFAULT_TASK_QUEUE,
  WORKFLOW_TYPE,
  accountWorkflowId,
  type AccountUpdateName,
  type UpdateInput,
  type UpdateMessage,
  type UpdateResult,
} from '../workflows/messages';
import { startSearchAttributes } from '../workflows/search-attributes';
import {
  AccountAlreadyRunningError,
  AccountClosedError,
  AccountNotFoundError,
  CreditsError,
  CreditsInputError,
  CreditsUnavailableError,
  isCreditsError,
} from './errors';
import { DEFAULT_RETRY_POLICY, backoffDelayMs, isCallerCancelled, isTransientTemporalError, sleep, type RetryPolicy } from './retry';
import { applicationFailure, isAccountOpening, isUnregisteredUpdate, messageChain } from './workflow-failures';
import { UsageCoalescer, type CoalesceOptions } from './usage-coalescer';
import { startRulesCheck } from './start-rules';
import type { RulesOption } from '../ruleset';
import { WORKFLOW_FAILURE_TYPES } from '../domain/failure-types';
import { observeUpdate } from './client-metrics';

/** Options of {@link CreditsClient}. */
export interface CreditsClientOptions {
  /**
   * Namespace of the account workflows. Default: the given client's. A different one makes a
   * client on the same connection (the given client's interceptors and data converter are
   * not copied).
   */
  namespace?: string;
  /** Task queue account workflows are started on. Default `ai-credits`. */
  taskQueue?: string;
  /** Retries of transient failures. Default {@link DEFAULT_RETRY_POLICY}. */
  retry?: Partial<RetryPolicy>;
  /**
   * How long one attempt may wait for an answer, in ms (default 10,000). Without it an update
   * to an account no worker is serving would wait forever.
   */
  attemptTimeoutMs?: number;
  /** How long `startAccount` waits for a new account to open, in ms (default 30,000). */
  openTimeoutMs?: number;
  /**
   * How `recordUsage` calls are coalesced into `recordUsageBatch` updates: concurrent calls
   * for one account from this client share batches (each missing field takes its default from
   * `DEFAULT_COALESCE`: a 5 ms linger, 500 events, 4 batches in flight per account). `false`
   * sends one `recordUsage` update per call, as before. Default: coalescing on.
   */
  coalesce?: Partial<CoalesceOptions> | false;
  /**
   * The rules `startAccount` checks a start's plan and tier against before starting its
   * workflow, so a bad plan is refused without leaving a failed workflow behind: a rules path,
   * rule set or function; default `CREDITS_RULES`, else the shipped `rules/` (the worker's
   * default). `false` leaves the check to the worker alone (a client whose rules may lag the
   * worker's). The worker checks against its own rules either way.
   */
  rules?: RulesOption | false;
  /**
   * Called when the rules of {@link CreditsClientOptions.rules} cannot be read for a start's
   * check (the start then goes to the worker unchecked here). It may throw to refuse the start
   * instead: the CLI does, so a broken `CREDITS_RULES` is said, not silently skipped. Default:
   * nothing.
   */
  onRulesUnreadable?: (err: unknown) => void;
}

/** Options of {@link CreditsClient.recordUsage}. */
export interface RecordUsageOptions {
  /**
   * Gives up on this call when aborted: the call then fails with a `CreditsError` of code
   * `cancelled` at once. Before the event was sent nothing was recorded; after, it may still be
   * applied, so send it again with the same key to find out. A coalesced batch goes on for the
   * other callers in it.
   */
  signal?: AbortSignal;
}

/** Options of {@link CreditsClient.startAccount}. */
export interface StartAccountOptions {
  /**
   * Wait until the account has loaded its rules and opened its first cycle (default true), so
   * a start the worker rejects (e.g. an unknown plan) is reported here as a
   * {@link CreditsInputError} instead of leaving a failed workflow behind unnoticed.
   */
  waitUntilOpen?: boolean;
  /**
   * Start the account even though its workflow ran and closed (default false: an
   * {@link AccountClosedError}, from this client's look at Temporal or from the worker's look
   * at the ledger; the input's `restartClosed` field says the same, and the client sets it for
   * the worker). The new workflow opens a fresh pool for the current cycle; its
   * ledger entries carry a new epoch. The cycle's tier charge is not made twice (it is keyed
   * by the billing period), but its included and tier credits are granted again.
   */
  restartClosed?: boolean;
}

/** What {@link CreditsClient.startAccount} started. */
export interface StartedAccount {
  accountId: string;
  workflowId: string;
  runId: string;
  /** The new account's summary; null when not waiting for it to open. */
  summary: AccountSummary | null;
}

/** Memo key holding a start attempt's token, so a retried start recognizes its own earlier success. */
const START_TOKEN_MEMO = 'creditsStartToken';

/** An attempt's failure: retry it, or give up with this error. */
/**
 * What to do after a failed attempt: give up with an error, retry with backoff, or (`handover`,
 * an update refused while the run continued as new) retry soon, without using up an attempt.
 */
type Verdict = 'retry' | 'handover' | CreditsError;

/**
 * How long an update refused by a run handing over to the next (AccountContinuing) is sent
 * again without counting as a failed attempt: a hand-over takes well under a second, or a few
 * seconds while the ledger is slow.
 */
const HANDOVER_PATIENCE_MS = 30_000;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function rejectLocally(problem: InputProblem | undefined, accountId: string): void {
  if (problem) throw new CreditsInputError(problem.code, problem.message, { accountId });
}

/**
 * Refuses an id no account can have before anything is sent: a huge one would come back in a
 * huge message, one with invalid UTF-8 as the server's internal error, and a number as a second
 * account beside its text.
 */
function rejectAccountId(accountId: unknown): asserts accountId is string {
  const problem = accountIdProblem(accountId);
  if (problem) throw new CreditsInputError('InvalidInput', problem, {});
}

/**
 * The caller's input as it is at the call. What is checked must be what is sent: a coalesced
 * event waits a few milliseconds for its batch, and a retry sends the input again, so a caller
 * that reuses or changes its object after calling (one object, a new key each time) must not
 * change, or share, what this call charges.
 */
function ownCopy<T>(input: T, accountId: string): T {
  try {
    return structuredClone(input);
  } catch {
    throw new CreditsInputError('InvalidInput', 'the input must be plain data (objects, lists, text, numbers, true/false, null)', { accountId });
  }
}

/** A number option that must be finite and positive, or its default when not given. */
function positiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of milliseconds (got ${String(value)})`);
  return value;
}

/** The retry policy: the defaults with the fields given (an `undefined` field keeps its default), each checked. */
function retryPolicy(given: Partial<RetryPolicy> | undefined): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  for (const [key, value] of Object.entries(given ?? {}) as [keyof RetryPolicy, number | undefined][]) {
    if (!(key in DEFAULT_RETRY_POLICY)) throw new RangeError(`retry.${key} is not a retry option (${Object.keys(DEFAULT_RETRY_POLICY).join(', ')})`);
    if (value !== undefined) policy[key] = value;
  }
  if (!Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1) throw new RangeError(`retry.maxAttempts must be a whole number of at least 1 (got ${String(policy.maxAttempts)})`);
  for (const [key, value] of Object.entries(policy)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new RangeError(`retry.${key} must be a finite number of at least 0 (got ${String(value)})`);
  }
  return policy;
}

/**
 * Options of an update that sets a value (users, plan, tier, toggles, admins, tags): such an
 * update has no idempotency key of its own.
 */
export interface TargetUpdateOptions {
  /**
   * The request's own id (1-200 printable ASCII characters without spaces), for a caller that
   * may send one request again from another process, or after this call gave up: a form
   * submitted twice, a job retried. Every call with one id on one account is answered with the
   * first call's answer and applied once, even after another change in between (within the
   * run, by the server; in later runs of this cycle and the next, by the account). The id is
   * the request's for this kind of update: the same id given to another method is another
   * request. Default: a fresh id per call, kept across this call's own retries.
   */
  updateId?: string;
}

/** Options of {@link CreditsClient.summary}. */
/** How an account's workflow closed (see {@link CreditsClient.closedRun}). */
export interface ClosedRun {
  /** Temporal's status in words: `terminated`, `failed`, `completed`, `timed out`, `canceled`. */
  status: string;
  /** When it closed, ISO-8601 UTC; null when the server did not say. */
  closedAt: string | null;
}

export interface SummaryOptions {
  /**
   * Answer only from a running account: a closed one (terminated, failed, or ended) is then
   * an `AccountNotFoundError`, as an update to it is. Temporal answers a query on a closed
   * workflow from its last state, which is right for an operator looking back at an account and
   * wrong for a service asking whether it may use credits now. Default false.
   */
  running?: boolean;
}

/**
 * One method per update of `ACCOUNT_UPDATES`, `name(accountId, input)`: the client implements
 * it, so an update added to the table does not compile until the client can send it.
 */
export type AccountUpdateMethods = {
  [Name in AccountUpdateName]: (accountId: string, input: UpdateInput<Name>) => Promise<UpdateResult<Name>>;
};

/**
 * Client of the account workflows. One per process is enough. It holds the usage calls it is
 * coalescing and the Temporal client it wraps, which the caller owns: at shutdown, `close()`
 * this client first (it answers the queued calls), then the connection.
 */
export class CreditsClient implements AccountUpdateMethods {
  /** The Temporal client calls go through. */
  readonly temporal: Client;
  /** Task queue of new account workflows. */
  readonly taskQueue: string;
  private readonly retry: RetryPolicy;
  private readonly attemptTimeoutMs: number;
  private readonly openTimeoutMs: number;
  private readonly coalescer: UsageCoalescer | undefined;
  private readonly checkStartRules: ReturnType<typeof startRulesCheck> | undefined;
  /** Set by {@link close}. */
  private closed = false;

  constructor(client: Client, options: CreditsClientOptions = {}) {
    this.temporal =
      options.namespace === undefined || options.namespace === client.options.namespace
        ? client
        : new Client({ connection: client.connection, namespace: options.namespace });
    this.taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
    this.retry = retryPolicy(options.retry);
    this.attemptTimeoutMs = positiveMs('attemptTimeoutMs', options.attemptTimeoutMs, 10_000);
    this.openTimeoutMs = positiveMs('openTimeoutMs', options.openTimeoutMs, 30_000);
    this.checkStartRules = options.rules === false ? undefined : startRulesCheck(options.rules, options.onRulesUnreadable);
    // A batch goes through the same local check, retries and judgement as any update; its
    // retries resend the same events with the same keys, so a batch applied before its answer
    // was lost is answered from the duplicate window and charges nothing twice.
    this.coalescer =
      options.coalesce === false
        ? undefined
        : new UsageCoalescer((accountId, events) => this.sendUsageBatch(accountId, events), options.coalesce);
  }

  /**
   * Answers the usage calls this client has queued, sending them at once without the linger,
   * and takes no more: a `recordUsage` from now on is refused with `unavailable`, sending
   * nothing. Resolves once every queued call has its answer (or its error), so the Temporal
   * connection can be closed next without failing a call already taken. The connection itself
   * stays the caller's to close (`connectCreditsClient`'s `close` does both). Other
   * methods are not affected.
   */
  close(): Promise<void> {
    this.closed = true;
    return this.coalescer?.drain() ?? Promise.resolve();
  }

  /** Namespace of the account workflows. */
  get namespace(): string {
    return this.temporal.options.namespace;
  }

  /**
   * Reports usage of a feature. `idempotencyKey` is required: a repeat of the same key (a
   * retry) is answered with the first answer and `duplicate: true`, and charges nothing.
   * Refusals (`accepted: false`, e.g. `credits_exhausted`) are results, not errors.
   *
   * Unless the client was made with `coalesce: false`, concurrent calls for one account are
   * sent together as `recordUsageBatch` updates (see {@link CreditsClientOptions.coalesce});
   * each call still gets its own event's answer or error, and an event that fails the local
   * check is refused at once without joining a batch.
   *
   * A key reused with a different payload is still a duplicate: it is answered with the first
   * answer, `duplicate: true` and `payloadMismatch: true`, and charges nothing. A caller that
   * checks only `accepted` must check `payloadMismatch` too, or it delivers what was not charged.
   *
   * @throws CreditsInputError `UnknownFeature`, `InvalidQuantity`, `MissingIdempotencyKey`, `UseCallUpdates`, `InvalidInput` (the account id)...
   * @throws UsageOverloadedError when this client already queues the most events it holds for the account (nothing sent)
   * @throws AccountNotFoundError, CreditsUnavailableError
   */
  async recordUsage(accountId: string, input: RecordUsageInput, options: RecordUsageOptions = {}): Promise<RecordUsageResult> {
    const { signal } = options;
    if (this.closed) {
      throw new CreditsUnavailableError('recordUsage was not sent: this client is closed; send it again, with the same key, through an open one', { accountId });
    }
    if (!this.coalescer) {
      const send = () => this.update(accountId, ACCOUNT_UPDATES.recordUsage, input);
      return await (signal ? this.temporal.withAbortSignal(signal, send) : send());
    }
    rejectAccountId(accountId);
    const event = ownCopy(input, accountId);
    // Checked alone first, so one caller's malformed event never gets a whole batch refused.
    rejectLocally(ACCOUNT_UPDATES.recordUsage.check(event, {}), accountId);
    const answer = await this.coalescer.submit(accountId, event, signal);
    if (answer.reason !== 'invalid_event') return answer;
    // What `recordUsage` alone would have failed with: the rules refused this event's input.
    throw new CreditsInputError(isInputProblemCode(answer.code) ? answer.code : 'InvalidInput', answer.message, { accountId });
  }

  /**
   * Reports up to 500 usage events in one update, answered one by one in order as
   * `recordUsage` answers each; an event the account's rules refuse (e.g. an unknown feature)
   * gets its own `invalid_event` answer and the others go through.
   *
   * @throws CreditsInputError `InvalidInput` for a malformed batch, naming each malformed event
   * @throws AccountNotFoundError, CreditsUnavailableError
   */
  recordUsageBatch(accountId: string, input: RecordUsageBatchInput): Promise<RecordUsageBatchResult> {
    return this.update(accountId, ACCOUNT_UPDATES.recordUsageBatch, input);
  }

  /** Asks to place a Voice Agent call; idempotent by `callId`. `authorized: false` is a result, not an error. */
  startCall(accountId: string, input: StartCallInput): Promise<StartCallResult> {
    return this.update(accountId, ACCOUNT_UPDATES.startCall, input);
  }

  /**
   * Reports a Voice Agent call's end; idempotent by `callId`.
   *
   * @throws CreditsInputError `UnknownCall` when the account never saw this call id.
   */
  endCall(accountId: string, input: EndCallInput): Promise<EndCallResult> {
    return this.update(accountId, ACCOUNT_UPDATES.endCall, input);
  }

  /** Sets the number of users; added users' included credits are granted at once. */
  setUsers(accountId: string, input: SetUsersInput, options: TargetUpdateOptions = {}): Promise<SetUsersResult> {
    return this.update(accountId, ACCOUNT_UPDATES.setUsers, input, options.updateId);
  }

  /**
   * Changes the CRM plan (upgrade now, downgrade at the next cycle) or converts a trial.
   *
   * @throws CreditsInputError `UnknownPlan`
   */
  changePlan(accountId: string, input: ChangePlanInput, options: TargetUpdateOptions = {}): Promise<ChangePlanResult> {
    return this.update(accountId, ACCOUNT_UPDATES.changePlan, input, options.updateId);
  }

  /**
   * Buys, upgrades, downgrades or cancels (`tier: null`) the AI Credit Subscription tier.
   *
   * @throws CreditsInputError `UnknownTier`
   */
  changeCreditTier(accountId: string, input: ChangeCreditTierInput, options: TargetUpdateOptions = {}): Promise<ChangeCreditTierResult> {
    return this.update(accountId, ACCOUNT_UPDATES.changeCreditTier, input, options.updateId);
  }

  /**
   * Switches a toggleable feature (Enrichment, Auto Updates) on or off.
   *
   * @throws CreditsInputError `UnknownFeature`, `FeatureNotToggleable`
   */
  setFeatureEnabled(accountId: string, input: SetFeatureEnabledInput, options: TargetUpdateOptions = {}): Promise<SetFeatureEnabledResult> {
    return this.update(accountId, ACCOUNT_UPDATES.setFeatureEnabled, input, options.updateId);
  }

  /** Activates or deactivates a Voice Agent; an inactive agent's calls are not authorized. */
  setVoiceAgentActive(accountId: string, input: SetVoiceAgentActiveInput, options: TargetUpdateOptions = {}): Promise<SetVoiceAgentActiveResult> {
    return this.update(accountId, ACCOUNT_UPDATES.setVoiceAgentActive, input, options.updateId);
  }

  /**
   * Grants credits by hand. `idempotencyKey` is required: a repeat returns the first grant
   * with `duplicate: true` and grants nothing more.
   */
  grantCredits(accountId: string, input: GrantCreditsInput): Promise<GrantCreditsResult> {
    return this.update(accountId, ACCOUNT_UPDATES.grantCredits, input);
  }

  /**
   * Voids a usage of the current cycle by its idempotency key (billing ops): its credits go
   * back to the grants they came from and the ledger records the reversal. A repeat returns
   * the first answer with `duplicate: true`; a refusal (`voided: false`, e.g. `unknown_usage`,
   * `earlier_cycle`) is a result, not an error, and changes nothing.
   *
   * @throws CreditsInputError `MissingIdempotencyKey`, `InvalidInput` (a missing or bad reason)
   */
  voidUsage(accountId: string, input: VoidUsageInput): Promise<VoidUsageResult> {
    return this.update(accountId, ACCOUNT_UPDATES.voidUsage, input);
  }

  /**
   * Replaces the account's admins, who receive low-credit notices.
   *
   * @throws CreditsInputError `InvalidInput` (not e-mail addresses, not one plain address each, more than 50)
   */
  setAdmins(accountId: string, input: SetAdminsInput, options: TargetUpdateOptions = {}): Promise<SetAdminsResult> {
    return this.update(accountId, ACCOUNT_UPDATES.setAdmins, input, options.updateId);
  }

  /**
   * Replaces the account's tags; a tag making it eligible for a promotion whose window is open
   * grants that promotion at once.
   *
   * @throws CreditsInputError `InvalidInput` (a bad tag, more than 50)
   */
  setTags(accountId: string, input: SetTagsInput, options: TargetUpdateOptions = {}): Promise<SetTagsResult> {
    return this.update(accountId, ACCOUNT_UPDATES.setTags, input, options.updateId);
  }

  /**
   * Everything an admin sees of the account: plan, balance, grants, usage by feature, alert.
   * Waits (within the retry policy) while a just-started account is still opening.
   *
   * @throws AccountNotFoundError, CreditsUnavailableError
   */
  async summary(accountId: string, options: SummaryOptions = {}): Promise<AccountSummary> {
    rejectAccountId(accountId);
    const { definition } = ACCOUNT_QUERIES.summary;
    const handle = options.running ? this.runningHandle(accountId) : this.handle(accountId);
    return await this.withRetries(accountId, definition.name, () => handle.query(definition));
  }

  /**
   * How the account's workflow closed, or null while it runs (or when the server cannot tell):
   * a summary read without `running` is a closed account's last state, which reads like a
   * healthy account's, so what shows it says so.
   */
  async closedRun(accountId: string): Promise<ClosedRun | null> {
    rejectAccountId(accountId);
    try {
      const run = await this.handle(accountId).describe();
      if (run.status.name === 'RUNNING') return null;
      return { status: run.status.name.toLowerCase().replace(/_/g, ' '), closedAt: run.closeTime?.toISOString() ?? null };
    } catch {
      // Asked after a summary that said the account exists: a describe failing now (the server
      // gone a moment) must not turn a running account into a closed one.
      return null;
    }
  }

  /**
   * Starts an account's workflow (id `ai-credits:<accountId>`). A workflow that ran before and
   * closed may be started again; a running one is never touched.
   *
   * @throws CreditsInputError `InvalidStartInput`: checked locally, against the client's rules
   *   too (see {@link CreditsClientOptions.rules}) before any workflow is started, and by the
   *   worker against its own rules
   * @throws AccountAlreadyRunningError when the account is already running
   * @throws AccountClosedError when the account ran and closed, unless `restartClosed`
   * @throws CreditsUnavailableError, including when no worker opened the account in time
   */
  async startAccount(input: AccountStartInput, options: StartAccountOptions = {}): Promise<StartedAccount> {
    const accountId = String((input as Partial<AccountStartInput> | null)?.accountId);
    const nowMs = Date.now();
    rejectLocally(checkStartShape(input, nowMs), accountId);
    rejectLocally(checkAdminAddresses(input.admins, 'InvalidStartInput'), accountId);
    rejectLocally(this.checkStartRules?.(input, nowMs), accountId);
    const workflowId = accountWorkflowId(input.accountId);
    // Asked either way, it is told to the worker too, whose guard reads the ledger.
    const restart = options.restartClosed === true || input.restartClosed === true;
    if (!restart) {
      const closed = await this.withRetries(accountId, 'start', () => this.closedAfterOpening(workflowId));
      if (closed !== null) throw new AccountClosedError(accountId, closed);
    }
    const token = randomUUID();
    const runId = await this.withRetries(accountId, 'start', async () => {
      try {
        const handle = await this.temporal.workflow.start(WORKFLOW_TYPE, {
          taskQueue: this.taskQueue,
          workflowId,
          args: [restart ? { ...input, restartClosed: true } : input],
          memo: { [START_TOKEN_MEMO]: token },
          // Listed by plan, trial, tier and tags from the start; the workflow keeps them current.
          typedSearchAttributes: startSearchAttributes(input),
          // A closed account (e.g. one whose start was rejected) may be started again, fixed.
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        });
        return handle.firstExecutionRunId;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        // A retry after a lost answer finds the run its own first attempt started.
        const running = await this.temporal.workflow.getHandle(workflowId).describe();
        if (running.memo?.[START_TOKEN_MEMO] === token) return running.runId;
        throw new AccountAlreadyRunningError(accountId, { cause: err });
      }
    });
    const summary = options.waitUntilOpen === false ? null : await this.untilOpen(accountId, runId);
    return { accountId, workflowId, runId, summary };
  }

  /**
   * One coalesced batch: a `recordUsageBatch` update, or, on a worker older than that update
   * (a rolling upgrade), one `recordUsage` per event in order, each caller its own answer or error.
   */
  private async sendUsageBatch(accountId: string, events: RecordUsageInput[]): Promise<(RecordUsageBatchResult['results'][number] | Error)[]> {
    try {
      return (await this.recordUsageBatch(accountId, { events })).results;
    } catch (err) {
      if (!isUnregisteredUpdate(err, ACCOUNT_UPDATES.recordUsageBatch.definition.name)) throw err;
    }
    const answers: (RecordUsageResult | Error)[] = [];
    // One at a time: the account's in-flight updates stay within the coalescer's bound.
    for (const event of events) {
      answers.push(await this.update(accountId, ACCOUNT_UPDATES.recordUsage, event).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
    }
    return answers;
  }

  private handle(accountId: string): WorkflowHandle {
    return this.temporal.workflow.getHandle(accountWorkflowId(accountId));
  }

  /** The same workflow client, but the server refuses its queries to a closed run. */
  private runningOnly?: WorkflowClient;

  /** A handle whose queries the server answers only while the account's workflow runs. */
  private runningHandle(accountId: string): WorkflowHandle {
    this.runningOnly ??= new WorkflowClient({ ...this.temporal.workflow.options, queryRejectCondition: 'NOT_OPEN' });
    return this.runningOnly.getHandle(accountWorkflowId(accountId));
  }

  private async update<Result, Input>(accountId: string, message: UpdateMessage<Result, Input>, given: Input, requestId?: string): Promise<Result> {
    rejectAccountId(accountId);
    const input = ownCopy(given, accountId);
    // The workflow runs the same check; running it here first saves a round trip and makes
    // a forgotten idempotency key fail loudly instead of being invented. Without the rules
    // or the account's calls, it checks the shape only; the workflow checks the rest.
    rejectLocally(message.check(input, {}) ?? message.admit?.(input, {}), accountId);
    const badId = requestId === undefined ? undefined : idProblem('updateId', requestId);
    if (badId) throw new CreditsInputError('InvalidInput', badId, { accountId });
    const { definition } = message;
    const started = process.hrtime.bigint();
    // One id for every attempt (the caller's, when it gives one for its request): a retry of
    // an update the run already applied (its answer lost on the way) is answered by the server
    // with that first outcome, not applied again, and one that reaches the account's next run
    // by the account, which remembers target-value answers by update id. Updates without a key
    // of their own (a tier change, users, a plan) would otherwise act twice, and undo a change
    // made in between; keyed ones would be answered as duplicates.
    // A request id is the caller's for one request of one kind: the server answers a repeated
    // update id with the first outcome whatever the update, so the id sent is the update's name
    // and the request id, and one id given to two kinds of request is two requests.
    const updateId = requestId === undefined ? randomUUID() : `${definition.name}:${requestId}`;
    try {
      const result: Result = await this.withRetries(accountId, definition.name, () => this.handle(accountId).executeUpdate(definition, { args: [input], updateId }));
      observeUpdate(definition.name, started, input, result, false);
      return result;
    } catch (err) {
      observeUpdate(definition.name, started, input, undefined, true);
      throw err;
    }
  }

  /** Runs `attempt` with a deadline, retrying transient failures with backoff. */
  private async withRetries<T>(accountId: string, what: string, attempt: () => Promise<T>): Promise<T> {
    let handoverSince: number | undefined;
    for (let n = 1, handovers = 0; ; n++) {
      const deadline = Date.now() + this.attemptTimeoutMs;
      try {
        return await this.temporal.withDeadline(deadline, attempt);
      } catch (err) {
        const verdict = await this.judge(err, accountId, what, deadline);
        if (verdict === 'handover' && Date.now() - (handoverSince ??= Date.now()) < HANDOVER_PATIENCE_MS) {
          // Nothing was done; the next run takes it as soon as it is up.
          handovers += 1;
          n -= 1;
          await sleep(Math.min(25 * handovers, 250));
          continue;
        }
        if (verdict !== 'retry' && verdict !== 'handover') throw verdict;
        if (n >= this.retry.maxAttempts) {
          throw new CreditsUnavailableError(
            `${what} for account ${accountId} got no answer after ${n} attempt${n === 1 ? '' : 's'} (${messageChain(err)}); ` +
              `is Temporal up and a worker polling task queue "${this.taskQueue}"?`,
            { accountId, cause: err },
          );
        }
        await sleep(backoffDelayMs(this.retry, n));
      }
    }
  }

  /** Decides what the failure of an attempt with deadline `deadline` means. */
  private async judge(err: unknown, accountId: string, what: string, deadline: number): Promise<Verdict> {
    if (isCreditsError(err)) return err;
    if (err instanceof WorkflowUpdateFailedError) {
      const failure = applicationFailure(err.cause);
      if (failure && isInputProblemCode(failure.type)) return new CreditsInputError(failure.type, failure.message, { accountId, cause: err });
      if (failure?.type === WORKFLOW_FAILURE_TYPES.accountLimit) return new CreditsError('limit_reached', failure.message, { accountId, cause: err });
      // Refused while the run handed over to the next: nothing was done; the next run takes it.
      if (failure?.type === WORKFLOW_FAILURE_TYPES.accountContinuing) return 'handover';
      return new CreditsError('unexpected', `${what} failed on account ${accountId}: ${messageChain(err.cause)}`, { accountId, cause: err });
    }
    if (isTransientTemporalError(err, deadline)) return 'retry';
    if (isCallerCancelled(err, deadline)) {
      return new CreditsError(
        'cancelled',
        `${what} for account ${accountId} was cancelled by its caller before it was answered: it may still be applied; send it again with the same key or request id to find out`,
        { accountId, cause: err },
      );
    }
    // The client's own connection was closed (its owner shut it down): no attempt can be sent
    // on it, so this is neither retried nor a bug.
    if (/Channel has been shut down/.test(messageChain(err))) {
      return new CreditsUnavailableError(
        `${what} for account ${accountId} was not sent: this client's Temporal connection is closed; send it again, with the same key or request id, through an open one`,
        { accountId, cause: err },
      );
    }
    const opening = isAccountOpening(err);
    // A query refused because the run is closed (SummaryOptions.running): closed for good, or
    // only for a continue-as-new, which the status of the latest run tells apart.
    if (err instanceof WorkflowNotFoundError || err instanceof QueryNotRegisteredError || err instanceof QueryRejectedError || opening) {
      // Not found may be a run closing for continue-as-new at a cycle reset, and a failing
      // query may be an account still opening: only a workflow that is not running is gone.
      const gone = await this.notRunning(accountId);
      if (gone) return gone;
      return err instanceof QueryNotRegisteredError && !opening ? unexpected(err, accountId, what) : 'retry';
    }
    return unexpected(err, accountId, what);
  }

  /** An {@link AccountNotFoundError} explaining why, or undefined when the account is running. */
  private async notRunning(accountId: string, runId?: string): Promise<AccountNotFoundError | undefined> {
    const workflowId = accountWorkflowId(accountId);
    const handle = this.temporal.workflow.getHandle(workflowId, runId);
    let status: string;
    try {
      status = (await handle.describe()).status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        return new AccountNotFoundError(accountId, `unknown account ${accountId}: no workflow ${workflowId} in namespace "${this.namespace}"`, { cause: err });
      }
      return undefined;
    }
    if (status === 'RUNNING') return undefined;
    const reason = status === 'FAILED' ? `: ${messageOf(applicationFailure(await closingError(handle)) ?? 'no failure recorded')}` : '';
    return new AccountNotFoundError(accountId, `account ${accountId} is not running (workflow ${workflowId} ${status.toLowerCase()}${reason})`, { closed: true });
  }

  /** Polls the new run until it answers `summary`, or reports why it never will. */
  private async untilOpen(accountId: string, runId: string): Promise<AccountSummary> {
    const handle = this.temporal.workflow.getHandle(accountWorkflowId(accountId), runId);
    const deadline = Date.now() + this.openTimeoutMs;
    let lastError: unknown;
    for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
      try {
        return await this.temporal.withDeadline(Date.now() + this.attemptTimeoutMs, () => handle.query(ACCOUNT_QUERIES.summary.definition));
      } catch (err) {
        lastError = err;
        const status = await handle.describe().then((d) => d.status.name, () => 'UNKNOWN');
        if (status !== 'RUNNING' && status !== 'UNKNOWN') throw await this.openingFailure(handle, accountId, status);
      }
      if (Date.now() >= deadline) {
        throw new CreditsUnavailableError(
          `account ${accountId} was started but did not open within ${Math.round(this.openTimeoutMs / 1000)}s: is a worker polling task queue "${this.taskQueue}"?`,
          { accountId, cause: lastError },
        );
      }
      await sleep(delay);
    }
  }

  /**
   * How the account's workflow closed (`terminated`, `failed`, ...) if it ran and closed; null
   * when it never ran, runs now (the start then reports it), or closed because the worker
   * rejected its start input (which may be started again, fixed).
   */
  private async closedAfterOpening(workflowId: string): Promise<string | null> {
    const handle = this.temporal.workflow.getHandle(workflowId);
    let status: string;
    try {
      status = (await handle.describe()).status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
    if (status === 'RUNNING') return null;
    const err = await closingError(handle);
    if (refusedAsClosed(err)) return 'closed';
    return inputRejection(err) ? null : status.toLowerCase();
  }

  /** The error for a run that closed while opening: its validator's rejection if it was one. */
  private async openingFailure(handle: WorkflowHandle, accountId: string, status: string): Promise<CreditsError> {
    const err = await closingError(handle);
    const failure = inputRejection(err);
    if (failure) return new CreditsInputError(failure.type, failure.message, { accountId, cause: err });
    // The worker's start guard: the ledger holds an earlier workflow's entries.
    if (refusedAsClosed(err)) return new AccountClosedError(accountId, 'closed', { cause: err });
    const why = err === undefined ? '' : `: ${messageChain(err)}`;
    return new CreditsError('unexpected', `account ${accountId} ${status.toLowerCase()} while opening${why}`, { accountId, cause: err });
  }
}

/** Whether a run ended failing the worker's start guard: the account ran before, under an earlier workflow. */
function refusedAsClosed(err: unknown): boolean {
  return err instanceof WorkflowFailedError && applicationFailure(err.cause)?.type === WORKFLOW_FAILURE_TYPES.accountClosed;
}

/** The problem of a run the worker closed because its start input was rejected, if that is how it ended. */
function inputRejection(err: unknown): { type: InputProblemCode; message: string } | undefined {
  const failure = err instanceof WorkflowFailedError ? applicationFailure(err.cause) : undefined;
  return failure && isInputProblemCode(failure.type) ? { type: failure.type, message: failure.message } : undefined;
}

/** The error a closed run ended with (undefined if it completed). */
async function closingError(handle: WorkflowHandle): Promise<unknown> {
  try {
    await handle.result();
    return undefined;
  } catch (err) {
    return err;
  }
}

function unexpected(err: unknown, accountId: string, what: string): CreditsError {
  return new CreditsError('unexpected', `${what} failed for account ${accountId}: ${messageChain(err)}`, { accountId, cause: err });
}
