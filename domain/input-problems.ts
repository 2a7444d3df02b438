/**
 * Checks of message input that must hold before anything enters the workflow's history.
 * The workflow's update validators run these and reject with the problem's code as the
 * ApplicationFailure type, so a caller in any language can branch on a stable string.
 */
import type { Rules } from '../ruleset/types';
import type {
  AccountStartInput,
  ChangeCreditTierInput,
  ChangeCreditTierResult,
  ChangePlanInput,
  EndCallInput,
  GrantCreditsInput,
  RecordUsageBatchInput,
  RecordUsageInput,
  SetAdminsInput,
  SetFeatureEnabledInput,
  SetTagsInput,
  SetUsersInput,
  SetVoiceAgentActiveInput,
  StartCallInput,
  VoidUsageInput,
} from './wire-contract';
import { featureById, resolvePlan, resolveTier } from '../ruleset/catalog';
import { isIsoInstant } from '../ruleset/instant';
import { creditsForQuantity, isValidQuantity } from './pricing';
import { formatCount } from '../display/numbers';
import { emailProblem, idProblem, listProblem, MAX_NAME_LENGTH, plainEmailProblem, MAX_REASON_LENGTH, MAX_TAG_LENGTH, quote, textProblem, unknownFieldsProblem } from './input-text';

// Bound once: in the workflow sandbox each lookup of a global costs about 0.3 µs (see
// domain/digest.ts), and each usage event is checked three times (validator, handler, rules).
const { isArray } = Array;
const { isSafeInteger } = Number;

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
  'TierChangeDiffers',
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
  /** Whether this call id names a call that has ended; without it no start is refused for it. */
  callEnded?: (callId: string) => boolean;
  /** The account's clock (workflow time); without it no instant is checked against now. */
  nowMs?: number;
  /**
   * When the account's trial started, or null for a paid account; without it a conversion's
   * `cycleAnchor` is checked for shape only.
   */
  trialStartedAt?: string | null;
  /**
   * What a tier change would answer now, on the open account (throws for an unknown tier);
   * without it a `changeCreditTier` expectation is checked for shape only.
   */
  tierChange?: (tier: string | null) => Pick<ChangeCreditTierResult, 'effective' | 'chargedCents' | 'creditsGranted'>;
}

/** A check of one message's input: the problem, or undefined when the input may go on. */
export type InputCheck = (input: unknown, context: CheckContext) => InputProblem | undefined;

/** Whether a value is an `InputProblemCode` (e.g. the type of a failure a client received). */
export function isInputProblemCode(value: unknown): value is InputProblemCode {
  return typeof value === 'string' && (INPUT_PROBLEM_CODES as readonly string[]).includes(value);
}

const ACCOUNT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** What is wrong with an account id, or undefined when it is one: 1-64 characters of `[A-Za-z0-9._-]`. */
export function accountIdProblem(value: unknown): string | undefined {
  if (typeof value === 'string' && ACCOUNT_ID.test(value)) return undefined;
  return `accountId must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" or "-" (got ${quote(value)})`;
}

// Upper bounds of the numbers a caller sends. With them, no single command moves a balance or
// writes a ledger amount of more than about ten million credits (a grant; a usage at most
// MAX_USAGE_CREDITS, whatever its quantity and the rules' cost; a call at most a day of
// minutes), so a cycle would need hundreds of millions of commands before any balance neared 2^53.
/** Most credits one manual grant may give. */
export const MAX_GRANT_CREDITS = 10_000_000;
/** Largest quantity one usage may report. */
export const MAX_USAGE_QUANTITY = 1_000_000;
/**
 * Most credits one usage may cost at the rules in force; a costlier one is refused as
 * `InvalidQuantity` (a typo, not a business event). Checked once the rules are known.
 */
