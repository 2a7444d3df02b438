/**
 * The state one account's workflow carries: its shape, the builder of a new account's first
 * state, and the figures read straight off it (balance, plan, tier, alert state).
 *
 * `AccountState` is plain JSON. It is both the workflow's optional input and what
 * continue-as-new carries, and recorded histories hold it: its shape, down to the order of
 * its keys, changes only with `ACCOUNT_STATE_SCHEMA` and a migration.
 */
import type { WebhookEvent } from './webhook-events';
import type { PlanRule, Rules, TierRule } from '../ruleset/types';
import type {
  AccountStartInput,
  AlertState,
  ChangeCreditTierResult,
  ChangePlanResult,
  EndCallResult,
  GrantCreditsResult,
  RecordUsageResult,
  SetAdminsResult,
  SetFeatureEnabledResult,
  SetTagsResult,
  SetUsersResult,
  SetVoiceAgentActiveResult,
  StartCallResult,
  VoidUsageResult,
} from './wire-contract';
import type { Effect } from './effects';
import type { BillableKeysState } from './billable-keys';
import type { VoidableUsage } from './usage-voids';
import { cycleContaining, iso } from './calendar';
import { planById, resolvePlan, resolveTier } from '../ruleset/catalog';
import { remainingCredits, type Grant } from './grants';
import { projectAlert } from './alerts';
import { WORKFLOW_FAILURE_TYPES } from './failure-types';

// Bound once: in the workflow sandbox each lookup of a global costs about 0.3 µs (see
// domain/digest.ts), and the alert state is projected at every credit-charging event.
const { parse: parseTime } = Date;

/** Version of the carried state's shape; bump with a migration when it changes. */
export const ACCOUNT_STATE_SCHEMA = 1;

/** Usage counters of one feature in the current cycle. */
export interface FeatureUsage {
  micros: number;
  credits: number;
  count: number;
  rejected: number;
}

/**
 * A Voice Agent call that was authorized and has not ended. Records carried by older runs hold
 * only `agentId` and `startedAt`: the two optional fields appear once a reset has charged a part.
 */
export interface OpenCall {
  agentId: string;
  startedAt: string;
  /**
   * Start of the part of the call that the current cycle pays for: the last reset the call ran
   * across. Absent: `startedAt` (the call has not crossed a reset).
   */
  partFrom?: string;
  /** Minutes, in micro-units, already charged to earlier cycles at their resets. Absent: none. */
  chargedMicros?: number;
}

/** The answer of an update that sets a target value (users, plan, tier, toggles, admins, tags). */
export type TargetUpdateResult =
  | SetUsersResult
  | ChangePlanResult
  | ChangeCreditTierResult
  | SetFeatureEnabledResult
  | SetVoiceAgentActiveResult
  | SetAdminsResult
  | SetTagsResult;

/** An answer kept for duplicate detection. */
export interface RememberedAnswer {
  /**
   * `usage:<key>`, `grant:<key>`, `start:<callId>`, `end:<callId>`, `void:<key>`, or
   * `update:<update name>:<digest of the Temporal update id>`.
   */
  key: string;
  cycle: number;
  answer: RecordUsageResult | GrantCreditsResult | StartCallResult | EndCallResult | VoidUsageResult | TargetUpdateResult;
  /**
   * Fingerprint of the first payload (48 bits, hex; domain/digest.ts), so a reused key with
   * another payload is told apart. Absent for call answers and answers carried from older runs.
   */
  fp?: string;
}

