/**
 * `accountCredits`: one long-lived workflow per customer account, owning its AI credit pool
 * across billing cycles. The credit math lives in `domain/` (pure, no Temporal); this file only
 * wires handlers, timers and activities to it.
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  log,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { CreditActivities } from '../activities/credit-activities';
import type { AccountStartInput } from '../domain/wire-contract';
import { AccountLimitError, AccountStateError, CreditAccount, rulesFitAccount, type AccountState, type TargetUpdateResult } from '../domain/account';
import { cycleContaining } from '../domain/calendar';
import { ACCOUNT_CONTINUING_MESSAGE, ACCOUNT_OPENING_MESSAGE, WORKFLOW_FAILURE_TYPES } from '../domain/failure-types';
import {
  checkAdminAddresses,
  checkRestartTier,
  checkStartAgainstRules,
  checkStartArguments,
  checkStartShape,
  checkUpdateArguments,
  type CheckContext,
  type InputProblem,
} from '../domain/input-problems';
import {
  MAX_PENDING_WEBHOOKS,
  ackWebhook,
  eventOfEffect,
  parkedEvent,
  pendingWebhooks,
  queueWebhook,
  type WebhookEvent,
} from '../domain/webhook-events';
import { CARRIED_STATE_BUDGET_BYTES, LEDGER_BATCH_BYTES, LEDGER_BATCH_BYTES_LARGE, fitToBudget, jsonBytes, spillDue, takeSpill } from '../domain/state-budget';
import { accountIndexOf } from '../domain/account-index';
import { encodeLedgerBatch } from '../domain/ledger-batch';
import { ledgerSpill } from './ledger-spill';
import {
  BALANCE_PUBLISH_INTERVAL_MS,
  SEARCH_ATTRIBUTES_PATCH,
  SEARCH_BALANCE_ON_STEP_PATCH,
  SEARCH_BALANCE_THROTTLE_PATCH,
  onlyBalanceChanges,
  searchAttributeChanges,
} from './search-attributes';
import { ACCOUNT_QUERIES, ACCOUNT_UPDATES, accountWorkflowId, type UpdateMessage } from './messages';
import { RECORDED_CLOCK_PATCH, RecordedClock } from './recorded-clock';

/**
 * Continue as new well before the server's hard limit of 2,000 updates per run (it suggests
 * continuing at 1,800); the last few hundred leave room for updates already in flight.
 */
export const UPDATES_PER_RUN = 1_500;
/**
 * Continue as new once a run's history holds this many events (or {@link HISTORY_BYTES_PER_RUN}):
 * a worker that restarts replays every cached account's run, so short runs bring accounts back
 * within seconds instead of replaying thousands of events each.
 */
export const EVENTS_PER_RUN = 1_000;
/** See {@link EVENTS_PER_RUN}: most bytes of history per run, in runs recorded before {@link QUIET_BEFORE_CONTINUE_PATCH}. */
export const HISTORY_BYTES_PER_RUN = 2 * 1024 * 1024;
/**
 * Most bytes of history per run, in runs with {@link QUIET_BEFORE_CONTINUE_PATCH}: a run starts
 * with its carried state (up to 1 MiB), and a busy account's batches add about 300 bytes per
 * usage event (its input, its answer and its compact ledger entry), so a 2 MiB bound continued
 * as new every fraction of a second at full intake. Well below the server's 50 MiB limit.
 */
export const HISTORY_BYTES_PER_RUN_LARGE = 8 * 1024 * 1024;
/**
 * The outbox's tail is spilled only once the ledger write in flight has been waiting this long:
 * a write that is merely slow under load (a busy account queues a batch behind it every few
 * milliseconds) must not turn every batch into a spill workflow; a ledger that is down does.
 */
export const SPILL_AFTER_MS = 15_000;
/** Most ledger entries written by one activity call, in runs recorded before {@link LEDGER_BATCH_PATCH}. */
export const LEDGER_BATCH = 500;
/**
 * Most ledger entries written by one activity call (and at most `LEDGER_BATCH_BYTES_LARGE`),
 * sent in compact form (domain/ledger-batch.ts): one write is in flight at a time, so the
 * ledger's order is the account's, and a busy account's ledger keeps up with intake only when
 * each write carries this many.
 */
export const LEDGER_BATCH_LARGE = 2_000;
/**
 * Patch of the larger ledger batches ({@link LEDGER_BATCH_LARGE}, sent in compact form).
 * Histories recorded before it batched by {@link LEDGER_BATCH} and `LEDGER_BATCH_BYTES` as
 * plain entries, and replay so.
 */
export const LEDGER_BATCH_PATCH = 'compact-ledger-batches';
/**
 * Patch of ledger batches in version 2 of the compact form (each entry as its difference from
 * the one before: a busy account's usage entry shrinks from about 150 bytes to about 25). The
 * batches ride in the history, where they were the larger part of a busy account's bytes, so
 * its runs continued as new about twice as often as their updates alone would make them.
 * Histories recorded before it sent version 1. Deploy the activities (which read both) first.
 */
export const LEDGER_DELTA_PATCH = 'ledger-batch-delta';
/**
 * How long a lone ledger entry waits for company before it is written. A busy account then
 * writes hundreds of entries per activity instead of one per update, which would double its
 * history; a quiet one pays a few seconds of ledger latency.
 */
export const LEDGER_LINGER = '2 seconds';
/**
 * The linger of a busy account in milliseconds, in runs with {@link LEDGER_LINGER_PATCH}: one
 * whose last write carried at least {@link LEDGER_BUSY_WRITE} entries. Each write costs a timer,
 * an activity and two workflow tasks whatever it carries: over 100 busy accounts, writes every
 * 2 seconds took more of the server than the usage updates themselves. A full batch
 * ({@link LEDGER_BATCH_LARGE} entries) still leaves at once, and a quiet account keeps
 * {@link LEDGER_LINGER}; finance sees a busy account's usage in the ledger at most this late, or
 * {@link LEDGER_LINGER_QUIET_GRACE_MS} later for its last entries before it went quiet (its
 * summary is exact at once).
 */