export const MAX_USAGE_CREDITS = 10_000_000;
/** Longest call `endCall` may report, in minutes: a day. */
export const MAX_CALL_MINUTES = 1_440;
/**
 * Most events one `recordUsageBatch` may carry. An event's JSON is at most about 560 bytes
 * (a 100-character feature, two 200-character ids, a number), so a full batch stays near
 * 280 KiB, and its answers near 100 KiB: far under Temporal's 2 MiB payload limit, and a few
 * dozen batches fill a run's history budget before continue-as-new.
 */
export const MAX_USAGE_BATCH_EVENTS = 500;
/** Most bad events a batch refusal names one by one (the rest are counted). */
export const MAX_LISTED_BAD_EVENTS = 5;
/** Most users an account may have. */
export const MAX_USERS = 1_000_000;
/** Most cycles a manual grant may stay valid for. */
export const MAX_VALID_FOR_CYCLES = 120;

/** Fields of each update's input object; any other field is refused. */
const UPDATE_FIELDS = {
  recordUsage: ['feature', 'quantity', 'idempotencyKey', 'userId'],
  recordUsageBatch: ['events'],
  startCall: ['callId', 'agentId'],
  endCall: ['callId', 'minutes'],
  setUsers: ['users'],
  changePlan: ['plan', 'cycleAnchor'],
  changeCreditTier: ['tier', 'expect'],
  setFeatureEnabled: ['feature', 'enabled'],
  setVoiceAgentActive: ['agentId', 'active'],
  grantCredits: ['credits', 'reason', 'validForCycles', 'idempotencyKey'],
  voidUsage: ['idempotencyKey', 'reason'],
  setAdmins: ['admins'],
  setTags: ['tags'],
} as const satisfies Record<string, readonly string[]>;
const START_FIELDS = ['accountId', 'plan', 'users', 'trial', 'cycleAnchor', 'creditTier', 'tags', 'admins', 'restartClosed'] as const;

function problem(code: InputProblemCode, message: string): InputProblem {
  return { code, message };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !isArray(value);
}

function isWholeNumber(value: unknown, max: number): value is number {
  return typeof value === 'number' && isSafeInteger(value) && value >= 1 && value <= max;
}

function isQuantity(value: unknown, max: number): value is number {
  return isValidQuantity(value) && value <= max;
}

/** One object argument holding only the update's own fields. */
function shapeProblem(name: keyof typeof UPDATE_FIELDS, input: unknown): InputProblem | undefined {
  if (!isObject(input)) return problem('InvalidInput', `${name} takes one object argument`);
  const unknown = unknownFieldsProblem(input, UPDATE_FIELDS[name]);
  return unknown ? problem('InvalidInput', `${name}: ${unknown}`) : undefined;
}

/** Why a number of users is out of range, or undefined. */
function usersProblem(users: unknown): string | undefined {
  // One message for both ends: a number too large to be exact (1e20) is out of range, not "not an integer".
  return isWholeNumber(users, MAX_USERS) ? undefined : `users must be a whole number from 1 to ${formatCount(MAX_USERS)}`;
}

/** Why a list of tags breaks the rules (the start's `tags` and `setTags`), or undefined. */
function tagsProblem(tags: unknown): string | undefined {
  return listProblem('tags', tags, (field, tag) => idProblem(field, tag, MAX_TAG_LENGTH));
}

/** Why a list of admins breaks the rules (the start's `admins` and `setAdmins`), or undefined. */
function adminsProblem(admins: unknown): string | undefined {
  return listProblem('admins', admins, emailProblem);
}

/**
 * The clients' stricter check of admin addresses (see `plainEmailProblem`): `code` is the
 * problem code of the command they come with (`InvalidStartInput` for a start, `InvalidInput`
 * for `setAdmins`).
 */
export function checkAdminAddresses(admins: unknown, code: InputProblemCode): InputProblem | undefined {
  return admins === undefined ? undefined : asProblem(code, listProblem('admins', admins, plainEmailProblem));
}