/** Everything an account's workflow knows, carried across continue-as-new. */
export interface AccountState {
  schema: typeof ACCOUNT_STATE_SCHEMA;
  accountId: string;
  planId: string;
  users: number;
  trial: boolean;
  tierId: string | null;
  tags: string[];
  admins: string[];
  /** Billing anchor of the cycle calendar (moves when a trial converts). */
  anchor: string;
  /** Cycle index at which `anchor` starts a cycle; cycle offsets are counted from it. */
  anchorIndex: number;
  cycle: { index: number; start: string; end: string };
  /** The rules version pinned for the current cycle. */
  rules: Rules;
  grants: Grant[];
  /**
   * Credits calls in progress took past zero that are not written off yet: the balance below
   * zero. Written off as call overage when credits are next added or at the reset.
   */
  overdraft: number;
  cycleGranted: number;
  cycleUsed: number;
  /** Included (or trial) credits granted this cycle, so user additions grant only the difference. */
  includedGranted: number;
  /** Instant from which this cycle's burn rate is measured. */
  rateFrom: string;
  pendingPlan: string | null;
  /** A tier downgrade or cancellation for the next cycle (`tier: null` cancels). */
  pendingTier: { tier: string | null } | null;
  usage: Record<string, FeatureUsage>;
  telephonyMicros: number;
  warningSent: boolean;
  exhaustedArmed: boolean;
  disabledFeatures: string[];
  inactiveAgents: string[];
  openCalls: Record<string, OpenCall>;
  remembered: RememberedAnswer[];
  promotionsGranted: string[];
  /**
   * Distinguishes this account's ledger ids from those of an earlier workflow for the same
   * account id (terminated and started again), whose sequence numbers also began at 1.
   */
  epoch: string;
  counters: { entry: number; grant: number; charge: number; alert: number };
  /** Effects not yet confirmed by an activity; kept across continue-as-new so none is lost. */
  outbox: Effect[];
  /**
   * Effects an activity refused for good (a non-retryable failure: input the receiver can never
   * take). Kept for billing ops to inspect and replay instead of blocking the outbox for ever.
   */
  parked?: ParkedEffect[];
  /**
   * Webhook events not yet delivered to every endpoint (see domain/webhook-events.ts), at most
   * `MAX_PENDING_WEBHOOKS`. Absent means none (and in states carried before webhooks existed).
   */
  webhooks?: WebhookEvent[];
  /**
   * Ledger entries spilled out of the outbox (to durable child workflows) since the ledger last
   * confirmed a write: the backlog an outage has built up. Absent in states carried before it
   * existed, which means none.
   */
  spilledBacklog?: number;
  /**
   * When the ledger write still unconfirmed at continue-as-new was first handed to its
   * activity (UTC ISO-8601): the next run sends that batch again and counts its wait from here,
   * so a ledger outage longer than a run still spills the backlog instead of restarting the
   * clock at every run. Absent when no ledger write was waiting (and in states carried before
   * it existed).
   */
  ledgerWaitingSince?: string;
  /**
   * Credits calls took past zero this cycle that were written off (ledger `call_overage`)
   * rather than taken from later grants. Absent means none (and in states carried before it existed).
   */
  callOverage?: number;
  /**
   * The trial's one grant of trial credits, recorded when the trial opened (trial credits are
   * granted once per trial, never again at a reset). `endsAt` is the trial's end under the
   * rules' `trial.lengthDays`, when its credits expire; null when they last until conversion
   * (the grant is then carried from cycle to cycle). Absent in paid accounts, and in states
   * carried before it existed: those trials had their grant, and are never granted another.
   */
  trialGrant?: TrialGrant;
  /**
   * The held tier is paid for until this instant: set when a trial converts, from the charge
   * for the trial's last cycle. A cycle starting before it neither charges nor grants the
   * tier (that period is paid); the first one starting at or after it charges as usual and
   * clears it. Absent: every cycle start charges the tier.
   */
  tierPaidThrough?: string;
  /**
   * The latest usage answers in full (domain/answers.ts), apart from `remembered` so that usage
   * never pushes grant or call answers out. Absent in states carried before it existed, whose
   * usage answers are in `remembered`.
   */
  recentUsage?: RememberedAnswer[];
  /**
   * Every usage key that charged credits in the last 24 hours at least, in compact form
   * (domain/billable-keys.ts). Absent until the first such key (or in older states).
   */
  billableKeys?: BillableKeysState;
  /**
   * The current cycle's newest credit-charging usages, with the grants each debited, so billing
   * ops can void one (domain/usage-voids.ts); bounded by bytes. Absent in states carried before
   * voids existed, which means none.
   */
  voidable?: VoidableUsage[];
  /**
   * The answers of the latest updates that set a target value (users, plan, tier, toggles,
   * admins, tags), by their Temporal update id (domain/answers.ts), so a retry of one whose
   * answer was lost that reaches the next run gets the first answer instead of setting the
   * value again (and undoing a change made in between). The server answers such a retry itself
   * only within the run that applied it. Absent until the first such update (and in older states).
   */
  updateAnswers?: RememberedAnswer[];
}

/** A trial's one grant of trial credits (see {@link AccountState.trialGrant}). */
export interface TrialGrant {
  grantId: string;
  /** When the trial opened. */
  startedAt: string;
  /** When the trial's credits expire, or null for at conversion. */
  endsAt: string | null;
}

/** An effect set aside after a non-retryable failure. */
export interface ParkedEffect {
  effect: Effect;
  at: string;
  error: string;
}

/** A command would take a table of the account past its bound ({@link ACCOUNT_LIMITS}); the command changed nothing. */
export class AccountLimitError extends Error {
  /** Stable code for the workflow's ApplicationFailure type. */
  readonly code = WORKFLOW_FAILURE_TYPES.accountLimit;
}

