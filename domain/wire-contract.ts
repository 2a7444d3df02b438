/**
 * The account workflow's wire contract: the JSON shapes that product services, billing ops
 * and tests exchange with an account, in any language. Pure types, no Temporal imports, so
 * the credit math and every surface share them. Field names are fixed by the interface.
 */
import type { GrantSource } from '../ruleset/types';

/** Start argument of the `accountCredits` workflow. */
export interface AccountStartInput {
  /** 1-64 characters of `[A-Za-z0-9._-]`; the workflow id is `ai-credits:<accountId>`. */
  accountId: string;
  /** Plan id or any alias, case-insensitive. */
  plan: string;
  /** Number of users on the CRM account, integer 1-1,000,000. */
  users: number;
  /** Whether the account is on a trial (fixed trial credits instead of per-user credits). */
  trial?: boolean;
  /** ISO-8601 UTC instant of the CRM subscription's billing anchor; not in the future. */
  cycleAnchor: string;
  /** AI Credit Subscription tier id such as `tier-3`, or null for none. */
  creditTier?: string | null;
  /** Account tags, e.g. `chloe-beta` for promotion eligibility: at most 50, each 1-100 printable ASCII characters without spaces. */
  tags?: string[];
  /** E-mail addresses (at most 254 characters each, at most 50) of the account's admins, who receive low-credit notifications. */
  admins?: string[];
  /**
   * True to start on purpose an account that ran before and closed (its ledger holds entries of
   * an earlier workflow): a fresh pool for the current cycle. Without it such a start fails as
   * `AccountClosed` before the account opens.
   */
  restartClosed?: boolean;
}

/**
 * Why a usage or call was refused. `credits_exhausted`: the balance is at or below the
 * exhausted line (nothing available). `insufficient_credits` (usage only): credits are
 * available but fewer than the usage costs; it is refused whole, and a smaller quantity may
 * fit. `ledger_backlog`: the ledger has been unreachable so long that the account's unwritten
 * backlog reached its bound; credit-charging usage resumes once the ledger takes writes again.
 */
export const USAGE_REJECTIONS = ['credits_exhausted', 'feature_disabled', 'not_in_plan', 'ledger_backlog', 'insufficient_credits'] as const;
/** Why a usage was refused. */
export type UsageRejection = (typeof USAGE_REJECTIONS)[number];

/** Why a Voice Agent call was not authorized (a call is never refused for its cost: it is not known yet). */
export type CallRejection = Exclude<UsageRejection, 'insufficient_credits'> | 'agent_inactive' | 'too_many_open_calls';

/** `recordUsage` input. */
export interface RecordUsageInput {
  /** Feature id from the rules, e.g. `enrichment`. Voice Agent usage goes through `startCall`. */
  feature: string;
  /** Units used (fields, calls, ...): positive, at most 1,000,000, up to six decimals. */
  quantity: number;
  /** Caller-chosen key, 1-200 printable ASCII characters without spaces; a repeat returns the first answer and charges nothing. */
  idempotencyKey: string;
  /** The CRM user who used the feature, for the ledger (same alphabet as keys). */
  userId?: string;
}

/** `recordUsage` result: a business outcome, never an error. */
export interface RecordUsageResult {
  accepted: boolean;
  reason?: UsageRejection;
  /** Credits charged for this usage (0 when rejected, free or telephony-billed). */
  credits: number;
  /**
   * With `insufficient_credits` only: the credits the usage would have cost, more than
   * `balance`, so a caller can size a retry.
   */
  cost?: number;
  /** Available balance after this usage (unchanged when refused). */
  balance: number;
  /** True when this answer repeats an earlier one for the same idempotency key. */
  duplicate: boolean;
  /**
   * Only on a duplicate, and only when true: the key was first used with another payload
   * (feature, quantity or userId). Nothing was done again; the answer is the first use's.
   */
  payloadMismatch?: boolean;
}

/**
 * `recordUsageBatch` input: usage events answered one by one, in order, exactly as
 * `recordUsage` answers each (at most `MAX_USAGE_BATCH_EVENTS`, 500, per call).
 */