/** Wraps a field rule's complaint, if any, as a problem of `code`. */
function asProblem(code: InputProblemCode, message: string | undefined): InputProblem | undefined {
  return message === undefined ? undefined : problem(code, message);
}

/**
 * All the arguments an update was sent with, checked by its one-object `check`: anything but
 * exactly one argument is refused, as an extra argument would be stored in history unchecked.
 * The workflow's validator and its handler's re-check run this with every argument the SDK
 * passes them.
 */
export function checkUpdateArguments(args: readonly unknown[], check: InputCheck, context: CheckContext): InputProblem | undefined {
  if (args.length > 1) return problem('InvalidInput', `an update takes one object argument, got ${args.length} arguments`);
  return check(args[0], context);
}

/**
 * The start's arguments beyond the start object: none from a caller. A run continued as new
 * carries its state as the second, and only such a run may have one, or a caller could start
 * an account from a state of its own making.
 */
export function checkStartArguments(extra: { state: unknown; others: number; continued: boolean }): InputProblem | undefined {
  if (extra.others > 0 || (extra.state !== undefined && !extra.continued)) {
    return problem('InvalidStartInput', 'the start takes one argument, the start object');
  }
  return undefined;
}

/**
 * Shape of the start argument, without the rules (the plan and tier are checked against the
 * rules once they are loaded, by `checkStartAgainstRules`): its first problem.
 */
export function checkStartShape(input: unknown, nowMs: number): InputProblem | undefined {
  return startShapeProblems(input, nowMs)[0];
}

/**
 * Every problem of the start argument's shape, one per field at most, in the order the fields
 * are checked (unknown fields first): what an import reports for a row, so fixing a row takes
 * one pass. {@link checkStartShape} is its first.
 */
export function startShapeProblems(input: unknown, nowMs: number): InputProblem[] {
  const bad = (message: string) => problem('InvalidStartInput', message);
  if (!isObject(input)) return [bad('the start argument must be one object')];
  const found: (string | undefined)[] = [unknownFieldsProblem(input, START_FIELDS)];
  if (typeof input.accountId !== 'string' || !ACCOUNT_ID.test(input.accountId)) {
    found.push('accountId must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" or "-"');
  }
  if (textProblem('plan', input.plan, MAX_NAME_LENGTH)) found.push('plan must be a plan id or alias');
  found.push(usersProblem(input.users));
  if (input.trial !== undefined && typeof input.trial !== 'boolean') found.push('trial must be true or false');
  if (!isIsoInstant(input.cycleAnchor)) {
    found.push('cycleAnchor must be an ISO-8601 UTC instant such as 2026-06-03T00:00:00Z');
  } else if (Date.parse(input.cycleAnchor) > nowMs) {
    found.push(`cycleAnchor ${input.cycleAnchor} is in the future (now is ${new Date(nowMs).toISOString()})`);
  }
  if (input.creditTier !== undefined && input.creditTier !== null && textProblem('creditTier', input.creditTier, MAX_NAME_LENGTH)) {
    found.push('creditTier must be a tier id such as "tier-3", or null');
  }
  if (input.tags !== undefined) found.push(tagsProblem(input.tags));
  if (input.admins !== undefined) found.push(adminsProblem(input.admins));
  if (input.restartClosed !== undefined && typeof input.restartClosed !== 'boolean') found.push('restartClosed must be true or false');
  return found.filter((message): message is string => message !== undefined).map(bad);
}

/** The latest tier charge of a billing period, as a restart is told of it. */
export interface PeriodCharge {
  chargeId: string;
  tierId: string;
  amountCents: number;
  reason: 'cycle_start' | 'purchase' | 'upgrade';
  /** The end of the period the charge paid for, when it was recorded. */
  paidThrough?: string;
}

/**
 * What a closed account started again on purpose is told of its earlier workflows (by the
 * ledger): the promotions they were granted, by id where the granting rules version is known
 * and by name where not, and the period's latest tier charge.
 */