export const LEDGER_LINGER_BUSY_MS = 10_000;
/** Entries in the last ledger write from which an account counts as busy (25 usage events a second at the 2 s linger). */
export const LEDGER_BUSY_WRITE = 50;
/** Patch of {@link LEDGER_LINGER_BUSY_MS}: histories recorded before it always waited {@link LEDGER_LINGER}. */
export const LEDGER_LINGER_PATCH = 'ledger-linger-busy';
/**
 * Patch under which a busy account's ledger write, once {@link LEDGER_LINGER_BUSY_MS} is up, goes
 * with its next recorded step (a usage update, nearly always) instead of waiting for the linger's
 * timer to fire: that timer's workflow task did nothing else, one per write of every busy
 * account. The timer stays, {@link LEDGER_LINGER_QUIET_GRACE_MS} later, for an account that went
 * quiet, whose last entries then reach the ledger that much later. Histories recorded before it
 * wrote when the linger's timer fired.
 */
export const LEDGER_LINGER_ON_STEP_PATCH = 'ledger-linger-on-step';
/**
 * How much longer than {@link LEDGER_LINGER_BUSY_MS} the linger's timer waits under
 * {@link LEDGER_LINGER_ON_STEP_PATCH}: a busy account (at least {@link LEDGER_BUSY_WRITE}
 * entries a linger) sends an update well within it, and one that does not has gone quiet.
 */
export const LEDGER_LINGER_QUIET_GRACE_MS = 2_000;

const { loadRules, earlierEpoch, restartFacts } = proxyActivities<CreditActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

// Unlimited retries: a ledger or mail outage delays these effects, it must never drop them.
// Every one carries a stable id, so a retry never writes or bills twice, and never notifies twice
// except an e-mail the mail server took just before the worker died, sent again under the same
// Message-ID (the notifier records a send after the server accepts it).
const effects = proxyActivities<CreditActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

// Webhooks retry on their own schedule, unlimited: an endpoint that is down delays its events,
// never loses them; its own loop, so a receiver's outage never holds up ledger writes.
const hooks = proxyActivities<CreditActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

/**
 * Patch that delivers webhook events (alerts, tier charges, parked effects) through the
 * `deliverWebhook` activity. Histories recorded before it never scheduled that activity.
 */
export const WEBHOOKS_PATCH = 'webhooks';

/**
 * Patch that quiets the run before continue-as-new: its validators refuse new updates
 * (`AccountContinuing`, sent again by callers to the next run), ledger writes go on until at
 * most {@link CARRIED_LEDGER_ENTRIES} are left (carried), no webhook delivery starts, and the
 * activities in flight finish, all within {@link QUIET_BEFORE_CONTINUE}; a write still stuck
 * then (the ledger is down) is spilled if the state is too heavy. Before it, a busy account's
 * state kept growing while it was weighed (its backlog spilled to child workflows, over and
 * over), and an activity or child completing while the continue-as-new task was in flight made
 * the server refuse it (UnhandledCommand) and the worker replay the whole run. The same patch
 * raises the history bound per run to {@link HISTORY_BYTES_PER_RUN_LARGE}.
 */
export const QUIET_BEFORE_CONTINUE_PATCH = 'quiet-before-continue';
/** How long continue-as-new waits for the effects in flight (a ledger that is down never answers). */
export const QUIET_BEFORE_CONTINUE = '5 seconds';
/** Most ledger entries a quieted run leaves unwritten, to be carried (and sent) by the next. */
export const CARRIED_LEDGER_ENTRIES = 250;

/**
 * Patch of the trial conversion that forfeits only the trial credits, keeps the paid grants
 * and does not charge again a tier already paid for the trial's cycle. Histories recorded
 * before it convert the old way when replayed (they may hold that second tier charge).
 */
export const TRIAL_CONVERSION_PATCH = 'trial-conversion-keeps-paid-grants';

/**
 * Patch that expires the grants whose end has come before an update's command runs. The main
 * loop expires them when its timer's task runs, and an update applied between the expiry
 * instant and that task (the same activation, or a busy worker's backlog) spent credits that
 * had expired. Recorded only by a run where that happened: histories without it replay as
 * they ran.
 */
export const EXPIRE_BEFORE_UPDATE_PATCH = 'expire-grants-before-update';

/**
 * Patch under which alerts follow the balance both ways: grants expiring mid-cycle (a trial's
 * credits after its length) queue the alert then due, so an account whose credits ran out with
 * its grant is told it is exhausted; and a warning already sent is armed again once credits were
 * added and the account is out of the warning. Asked only where it changes something, so
 * histories recorded before it, where neither happened, replay as they ran.
 */
export const ALERTS_FOLLOW_BALANCE_PATCH = 'alerts-follow-balance';

/**
 * Patch under which a trial's conversion keeps the account's rules version when the version in
 * force lacks the tier the trial holds, as a reset does. Before it, the conversion took that
 * version, opened the paid cycle without the tier, and the tier was never billed or granted
 * again. Asked only where the version in force lacks the tier.
 */
export const CONVERSION_KEEPS_TIER_PATCH = 'conversion-keeps-tier';

/**
 * Patch that makes a trial conversion whose rules arrive after the cycle has ended wait for
 * the reset, and convert in the next cycle. Converting in the ended cycle opened the paid
 * cycle there and then, and the reset, its own rules loaded a moment later, closed that new
 * cycle a month early: a month of included credits lost and the tier charged for a future
 * period. Recorded only by a run where that happened.
 */
export const CONVERSION_AFTER_RESET_PATCH = 'conversion-after-reset';

/**
 * Patch that answers a manual grant's retry from the live grant when the answer window has
 * forgotten it (call answers pushed it out, or it is older than the previous cycle): before it,
 * such a retry granted the credits again. Recorded only by a run where that happened.
 */
