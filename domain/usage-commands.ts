/**
 * The commands that spend credits: feature usage, and Voice Agent calls (authorized at their
 * start, charged at their end). Each is answered once per idempotency key or call id.
 */
import type { FeatureRule } from '../ruleset/types';
import {
  CALL_TOLERANCE_MINUTES,
  type CallRejection,
  type EndCallResult,
  type RecordUsageBatchAnswer,
  type RecordUsageInput,
  type RecordUsageResult,
  type StartCallResult,
  type UsageRejection,
} from './wire-contract';
import type { GrantDebit } from './effects';
import { accountIncludes, featureById } from '../ruleset/catalog';
import { creditsForMicros, fromMicros, toMicros } from './pricing';
import { AccountStateError, available, currentPlan, type AccountState, type OpenCall } from './account-state';
import { iso } from './calendar';
import { asDuplicate, usageUse, type AnswerWindow } from './answers';
import { logEntry, queueDueAlerts } from './outbox';
import { debit } from './credit-pool';
import { ACCOUNT_LIMITS, MAX_SPILLED_BACKLOG } from './state-budget';
import { ownValue, setOwn } from './own-keys';
import { MAX_CALL_MINUTES, checkRecordUsage } from './input-problems';
import { rememberVoidable } from './usage-voids';
import { cycleNumber } from '../display/cycle-number';

/**
 * Admit or refuse usage of a feature. Free features are admitted on plans that include them
 * (even at zero balance), telephony-billed ones are admitted at no credit cost, and a
 * credit-based one only when the balance is above the exhaustion line (`credits_exhausted`)
 * and covers its whole rounded cost (`insufficient_credits` otherwise, with the cost): usage
 * never takes the balance below zero, only a call in progress can. A repeated key gets the
 * first answer, flagged as a duplicate.
 */
export function recordUsage(state: AccountState, answers: AnswerWindow, input: RecordUsageInput, nowMs: number): RecordUsageResult {
  return answers.once(
    `usage:${input.idempotencyKey}`,
    (): RecordUsageResult => {
      const feature = featureById(state.rules, input.feature);
      if (!feature) throw new AccountStateError(`unknown feature ${input.feature}`);
      const micros = toMicros(input.quantity);
      const credits = feature.cost ? creditsForMicros(feature.cost, micros) : 0;
      const balance = available(state);
      const refusal = refusalOf(state, feature.id) ?? (credits > balance ? 'insufficient_credits' : undefined);
      const common = {
        feature: feature.id,
        quantity: fromMicros(micros),
        unit: feature.cost?.unit,
        userId: input.userId,
        idempotencyKey: input.idempotencyKey,
      };
      if (refusal) {
        countUsage(state, feature.id, 0, 0, false);
        const short = refusal === 'insufficient_credits';
        const result: RecordUsageResult = short
          ? { accepted: false, reason: refusal, credits: 0, cost: credits, balance, duplicate: false }
          : { accepted: false, reason: refusal, credits: 0, balance, duplicate: false };
        logEntry(state, nowMs, 'usage', 0, { ...common, decision: 'rejected', reason: refusal, note: short ? `costs ${credits} credits; ${balance} available` : undefined });
        return result;
      }
      const debits = consume(state, feature, micros, credits);
      rememberVoidable(state, input.idempotencyKey, feature.id, micros, credits, debits);
      const result: RecordUsageResult = { accepted: true, credits, balance: available(state), duplicate: false };
      logEntry(state, nowMs, 'usage', credits, { ...common, decision: 'accepted', debits: debits.length ? debits : undefined });
      if (credits > 0) queueDueAlerts(state, nowMs);
      return result;
    },
    asDuplicate,
    usageUse(state, input, nowMs),
  );
}

/**
 * Answer usage events in order, each exactly as {@link recordUsage} answers it (so a key
 * repeated inside the batch or from an earlier one is a duplicate, and a refusal does not stop
 * the events after it). An event the account's rules refuse as input (the check `recordUsage`
 * runs in its validator) gets its own `invalid_event` answer and changes nothing: a batch
 * holds many callers' events, and one caller's unknown feature must not fail the others.
 */
export function recordUsageBatch(state: AccountState, answers: AnswerWindow, events: readonly RecordUsageInput[], nowMs: number): RecordUsageBatchAnswer[] {
  return events.map((event): RecordUsageBatchAnswer => {
    const problem = checkRecordUsage(event, { rules: state.rules });
    if (!problem) return recordUsage(state, answers, event, nowMs);
    return { accepted: false, reason: 'invalid_event', code: problem.code, message: problem.message, credits: 0, balance: available(state), duplicate: false };
  });
}