export interface RestartHistory {
  promotions: { ids: string[]; names: string[] };
  paidThisPeriod: PeriodCharge | null;
}

/**
 * A closed account started again on purpose within a billing period an earlier workflow paid a
 * tier for (`paid`, the period's latest tier charge: its renewal, a purchase or an upgrade): it
 * must start on that tier, which it then gets without paying again; another tier would get its
 * credits unbilled, or a cheaper one the dearer one's price. The tier is changed afterwards as
 * any tier is (an upgrade charged in full at once, a downgrade at the next cycle). A paid tier
 * the rules no longer hold does not bind.
 */
export function checkRestartTier(input: AccountStartInput, rules: Rules, paid: PeriodCharge | null): InputProblem | undefined {
  if (!paid || !rules.tiers.some((t) => t.id === paid.tierId)) return undefined;
  const asked = input.creditTier == null ? undefined : resolveTier(rules, input.creditTier)?.id;
  if (asked === paid.tierId) return undefined;
  const what = paid.reason === 'cycle_start' ? 'renewal' : paid.reason;
  return problem(
    'InvalidStartInput',
    `account ${input.accountId} was billed for ${paid.tierId} this billing period (its ${what}, charge ${paid.chargeId}, ${paid.amountCents} cents) under an earlier workflow: ` +
      `restart it with creditTier ${quote(paid.tierId)} (--tier in the CLI; ${asked === undefined ? 'this start has no tier' : `this start asks for ${quote(asked)}`}), ` +
      'which is not charged again this period, then change the tier: an upgrade is charged in full at once, a downgrade applies at the next cycle',
  );
}

/** The plan and tier of a start argument, against the rules in force. */
export function checkStartAgainstRules(input: AccountStartInput, rules: Rules): InputProblem | undefined {
  if (!resolvePlan(rules, input.plan)) {
    return problem('InvalidStartInput', `unknown plan ${quote(input.plan)} (known: ${rules.plans.map((p) => p.id).join(', ')})`);
  }
  if (input.creditTier != null && !resolveTier(rules, input.creditTier)) {
    return problem('InvalidStartInput', `unknown credit tier ${quote(input.creditTier)} (known: ${rules.tiers[0]?.id ?? ''}..${rules.tiers[rules.tiers.length - 1]?.id ?? ''})`);
  }
  return undefined;
}

/** `recordUsage` input. */
export function checkRecordUsage(input: unknown, { rules }: CheckContext): InputProblem | undefined {
  const shape = shapeProblem('recordUsage', input);
  if (shape) return shape;
  const { feature, quantity, idempotencyKey, userId } = input as Partial<RecordUsageInput>;
  const badFeature = asProblem('UnknownFeature', textProblem('feature', feature, MAX_NAME_LENGTH));
  if (badFeature) return badFeature;
  const rule = rules ? featureById(rules, feature as string) : undefined;
  if (rules) {
    if (!rule) {
      return problem('UnknownFeature', `unknown feature ${quote(feature)} (known: ${rules.features.map((f) => f.id).join(', ')})`);
    }
    if (rule.perCall) return problem('UseCallUpdates', `${rule.id} usage is reported through startCall and endCall`);
  }
  if (!isQuantity(quantity, MAX_USAGE_QUANTITY)) {
    return problem(
      'InvalidQuantity',
      `quantity must be a positive number up to ${formatCount(MAX_USAGE_QUANTITY)} with at most 6 decimals, got ${quote(quantity)}`,
    );
  }
  const cost = rule?.cost ? creditsForQuantity(rule.cost, quantity) : 0;
  if (cost > MAX_USAGE_CREDITS) {
    return problem(
      'InvalidQuantity',
      `quantity ${quantity} of ${rule?.id ?? ''} would cost ${formatCount(cost)} credits; one usage may cost at most ${formatCount(MAX_USAGE_CREDITS)}`,
    );
  }
  const badKey = asProblem('MissingIdempotencyKey', idProblem('idempotencyKey', idempotencyKey));
  if (badKey) return badKey;
  if (userId !== undefined) return asProblem('InvalidInput', idProblem('userId', userId));
  return undefined;
}

