/**
 * Checks of message input that must hold before anything enters the workflow's history.
 * The workflow's update validators run these and reject with the problem's code as the
 * ApplicationFailure type, so a caller in any language can branch on a stable string.
 */
import type { Rules } from '../ruleset/types';
import type {
  AccountStartInput,
  ChangeCreditTierInput,
  ChangePlanInput,
  EndCallInput,
  GrantCreditsInput,
  RecordUsageInput,
  SetFeatureEnabledInput,
  SetUsersInput,
  SetVoiceAgentActiveInput,
  StartCallInput,
} from './wire-contract';
import { featureById, resolvePlan, resolveTier } from '../ruleset/catalog';
import { isIsoInstant } from '../ruleset/instant';
import { isValidQuantity } from './pricing';

/** Stable codes of malformed input; each is the `type` of the ApplicationFailure that rejects it. */
export const INPUT_PROBLEM_CODES = [
  'InvalidStartInput',
  'InvalidInput',
  'UnknownFeature',
  'UnknownPlan',
  'UnknownTier',
  'InvalidQuantity',
  'MissingIdempotencyKey',
  'UseCallUpdates',
  'FeatureNotToggleable',
  'UnknownCall',
] as const;
/** Stable code of malformed input. */
export type InputProblemCode = (typeof INPUT_PROBLEM_CODES)[number];

/** What is wrong with an input, and where. */
export interface InputProblem {
  code: InputProblemCode;
  message: string;
}

/**
 * What a check may know beyond the input itself; whatever is absent goes unchecked. The client
 * checks with nothing (shape only), an update validator with what the account has loaded so
 * far, and the update handler with the open account.
 */
export interface CheckContext {
  /** The rules in force; without them features, plans and tiers are checked for shape only. */
  rules?: Rules;
  /** Whether the account has seen this call id; without it every call id counts as known. */
  knowsCall?: (callId: string) => boolean;
}

/** A check of one message's input: the problem, or undefined when the input may go on. */
export type InputCheck = (input: unknown, context: CheckContext) => InputProblem | undefined;

/** Whether a value is an `InputProblemCode` (e.g. the type of a failure a client received). */
export function isInputProblemCode(value: unknown): value is InputProblemCode {
  return typeof value === 'string' && (INPUT_PROBLEM_CODES as readonly string[]).includes(value);
}

const ACCOUNT_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Longest idempotency key, call id or agent id accepted; longer ones would bloat history. */
export const MAX_KEY_LENGTH = 200;