/**
 * Authorize a Voice Agent call: only while credits remain, the agent is active and the account
 * has an open-call place ({@link ACCOUNT_LIMITS}). An authorized call always completes and is
 * charged at `endCall` (and at each reset it runs across, for its part in the cycle ending) for
 * the time it ran. When the places are full, the calls that have run the longest a call runs
 * are ended before the call is judged (their ends were lost), when `mayEndLostCalls` says so:
 * the workflow's patch check, asked only when there is such a call. A repeated call id gets the
 * first answer, and a start of a call that is open (its answer forgotten) finds it authorized
 * as it is, when `keepOpenCall` says so (the workflow's patch check, asked only then).
 */
export function startCall(
  state: AccountState,
  answers: AnswerWindow,
  input: { callId: string; agentId: string },
  nowMs: number,
  mayEndLostCalls: () => boolean = () => true,
  roundOnce: () => boolean = () => true,
  keepOpenCall: () => boolean = () => true,
): StartCallResult {
  return answers.once(`start:${input.callId}`, () => {
    // A start repeated after its answer left the window (trimmed to the carried-state budget)
    // finds its call open: judged again, it would open the call afresh and forget the minutes
    // its resets charged, so the call's end would charge them again.
    if (ownValue(state.openCalls, input.callId) && keepOpenCall()) return { authorized: true, balance: available(state) };
    const feature = perCallFeature(state);
    // Before the call is judged: what the lost calls are charged may leave no credits for it.
    if (feature && openCallsFull(state)) {
      const lost = callsRunLongest(state, nowMs);
      if (lost.length > 0 && mayEndLostCalls()) endCallsRunLongest(state, answers, lost, nowMs, roundOnce);
    }
    let reason: CallRejection | undefined = feature ? refusalOf(state, feature.id) : 'not_in_plan';
    if (!reason && state.inactiveAgents.includes(input.agentId)) reason = 'agent_inactive';
    if (!reason && openCallsFull(state)) reason = 'too_many_open_calls';
    const result: StartCallResult = reason
      ? { authorized: false, reason, balance: available(state) }
      : { authorized: true, balance: available(state) };
    if (result.authorized) setOwn(state.openCalls, input.callId, { agentId: input.agentId, startedAt: iso(nowMs) });
    else if (feature) countUsage(state, feature.id, 0, 0, false);
    logEntry(state, nowMs, 'call_start', 0, {
      feature: feature?.id,
      callId: input.callId,
      agentId: input.agentId,
      decision: result.authorized ? 'accepted' : 'rejected',
      reason,
    });
    return result;
  });
}

/**
 * End a call and charge the current cycle for its part (calls in progress always complete,
 * even past zero). The minutes reported are bounded by the time the call ran: the current
 * cycle pays for the minutes reported beyond those earlier cycles were charged at their
 * resets, at most the workflow time since the call's start (or its last reset) plus
 * {@link CALL_TOLERANCE_MINUTES}; more is capped, and the answer says so. Its minutes are also
 * counted as telephony minutes, billed apart from credits. Ending a call that was never
 * authorized charges nothing. A repeated call id gets the first answer.
 */
export function endCall(
  state: AccountState,
  answers: AnswerWindow,
  input: { callId: string; minutes: number },
  nowMs: number,
  note?: string,
  roundOnce: () => boolean = () => true,
): EndCallResult {
  return answers.once(`end:${input.callId}`, (): EndCallResult => {
    const call = ownValue(state.openCalls, input.callId);
    const feature = perCallFeature(state);
    if (!call || !feature) return { credits: 0, balance: available(state), minutesCharged: 0, capped: false };
    delete state.openCalls[input.callId];
    const before = call.chargedMicros ?? 0;
    // What the earlier cycles were charged stands: a call reported shorter than that (its end
    // reached us after a reset it did not run across) costs the current cycle nothing.
    const claimed = Math.max(0, toMicros(input.minutes) - before);
    const bound = elapsedMicros(Date.parse(call.partFrom ?? call.startedAt), nowMs) + CALL_TOLERANCE_MICROS;
    const micros = Math.min(claimed, bound);
    const capped = claimed > bound;
    const credits = chargePart(state, feature, input.callId, call, micros, nowMs, 'call_end', capped ? `${input.minutes} minutes reported; capped at the time the call ran plus ${CALL_TOLERANCE_MINUTES} minute` : note, before, roundOnce);
    queueDueAlerts(state, nowMs);
    return { credits, balance: available(state), minutesCharged: fromMicros(before + micros), capped };
  });
}