/**
 * `startCall` input. A call id names one call: starting one that has ended would be answered
 * with its first start and open nothing, and its end with the first end, so a second call
 * under the same id would go uncharged. The context's `callEnded` refuses it.
 */
export function checkStartCall(input: unknown, { callEnded }: CheckContext = {}): InputProblem | undefined {
  const shape = shapeProblem('startCall', input);
  if (shape) return shape;
  const { callId, agentId } = input as Partial<StartCallInput>;
  const bad = asProblem('InvalidInput', idProblem('callId', callId) ?? idProblem('agentId', agentId));
  if (bad) return bad;
  if (callEnded?.(callId as string)) return problem('InvalidInput', `callId ${quote(callId)} names a call that has ended; a new call needs a new call id`);
  return undefined;
}

/** `endCall` input; the context's `knowsCall` says whether the account has ever seen this call id. */
export function checkEndCall(input: unknown, { knowsCall }: CheckContext): InputProblem | undefined {
  const shape = shapeProblem('endCall', input);
  if (shape) return shape;
  const { callId, minutes } = input as Partial<EndCallInput>;
  const badCall = asProblem('InvalidInput', idProblem('callId', callId));
  if (badCall) return badCall;
  if (!isQuantity(minutes, MAX_CALL_MINUTES)) {
    return problem('InvalidQuantity', `minutes must be a positive number up to ${formatCount(MAX_CALL_MINUTES)} (a day), got ${quote(minutes)}`);
  }
  if (knowsCall && !knowsCall(callId as string)) return problem('UnknownCall', `no call ${quote(callId)} was started on this account`);
  return undefined;
}

/** `setUsers` input. */
export function checkSetUsers(input: unknown): InputProblem | undefined {
  const shape = shapeProblem('setUsers', input);
  if (shape) return shape;
  return asProblem('InvalidInput', usersProblem((input as Partial<SetUsersInput>).users));
}

/** `changePlan` input; a `cycleAnchor` only on a trial, between the trial's start and now. */
export function checkChangePlan(input: unknown, { rules, nowMs, trialStartedAt }: CheckContext): InputProblem | undefined {
  const shape = shapeProblem('changePlan', input);
  if (shape) return shape;
  const { plan, cycleAnchor } = input as Partial<ChangePlanInput>;
  const known = rules ? ` (known: ${rules.plans.map((p) => p.id).join(', ')})` : '';
  if (textProblem('plan', plan, MAX_NAME_LENGTH) || (rules && !resolvePlan(rules, plan as string))) {
    return problem('UnknownPlan', `unknown plan ${quote(plan)}${known}`);
  }
  if (cycleAnchor === undefined) return undefined;
  if (!isIsoInstant(cycleAnchor)) return problem('InvalidInput', 'cycleAnchor must be an ISO-8601 UTC instant such as 2026-06-03T00:00:00Z');
  if (trialStartedAt === null) return problem('InvalidInput', 'cycleAnchor is taken only when a trial converts; this account is on a paid plan');
  if (nowMs !== undefined && Date.parse(cycleAnchor) > nowMs) {
    return problem('InvalidInput', `cycleAnchor ${cycleAnchor} is in the future (now is ${new Date(nowMs).toISOString()})`);
  }
  if (trialStartedAt !== undefined && Date.parse(cycleAnchor) < Date.parse(trialStartedAt)) {
    return problem('InvalidInput', `cycleAnchor ${cycleAnchor} is before the trial started (${trialStartedAt})`);
  }
  return undefined;
}

