/**
 * The state one account's workflow carries: its shape, the builder of a new account's first
 * state, and the figures read straight off it (balance, plan, tier, alert state).
 *
 * `AccountState` is plain JSON. It is both the workflow's optional input and what
 * continue-as-new carries, and recorded histories hold it: its shape, down to the order of
 * its keys, changes only with `ACCOUNT_STATE_SCHEMA` and a migration.
 */
import type { PlanRule, Rules, TierRule } from '../ruleset/types';
import type {
  AccountStartInput,
  AlertState,
  EndCallResult,
  GrantCreditsResult,
  RecordUsageResult,
  StartCallResult,
  VoidUsageResult,
} from './wire-contract';
import type { Effect } from './effects';
import type { VoidableUsage } from './usage-voids';
import { cycleContaining } from './calendar';
import { planById, resolvePlan, resolveTier } from '../ruleset/catalog';
import { remainingCredits, type Grant } from './grants';
import { projectAlert } from './alerts';
import { WORKFLOW_FAILURE_TYPES } from './failure-types';

/** Version of the carried state's shape; bump with a migration when it changes. */
export const ACCOUNT_STATE_SCHEMA = 1;

/** Usage counters of one feature in the current cycle. */
export interface FeatureUsage {
  micros: number;
  credits: number;
  count: number;
  rejected: number;
}

/** A Voice Agent call that was authorized and has not ended. */
export interface OpenCall {
  agentId: string;
  startedAt: string;
}

/** An answer kept for duplicate detection. */
export interface RememberedAnswer {
  /** `usage:<key>`, `grant:<key>`, `start:<callId>`, `end:<callId>` or `void:<key>`. */
  key: string;
  cycle: number;
  answer: RecordUsageResult | GrantCreditsResult | StartCallResult | EndCallResult | VoidUsageResult;
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
  /** Credits consumed past zero by calls in progress, settled by the next credits added. */
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
   * Ledger entries spilled out of the outbox (to durable child workflows) since the ledger last
   * confirmed a write: the backlog an outage has built up. Absent in states carried before it
   * existed, which means none.
   */
  spilledBacklog?: number;
  /**
   * The current cycle's newest credit-charging usages, with the grants each debited, so billing
   * ops can void one (domain/usage-voids.ts); bounded by bytes. Absent in states carried before
   * voids existed, which means none.
   */
  voidable?: VoidableUsage[];
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

/** An instant in epoch ms as the UTC ISO-8601 text the state and its effects hold. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Whether the rules define this account's plan and tier, so a cycle can be priced with them. */
export function rulesFitAccount(rules: Rules, state: Pick<AccountState, 'planId' | 'tierId' | 'pendingPlan' | 'pendingTier'>): boolean {
  const plan = state.pendingPlan ?? state.planId;
  const tier = state.pendingTier ? state.pendingTier.tier : state.tierId;
  return planById(rules, plan) !== undefined && (tier === null || rules.tiers.some((t) => t.id === tier));
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
      rateFromMs: Date.parse(state.rateFrom),
      cycleEndMs: Date.parse(state.cycle.end),
      nowMs,
    },
    state.rules.alerts,
  );
}