export interface RecordUsageBatchInput {
  /** The events, each a `recordUsage` input; 1-500 of them. */
  events: RecordUsageInput[];
}

/**
 * The answer to one event of a batch that passed the batch's shape check but not the
 * account's rules (an unknown feature, a Voice Agent feature, a cost over the per-usage cap):
 * exactly the problem `recordUsage` would have refused it with, as this event's own answer, so
 * the other events of the batch still go through. Nothing was recorded for it (no ledger
 * entry, no duplicate-window entry: the same event sent again is refused again).
 */
export interface InvalidUsageEvent {
  accepted: false;
  reason: 'invalid_event';
  /** The input problem code `recordUsage` would have failed with, e.g. `UnknownFeature`. */
  code: string;
  /** Why, short, quoting at most a prefix of the caller's value. */
  message: string;
  credits: 0;
  /** Available balance at this point of the batch (unchanged by this event). */
  balance: number;
  duplicate: false;
}

/** One event's answer in a batch: what `recordUsage` answers, or the event's own input refusal. */
export type RecordUsageBatchAnswer = RecordUsageResult | InvalidUsageEvent;

/** `recordUsageBatch` result: one answer per event, in the events' order. */
export interface RecordUsageBatchResult {
  results: RecordUsageBatchAnswer[];
}

/** `startCall` input. */
export interface StartCallInput {
  /** 1-200 printable ASCII characters without spaces. */
  callId: string;
  /** 1-200 printable ASCII characters without spaces. */
  agentId: string;
}

/** `startCall` result. */
export interface StartCallResult {
  authorized: boolean;
  reason?: CallRejection;
  balance: number;
}

/** `endCall` input. */
export interface EndCallInput {
  callId: string;
  /** Call length in minutes: positive, at most 1,440 (a day). */
  minutes: number;
}

/** `endCall` result. */
export interface EndCallResult {
  /**
   * Credits charged now, to the current cycle: for the minutes of the call after its last reset
   * (the parts before were charged to their own cycles at those resets). 0 for a call never authorized.
   */
  credits: number;
  balance: number;
  /**
   * Minutes charged for the call in all, earlier cycles' parts included: the minutes reported,
   * capped at the time the call ran plus {@link CALL_TOLERANCE_MINUTES}. 0 for a call never
   * authorized. Absent only from a repeat answered from before this field existed.
   */
  minutesCharged: number;
  /** True when the minutes reported were more than the call could have run and were cut to that bound. */
  capped: boolean;
}

/**
 * Clock-skew allowance of `endCall`, in minutes: a call may be reported this much longer than
 * the workflow saw it run (from `startCall` to `endCall`, workflow time). It also covers
 * telephony providers that round a call up to the whole minute.
 */
export const CALL_TOLERANCE_MINUTES = 1;

/** `setUsers` input. */
export interface SetUsersInput {
  /** Integer 1-1,000,000. */
  users: number;
}

/** `setUsers` result. */
export interface SetUsersResult {
  /**
   * The number of users this request set: its own input, or, for a request answered again by
   * its request id, the first request's (absent in answers given before it was sent).
   */
  users?: number;
  creditsGranted: number;
}

/** When a plan or tier change takes effect. */
export type ChangeTiming = 'now' | 'next_cycle';

/** `changePlan` input. */
export interface ChangePlanInput {
  /** Plan id or alias, case-insensitive. */
  plan: string;
  /**
   * Only when a trial converts: the CRM subscription's new billing anchor, an ISO-8601 UTC
   * instant not in the future nor before the trial started. Absent: the conversion instant.
   */
  cycleAnchor?: string;
}

/** `changePlan` result. */
export interface ChangePlanResult {
  /**
   * The plan id this request chose (an alias resolved), or, for a request answered again by its
   * request id, the first request's (absent in answers given before it was sent).
   */
  plan?: string;
  effective: ChangeTiming;
  creditsGranted: number;
}