/** `changeCreditTier` input; with an expectation, that the change would still do what was shown. */
export function checkChangeCreditTier(input: unknown, { rules, tierChange }: CheckContext): InputProblem | undefined {
  const shape = shapeProblem('changeCreditTier', input);
  if (shape) return shape;
  if (!Object.hasOwn(input as object, 'tier')) return problem('InvalidInput', 'changeCreditTier takes {tier}: a tier id or null');
  const { tier, expect } = input as Partial<ChangeCreditTierInput>;
  if (tier !== null && (textProblem('tier', tier, MAX_NAME_LENGTH) || (rules && !resolveTier(rules, tier as string)))) {
    return problem('UnknownTier', `unknown credit tier ${quote(tier)}`);
  }
  if (expect === undefined) return undefined;
  const shown = expectationProblem(expect);
  if (shown) return shown;
  const now = tierChange?.(tier as string | null);
  const { effective, chargedCents, creditsGranted } = expect as NonNullable<ChangeCreditTierInput['expect']>;
  if (now && (now.effective !== effective || now.chargedCents !== chargedCents || now.creditsGranted !== creditsGranted)) {
    const said = (o: typeof now) => `${o.effective === 'now' ? 'now' : 'at the next cycle'}, charging ${o.chargedCents} cents and granting ${o.creditsGranted} credits`;
    return problem('TierChangeDiffers', `this change would now take effect ${said(now)}, not ${said(expect as typeof now)} as shown; nothing was changed`);
  }
  return undefined;
}

/** The shape of a `changeCreditTier` expectation. */
function expectationProblem(expect: unknown): InputProblem | undefined {
  const bad = problem('InvalidInput', 'expect must be {effective: "now" or "next_cycle", chargedCents, creditsGranted}: whole numbers of at least 0');
  if (!isObject(expect)) return bad;
  const keys = Object.keys(expect);
  if (keys.length !== 3 || !['effective', 'chargedCents', 'creditsGranted'].every((k) => keys.includes(k))) return bad;
  const { effective, chargedCents, creditsGranted } = expect;
  if (effective !== 'now' && effective !== 'next_cycle') return bad;
  if (![chargedCents, creditsGranted].every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)) return bad;
  return undefined;
}

/** `setFeatureEnabled` input: only toggleable features. */
export function checkSetFeatureEnabled(input: unknown, { rules }: CheckContext): InputProblem | undefined {
  const shape = shapeProblem('setFeatureEnabled', input);
  if (shape) return shape;
  const { feature, enabled } = input as Partial<SetFeatureEnabledInput>;
  if (typeof enabled !== 'boolean') return problem('InvalidInput', 'enabled must be true or false');
  const badFeature = asProblem('UnknownFeature', textProblem('feature', feature, MAX_NAME_LENGTH));
  if (badFeature || !rules) return badFeature;
  const rule = featureById(rules, feature as string);
  if (!rule) return problem('UnknownFeature', `unknown feature ${quote(feature)}`);
  if (!rule.toggleable) {
    const toggleable = rules.features.filter((f) => f.toggleable).map((f) => f.id);
    return problem('FeatureNotToggleable', `${rule.id} cannot be switched on or off (toggleable: ${toggleable.join(', ')})`);
  }
  return undefined;
}

/** `setVoiceAgentActive` input. */
export function checkSetVoiceAgentActive(input: unknown): InputProblem | undefined {
  const shape = shapeProblem('setVoiceAgentActive', input);
  if (shape) return shape;
  const { agentId, active } = input as Partial<SetVoiceAgentActiveInput>;
  const badAgent = asProblem('InvalidInput', idProblem('agentId', agentId));
  if (badAgent) return badAgent;
  if (typeof active !== 'boolean') return problem('InvalidInput', 'active must be true or false');
  return undefined;
}