/**
 * At a reset (`resetMs`, before the closing cycle's grants expire and while its rules still
 * apply), charge every open call for its part in the closing cycle: the time from its start
 * (or its last reset) to the reset, as though it were still running (its end has not been
 * reported), up to {@link MAX_CALL_MINUTES} in all, since no call is longer. Each part is a
 * `call_part` ledger entry of the closing cycle, paid from that cycle's credits (past zero if
 * need be), and its minutes count as that cycle's telephony minutes. The call stays open; its
 * record remembers the minutes charged and the new part's start, so `endCall` charges the new
 * cycle only for the minutes after the reset.
 */
export function chargeOpenCallsAtReset(state: AccountState, resetMs: number, roundOnce: () => boolean = () => true): void {
  const feature = perCallFeature(state);
  if (!feature) return;
  for (const [callId, call] of Object.entries(state.openCalls)) {
    const fromMs = Date.parse(call.partFrom ?? call.startedAt);
    // A call started once the cycle had ended (while the workflow was loading the next
    // cycle's rules) ran nothing in the closing cycle.
    if (fromMs >= resetMs) continue;
    const before = call.chargedMicros ?? 0;
    const micros = Math.min(elapsedMicros(fromMs, resetMs), toMicros(MAX_CALL_MINUTES) - before);
    call.partFrom = iso(resetMs);
    if (micros <= 0) continue;
    call.chargedMicros = before + micros;
    chargePart(state, feature, callId, call, micros, resetMs, 'call_part', `part of the call in cycle ${cycleNumber(state.cycle.index)}, which ends at ${iso(resetMs)}`, before, roundOnce);
  }
}

/**
 * End, just after a reset (`resetMs`, in the new cycle), the calls `callIds` names (those of
 * {@link callsRunLongest} at the reset, once its parts are charged), each as though its end were
 * reported then with the minutes already charged. Such a call's end was lost (a caller that
 * gave up, a crash), and left open it would hold one of the account's {@link ACCOUNT_LIMITS}
 * open-call places for good. No credit moves: the new cycle pays nothing, and its `call_end` entry of
 * zero minutes counts the call as ended there, as an `endCall` at the reset would. A late
 * `endCall` gets this answer back while the window remembers it.
 */
export function endLostCalls(state: AccountState, answers: AnswerWindow, callIds: readonly string[], resetMs: number): void {
  for (const callId of callIds) {
    const minutes = fromMicros(ownValue(state.openCalls, callId)?.chargedMicros ?? 0);
    endCall(state, answers, { callId, minutes }, resetMs, `ended at the reset: open for ${MAX_CALL_MINUTES} minutes, the longest a call runs, all charged; its end was never reported`);
    // A call opened under an id whose end was already answered (before startCall refused such
    // an id) keeps that answer and stays open: close it all the same.
    delete state.openCalls[callId];
  }
}

/** Whether the account holds as many open calls as {@link ACCOUNT_LIMITS} allows. */
function openCallsFull(state: AccountState): boolean {
  return Object.keys(state.openCalls).length >= ACCOUNT_LIMITS.openCalls;
}

/**
 * The open calls that have run, at `nowMs`, the longest a call runs ({@link MAX_CALL_MINUTES}):
 * the minutes earlier cycles were charged for plus the time since their part's start. No call
 * is that long, so their ends were lost. At a reset, once {@link chargeOpenCallsAtReset} has
 * run, these are the calls its parts charged that much.
 */
export function callsRunLongest(state: AccountState, nowMs: number): string[] {
  const longest = toMicros(MAX_CALL_MINUTES);
  return Object.entries(state.openCalls)
    .filter(([, call]) => (call.chargedMicros ?? 0) + elapsedMicros(Date.parse(call.partFrom ?? call.startedAt), nowMs) >= longest)
    .map(([callId]) => callId);
}

/**
 * End, at `nowMs`, the calls `callIds` names (those of {@link callsRunLongest}), each as though
 * its end were reported then with the longest a call runs: the current cycle pays for the part
 * of those {@link MAX_CALL_MINUTES} that earlier cycles were not charged, as the next reset
 * would have charged it, and no more. Only a full open-call table asks for this: lost calls
 * (a caller that gave up, a crash) would otherwise lock Voice Agents out until the reset. A
 * late `endCall` gets this answer back while the window remembers it.
 */