/** `changeCreditTier` input. */
export interface ChangeCreditTierInput {
  /** Tier id such as `tier-4`, or null to cancel the subscription. */
  tier: string | null;
  /**
   * What the caller showed the person who asked (a confirm page's price): the change is made
   * only if it would still take effect, charge and grant exactly this; otherwise it is refused
   * (`TierChangeDiffers`) and nothing changes. A request answered again by its request id gets
   * its first answer, unchecked.
   */
  expect?: Pick<ChangeCreditTierResult, 'effective' | 'chargedCents' | 'creditsGranted'>;
}

/** `changeCreditTier` result. */
export interface ChangeCreditTierResult {
  /**
   * The tier id this request chose, null for none, or, for a request answered again by its
   * request id, the first request's (absent in answers given before it was sent).
   */
  tier?: string | null;
  effective: ChangeTiming;
  chargedCents: number;
  creditsGranted: number;
}

/** `setFeatureEnabled` input. */
export interface SetFeatureEnabledInput {
  feature: string;
  enabled: boolean;
}

/** `setFeatureEnabled` result. */
export interface SetFeatureEnabledResult {
  feature: string;
  enabled: boolean;
}

/** `setVoiceAgentActive` input. */
export interface SetVoiceAgentActiveInput {
  agentId: string;
  active: boolean;
}

/** `setVoiceAgentActive` result. */
export interface SetVoiceAgentActiveResult {
  agentId: string;
  active: boolean;
}

/** `grantCredits` input: a manual grant by billing ops. */
export interface GrantCreditsInput {
  /** Whole credits, 1-10,000,000. */
  credits: number;
  /** Free text of 1-500 characters, no control characters. */
  reason: string;
  /** The grant expires at the end of the Nth cycle counting the current one. */
  validForCycles: number;
  idempotencyKey: string;
}

/** `grantCredits` result. */
export interface GrantCreditsResult {
  grantId: string;
  expiresAt: string;
  /** True when this answer repeats an earlier one for the same idempotency key. */
  duplicate: boolean;
  /**
   * Only on a duplicate, and only when true: the key was first used with another payload
   * (credits, reason or validForCycles). Nothing was done again; the answer is the first use's.
   */
  payloadMismatch?: boolean;
}

/** `voidUsage` input: billing ops reverse a usage of the current cycle. */
export interface VoidUsageInput {
  /** The idempotency key the usage was recorded with. */
  idempotencyKey: string;
  /** Why, for the ledger: free text of 1-500 characters, no control characters. */
  reason: string;
}

/**
 * Why a void was refused (nothing changed, nothing remembered: the same void may be sent again
 * once it can apply). `unknown_usage`: no usage with this key is known to the account (never
 * recorded, or recorded so long ago that its answer is forgotten). `earlier_cycle`: the usage
 * was charged in an earlier cycle, whose credits are settled. `usage_refused`: the usage was
 * refused and charged nothing. `nothing_charged`: the usage was admitted at no credit cost
 * (free or telephony-billed). `void_window_passed`: the usage is of this cycle but older than
 * the voidable usages the account keeps (see docs/wire-contract.md). `call_not_voidable`: the
 * key names a Voice Agent call, which cannot be voided.
 */
export const VOID_REJECTIONS = ['unknown_usage', 'earlier_cycle', 'usage_refused', 'nothing_charged', 'void_window_passed', 'call_not_voidable'] as const;
/** Why a void was refused. */
export type VoidRejection = (typeof VOID_REJECTIONS)[number];

/** `voidUsage` result: a business outcome, never an error. */
export interface VoidUsageResult {
  voided: boolean;
  reason?: VoidRejection;
  /** Credits the void took off the cycle's used credits, given back to their grants (0 when refused). */
  credits: number;
  /**
   * Of `credits`, those given back to grants that have expired since the usage (a trial that
   * has ended, say): they expired again at once, so the balance did not grow by them. Absent
   * when none.
   */
  expired?: number;
  /** Available balance after the void. */
  balance: number;
  /** True when this answer repeats an earlier void of the same key. */
  duplicate: boolean;
}

/** `setAdmins` input: the account's admins, replacing the list. */
export interface SetAdminsInput {
  /** E-mail addresses (at most 254 characters each, at most 50); duplicates are kept once. */
  admins: string[];
}

