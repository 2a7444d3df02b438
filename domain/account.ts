/**
 * One account's credit pool as a deterministic state machine: every command takes the state
 * and the current instant, changes the state, and returns the answer plus effects queued in
 * the state's outbox. No clocks, no I/O, no Temporal: the workflow feeds it workflow time and
 * rules loaded by an activity, and a test can run it directly.
 *
 * `CreditAccount` ties together the carried state (account-state), the remembered-answer
 * window (answers), the commands (usage-commands, account-changes), time moving on
 * (cycle-rollover) and the outbox. Resuming an account from carried state is the same code
 * path as starting one.
 */
import type { Rules } from '../ruleset/types';
import type {
  AccountStartInput,
  AccountSummary,
  AlertState,
  ChangeCreditTierResult,
  ChangePlanResult,
  EndCallResult,
  GrantCreditsInput,
  GrantCreditsResult,
  RecordUsageBatchResult,
  RecordUsageInput,
  RecordUsageResult,
  SetAdminsResult,
  SetTagsResult,
  SetUsersResult,
  StartCallResult,
  VoidUsageInput,
  VoidUsageResult,
} from './wire-contract';
import type { Effect, RefusedEntry } from './effects';
import { planById, resolvePlan } from '../ruleset/catalog';
import { fromMicros } from './pricing';
import { nextExpiryMs } from './grants';
import { alertStateOf, available, currentPlan, initialState, rulesHoldTier, tierOf, trialStartedAt, type AccountState, type TargetUpdateResult } from './account-state';
import { iso } from './calendar';
import { AnswerWindow } from './answers';
import { hasOwnKey } from './own-keys';
import * as outbox from './outbox';
import { addGrant } from './credit-pool';
import type { RestartHistory } from './input-problems';
import * as rollover from './cycle-rollover';
import * as usage from './usage-commands';
import * as changes from './account-changes';
import * as details from './account-details';
import * as voids from './usage-voids';

export {
  ACCOUNT_STATE_SCHEMA,
  MAX_PARKED,
  AccountLimitError,
  AccountStateError,
  rulesFitAccount,
  type AccountState,
  type FeatureUsage,
  type OpenCall,
  type ParkedEffect,
  type RememberedAnswer,
  type TargetUpdateResult,
  type TrialGrant,
} from './account-state';
export { IDEMPOTENCY_WINDOW } from './answers';

/**
 * An account's credit pool. Wraps the carried state and the window of its remembered answers
 * (whose lookup index is rebuilt on construction, never carried).
 */
export class CreditAccount {
  private readonly answers: AnswerWindow;

  /**
   * Whether a Voice Agent call charged in parts (across resets) is rounded once, as a whole,
   * rather than part by part (a credit more per reset crossed). The workflow answers it from a
   * patch, asked only when a part follows another, so runs recorded before it replay as they
   * ran; true everywhere else.
   */
  roundCallPartsOnce: () => boolean = () => true;

  /** Wrap a state that was started before (from continue-as-new or a test). */
  constructor(readonly state: AccountState) {
    this.answers = new AnswerWindow(state);
  }