function endCallsRunLongest(state: AccountState, answers: AnswerWindow, callIds: readonly string[], nowMs: number, roundOnce: () => boolean): void {
  for (const callId of callIds) {
    endCall(
      state,
      answers,
      { callId, minutes: MAX_CALL_MINUTES },
      nowMs,
      `ended when the account's ${ACCOUNT_LIMITS.openCalls} open-call places were full: open for ${MAX_CALL_MINUTES} minutes, the longest a call runs, all charged; its end was never reported`,
      roundOnce,
    );
    // As at the reset: a call opened under an id whose end was already answered keeps that
    // answer; close it all the same.
    delete state.openCalls[callId];
  }
}

/**
 * Clock-skew allowance of `endCall` in micro-units of a minute ({@link CALL_TOLERANCE_MINUTES}).
 */
const CALL_TOLERANCE_MICROS = toMicros(CALL_TOLERANCE_MINUTES);

/** Whole micro-units of a minute from `fromMs` to `toMs` (none when `toMs` is not later). */
function elapsedMicros(fromMs: number, toMs: number): number {
  // A minute is 60,000 ms and 1,000,000 micro-units: 50/3 micro-units a millisecond.
  return toMs > fromMs ? Math.floor(((toMs - fromMs) * 50) / 3) : 0;
}

/** The rules' per-call (Voice Agent) feature, if they have one. */
function perCallFeature(state: AccountState): FeatureRule | undefined {
  return state.rules.features.find((f) => f.perCall);
}

/**
 * Charge one part of a call to the current cycle, by the rules of the cycle it falls in, and
 * log its ledger entry. `before` is what earlier parts were charged, in micro-units of a minute.
 * The call is rounded once, as a whole: a part costs what the call's minutes so far cost, less
 * what the minutes before it cost at the same rate, so a one-minute call crossing a reset costs
 * what it would have cost without it (rounded up part by part, it cost a credit more per reset).
 * `roundOnce` says whether to (the workflow's patch check, asked only for a part after another);
 * false rounds each part on its own, as calls were charged before.
 */
function chargePart(
  state: AccountState,
  feature: FeatureRule,
  callId: string,
  call: OpenCall,
  micros: number,
  nowMs: number,
  kind: 'call_part' | 'call_end',
  note: string | undefined,
  before: number,
  roundOnce: () => boolean,
): number {
  const cost = feature.cost;
  const credits = !cost ? 0 : before > 0 && micros > 0 && roundOnce() ? creditsForMicros(cost, before + micros) - creditsForMicros(cost, before) : creditsForMicros(cost, micros);
  const debits = consume(state, feature, micros, credits);
  logEntry(state, nowMs, kind, credits, {
    feature: feature.id,
    quantity: fromMicros(micros),
    unit: feature.cost?.unit,
    callId,
    agentId: call.agentId,
    decision: 'accepted',
    debits: debits.length ? debits : undefined,
    note,
  });
  return credits;
}

/** Why usage of a feature would be refused now whatever its cost, or undefined when it may go on. */
function refusalOf(state: AccountState, featureId: string): Exclude<UsageRejection, 'insufficient_credits'> | undefined {
  const feature = featureById(state.rules, featureId);
  if (!feature) return 'not_in_plan';
  if (!accountIncludes(state.rules, currentPlan(state), state.trial, feature)) return 'not_in_plan';
  if (feature.billing !== 'credits') return undefined;
  if (state.disabledFeatures.includes(feature.id)) return 'feature_disabled';
  if (available(state) <= state.rules.alerts.exhaustedAtBalance) return 'credits_exhausted';
  if ((state.spilledBacklog ?? 0) >= MAX_SPILLED_BACKLOG) return 'ledger_backlog';
  return undefined;
}

/**
 * Admitted usage: debit its credits (past zero only for the per-call feature: a call in
 * progress always completes), count it, and add telephony-billed minutes to the cycle's.
 */
function consume(state: AccountState, feature: FeatureRule, micros: number, credits: number): GrantDebit[] {
  const debits = debit(state, credits, feature.perCall);
  countUsage(state, feature.id, micros, credits, true);
  if (feature.telephonyMinutes) state.telephonyMicros += micros;
  return debits;
}

function countUsage(state: AccountState, feature: string, micros: number, credits: number, accepted: boolean): void {
  let u = ownValue(state.usage, feature);
  if (!u) {
    u = { micros: 0, credits: 0, count: 0, rejected: 0 };
    setOwn(state.usage, feature, u);
  }
  u.micros += micros;
  u.credits += credits;
  if (accepted) u.count += 1;
  else u.rejected += 1;
}