/** Most parked effects kept in the state; beyond it the oldest are dropped (they are in the logs). */
export const MAX_PARKED = 1000;

/** Thrown for a state that cannot take a command: a bug or incompatible rules, never user input. */
export class AccountStateError extends Error {
  /** Stable code for the workflow's ApplicationFailure type. */
  readonly code = WORKFLOW_FAILURE_TYPES.accountState;
}

/** Whether the rules define this account's plan and tier, so a cycle can be priced with them. */
export function rulesFitAccount(rules: Rules, state: Pick<AccountState, 'planId' | 'tierId' | 'pendingPlan' | 'pendingTier'>): boolean {
  const plan = state.pendingPlan ?? state.planId;
  return planById(rules, plan) !== undefined && rulesHoldTier(rules, state);
}

/**
 * Whether `rules` have the tier the account holds, or will hold once its pending change
 * applies (none counts as held). A trial's conversion takes a new version only when they do:
 * otherwise the paid cycle would open without the tier it pays for, and never bill it again.
 */
export function rulesHoldTier(rules: Rules, state: Pick<AccountState, 'tierId' | 'pendingTier'>): boolean {
  const tier = state.pendingTier ? state.pendingTier.tier : state.tierId;
  return tier === null || rules.tiers.some((t) => t.id === tier);
}

/**
 * A new account's state at `nowMs`, before anything is granted: the cycle containing now on the
 * anchor's calendar, nothing used, nothing queued. The input must have passed `checkStartShape`
 * and `checkStartAgainstRules`.
 */
export function initialState(input: AccountStartInput, rules: Rules, nowMs: number, epoch: string): AccountState {
  const plan = resolvePlan(rules, input.plan);
  if (!plan) throw new AccountStateError(`unknown plan ${input.plan}`);
  const tier = input.creditTier ? resolveTier(rules, input.creditTier) : undefined;
  const window = cycleContaining(input.cycleAnchor, nowMs);
  return {
    schema: ACCOUNT_STATE_SCHEMA,
    accountId: input.accountId,
    planId: plan.id,
    users: input.users,
    trial: input.trial ?? false,
    tierId: tier?.id ?? null,
    tags: [...new Set(input.tags ?? [])],
    admins: [...new Set(input.admins ?? [])],
    anchor: new Date(input.cycleAnchor).toISOString(),
    anchorIndex: 0,
    cycle: { index: window.offset, start: window.start, end: window.end },
    rules,
    grants: [],
    overdraft: 0,
    cycleGranted: 0,
    cycleUsed: 0,
    includedGranted: 0,
    rateFrom: iso(nowMs),
    pendingPlan: null,
    pendingTier: null,
    usage: {},
    telephonyMicros: 0,
    warningSent: false,
    exhaustedArmed: true,
    disabledFeatures: [],
    inactiveAgents: [],
    openCalls: {},
    remembered: [],
    promotionsGranted: [],
    epoch,
    counters: { entry: 0, grant: 0, charge: 0, alert: 0 },
    outbox: [],
  };
}

/** Balance usable now: live grants' remaining credits minus any overdraft. */
export function available(state: AccountState): number {
  return remainingCredits(state.grants) - state.overdraft;
}

/**
 * When the account's trial started, the earliest instant a conversion may anchor the paid
 * calendar at; null for a paid account. A state carried from before trials were recorded
 * falls back to its billing anchor, which is never later than its opening.
 */
export function trialStartedAt(state: AccountState): string | null {
  if (!state.trial) return null;
  return state.trialGrant?.startedAt ?? state.anchor;
}

/** The account's plan in its pinned rules; a plan missing from them is a broken state. */
export function currentPlan(state: AccountState): PlanRule {
  const plan = planById(state.rules, state.planId);
  if (!plan) throw new AccountStateError(`plan ${state.planId} is not in rules ${state.rules.version}`);
  return plan;
}

/** A tier of the pinned rules (the account's own by default); undefined for none. */
export function tierOf(state: AccountState, id: string | null = state.tierId): TierRule | undefined {
  return id === null ? undefined : state.rules.tiers.find((t) => t.id === id);
}

/** The alert state the account's numbers are in at `nowMs`. */
export function alertStateOf(state: AccountState, nowMs: number): { state: AlertState; projectedRunOutMs: number | null } {
  return projectAlert(
    {
      granted: state.cycleGranted,
      used: state.cycleUsed,
      available: available(state),
      rateFromMs: parseTime(state.rateFrom),
      cycleEndMs: parseTime(state.cycle.end),
      nowMs,
    },
    state.rules.alerts,
  );
}