  /**
   * Open a new account at `nowMs`: the cycle containing now on the anchor's calendar, with its
   * included credits or the trial's one grant of trial credits, its tier (charged), and any
   * promotion whose window is open. The input must have passed `checkStartShape` and
   * `checkStartAgainstRules`. `epoch` is any id unique to this workflow (its first run id),
   * carried into every ledger and alert id. `restart`: what earlier workflows of this account
   * (closed, the account started again on purpose) were given: their promotions, none of which
   * is granted again, and the period's latest tier charge, which pays for the tier this period
   * when the start asks for the same tier (`checkRestartTier` refuses another, unless the rules
   * no longer hold the tier paid for: the tier asked for is then bought as a purchase, since the
   * period's renewal charge id is the earlier charge's, when `purchaseOverPaid` says so, the
   * workflow's patch check, asked only then). A restart's opening note records its facts when
   * `recordFacts` says so (the workflow's patch, asked only for a restart).
   */
  static open(
    input: AccountStartInput,
    rules: Rules,
    nowMs: number,
    epoch: string,
    restart?: RestartHistory,
    purchaseOverPaid: () => boolean = () => true,
    recordFacts: () => boolean = () => true,
  ): CreditAccount {
    const account = new CreditAccount(initialState(input, rules, nowMs, epoch));
    const s = account.state;
    const paid = restart?.paidThisPeriod;
    const paidTier = paid && s.tierId === paid.tierId ? tierOf(s) : undefined;
    // The period was paid for this tier by an earlier workflow: its credits come with the new
    // pool, and the first charge is at the next reset, or, when the earlier charge paid past
    // it (another calendar), that reset settles the cycle it pays in part (grantCycleAllocations).
    const paidPast = paid?.paidThrough !== undefined && Date.parse(paid.paidThrough) > Date.parse(s.cycle.end);
    if (paidTier) s.tierPaidThrough = paidPast ? (paid?.paidThrough as string) : s.cycle.end;
    // A tier other than the one paid for (the rules dropped that one): charged under the
    // period's renewal id, the billing record would keep the earlier charge and bill nothing.
    const bought = paid && !paidTier ? tierOf(s) : undefined;
    const purchase = bought !== undefined && purchaseOverPaid();
    if (purchase) s.tierPaidThrough = s.cycle.end;
    for (const promo of rules.promotions) {
      if (restart?.promotions.ids.includes(promo.id) || restart?.promotions.names.includes(promo.name)) s.promotionsGranted.push(promo.id);
    }
    // The start facts are written out so a replay of the ledger (simulate/) can open the same account.
    // A restart's facts too: what the ledger told it, which a replay must be told the same.
    const restarted = restart && recordFacts() ? `; restarted ${JSON.stringify(restart)}` : '';
    const facts = `${s.users} users, tier ${s.tierId ?? 'none'}, anchor ${s.anchor}, tags: ${s.tags.join(' ')}`.trimEnd() + restarted;
    outbox.logEntry(s, nowMs, 'cycle_start', 0, { note: `account opened on ${s.planId}${s.trial ? ' (trial)' : ''}: ${facts}` });
    rollover.grantTrialCredits(s, nowMs);
    // A restart paid for grants the paid tier's credits itself, below: nothing to settle here.
    rollover.grantCycleAllocations(s, nowMs, () => false);
    if (paidTier && paid) {
      addGrant(s, 'subscription', paidTier.name, paidTier.credits, s.cycle.end, nowMs);
      // On another calendar the earlier period ends elsewhere: its days are not billed twice, and
      // the days between its end and this cycle's are not billed (no proration either way).
      const through =
        paid.paidThrough === undefined || paid.paidThrough === s.cycle.end
          ? ''
          : paidPast
            ? ` (paid through ${paid.paidThrough}, past this cycle's end ${s.cycle.end}: the cycle after is settled at its start)`
            : ` (paid through ${paid.paidThrough}; next charged at this cycle's end, ${s.cycle.end})`;
      outbox.logEntry(s, nowMs, 'tier_change', 0, { note: `${paidTier.id} was paid for this billing period by ${paid.chargeId} under an earlier workflow: not charged again${through}` });
    }
    if (purchase && bought) {
      outbox.chargeTier(s, bought, 'purchase', nowMs);
      addGrant(s, 'subscription', bought.name, bought.credits, s.cycle.end, nowMs);
    }
    return account;
  }

  // ---- reading ----------------------------------------------------------------------------

  /** Balance usable now: live grants' remaining credits minus any overdraft. */
  available(): number {
    return available(this.state);
  }

  /** The alert state these numbers are in at `nowMs`. */
  alertState(nowMs: number): { state: AlertState; projectedRunOutMs: number | null } {
    return alertStateOf(this.state, nowMs);
  }

  /** When the workflow must next wake to move time on: the cycle end or a grant's expiry. */
  nextWakeMs(): number {
    const cycleEnd = Date.parse(this.state.cycle.end);
    const expiry = nextExpiryMs(this.state.grants);
    return expiry === undefined ? cycleEnd : Math.min(cycleEnd, expiry);
  }

  /** When the account's trial started (the earliest anchor a conversion may take), or null for a paid account. */
  trialStartedAt(): string | null {
    return trialStartedAt(this.state);
  }

  /** Whether `callId` has been seen: open, or remembered as started or ended. */
  knowsCall(callId: string): boolean {
    return hasOwnKey(this.state.openCalls, callId) || this.answers.has(`start:${callId}`) || this.answers.has(`end:${callId}`);
  }

  /** Whether `callId` names a call that has ended (its end is remembered, and it is not open). */
  callEnded(callId: string): boolean {
    return this.answers.has(`end:${callId}`) && !hasOwnKey(this.state.openCalls, callId);
  }

  /**
   * The first answer of the target-value update `name` (users, plan, tier, toggles, admins,
   * tags) sent with Temporal update id `updateId`, when this account applied it in this cycle
   * or the previous one and still remembers it; undefined otherwise. The server answers a
   * repeated update id itself only within the run that applied it: this answers one that
   * reaches a later run.
   */
  updateAnswer(name: string, updateId: string): TargetUpdateResult | undefined {
    return this.answers.updateAnswer(name, updateId);
  }