function problem(code: InputProblemCode, message: string): InputProblem {
  return { code, message };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isKey(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0 && value.length <= MAX_KEY_LENGTH;
}

function isPositiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function notAnObject(name: string): InputProblem {
  return problem('InvalidInput', `${name} takes one object argument`);
}

/**
 * Shape of the start argument, without the rules (the plan and tier are checked against the
 * rules once they are loaded, by `checkStartAgainstRules`).
 */
export function checkStartShape(input: unknown, nowMs: number): InputProblem | undefined {
  const bad = (message: string) => problem('InvalidStartInput', message);
  if (!isObject(input)) return bad('the start argument must be one object');
  const known = new Set(['accountId', 'plan', 'users', 'trial', 'cycleAnchor', 'creditTier', 'tags', 'admins']);
  const unknown = Object.keys(input).filter((k) => !known.has(k));
  if (unknown.length > 0) return bad(`unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}`);
  if (typeof input.accountId !== 'string' || !ACCOUNT_ID.test(input.accountId)) {
    return bad('accountId must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" or "-"');
  }
  if (typeof input.plan !== 'string' || input.plan.trim() === '') return bad('plan must be a plan id or alias');
  if (!isPositiveInt(input.users)) return bad('users must be an integer of at least 1');
  if (input.trial !== undefined && typeof input.trial !== 'boolean') return bad('trial must be true or false');
  if (!isIsoInstant(input.cycleAnchor)) {
    return bad('cycleAnchor must be an ISO-8601 UTC instant such as 2026-06-03T00:00:00Z');
  }
  if (Date.parse(input.cycleAnchor) > nowMs) {
    return bad(`cycleAnchor ${input.cycleAnchor} is in the future (now is ${new Date(nowMs).toISOString()})`);
  }
  if (input.creditTier !== undefined && input.creditTier !== null && typeof input.creditTier !== 'string') {
    return bad('creditTier must be a tier id such as "tier-3", or null');
  }
  if (input.tags !== undefined && (!Array.isArray(input.tags) || !input.tags.every((t) => typeof t === 'string' && t.length > 0 && t.length <= 100))) {
    return bad('tags must be a list of non-empty strings');
  }
  if (
    input.admins !== undefined &&
    (!Array.isArray(input.admins) || !input.admins.every((a) => typeof a === 'string' && /^[^\s@]+@[^\s@]+$/.test(a)))
  ) {
    return bad('admins must be a list of e-mail addresses');
  }
  return undefined;
}

/** The plan and tier of a start argument, against the rules in force. */
export function checkStartAgainstRules(input: AccountStartInput, rules: Rules): InputProblem | undefined {
  if (!resolvePlan(rules, input.plan)) {
    return problem('InvalidStartInput', `unknown plan "${input.plan}" (known: ${rules.plans.map((p) => p.id).join(', ')})`);
  }
  if (input.creditTier != null && !resolveTier(rules, input.creditTier)) {
    return problem('InvalidStartInput', `unknown credit tier "${input.creditTier}" (known: ${rules.tiers[0]?.id ?? ''}..${rules.tiers[rules.tiers.length - 1]?.id ?? ''})`);
  }
  return undefined;
}

/** `recordUsage` input. */
export function checkRecordUsage(input: unknown, { rules }: CheckContext): InputProblem | undefined {
  if (!isObject(input)) return notAnObject('recordUsage');
  const { feature, quantity, idempotencyKey, userId } = input as Partial<RecordUsageInput>;
  if (typeof feature !== 'string') return problem('UnknownFeature', 'feature must be a feature id');
  if (rules) {
    const rule = featureById(rules, feature);
    if (!rule) {
      return problem('UnknownFeature', `unknown feature "${feature}" (known: ${rules.features.map((f) => f.id).join(', ')})`);
    }
    if (rule.perCall) return problem('UseCallUpdates', `${feature} usage is reported through startCall and endCall`);
  }
  if (!isValidQuantity(quantity)) {
    return problem('InvalidQuantity', `quantity must be a positive finite number with at most 6 decimals, got ${String(quantity)}`);
  }
  if (!isKey(idempotencyKey)) return problem('MissingIdempotencyKey', `idempotencyKey must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
  if (userId !== undefined && !isKey(userId)) return problem('InvalidInput', 'userId must be a non-empty string when given');
  return undefined;
}

/** `startCall` input. */
export function checkStartCall(input: unknown): InputProblem | undefined {
  if (!isObject(input)) return notAnObject('startCall');
  const { callId, agentId } = input as Partial<StartCallInput>;
  if (!isKey(callId)) return problem('InvalidInput', 'callId must be a non-empty string');
  if (!isKey(agentId)) return problem('InvalidInput', 'agentId must be a non-empty string');
  return undefined;
}

/** `endCall` input; the context's `knowsCall` says whether the account has ever seen this call id. */
export function checkEndCall(input: unknown, { knowsCall }: CheckContext): InputProblem | undefined {
  if (!isObject(input)) return notAnObject('endCall');
  const { callId, minutes } = input as Partial<EndCallInput>;
  if (!isKey(callId)) return problem('InvalidInput', 'callId must be a non-empty string');
  if (!isValidQuantity(minutes)) return problem('InvalidQuantity', `minutes must be a positive finite number, got ${String(minutes)}`);
  if (knowsCall && !knowsCall(callId)) return problem('UnknownCall', `no call "${callId}" was started on this account`);
  return undefined;
}

/** `setUsers` input. */
export function checkSetUsers(input: unknown): InputProblem | undefined {
  if (!isObject(input)) return notAnObject('setUsers');
  if (!isPositiveInt((input as Partial<SetUsersInput>).users)) return problem('InvalidInput', 'users must be an integer of at least 1');
  return undefined;
}

/** `changePlan` input. */
export function checkChangePlan(input: unknown, { rules }: CheckContext): InputProblem | undefined {
  if (!isObject(input)) return notAnObject('changePlan');
  const { plan } = input as Partial<ChangePlanInput>;
  if (typeof plan !== 'string' || (rules && !resolvePlan(rules, plan))) {
    return problem('UnknownPlan', `unknown plan "${String(plan)}" (known: ${rules?.plans.map((p) => p.id).join(', ') ?? ''})`);
  }
  return undefined;
}

/** `changeCreditTier` input. */
export function checkChangeCreditTier(input: unknown, { rules }: CheckContext): InputProblem | undefined {
  if (!isObject(input) || !('tier' in input)) return problem('InvalidInput', 'changeCreditTier takes {tier}: a tier id or null');
  const { tier } = input as Partial<ChangeCreditTierInput>;
  if (tier === null) return undefined;
  if (typeof tier !== 'string' || (rules && !resolveTier(rules, tier))) {
    return problem('UnknownTier', `unknown credit tier "${String(tier)}"`);
  }
  return undefined;
}

/** `setFeatureEnabled` input: only toggleable features. */
export function checkSetFeatureEnabled(input: unknown, { rules }: CheckContext): InputProblem | undefined {
  if (!isObject(input)) return notAnObject('setFeatureEnabled');
  const { feature, enabled } = input as Partial<SetFeatureEnabledInput>;
  if (typeof enabled !== 'boolean') return problem('InvalidInput', 'enabled must be true or false');
  if (typeof feature !== 'string') return problem('UnknownFeature', 'feature must be a feature id');
  if (!rules) return undefined;
  const rule = featureById(rules, feature);
  if (!rule) return problem('UnknownFeature', `unknown feature "${feature}"`);
  if (!rule.toggleable) {
    const toggleable = rules.features.filter((f) => f.toggleable).map((f) => f.id);
    return problem('FeatureNotToggleable', `${rule.id} cannot be switched on or off (toggleable: ${toggleable.join(', ')})`);
  }
  return undefined;
}

/** `setVoiceAgentActive` input. */
export function checkSetVoiceAgentActive(input: unknown): InputProblem | undefined {
  if (!isObject(input)) return notAnObject('setVoiceAgentActive');
  const { agentId, active } = input as Partial<SetVoiceAgentActiveInput>;
  if (!isKey(agentId)) return problem('InvalidInput', 'agentId must be a non-empty string');
  if (typeof active !== 'boolean') return problem('InvalidInput', 'active must be true or false');
  return undefined;
}

/** `grantCredits` input. */
export function checkGrantCredits(input: unknown): InputProblem | undefined {
  if (!isObject(input)) return notAnObject('grantCredits');
  const { credits, reason, validForCycles, idempotencyKey } = input as Partial<GrantCreditsInput>;
  if (!isPositiveInt(credits)) return problem('InvalidInput', 'credits must be a whole number of at least 1');
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
    return problem('InvalidInput', 'reason must be a non-empty text of at most 500 characters');
  }
  if (!isPositiveInt(validForCycles) || validForCycles > 120) return problem('InvalidInput', 'validForCycles must be a whole number from 1 to 120');
  if (!isKey(idempotencyKey)) return problem('MissingIdempotencyKey', 'idempotencyKey must be a non-empty string');
  return undefined;
}