export const GRANT_RECALL_PATCH = 'grant-recalled-from-live-grant';

/**
 * Patch that ends, at a reset, every call its parts have charged the longest a call runs (a
 * day): its end was lost. Before it such a call stayed open for good, holding one of the
 * account's open-call places (a thousand lock Voice Agents out). Recorded only by a run where
 * such a call met a reset.
 */
export const END_LOST_CALLS_PATCH = 'end-lost-calls-at-reset';

/**
 * Patch that, when a call would be refused because the account's open-call places are full,
 * first ends the calls that have run the longest a call runs (a day): their ends were lost.
 * Before it a thousand lost calls locked Voice Agents out until the reset that ended them.
 * Recorded only by a run where a full table held such a call.
 */
export const END_LOST_CALLS_WHEN_FULL_PATCH = 'end-lost-calls-when-full';

/**
 * Patch that prices a Voice Agent call charged in parts (across resets) as one call rounded
 * once: each later part costs the whole call's rounded cost so far less what the earlier parts
 * cost. Before it each part was rounded up on its own, a credit more per reset crossed.
 * Recorded only by a run that charged such a part.
 */
export const CALL_PARTS_ROUNDED_ONCE_PATCH = 'call-parts-rounded-once';

/**
 * Patch that lets credits a void gives back to a grant that has expired since the usage (a
 * trial's credits after the trial's end) expire with it at once. Before it they went to a
 * `Credits returned by voided usage` grant lasting to the cycle's end: an ended trial could
 * spend again, and a conversion kept them. Recorded only by a run where such a void happened.
 */
export const VOID_EXPIRES_WITH_GRANT_PATCH = 'void-expires-with-grant';

/**
 * Patch that remembers the answers of target-value updates (users, plan, tier, toggles, admins,
 * tags) by their Temporal update id, carried across continue-as-new, and answers a retry with
 * the same id that reaches a later run with the first answer. Before it such a retry set the
 * value again, undoing a change made in between, and a trial conversion's retry was refused
 * (its `cycleAnchor` no longer fits a paid account) although it had been applied. Recorded by
 * every run that applied such an update; histories without it neither remember nor recall.
 */
export const UPDATE_ANSWERS_PATCH = 'target-updates-answered-across-runs';

/**
 * Patch of the start guard: a fresh start (not a continue-as-new) asks the ledger whether the
 * account ran before under an earlier workflow, and fails as `AccountClosed` before opening
 * unless its input says `restartClosed: true`. The client checked Temporal's record of a closed
 * run, which a starter in another language skips and which the namespace's retention deletes;
 * the ledger keeps every workflow's entries. Histories recorded before it opened at once.
 */
export const START_GUARD_PATCH = 'start-guard-earlier-epoch';

/**
 * Patch under which a trial's conversion keeps the answers of the cycles before the trial's
 * current one. The conversion opens a cycle without a reset, and the answer window forgot all
 * but the last two cycles' answers: a conversion seconds after a reset forgot the cycle that
 * had just closed, and a retry of its call, grant or change was applied again (a call charged
 * twice, a grant given twice, a later change undone). Asked only when there is such an answer.
 */
export const CONVERSION_KEEPS_ANSWERS_PATCH = 'conversion-keeps-answers';

/**
 * Patch under which a tier bought (or upgraded to) ends a converted trial's paid-through period
 * that runs past the current cycle: that period was paid for the trial's tier, and before it the
 * tier bought was neither charged nor granted at the resets within the period. Asked only then.
 */
export const TIER_BOUGHT_ENDS_PAID_THROUGH_PATCH = 'tier-bought-ends-paid-through';

/**
 * Patch under which a closed account started again on purpose (`restartClosed: true`) asks the
 * ledger what it must not be given twice: the promotions its earlier workflows were granted (not
 * granted again) and the period's latest tier charge (the start must be on that tier, which it
 * then gets without paying again; see `checkRestartTier`). Before it a restart inside a
 * promotion's window granted the promotion a second time, a restart on another tier got that
 * tier's credits unbilled, and one after a purchase or upgrade paid for the tier twice.
 * Recorded by every restart since; histories without it opened as they ran.
 */
export const RESTART_FACTS_PATCH = 'restart-facts';

/**
 * Patch under which a reset that takes an account from credits to none (a trial's promotion
 * expiring with the cycle, and a trial gets no included credits) queues the `exhausted` alert.
 * Before it the account was paused with no alert. Asked only where that happens, so histories
 * without it replay as they ran.
 */
export const EXHAUSTED_BY_RESET_PATCH = 'exhausted-by-reset';

/**
 * Patch under which a `startCall` for a call that is open, whose first answer has left the
 * answer window, is answered authorized and leaves the call as it is. Before it the call was
 * opened afresh, forgetting the minutes its resets had charged. Asked only where that happens.
 */
export const OPEN_CALL_KEPT_PATCH = 'open-call-kept';

/**
 * Patch under which a start refuses admin addresses a mailer would read as something else
 * (`ops,other@x`, `Boss <other@x>`), as the clients and `setAdmins`' validator do. Before it
 * the workflow took them and the mailer skipped them. Asked only for such a start.
 */
export const PLAIN_ADMINS_PATCH = 'plain-admin-addresses';

/**
 * Patch under which a reset whose cycle a converted trial's tier charge pays for in part only
 * settles the cycle at once (charged, or granted without a charge, whichever errs less). Before
 * it the cycle went uncharged and lost its tier credits when the paid part ended. Asked only
 * for such a reset.
 */
export const TIER_PAID_IN_PART_PATCH = 'tier-paid-in-part';

/**
 * Patch under which a closed account restarted in a period paid for a tier the rules no longer
 * hold buys the tier it starts on as a purchase. Before it the tier was charged under the
 * period's renewal id, which the earlier charge held, so the billing record kept that one and
 * the new tier went unbilled. Asked only for such a restart.
 */