  /** Remember the answer of a target-value update this account applied, by its Temporal update id. */
  rememberUpdate(name: string, updateId: string, answer: TargetUpdateResult): void {
    this.answers.rememberUpdate(name, updateId, answer);
  }

  /** Everything an admin sees, computed at `nowMs`. */
  summary(nowMs: number): AccountSummary {
    const s = this.state;
    const rules = s.rules;
    const plan = currentPlan(s);
    const tier = tierOf(s);
    const pendingPlan = s.pendingPlan ? planById(rules, s.pendingPlan) : undefined;
    const alert = this.alertState(nowMs);
    return {
      accountId: s.accountId,
      plan: { id: plan.id, name: plan.name },
      pendingPlan: pendingPlan ? { id: pendingPlan.id, name: pendingPlan.name, effectiveAt: s.cycle.end } : null,
      users: s.users,
      trial: s.trial,
      tier: tier
        ? {
            id: tier.id,
            name: tier.name,
            priceCents: tier.priceCents,
            credits: tier.credits,
            ...(s.tierPaidThrough && Date.parse(s.tierPaidThrough) > Date.parse(s.cycle.start) ? { paidThrough: s.tierPaidThrough } : {}),
            // None when the tier is cancelled at the reset: nothing is charged next.
            ...(s.tierPaidThrough && Date.parse(s.tierPaidThrough) > Date.parse(s.cycle.end) && s.pendingTier?.tier !== null
              ? { nextChargeAt: rollover.nextTierChargeAt(s) }
              : {}),
          }
        : null,
      pendingTier: s.pendingTier ? { tier: s.pendingTier.tier, effectiveAt: s.cycle.end } : null,
      cycle: { ...s.cycle },
      credits: { available: this.available(), granted: s.cycleGranted, used: s.cycleUsed, overdraft: s.overdraft, callOverage: s.callOverage ?? 0 },
      grants: s.grants.map(({ seq: _seq, key: _key, ...view }) => view),
      usage: Object.entries(s.usage).map(([feature, u]) => ({
        feature,
        quantity: fromMicros(u.micros),
        credits: u.credits,
        count: u.count,
        rejected: u.rejected,
      })),
      telephonyMinutes: fromMicros(s.telephonyMicros),
      alert: alert.state,
      projectedRunOutAt: alert.projectedRunOutMs === null ? null : iso(alert.projectedRunOutMs),
      features: rules.features
        .filter((f) => f.toggleable)
        .map((f) => ({ feature: f.id, enabled: !s.disabledFeatures.includes(f.id) })),
      inactiveAgents: [...s.inactiveAgents],
      openCalls: Object.keys(s.openCalls).length,
      tags: [...s.tags],
      admins: [...s.admins],
      rulesVersion: rules.version,
      parkedEffects: s.parked?.length ?? 0,
      asOf: iso(nowMs),
    };
  }

  // ---- spending (see usage-commands) ------------------------------------------------------

  /** Admit or refuse usage of a feature, once per idempotency key. */
  recordUsage(input: RecordUsageInput, nowMs: number): RecordUsageResult {
    return usage.recordUsage(this.state, this.answers, input, nowMs);
  }

  /**
   * Answer a batch of usage events in order, each as {@link recordUsage} does; an event the
   * rules refuse as input gets its own `invalid_event` answer (see usage-commands).
   */
  recordUsageBatch(events: readonly RecordUsageInput[], nowMs: number): RecordUsageBatchResult {
    return { results: usage.recordUsageBatch(this.state, this.answers, events, nowMs) };
  }

  /**
   * Authorize a Voice Agent call, once per call id. With the open-call places full, calls that
   * have run the longest a call runs are ended first when `mayEndLostCalls` says so (asked only
   * when there is such a call). A start of a call already open is answered authorized and
   * leaves the call as it is when `keepOpenCall` says so (asked only then).
   */
  startCall(
    input: { callId: string; agentId: string },
    nowMs: number,
    mayEndLostCalls?: () => boolean,
    keepOpenCall?: () => boolean,
  ): StartCallResult {
    return usage.startCall(this.state, this.answers, input, nowMs, mayEndLostCalls, this.roundCallPartsOnce, keepOpenCall);
  }

  /** End a call and charge the current cycle for its part, bounded by the time it ran, once per call id. */
  endCall(input: { callId: string; minutes: number }, nowMs: number): EndCallResult {
    return usage.endCall(this.state, this.answers, input, nowMs, undefined, this.roundCallPartsOnce);
  }