/** `grantCredits` input. */
export function checkGrantCredits(input: unknown): InputProblem | undefined {
  const shape = shapeProblem('grantCredits', input);
  if (shape) return shape;
  const { credits, reason, validForCycles, idempotencyKey } = input as Partial<GrantCreditsInput>;
  if (!isWholeNumber(credits, MAX_GRANT_CREDITS)) {
    return problem('InvalidInput', `credits must be a whole number from 1 to ${formatCount(MAX_GRANT_CREDITS)}`);
  }
  const badReason = asProblem('InvalidInput', textProblem('reason', reason, MAX_REASON_LENGTH));
  if (badReason) return badReason;
  if (!isWholeNumber(validForCycles, MAX_VALID_FOR_CYCLES)) {
    return problem('InvalidInput', `validForCycles must be a whole number from 1 to ${MAX_VALID_FOR_CYCLES}`);
  }
  return asProblem('MissingIdempotencyKey', idProblem('idempotencyKey', idempotencyKey));
}

/** `voidUsage` input: the usage's key and why it is voided. */
export function checkVoidUsage(input: unknown): InputProblem | undefined {
  const shape = shapeProblem('voidUsage', input);
  if (shape) return shape;
  const { idempotencyKey, reason } = input as Partial<VoidUsageInput>;
  const badKey = asProblem('MissingIdempotencyKey', idProblem('idempotencyKey', idempotencyKey));
  if (badKey) return badKey;
  return asProblem('InvalidInput', textProblem('reason', reason, MAX_REASON_LENGTH));
}

/** `setAdmins` input: the start input's rule for admins. */
export function checkSetAdmins(input: unknown): InputProblem | undefined {
  const shape = shapeProblem('setAdmins', input);
  if (shape) return shape;
  return asProblem('InvalidInput', adminsProblem((input as Partial<SetAdminsInput>).admins));
}

/** `setTags` input: the start input's rule for tags. */
export function checkSetTags(input: unknown): InputProblem | undefined {
  const shape = shapeProblem('setTags', input);
  if (shape) return shape;
  return asProblem('InvalidInput', tagsProblem((input as Partial<SetTagsInput>).tags));
}

/**
 * `recordUsageBatch` input. The batch as a whole is refused (`InvalidInput`) when it is not
 * `{events: [...]}` with 1 to {@link MAX_USAGE_BATCH_EVENTS} events, or when any event fails
 * `recordUsage`'s own check without the rules (its shape: fields, quantity, key, user id):
 * the message names the index and reason of each such event (the first
 * {@link MAX_LISTED_BAD_EVENTS}, then a count). Problems that depend on the account's rules
 * (an unknown feature, a per-call feature, a cost over the per-usage cap) are not checked
 * here even when the rules are known: they become that event's own `invalid_event` answer,
 * so a batch whose events are well formed is never refused for one event's feature.
 */
export function checkRecordUsageBatch(input: unknown): InputProblem | undefined {
  const shape = shapeProblem('recordUsageBatch', input);
  if (shape) return shape;
  const { events } = input as Partial<RecordUsageBatchInput>;
  if (!Array.isArray(events)) return problem('InvalidInput', `recordUsageBatch takes {events: [...]}, got events as ${quote(events)}`);
  if (events.length === 0) return problem('InvalidInput', 'recordUsageBatch needs at least one event');
  if (events.length > MAX_USAGE_BATCH_EVENTS) {
    return problem('InvalidInput', `recordUsageBatch takes at most ${MAX_USAGE_BATCH_EVENTS} events, got ${formatCount(events.length)}`);
  }
  const bad: string[] = [];
  let badCount = 0;
  events.forEach((event, i) => {
    const eventProblem = checkRecordUsage(event, {});
    if (!eventProblem) return;
    badCount += 1;
    if (bad.length < MAX_LISTED_BAD_EVENTS) bad.push(`events[${i}]: ${eventProblem.code}, ${eventProblem.message}`);
  });
  if (badCount === 0) return undefined;
  const more = badCount > bad.length ? `; and ${badCount - bad.length} more bad event(s)` : '';
  return problem('InvalidInput', `recordUsageBatch refused, ${badCount} of ${events.length} events malformed: ${bad.join('; ')}${more}`);
}