/** `setAdmins` result. */
export interface SetAdminsResult {
  admins: string[];
  /** False when the list was already this one (no ledger entry then). */
  changed: boolean;
}

/** `setTags` input: the account's tags, replacing the list. */
export interface SetTagsInput {
  /** At most 50 tags, each 1-100 printable ASCII characters without spaces; duplicates are kept once. */
  tags: string[];
}

/** `setTags` result. */
export interface SetTagsResult {
  tags: string[];
  /** False when the list was already this one (no ledger entry then). */
  changed: boolean;
  /** Ids of promotions the new tags made the account eligible for, granted now. */
  promotionsGranted: string[];
  /** Credits those promotions granted. */
  creditsGranted: number;
}

/** Low-credit alert state of an account. */
export type AlertState = 'ok' | 'warning' | 'exhausted';

/** One live grant in the summary. */
export interface GrantView {
  grantId: string;
  source: GrantSource;
  /** What the grant is for, e.g. `Tier 3` or a promotion's name. */
  label: string;
  amount: number;
  remaining: number;
  grantedAt: string;
  expiresAt: string;
}

/** Usage of one feature in the current cycle. */
export interface FeatureUsageView {
  feature: string;
  quantity: number;
  credits: number;
  /** Accepted usages. */
  count: number;
  /** Refused usages. */
  rejected: number;
}

/** The `summary` query result: everything an admin or billing ops sees of an account. */
export interface AccountSummary {
  accountId: string;
  plan: { id: string; name: string };
  /** A plan downgrade waiting for the next cycle. */
  pendingPlan: { id: string; name: string; effectiveAt: string } | null;
  users: number;
  trial: boolean;
  /**
   * The AI Credit Subscription tier held. `paidThrough`: set while the current period was paid
   * by an earlier charge (a tier bought during a trial covers the first paid cycle), so this
   * cycle has no charge of its own. `nextChargeAt`: set when that paid period runs past the
   * cycle's end: when the tier is next charged (at the cycle's end when the cycle after is paid
   * at most half, else at a later reset; the tier is never prorated).
   */
  tier: { id: string; name: string; priceCents: number; credits: number; paidThrough?: string; nextChargeAt?: string } | null;
  /** A tier downgrade or cancellation waiting for the next cycle (`tier: null` cancels). */
  pendingTier: { tier: string | null; effectiveAt: string } | null;
  cycle: { index: number; start: string; end: string };
  /**
   * The cycle's credits; always `available = granted − used + callOverage`, and
   * `available = live grants' remaining − overdraft`.
   */
  credits: {
    /** Balance usable now: live grants' remaining credits minus any overdraft. */
    available: number;
    /** Credits granted this cycle, plus grants carried in from earlier cycles (promotions). */
    granted: number;
    /** Credits consumed this cycle (calls past zero included). */
    used: number;
    /**
     * Credits calls in progress took past zero, not written off yet: the balance is
     * `-overdraft`. Zero again once credits are added or the cycle resets.
     */
    overdraft: number;
    /**
     * Credits calls took past zero this cycle that were written off as call overage (ledger
     * `call_overage`) when credits were added, rather than taken from those credits.
     */
    callOverage: number;
  };
  grants: GrantView[];
  usage: FeatureUsageView[];
  /** Voice Agent and telephony minutes this cycle, billed apart from credits. */
  telephonyMinutes: number;
  alert: AlertState;
  /**
   * When the balance reaches zero at the cycle's average burn rate so far (UTC ISO-8601); null
   * without usage or when already out. Optional: summaries from before it was added lack it.
   */
  projectedRunOutAt?: string | null;
  /** Toggleable features and whether each is on. */
  features: { feature: string; enabled: boolean }[];
  /** Voice agents that have been deactivated. */
  inactiveAgents: string[];
  /** Voice Agent calls authorized and not yet ended. */
  openCalls: number;
  tags: string[];
  admins: string[];
  rulesVersion: string;
  /**
   * Ledger entries, charges or alerts that a receiver refused for good (non-retryable), set
   * aside so the rest keep flowing; non-zero means billing ops should look at the worker logs.
   */
  parkedEffects: number;
  /** When this summary was computed (workflow time). */
  asOf: string;
}