  /**
   * Void a usage of the current cycle by its idempotency key (billing ops): its credits go back
   * to the grants they came from (expiring at once with a grant that has expired since, while
   * `expireWithGrant` says so), once per key; a refusal is an answer and changes nothing.
   */
  voidUsage(input: VoidUsageInput, nowMs: number, expireWithGrant?: () => boolean): VoidUsageResult {
    return voids.voidUsage(this.state, this.answers, input, nowMs, (id) => this.knowsCall(id), expireWithGrant);
  }

  // ---- account changes (see account-changes, account-details) -----------------------------

  /** Replace the account's admins. */
  setAdmins(admins: readonly string[], nowMs: number): SetAdminsResult {
    return details.setAdmins(this.state, admins, nowMs);
  }

  /** Replace the account's tags; a tag making it eligible for an open promotion grants it now. */
  setTags(tags: readonly string[], nowMs: number): SetTagsResult {
    return details.setTags(this.state, tags, nowMs);
  }

  /** Change the number of users; an addition grants the extra included credits at once. */
  setUsers(users: number, nowMs: number): SetUsersResult {
    return changes.setUsers(this.state, users, nowMs);
  }

  /** Change a paid account's plan: up at once, down at the next cycle. */
  changePlan(planIdOrAlias: string, nowMs: number): ChangePlanResult {
    return changes.changePlan(this.state, planIdOrAlias, nowMs);
  }

  /**
   * Convert a trial to a paid plan, priced with `rules`: the trial credits are forfeited and
   * nothing else; a paid cycle anchored at `cycleAnchor` (default now) starts at once, without
   * charging again a tier already paid for the trial's cycle. The answers of the cycles before
   * are kept when `keepAnswers` says so (a workflow's patch, asked only when there are some);
   * its ledger note names its anchor when `recordFacts` says so (the workflow's patch).
   */
  convertTrial(
    planIdOrAlias: string,
    rules: Rules,
    nowMs: number,
    cycleAnchor?: string,
    keepAnswers: () => boolean = () => true,
    recordFacts: () => boolean = () => true,
  ): ChangePlanResult {
    return changes.convertTrial(this.state, this.answers, planIdOrAlias, rules, nowMs, cycleAnchor, this.roundCallPartsOnce, keepAnswers, recordFacts);
  }

  /**
   * The rules a conversion to `planIdOrAlias` is priced with: `current` (the version in force),
   * unless it lacks that plan, or the tier the trial holds (asked of `keepTier`, a workflow's
   * patch, only then): then the account's own, as a reset keeps them.
   */
  conversionRules(current: Rules, planIdOrAlias: string, keepTier: () => boolean = () => true): Rules {
    if (resolvePlan(current, planIdOrAlias) === undefined) return this.state.rules;
    return !rulesHoldTier(current, this.state) && keepTier() ? this.state.rules : current;
  }

  /** The conversion of histories recorded before the paid grants were kept (replay only). */
  convertTrialLegacy(planIdOrAlias: string, rules: Rules, nowMs: number): ChangePlanResult {
    return changes.convertTrialLegacy(this.state, this.answers, planIdOrAlias, rules, nowMs);
  }

  /** What {@link changeCreditTier} would answer now, changing nothing (see `ChangeCreditTierInput.expect`). */
  tierChangeOutcome(tierId: string | null): Pick<ChangeCreditTierResult, 'effective' | 'chargedCents' | 'creditsGranted'> {
    return changes.tierChangeOutcome(this.state, tierId);
  }

  /**
   * Buy, upgrade, downgrade or cancel the AI Credit Subscription tier. A tier bought ends a
   * converted trial's paid-through period when `endPaidThrough` says so (a workflow's patch,
   * asked only when that period runs past this cycle).
   */
  changeCreditTier(tierId: string | null, nowMs: number, endPaidThrough: () => boolean = () => true): ChangeCreditTierResult {
    return changes.changeCreditTier(this.state, tierId, nowMs, endPaidThrough);
  }

  /** Switch a toggleable feature on or off (validated as toggleable by the caller). */
  setFeatureEnabled(featureId: string, enabled: boolean, nowMs: number): { feature: string; enabled: boolean } {
    return changes.setFeatureEnabled(this.state, featureId, enabled, nowMs);
  }

  /** Activate or deactivate a Voice Agent; calls of an inactive agent are not authorized. */
  setVoiceAgentActive(agentId: string, active: boolean, nowMs: number): { agentId: string; active: boolean } {
    return changes.setVoiceAgentActive(this.state, agentId, active, nowMs);
  }