export const RESTART_PURCHASE_PATCH = 'restart-purchase-over-retired-tier';

/**
 * Patch under which a trial's conversion names its CRM anchor in its ledger note, and a
 * restart's opening note records the restart's facts, for a replay of the ledger (simulate/).
 * A longer entry counts against a ledger batch's bytes, so a history recorded before could
 * split a batch elsewhere on replay: asked at each conversion and restart, which are rare.
 */
export const LEDGER_FACTS_PATCH = 'ledger-replay-facts';

function rejectIf(problem: InputProblem | undefined): void {
  if (problem) throw ApplicationFailure.nonRetryable(problem.message, problem.code);
}

/**
 * The account workflow. `state` is absent on a fresh start and carried by continue-as-new;
 * both go through the same loop. Any other argument fails the start as `InvalidStartInput`.
 */
export async function accountCredits(input: AccountStartInput, state?: AccountState, ...extra: unknown[]): Promise<void> {
  rejectIf(checkStartArguments({ state, others: extra.length, continued: workflowInfo().continuedFromExecutionRunId !== undefined }));
  // Calls charged in parts are rounded once on the patched path (see CALL_PARTS_ROUNDED_ONCE_PATCH).
  const roundCallPartsOnce = (): boolean => patched(CALL_PARTS_ROUNDED_ONCE_PATCH);
  const alertsFollowBalance = (): boolean => patched(ALERTS_FOLLOW_BALANCE_PATCH);
  let account: CreditAccount | undefined = state ? new CreditAccount(state) : undefined;
  if (account) account.roundCallPartsOnce = roundCallPartsOnce;
  let updatesThisRun = 0;
  let timingChanged = 0;
  let converting = false;
  // Set once the run is about to continue as new: no effect activity starts after it, and the
  // validators refuse new updates (AccountContinuing; callers send them again to the next run),
  // so the state stops growing while it is weighed and carried.
  let closing = false;

  const now = () => Date.now();
  // Conditions read the time and history counters as of the last step the history records
  // (see recorded-clock.ts): a rejected update's activation, which a replay never runs, then
  // cannot turn one true. Each resumption below takes a step first. Histories recorded before
  // RECORDED_CLOCK_PATCH read them live, and replay so.
  const clock = new RecordedClock();
  let onRecordedClock = false;
  const seenNow = (): number => (onRecordedClock ? clock.nowMs : now());
  const seenInfo = (): Pick<RecordedClock, 'historyLength' | 'historySize' | 'continueAsNewSuggested'> => (onRecordedClock ? clock : workflowInfo());
  // Updates can arrive in the very first activation, before the rules are loaded: their
  // validators then check shape only, and the handler re-checks against the rules.
  // Usage that arrives once the cycle has ended (in the same activation as the reset timer, or
  // while the next cycle's rules load) waits for the reset, so it counts in the new cycle.
  const opened = async (check: () => InputProblem | undefined): Promise<CreditAccount> => {
    updatesThisRun += 1;
    // Live time is safe here: it can only make this condition false (the cycle has ended);
    // only the reset, a recorded step, makes it true again.
    await condition(() => account !== undefined && now() < Date.parse(account.state.cycle.end));
    clock.step();
    rejectIf(check());
    const acc = account as CreditAccount;
    expireDue(acc);
    return acc;
  };
  // Grants whose end has come leave the pool before a command may spend them, whether or not
  // the main loop's timer has had its task yet. The main loop still expires on its timer (it
  // then finds nothing left to expire).
  const expireDue = (acc: CreditAccount): void => {
    const at = now();
    if (acc.hasExpiredGrants(at) && patched(EXPIRE_BEFORE_UPDATE_PATCH)) acc.expireGrants(at, alertsFollowBalance);
  };
  // Run a command on the open account; a broken precondition fails the update (as an
  // ApplicationFailure with a type), never the workflow task.
  const guarded = <T>(command: () => T): T => {
    try {
      return command();
    } catch (err) {
      if (err instanceof AccountStateError || err instanceof AccountLimitError) throw ApplicationFailure.nonRetryable(err.message, err.code);
      throw err;
    }
  };
  // A command on the open account, after which its alerts follow what it did to the balance.
  const applied = <T>(acc: CreditAccount, command: (acc: CreditAccount) => T): T => {
    const before = acc.availableNow();
    const result = guarded(() => command(acc));
    acc.afterCommand(before, now(), alertsFollowBalance);
    return result;
  };
  const run = async <T>(check: () => InputProblem | undefined, command: (acc: CreditAccount) => T): Promise<T> => applied(await opened(check), command);
  // What the checks may know: nothing before the account has opened (the validator then
  // checks shape only), the rules, the calls seen and what a tier change would do once it has.
  const checkContext = (): CheckContext => {
    const acc = account;
    return acc
      ? {
          rules: acc.state.rules,
          knowsCall: (id) => acc.knowsCall(id),
          callEnded: (id) => acc.callEnded(id),
          nowMs: now(),
          trialStartedAt: acc.trialStartedAt(),
          tierChange: (tier) => acc.tierChangeOutcome(tier),
        }
      : {};
  };
  // The validator and the handler's re-check both run the table's check for the update, on
  // every argument the SDK passes (an extra one is refused, never stored unchecked).
  // A target-value update (no key of its own) is remembered by its update id: the server
  // answers a repeated id only within the run that applied it, so a retry whose first answer
  // was lost and that reaches a later run is answered here, with that first answer, and
  // neither judged again nor applied (see UPDATE_ANSWERS_PATCH).
  const register = <Result, Input>(
    message: UpdateMessage<Result, Input>,
    handler: (input: Input, recheck: () => InputProblem | undefined) => Promise<Result>,
    targetValue = false,
  ): void => {
    const check = (args: readonly unknown[]) => checkUpdateArguments(args, message.check, checkContext());
    const { admit } = message;
    // This update's id and name, when it is a target-value update.
    const remembered = () => (targetValue ? currentUpdateInfo() : undefined);
    const firstAnswer = (info: ReturnType<typeof remembered>): Result | undefined =>
      info && account ? (account.updateAnswer(info.name, info.id) as Result | undefined) : undefined;
    // The handler runs only for an accepted update, which the history records: a step.
    const validator = (...args: unknown[]) => {
      if (closing) throw ApplicationFailure.retryable(ACCOUNT_CONTINUING_MESSAGE, WORKFLOW_FAILURE_TYPES.accountContinuing);
      if (firstAnswer(remembered()) !== undefined) return;
      rejectIf(check(args));
      if (admit) rejectIf(admit(args[0], checkContext()));
    };
    setHandler(
      message.definition,
      (...args: unknown[]) => {
        clock.step();
        const info = remembered();
        const first = firstAnswer(info);
        if (first !== undefined && patched(UPDATE_ANSWERS_PATCH)) {
          updatesThisRun += 1;
          return Promise.resolve(first);
        }
        const answer = handler(args[0] as Input, () => check(args));
        if (!info) return answer;
        return answer.then((result) => {
          if (account && patched(UPDATE_ANSWERS_PATCH)) account.rememberUpdate(info.name, info.id, result as TargetUpdateResult);
          return result;
        });
      },
      { validator },
    );
  };
  const { recordUsage, startCall, endCall, setUsers, changePlan, changeCreditTier, setFeatureEnabled, setVoiceAgentActive, grantCredits } =
    ACCOUNT_UPDATES;
  const { voidUsage, setAdmins, setTags } = ACCOUNT_UPDATES;
  register(recordUsage, async (u, recheck) => run(recheck, (a) => a.recordUsage(u, now())));
  // A batch counts as one update against UPDATES_PER_RUN; its events are bounded by the
  // history size (HISTORY_BYTES_PER_RUN: each event's input and answer is in the history), and
  // the carried state by its budget whatever the count (the answer window is bounded by bytes,
  // the outbox spills). It waits for the reset like `recordUsage`, so all its events land in
  // one cycle.
  register(ACCOUNT_UPDATES.recordUsageBatch, async (u, recheck) => run(recheck, (a) => a.recordUsageBatch(u.events, now())));
  register(startCall, async (u, recheck) => run(recheck, (a) => a.startCall(u, now(), () => patched(END_LOST_CALLS_WHEN_FULL_PATCH), () => patched(OPEN_CALL_KEPT_PATCH))));
  register(endCall, async (u, recheck) => run(recheck, (a) => a.endCall(u, now())));
  register(setUsers, async (u, recheck) => run(recheck, (a) => a.setUsers(u.users, now())), true);
  register(changePlan, async (u, recheck) => {
    const acc = await opened(recheck);
    // A conversion awaits the rules activity; a second change must not convert twice.
    await condition(() => !converting);
    clock.step();
    // A conversion that ran meanwhile made this a paid account: check again (a cycleAnchor is
    // then refused rather than ignored).
    rejectIf(recheck());
    if (!acc.state.trial) return applied(acc, (a) => a.changePlan(u.plan, now()));
    converting = true;
    try {
      const current = await loadRules({ at: new Date(now()).toISOString() });
      clock.step();
      if (now() >= Date.parse(acc.state.cycle.end) && patched(CONVERSION_AFTER_RESET_PATCH)) {
        // The cycle ended while the rules loaded: convert once the reset has opened the next.
        await condition(() => now() < Date.parse(acc.state.cycle.end));
        clock.step();
        rejectIf(recheck());
        expireDue(acc);
      }
      const rules = acc.conversionRules(current, u.plan, () => patched(CONVERSION_KEEPS_TIER_PATCH));
      const result = patched(TRIAL_CONVERSION_PATCH)
        ? applied(acc, (a) => a.convertTrial(u.plan, rules, now(), u.cycleAnchor, () => patched(CONVERSION_KEEPS_ANSWERS_PATCH), () => patched(LEDGER_FACTS_PATCH)))
        : applied(acc, (a) => a.convertTrialLegacy(u.plan, rules, now()));
      timingChanged += 1;
      return result;
    } finally {
      converting = false;
    }
  }, true);
  register(changeCreditTier, async (u, recheck) => run(recheck, (a) => a.changeCreditTier(u.tier, now(), () => patched(TIER_BOUGHT_ENDS_PAID_THROUGH_PATCH))), true);
  register(setFeatureEnabled, async (u, recheck) => run(recheck, (a) => a.setFeatureEnabled(u.feature, u.enabled, now())), true);
  register(setVoiceAgentActive, async (u, recheck) => run(recheck, (a) => a.setVoiceAgentActive(u.agentId, u.active, now())), true);
  register(grantCredits, async (u, recheck) => {
    const result = await run(recheck, (a) => a.grantCredits(u, now(), () => patched(GRANT_RECALL_PATCH)));
    timingChanged += 1;
    return result;
  });
  register(voidUsage, async (u, recheck) => run(recheck, (a) => a.voidUsage(u, now(), () => patched(VOID_EXPIRES_WITH_GRANT_PATCH))));
  register(setAdmins, async (u, recheck) => run(recheck, (a) => a.setAdmins(u.admins, now())), true);
  register(setTags, async (u, recheck) => {
    const result = await run(recheck, (a) => a.setTags(u.tags, now()));
    // A promotion granted now may expire before the cycle ends: the next wake may be sooner.
    if (result.promotionsGranted.length > 0) timingChanged += 1;
    return result;
  }, true);
  setHandler(ACCOUNT_QUERIES.summary.definition, () => {
    if (!account) throw ApplicationFailure.nonRetryable(ACCOUNT_OPENING_MESSAGE, WORKFLOW_FAILURE_TYPES.accountOpening);
    return account.summary(now());
  });

  if (!account) {
    rejectIf(checkStartShape(input, now()));
    const unplain = checkAdminAddresses(input.admins, 'InvalidStartInput');
    if (unplain && patched(PLAIN_ADMINS_PATCH)) rejectIf(unplain);
    const cycleStart = cycleContaining(input.cycleAnchor, now()).start;
    const epoch = workflowInfo().firstExecutionRunId.slice(0, 8);
    // The ledger is asked while the rules load. While it is down the account waits to open:
    // opening a second pool for an account that ran before would grant its credits again.
    const guarded = input.restartClosed !== true && patched(START_GUARD_PATCH);
    const restarted = input.restartClosed === true && patched(RESTART_FACTS_PATCH);
    const [startRules, earlier, before] = await Promise.all([
      loadRules({ at: cycleStart }),
      guarded ? earlierEpoch({ accountId: input.accountId, epoch }) : null,
      restarted ? restartFacts({ accountId: input.accountId, epoch, periodStart: cycleStart, at: new Date(now()).toISOString() }) : null,
    ]);
    clock.step();
    rejectIf(checkStartAgainstRules(input, startRules));
    rejectIf(checkRestartTier(input, startRules, before?.paidThisPeriod ?? null));
    if (earlier) {
      throw ApplicationFailure.nonRetryable(
        `account ${input.accountId} ran before under an earlier workflow (its ledger's latest entry ${earlier.entryId}, at ${earlier.at}) ` +
          'and has closed: this start would open a second pool for the current cycle, granting its credits again. ' +
          'Start it with restartClosed: true only on purpose (credits account start --restart-closed)',
        WORKFLOW_FAILURE_TYPES.accountClosed,
      );
    }
    account = CreditAccount.open(input, startRules, now(), epoch, before ?? undefined, () => patched(RESTART_PURCHASE_PATCH), () => patched(LEDGER_FACTS_PATCH));
    account.roundCallPartsOnce = roundCallPartsOnce;
  }
  const acc: CreditAccount = account;
  const large = patched(LEDGER_BATCH_PATCH);
  const batchVersion = large && patched(LEDGER_DELTA_PATCH) ? 2 : 1;
  const quietContinue = patched(QUIET_BEFORE_CONTINUE_PATCH);
  const historyBytesPerRun = quietContinue ? HISTORY_BYTES_PER_RUN_LARGE : HISTORY_BYTES_PER_RUN;
  const ledgerBatch = large ? LEDGER_BATCH_LARGE : LEDGER_BATCH;
  const ledgerBatchBytes = large ? LEDGER_BATCH_BYTES_LARGE : LEDGER_BATCH_BYTES;
  const busyLinger = patched(LEDGER_LINGER_PATCH);
  const lingerOnStep = busyLinger && patched(LEDGER_LINGER_ON_STEP_PATCH);
  onRecordedClock = patched(RECORDED_CLOCK_PATCH);

  // Search attributes follow the state, but cost a command (and history events) per upsert: so
  // one upsert per workflow task at most, holding only the attributes that changed, whatever
  // number of updates the task applied. The history length tells one task from the next.
  // Under SEARCH_BALANCE_THROTTLE_PATCH a change of the balance alone waits until
  // BALANCE_PUBLISH_INTERVAL_MS has passed since the last upsert; it goes at once when another
  // attribute changes, or when the outbox is empty. So a busy account's listed balance is at
  // most about that interval late, and a quiet account's (whose last upsert is older) goes at
  // once. Every change of the balance queues a ledger entry, and the task that confirms the
  // last write finds the outbox empty: the balance an account settles on is always published.
  // The wait was a timer; under SEARCH_BALANCE_ON_STEP_PATCH it is the next recorded step.
  if (patched(SEARCH_ATTRIBUTES_PATCH)) {
    const throttled = patched(SEARCH_BALANCE_THROTTLE_PATCH);
    const onStep = throttled && patched(SEARCH_BALANCE_ON_STEP_PATCH);
    let upsertedAt = -1;
    let publishedMs = -Infinity;
    let changes: ReturnType<typeof searchAttributeChanges> = [];
    const pending = (): boolean => {
      if (seenInfo().historyLength === upsertedAt) return false;
      changes = searchAttributeChanges(workflowInfo().typedSearchAttributes, accountIndexOf(acc.state, seenNow()));
      return changes.length > 0;
    };
    // Never while the run is closing: a throttle timer firing as the continue-as-new task
    // completes would make the server refuse that task (UnhandledCommand) and the worker
    // replay the whole run; the next run publishes at its first task anyway.
    const mayWait = () => throttled && !closing && acc.state.outbox.length > 0 && onlyBalanceChanges(changes);
    const publishIndex = async (): Promise<never> => {
      for (;;) {
        await condition(pending);
        clock.step();
        if (mayWait() && now() < publishedMs + BALANCE_PUBLISH_INTERVAL_MS) {
          const due = publishedMs + BALANCE_PUBLISH_INTERVAL_MS;
          if (onStep) await condition(() => pending() && (!mayWait() || seenNow() >= due));
          else await condition(() => pending() && !mayWait(), due - now());
          clock.step();
          if (!pending()) continue;
        }
        upsertedAt = seenInfo().historyLength;
        publishedMs = now();
        upsertSearchAttributes(changes);
      }
    };
    void publishIndex();
  }

  // Effects leave in order through activities; each is dropped from the outbox only once
  // confirmed, so whatever is unconfirmed at continue-as-new is carried and sent again.
  // `inFlight` is how many effects of the outbox's head an activity call holds right now.
  let inFlight = 0;
  // Workflow time at which the effect in flight was handed to its activity; for a ledger batch
  // the previous run left unconfirmed, when that run first handed it over.
  let inFlightSince = 0;
  let inFlightLedger = false;
  // Each activity call of the drain is numbered; one whose entries continue-as-new handed to a
  // spill instead (the ledger was down) is abandoned: its answer no longer settles the outbox.
  let flight = 0;
  let abandonedFlight = -1;
  // Entries in the last ledger write handed to the activity: how busy the account is.
  let lastLedgerWrite = 0;
  const carriedWait = acc.state.ledgerWaitingSince;
  let waitingSince = carriedWait === undefined ? undefined : Date.parse(carriedWait);
  delete acc.state.ledgerWaitingSince;
  const drainOutbox = async (): Promise<never> => {
    for (;;) {
      // While the run is closing, intake is refused and writes go on only until what is left
      // is small enough to carry to the next run (see QUIET_BEFORE_CONTINUE_PATCH).
      const sending = () => acc.state.outbox.length > 0 && (!closing || acc.state.outbox.length > CARRIED_LEDGER_ENTRIES);
      await condition(sending);
      clock.step();
      if (!closing && acc.state.outbox[0]?.type === 'ledger' && acc.state.outbox.length < ledgerBatch) {
        const busy = busyLinger && lastLedgerWrite >= LEDGER_BUSY_WRITE;
        const full = () => acc.state.outbox.length >= ledgerBatch || closing;
        if (busy && lingerOnStep) {
          // Read on the recorded clock, so only a recorded step (an accepted update) can be the
          // one that writes; the timer is for an account that went quiet.
          const due = seenNow() + LEDGER_LINGER_BUSY_MS;
          await condition(() => full() || seenNow() >= due, LEDGER_LINGER_BUSY_MS + LEDGER_LINGER_QUIET_GRACE_MS);
        } else {
          await condition(full, busy ? LEDGER_LINGER_BUSY_MS : LEDGER_LINGER);
        }
        clock.step();
        if (!sending()) continue;
      }
      const batch = acc.peekOutbox(ledgerBatch, ledgerBatchBytes);
      const head = batch[0];
      if (!head) continue;
      inFlight = batch.length;
      const myFlight = ++flight;
      inFlightLedger = head.type === 'ledger';
      inFlightSince = inFlightLedger && waitingSince !== undefined ? Math.min(waitingSince, now()) : now();
      waitingSince = undefined;
      // Events of the effects this batch settles, queued once it is settled (never before:
      // a webhook reports what happened, and a retried effect must not report twice).
      const events: (WebhookEvent | undefined)[] = [];
      try {
        if (head.type === 'ledger') {
          const entries = batch.map((e) => (e.type === 'ledger' ? e.entry : undefined)).filter((e) => e !== undefined);
          lastLedgerWrite = entries.length;
          // Compact in the history where the patch is in force (see domain/ledger-batch.ts).
          const result = await effects.appendLedger(large ? { batch: encodeLedgerBatch(entries, batchVersion) } : { entries });
          clock.step();
          if (myFlight === abandonedFlight) continue; // its entries left the outbox for a spill
          // The ledger takes writes again: whatever was spilled meanwhile is being written by
          // its own workflows, so it no longer counts against new usage.
          acc.state.spilledBacklog = undefined;
          // Results recorded before refusals were isolated have no `refused`: none was.
          const refused = result.refused ?? [];
          if (refused.length > 0) log.error('ledger entries refused for good; parked, the rest of the batch written', { accountId: acc.state.accountId, refused });
          const refusedIds = new Set(refused.map((r) => r.entryId));
          const parked = batch.filter((e) => e.type === 'ledger' && refusedIds.has(e.entry.entryId));
          acc.settleLedgerBatch(batch.length, refused, now());
          events.push(parkedEvent(acc.state.accountId, parked, refused[0]?.error ?? '', new Date(now()).toISOString()));
        } else {
          if (head.type === 'charge') await effects.chargeTier(head.charge);
          else await effects.sendAlert(head.alert);
          clock.step();
          acc.ackOutbox(batch.length);
          events.push(eventOfEffect(head));
        }
      } catch (err) {
        clock.step();
        // Retries are unlimited, so only a non-retryable failure lands here: the receiver will
        // never take this input. Set it aside rather than block every later effect.
        const error = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
        if (myFlight === abandonedFlight) continue; // its spill writes (and parks) those entries
        log.error('effect refused for good; parked', { accountId: acc.state.accountId, type: head.type, count: batch.length, error });
        acc.parkOutbox(batch.length, error, now());
        events.push(parkedEvent(acc.state.accountId, batch, error, new Date(now()).toISOString()));
      } finally {
        inFlight = 0;
      }
      for (const event of events) {
        if (!event) continue;
        await condition(() => pendingWebhooks(acc.state) < MAX_PENDING_WEBHOOKS);
        clock.step();
        queueWebhook(acc.state, event);
      }
    }
  };
  void drainOutbox();

  // Webhook events leave one at a time, in order; each is dropped only once every subscribed
  // endpoint took it, so one pending at continue-as-new is carried and sent again (same id).
  let webhookInFlight = false;
  const deliverWebhooks = async (): Promise<never> => {
    for (;;) {
      await condition(() => pendingWebhooks(acc.state) > 0 && !closing);
      clock.step();
      const event = acc.state.webhooks?.[0];
      // Replaying a history recorded before webhooks: it scheduled no delivery, so none is.
      if (event && patched(WEBHOOKS_PATCH)) {
        webhookInFlight = true;
        try {
          await hooks.deliverWebhook(event);
        } catch (err) {
          // Retries are unlimited: only a non-retryable failure gets here. Logged, then dropped:
          // the delivery log in the ledger database holds every attempt.
          log.error('webhook event refused for good; dropped', { accountId: acc.state.accountId, eventId: event.id, error: String(err) });
        } finally {
          clock.step();
          webhookInFlight = false;
        }
      }
      ackWebhook(acc.state);
    }
  };
  void deliverWebhooks();

  // While the ledger is down the outbox grows behind the batch in flight. Its tail is spilled,
  // chunk by chunk, to `ledgerSpill` workflows that hold it durably and write it once the
  // ledger is back, so the carried state stays within its budget however long the outage.
  // Each chunk leaves the outbox only once its workflow has started.
  let spilling = 0;
  const keep = () => (inFlight > 0 ? inFlight : Math.min(acc.state.outbox.length, ledgerBatch));
  const spill = async (entries: ReturnType<typeof takeSpill>): Promise<void> => {
    const first = entries[0];
    if (!first) return;
    spilling += 1;
    try {
      await startChild(ledgerSpill, {
        // Named from the account (not this run's id), so a replay or a renamed run names it alike.
        workflowId: `${accountWorkflowId(acc.state.accountId)}:spill:${first.entryId}`,
        args: [{ accountId: acc.state.accountId, entries }],
        // The chunk must outlive this run: the account continues as new long before the ledger is back.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      acc.state.spilledBacklog = (acc.state.spilledBacklog ?? 0) + entries.length;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return; // this chunk is already held
      // Not held anywhere yet: back into the outbox, to be spilled or written later.
      log.warn('could not spill ledger entries; keeping them in the outbox', { accountId: acc.state.accountId, count: entries.length, error: String(err) });
      for (const entry of entries) acc.state.outbox.push({ type: 'ledger', entry });
    } finally {
      clock.step();
      spilling -= 1;
    }
  };
  const spillLoop = async (): Promise<never> => {
    for (;;) {
      await condition(() => inFlight > 0 && seenNow() - inFlightSince >= SPILL_AFTER_MS && spillDue(acc.state, keep()));
      clock.step();
      await spill(takeSpill(acc.state, keep()));
    }
  };
  void spillLoop();

  // The run's own bounds, all well inside the server's hard limits (2,000 updates, 51,200
  // events, 50 MiB). The server's suggestion (from 4 MiB by default) is followed only by runs
  // recorded before the larger history bound, which it would otherwise cut to half.
  const shouldContinue = () => {
    const info = seenInfo();
    return (
      updatesThisRun >= UPDATES_PER_RUN ||
      info.historyLength >= EVENTS_PER_RUN ||
      info.historySize >= historyBytesPerRun ||
      (!quietContinue && info.continueAsNewSuggested)
    );
  };

  for (;;) {
    const wait = acc.nextWakeMs() - now();
    if (wait > 0) {
      const seen = timingChanged;
      await condition(() => timingChanged !== seen || shouldContinue(), wait);
      clock.step();
    }
    let reset = false;
    while (now() >= Date.parse(acc.state.cycle.end)) {
      const next = await loadRules({ at: acc.state.cycle.end });
      clock.step();
      if (!rulesFitAccount(next, acc.state)) {
        log.warn('rules in force lack this account\'s plan or tier; keeping the previous version for this cycle', {
          accountId: acc.state.accountId,
          rulesVersion: next.version,
        });
      }
      acc.startNextCycle(
        rulesFitAccount(next, acc.state) ? next : acc.state.rules,
        () => patched(END_LOST_CALLS_PATCH),
        () => patched(EXHAUSTED_BY_RESET_PATCH),
        () => patched(TIER_PAID_IN_PART_PATCH),
      );
      reset = true;
    }
    acc.expireGrants(now(), alertsFollowBalance);
    if (reset || shouldContinue()) break;
  }

  // Continue as new at every cycle reset, and before the run's history grows too long. No
  // accepted update may be lost: wait for every handler and every spill to finish first.
  // The run is quieted first (QUIET_BEFORE_CONTINUE_PATCH): intake refused, the backlog written
  // down, activities in flight given a few seconds; what is still unconfirmed travels in the
  // state (a batch in flight is sent again by the next run and recognised by its ids). The state
  // must fit its budget: if it is too heavy, its ledger entries are spilled (behind the write in
  // flight, then, when quieted, that stuck write's too), and only then is anything trimmed
  // (spilling loses nothing; trimming the duplicate window does). Spilling awaits a child
  // workflow's start, and handlers may run meanwhile in runs recorded before the patch: so wait
  // for every handler again after each spill, and continue as new only from a check with no
  // await after it.
  if (quietContinue) {
    closing = true;
    await condition(() => inFlight === 0 && !webhookInFlight && acc.state.outbox.length <= CARRIED_LEDGER_ENTRIES, QUIET_BEFORE_CONTINUE);
    clock.step();
  }
  for (;;) {
    await condition(() => allHandlersFinished() && spilling === 0);
    clock.step();
    if (jsonBytes(acc.state) <= CARRIED_STATE_BUDGET_BYTES) break;
    let entries = takeSpill(acc.state, inFlight);
    if (entries.length === 0 && quietContinue && inFlight > 0 && inFlightLedger) {
      // Still too heavy, and the write in flight is stuck (the ledger is down past the quiet
      // wait): its entries go to a spill too rather than trim the duplicate window. The ledger
      // ignores an id it holds, so the stuck write succeeding later doubles nothing, and its
      // answer no longer settles the outbox. The ledger's wait carries on in the next run.
      abandonedFlight = flight;
      waitingSince = inFlightSince;
      inFlight = 0;
      entries = takeSpill(acc.state, 0);
    }
    if (entries.length === 0) break;
    await spill(entries);
  }
  // The ledger's wait goes on in the next run: from the write in flight, or, when this run
  // continued before sending the carried batch again (it was waiting for company), from the
  // wait it was handed.
  const ledgerWait = inFlight > 0 && inFlightLedger ? inFlightSince : waitingSince;
  if (ledgerWait !== undefined) acc.state.ledgerWaitingSince = new Date(ledgerWait).toISOString();
  const weight = fitToBudget(acc.state);
  log.info('continuing as new', { accountId: acc.state.accountId, carriedBytes: weight.total, outboxBytes: weight.outbox, answersBytes: weight.answers });
  await continueAsNew<typeof accountCredits>(input, acc.state);
}
