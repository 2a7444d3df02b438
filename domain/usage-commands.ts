/**
 * The commands that spend credits: feature usage, and Voice Agent calls (authorized at their
 * start, charged at their end). Each is answered once per idempotency key or call id.
 */
import type { FeatureRule } from '../ruleset/types';
import type { CallRejection, EndCallResult, RecordUsageInput, RecordUsageResult, StartCallResult, UsageRejection } from './wire-contract';
import type { GrantDebit } from './effects';
import { featureById, planIncludes } from '../ruleset/catalog';
import { creditsForQuantity, fromMicros, toMicros } from './pricing';
import { AccountStateError, available, currentPlan, iso, type AccountState } from './account-state';
import { asDuplicate, type AnswerWindow } from './answers';
import { logEntry, queueDueAlerts } from './outbox';
import { debit } from './credit-pool';
import { ACCOUNT_LIMITS, MAX_SPILLED_BACKLOG } from './state-budget';
import { ownValue, setOwn } from './own-keys';
import { rememberVoidable } from './usage-voids';

/**
 * Admit or refuse usage of a feature. Free features are admitted on plans that include them
 * (even at zero balance), telephony-billed ones are admitted at no credit cost, and a
 * credit-based one is admitted while the balance is above the exhaustion line and charged
 * its full rounded cost, which may take the balance below zero. A repeated key gets the
 * first answer, flagged as a duplicate.
 */
export function recordUsage(state: AccountState, answers: AnswerWindow, input: RecordUsageInput, nowMs: number): RecordUsageResult {
  return answers.once(
    `usage:${input.idempotencyKey}`,
    (): RecordUsageResult => {
      const feature = featureById(state.rules, input.feature);
      if (!feature) throw new AccountStateError(`unknown feature ${input.feature}`);
      const micros = toMicros(input.quantity);
      const credits = feature.cost ? creditsForQuantity(feature.cost, input.quantity) : 0;
      const refusal = refusalOf(state, feature.id);
      const common = {
        feature: feature.id,
        quantity: fromMicros(micros),
        unit: feature.cost?.unit,
        userId: input.userId,
        idempotencyKey: input.idempotencyKey,
      };
      if (refusal) {
        countUsage(state, feature.id, 0, 0, false);
        const result: RecordUsageResult = { accepted: false, reason: refusal, credits: 0, balance: available(state), duplicate: false };
        logEntry(state, nowMs, 'usage', 0, { ...common, decision: 'rejected', reason: refusal });
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
  );
}

/**
 * Authorize a Voice Agent call: only while credits remain and the agent is active. An
 * authorized call always completes and is charged in full at `endCall`. A repeated call id
 * gets the first answer.
 */
export function startCall(state: AccountState, answers: AnswerWindow, input: { callId: string; agentId: string }, nowMs: number): StartCallResult {
  return answers.once(`start:${input.callId}`, () => {
    const feature = state.rules.features.find((f) => f.perCall);
    let reason: CallRejection | undefined = feature ? refusalOf(state, feature.id) : 'not_in_plan';
    if (!reason && state.inactiveAgents.includes(input.agentId)) reason = 'agent_inactive';
    if (!reason && Object.keys(state.openCalls).length >= ACCOUNT_LIMITS.openCalls) reason = 'too_many_open_calls';
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
 * End a call and charge it in full (calls in progress always complete, even past zero).
 * Its minutes are also counted as telephony minutes, billed apart from credits. Ending a
 * call that was never authorized charges nothing. A repeated call id gets the first answer.
 */
export function endCall(state: AccountState, answers: AnswerWindow, input: { callId: string; minutes: number }, nowMs: number): EndCallResult {
  return answers.once(`end:${input.callId}`, (): EndCallResult => {
    const call = ownValue(state.openCalls, input.callId);
    const feature = state.rules.features.find((f) => f.perCall);
    let credits = 0;
    if (call && feature) {
      delete state.openCalls[input.callId];
      const micros = toMicros(input.minutes);
      credits = feature.cost ? creditsForQuantity(feature.cost, input.minutes) : 0;
      const debits = consume(state, feature, micros, credits);
      logEntry(state, nowMs, 'call_end', credits, {
        feature: feature.id,
        quantity: fromMicros(micros),
        unit: feature.cost?.unit,
        callId: input.callId,
        agentId: call.agentId,
        decision: 'accepted',
        debits: debits.length ? debits : undefined,
      });
      queueDueAlerts(state, nowMs);
    }
    return { credits, balance: available(state) };
  });
}

/** Why usage of a feature would be refused now, or undefined when it would be admitted. */
function refusalOf(state: AccountState, featureId: string): UsageRejection | undefined {
  const feature = featureById(state.rules, featureId);
  if (!feature) return 'not_in_plan';
  if (!planIncludes(state.rules, currentPlan(state), feature)) return 'not_in_plan';
  if (feature.billing !== 'credits') return undefined;
  if (state.disabledFeatures.includes(feature.id)) return 'feature_disabled';
  if (available(state) <= state.rules.alerts.exhaustedAtBalance) return 'credits_exhausted';
  if ((state.spilledBacklog ?? 0) >= MAX_SPILLED_BACKLOG) return 'ledger_backlog';
  return undefined;
}

/** Admitted usage: debit its credits, count it, and add telephony-billed minutes to the cycle's. */
function consume(state: AccountState, feature: FeatureRule, micros: number, credits: number): GrantDebit[] {
  const debits = debit(state, credits);
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