  /** A manual grant by billing ops, once per idempotency key. */
  grantCredits(input: GrantCreditsInput, nowMs: number, mayRecallLiveGrant: () => boolean = () => true): GrantCreditsResult {
    return changes.grantCredits(this.state, this.answers, input, nowMs, mayRecallLiveGrant);
  }

  // ---- time (see cycle-rollover) ----------------------------------------------------------

  /**
   * Expire grants whose end has come (mid-cycle expiries: a trial's credits after its length, a
   * promotion after re-anchoring), then queue the alert now due when `alertAfter` says so (a
   * workflow's patch; asked only when something expired): the credits that ran out with the
   * grant pause features as surely as credits used up do.
   */
  expireGrants(nowMs: number, alertAfter: () => boolean = () => true): void {
    if (rollover.expireGrants(this.state, nowMs) > 0 && alertAfter()) outbox.queueDueAlerts(this.state, nowMs);
  }

  /** The account's balance now, for {@link afterCommand}. */
  availableNow(): number {
    return available(this.state);
  }

  /**
   * After a command: a warning already sent is armed again when the command added credits and
   * took the account out of the warning (see `rearmWarningAfterCredits`).
   */
  afterCommand(availableBefore: number, nowMs: number, followBalance: () => boolean = () => true): void {
    outbox.rearmWarningAfterCredits(this.state, availableBefore, nowMs, followBalance);
  }

  /**
   * Whether a grant's end has come by `nowMs` and it is still in the pool: its credits must not
   * be spent, so {@link expireGrants} is due before any command at `nowMs`.
   */
  hasExpiredGrants(nowMs: number): boolean {
    const soonest = nextExpiryMs(this.state.grants);
    return soonest !== undefined && soonest <= nowMs;
  }

  /**
   * Close the current cycle and open the next one, priced with `rules` (the version in force at
   * its start): calls still open are charged for their part in the closing cycle, grants ending
   * with the cycle expire (their remainder is breakage, recorded), a balance calls left below
   * zero is written off as call overage, pending downgrades apply, and the new cycle's
   * included, tier and promotional grants are made. Then calls charged the longest a call runs
   * are ended (their ends were lost), when `mayEndLostCalls` says so: the workflow's patch
   * check, asked only when there is such a call. Last, an account the reset took from credits
   * to none (a trial's promotion expiring, with no included credits to follow) is told it is
   * exhausted, when `alertAfter` says so (asked only then); an account that entered the reset
   * with none was told already, and is not told again each cycle. `settlePartTier`: the patch
   * check of a tier paid into the new cycle but not through it (see `grantCycleAllocations`).
   */
  startNextCycle(
    rules: Rules,
    mayEndLostCalls: () => boolean = () => true,
    alertAfter: () => boolean = () => true,
    settlePartTier: () => boolean = () => true,
  ): void {
    const resetMs = Date.parse(this.state.cycle.end);
    const hadCredits = available(this.state) > this.state.rules.alerts.exhaustedAtBalance;
    rollover.beginCycle(this.state, this.answers, rules, resetMs, this.roundCallPartsOnce, undefined, settlePartTier);
    const lost = usage.callsRunLongest(this.state, resetMs);
    if (lost.length > 0 && mayEndLostCalls()) usage.endLostCalls(this.state, this.answers, lost, resetMs);
    if (hadCredits && alertStateOf(this.state, resetMs).state === 'exhausted' && alertAfter()) outbox.queueDueAlerts(this.state, resetMs);
  }

  // ---- effects (see outbox) ---------------------------------------------------------------

  /** Up to `max` effects of the outbox's head that are of one kind; they stay queued until acknowledged. */
  peekOutbox(max: number, maxBytes?: number): Effect[] {
    return outbox.peekOutbox(this.state, max, maxBytes);
  }

  /** Drop the first `count` effects once an activity has confirmed them. */
  ackOutbox(count: number): void {
    outbox.ackOutbox(this.state, count);
  }

  /** Set the first `count` effects aside after a non-retryable failure, so the rest can go on. */
  parkOutbox(count: number, error: string, nowMs: number): void {
    outbox.parkOutbox(this.state, count, error, nowMs);
  }

  /**
   * Settle a written ledger batch of the first `count` effects: park the entries the ledger
   * refused for their data, each with its reason, and acknowledge the rest.
   *
   * @returns how many were parked.
   */
  settleLedgerBatch(count: number, refused: readonly RefusedEntry[], nowMs: number): number {
    const parked = refused.length === 0 ? 0 : outbox.parkRefusedEntries(this.state, count, refused, nowMs);
    outbox.ackOutbox(this.state, count - parked);
    return parked;
  }
}
