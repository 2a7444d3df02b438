/**
 * One account's credit pool as a deterministic state machine: every command takes the state
 * and the current instant, changes the state, and returns the answer plus effects queued in
 * the state's outbox. No clocks, no I/O, no Temporal: the workflow feeds it workflow time and
 * rules loaded by an activity, and a test can run it directly.
 *
 * `AccountState` is plain JSON. It is both the workflow's optional input and what
 * continue-as-new carries, so resuming an account is the same code path as starting one.
 */
import type { GrantSource, PlanRule, Rules, TierRule } from '../ruleset/types';
import type {
  AccountStartInput,
  AccountSummary,
  AlertState,
  ChangeCreditTierResult,
  ChangePlanResult,
  EndCallResult,
  GrantCreditsInput,
  GrantCreditsResult,
  RecordUsageInput,
  RecordUsageResult,
  SetUsersResult,
  StartCallResult,
  UsageRejection,
  CallRejection,
} from './wire-contract';
import type { Effect, LedgerEntry } from './effects';
import { cycleAt, cycleContaining } from './calendar';
import { featureById, includedCredits, planById, planIncludes, resolvePlan, resolveTier } from '../ruleset/catalog';
import { creditsForQuantity, fromMicros, toMicros } from './pricing';
import { debitGrants, nextExpiryMs, partitionExpired, remainingCredits, type Grant } from './grants';
import { projectAlert } from './alerts';
import { WORKFLOW_FAILURE_TYPES } from './failure-types';

/** Version of the carried state's shape; bump with a migration when it changes. */
export const ACCOUNT_STATE_SCHEMA = 1;

/**
 * How many keyed answers (usage, grants, calls) are remembered for duplicate detection.
 * Answers older than the previous cycle are forgotten too. A retry arriving later than that
 * is treated as new usage; product services retry within seconds, not weeks.
 */
export const IDEMPOTENCY_WINDOW = 4096;

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
  /** `usage:<key>`, `grant:<key>`, `start:<callId>` or `end:<callId>`. */
  key: string;
  cycle: number;
  answer: RecordUsageResult | GrantCreditsResult | StartCallResult | EndCallResult;
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
}

/** An effect set aside after a non-retryable failure. */
export interface ParkedEffect {
  effect: Effect;
  at: string;
  error: string;
}

/** Most parked effects kept in the state; beyond it the oldest are dropped (they are in the logs). */
export const MAX_PARKED = 1000;

/** Thrown for a state that cannot take a command: a bug or incompatible rules, never user input. */
export class AccountStateError extends Error {
  /** Stable code for the workflow's ApplicationFailure type. */
  readonly code = WORKFLOW_FAILURE_TYPES.accountState;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Whether the rules define this account's plan and tier, so a cycle can be priced with them. */
export function rulesFitAccount(rules: Rules, state: Pick<AccountState, 'planId' | 'tierId' | 'pendingPlan' | 'pendingTier'>): boolean {
  const plan = state.pendingPlan ?? state.planId;
  const tier = state.pendingTier ? state.pendingTier.tier : state.tierId;
  return planById(rules, plan) !== undefined && (tier === null || rules.tiers.some((t) => t.id === tier));
}

/**
 * An account's credit pool. Wraps the carried state and keeps a lookup index of remembered
 * answers next to it (rebuilt on construction, never carried).
 */
export class CreditAccount {
  private readonly answers = new Map<string, RememberedAnswer>();

  /** Wrap a state that was started before (from continue-as-new or a test). */
  constructor(readonly state: AccountState) {
    for (const r of state.remembered) this.answers.set(r.key, r);
  }

  /**
   * Open a new account at `nowMs`: the cycle containing now on the anchor's calendar, with its
   * included or trial credits, its tier (charged), and any promotion whose window is open.
   * The input must have passed `checkStartShape` and `checkStartAgainstRules`. `epoch` is any
   * id unique to this workflow (its first run id), carried into every ledger and alert id.
   */
  static open(input: AccountStartInput, rules: Rules, nowMs: number, epoch: string): CreditAccount {
    const plan = resolvePlan(rules, input.plan);
    if (!plan) throw new AccountStateError(`unknown plan ${input.plan}`);
    const tier = input.creditTier ? resolveTier(rules, input.creditTier) : undefined;
    const window = cycleContaining(input.cycleAnchor, nowMs);
    const account = new CreditAccount({
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
    });
    account.log(nowMs, 'cycle_start', 0, { note: `account opened on ${plan.id}${account.state.trial ? ' (trial)' : ''}` });
    account.grantCycleAllocations(nowMs);
    return account;
  }

  // ---- reading ----------------------------------------------------------------------------

  private get rules(): Rules {
    return this.state.rules;
  }

  private plan(): PlanRule {
    const plan = planById(this.rules, this.state.planId);
    if (!plan) throw new AccountStateError(`plan ${this.state.planId} is not in rules ${this.rules.version}`);
    return plan;
  }

  private tier(id: string | null = this.state.tierId): TierRule | undefined {
    return id === null ? undefined : this.rules.tiers.find((t) => t.id === id);
  }

  /** Balance usable now: live grants' remaining credits minus any overdraft. */
  available(): number {
    return remainingCredits(this.state.grants) - this.state.overdraft;
  }

  /** The alert state these numbers are in at `nowMs`. */
  alertState(nowMs: number): { state: AlertState; projectedRunOutMs: number | null } {
    return projectAlert(
      {
        granted: this.state.cycleGranted,
        used: this.state.cycleUsed,
        available: this.available(),
        rateFromMs: Date.parse(this.state.rateFrom),
        cycleEndMs: Date.parse(this.state.cycle.end),
        nowMs,
      },
      this.rules.alerts,
    );
  }

  /** When the workflow must next wake to move time on: the cycle end or a grant's expiry. */
  nextWakeMs(): number {
    const cycleEnd = Date.parse(this.state.cycle.end);
    const expiry = nextExpiryMs(this.state.grants);
    return expiry === undefined ? cycleEnd : Math.min(cycleEnd, expiry);
  }

  /** Whether `callId` has been seen: open, or remembered as started or ended. */
  knowsCall(callId: string): boolean {
    return callId in this.state.openCalls || this.answers.has(`start:${callId}`) || this.answers.has(`end:${callId}`);
  }

  /** Everything an admin sees, computed at `nowMs`. */
  summary(nowMs: number): AccountSummary {
    const s = this.state;
    const plan = this.plan();
    const tier = this.tier();
    const pendingPlan = s.pendingPlan ? planById(this.rules, s.pendingPlan) : undefined;
    return {
      accountId: s.accountId,
      plan: { id: plan.id, name: plan.name },
      pendingPlan: pendingPlan ? { id: pendingPlan.id, name: pendingPlan.name, effectiveAt: s.cycle.end } : null,
      users: s.users,
      trial: s.trial,
      tier: tier ? { id: tier.id, name: tier.name, priceCents: tier.priceCents, credits: tier.credits } : null,
      pendingTier: s.pendingTier ? { tier: s.pendingTier.tier, effectiveAt: s.cycle.end } : null,
      cycle: { ...s.cycle },
      credits: { available: this.available(), granted: s.cycleGranted, used: s.cycleUsed, overdraft: s.overdraft },
      grants: s.grants.map(({ seq: _seq, ...view }) => view),
      usage: Object.entries(s.usage).map(([feature, u]) => ({
        feature,
        quantity: fromMicros(u.micros),
        credits: u.credits,
        count: u.count,
        rejected: u.rejected,
      })),
      telephonyMinutes: fromMicros(s.telephonyMicros),
      alert: this.alertState(nowMs).state,
      features: this.rules.features
        .filter((f) => f.toggleable)
        .map((f) => ({ feature: f.id, enabled: !s.disabledFeatures.includes(f.id) })),
      inactiveAgents: [...s.inactiveAgents],
      openCalls: Object.keys(s.openCalls).length,
      tags: [...s.tags],
      admins: [...s.admins],
      rulesVersion: this.rules.version,
      parkedEffects: s.parked?.length ?? 0,
      asOf: iso(nowMs),
    };
  }

  // ---- usage ------------------------------------------------------------------------------

  /**
   * Admit or refuse usage of a feature. Free features are admitted on plans that include them
   * (even at zero balance), telephony-billed ones are admitted at no credit cost, and a
   * credit-based one is admitted while the balance is above the exhaustion line and charged
   * its full rounded cost, which may take the balance below zero.
   */
  recordUsage(input: RecordUsageInput, nowMs: number): RecordUsageResult {
    const key = `usage:${input.idempotencyKey}`;
    const seen = this.answers.get(key);
    if (seen) return { ...(seen.answer as RecordUsageResult), duplicate: true };

    const feature = featureById(this.rules, input.feature);
    if (!feature) throw new AccountStateError(`unknown feature ${input.feature}`);
    const micros = toMicros(input.quantity);
    const credits = feature.cost ? creditsForQuantity(feature.cost, input.quantity) : 0;
    const refusal = this.refusal(feature.id);
    const common = {
      feature: feature.id,
      quantity: fromMicros(micros),
      unit: feature.cost?.unit,
      userId: input.userId,
      idempotencyKey: input.idempotencyKey,
    };
    let result: RecordUsageResult;
    if (refusal) {
      this.countUsage(feature.id, 0, 0, false);
      result = { accepted: false, reason: refusal, credits: 0, balance: this.available(), duplicate: false };
      this.log(nowMs, 'usage', 0, { ...common, decision: 'rejected', reason: refusal });
    } else {
      const debits = this.debit(credits);
      this.countUsage(feature.id, micros, credits, true);
      if (feature.telephonyMinutes) this.state.telephonyMicros += micros;
      result = { accepted: true, credits, balance: this.available(), duplicate: false };
      this.log(nowMs, 'usage', credits, { ...common, decision: 'accepted', debits: debits.length ? debits : undefined });
      if (credits > 0) this.checkAlerts(nowMs);
    }
    this.remember(key, result);
    return result;
  }

  /** Why usage of a feature would be refused now, or undefined when it would be admitted. */
  private refusal(featureId: string): UsageRejection | undefined {
    const feature = featureById(this.rules, featureId);
    if (!feature) return 'not_in_plan';
    if (!planIncludes(this.rules, this.plan(), feature)) return 'not_in_plan';
    if (feature.billing !== 'credits') return undefined;
    if (this.state.disabledFeatures.includes(feature.id)) return 'feature_disabled';
    if (this.available() <= this.rules.alerts.exhaustedAtBalance) return 'credits_exhausted';
    return undefined;
  }

  /**
   * Authorize a Voice Agent call: only while credits remain and the agent is active. An
   * authorized call always completes and is charged in full at `endCall`.
   */
  startCall(input: { callId: string; agentId: string }, nowMs: number): StartCallResult {
    const key = `start:${input.callId}`;
    const seen = this.answers.get(key);
    if (seen) return { ...(seen.answer as StartCallResult) };
    const feature = this.rules.features.find((f) => f.perCall);
    let reason: CallRejection | undefined = feature ? this.refusal(feature.id) : 'not_in_plan';
    if (!reason && this.state.inactiveAgents.includes(input.agentId)) reason = 'agent_inactive';
    const result: StartCallResult = reason
      ? { authorized: false, reason, balance: this.available() }
      : { authorized: true, balance: this.available() };
    if (result.authorized) this.state.openCalls[input.callId] = { agentId: input.agentId, startedAt: iso(nowMs) };
    else if (feature) this.countUsage(feature.id, 0, 0, false);
    this.log(nowMs, 'call_start', 0, {
      feature: feature?.id,
      callId: input.callId,
      agentId: input.agentId,
      decision: result.authorized ? 'accepted' : 'rejected',
      reason,
    });
    this.remember(key, result);
    return result;
  }

  /**
   * End a call and charge it in full (calls in progress always complete, even past zero).
   * Its minutes are also counted as telephony minutes, billed apart from credits. Ending a
   * call that was never authorized charges nothing.
   */
  endCall(input: { callId: string; minutes: number }, nowMs: number): EndCallResult {
    const key = `end:${input.callId}`;
    const seen = this.answers.get(key);
    if (seen) return { ...(seen.answer as EndCallResult) };
    const call = this.state.openCalls[input.callId];
    const feature = this.rules.features.find((f) => f.perCall);
    let credits = 0;
    if (call && feature) {
      delete this.state.openCalls[input.callId];
      const micros = toMicros(input.minutes);
      credits = feature.cost ? creditsForQuantity(feature.cost, input.minutes) : 0;
      const debits = this.debit(credits);
      this.countUsage(feature.id, micros, credits, true);
      if (feature.telephonyMinutes) this.state.telephonyMicros += micros;
      this.log(nowMs, 'call_end', credits, {
        feature: feature.id,
        quantity: fromMicros(micros),
        unit: feature.cost?.unit,
        callId: input.callId,
        agentId: call.agentId,
        decision: 'accepted',
        debits: debits.length ? debits : undefined,
      });
      this.checkAlerts(nowMs);
    }
    const result: EndCallResult = { credits, balance: this.available() };
    this.remember(key, result);
    return result;
  }

  // ---- account changes --------------------------------------------------------------------

  /**
   * Change the number of users. An addition grants the extra included credits at once, up to
   * the plan's cap; a reduction takes nothing back (it shows at the next cycle). Trials get
   * fixed credits, so their user count changes nothing this cycle.
   */
  setUsers(users: number, nowMs: number): SetUsersResult {
    const before = this.state.users;
    this.state.users = users;
    const granted = this.state.trial ? 0 : this.topUpIncluded(nowMs, 'users added');
    this.log(nowMs, 'users_change', granted, { note: `users ${before} -> ${users}` });
    return { creditsGranted: granted };
  }

  /**
   * Change a paid account's plan: moving up grants the difference in included credits at once;
   * moving down waits for the next cycle; the current plan cancels a pending downgrade.
   * Trials convert through `convertTrial` instead.
   */
  changePlan(planIdOrAlias: string, nowMs: number): ChangePlanResult {
    const target = resolvePlan(this.rules, planIdOrAlias);
    if (!target) throw new AccountStateError(`unknown plan ${planIdOrAlias}`);
    const current = this.plan();
    if (target.rank < current.rank) {
      this.state.pendingPlan = target.id;
      this.log(nowMs, 'plan_change', 0, { note: `${current.id} -> ${target.id} at ${this.state.cycle.end}` });
      return { effective: 'next_cycle', creditsGranted: 0 };
    }
    this.state.pendingPlan = null;
    this.state.planId = target.id;
    const granted = this.topUpIncluded(nowMs, `plan ${current.id} -> ${target.id}`);
    this.log(nowMs, 'plan_change', granted, { note: `${current.id} -> ${target.id}` });
    return { effective: 'now', creditsGranted: granted };
  }

  /**
   * Convert a trial to a paid plan: the trial credits are forfeited (they do not roll over) and
   * a paid cycle starts now, anchored at this moment, priced with `rules`.
   */
  convertTrial(planIdOrAlias: string, rules: Rules, nowMs: number): ChangePlanResult {
    const target = resolvePlan(rules, planIdOrAlias);
    if (!target) throw new AccountStateError(`unknown plan ${planIdOrAlias}`);
    const s = this.state;
    for (const g of s.grants) {
      if (g.source === 'trial' && !rules.trial.rolloverOnConversion) {
        this.log(nowMs, 'forfeit', g.remaining, { grantId: g.grantId, source: g.source, note: 'trial credits end with the trial' });
        g.remaining = 0;
      }
      // The trial's cycle ends now, and with it every grant that was to end with that cycle.
      if (g.expiresAt === s.cycle.end) g.expiresAt = iso(nowMs);
    }
    const from = s.planId;
    s.trial = false;
    s.planId = target.id;
    s.pendingPlan = null;
    s.anchor = iso(nowMs);
    s.anchorIndex = s.cycle.index + 1;
    this.log(nowMs, 'plan_change', 0, { note: `trial ${from} -> paid ${target.id}` });
    this.beginCycle(rules, nowMs);
    return { effective: 'now', creditsGranted: s.includedGranted };
  }

  /**
   * Buy, upgrade, downgrade or cancel the AI Credit Subscription tier. Buying or upgrading
   * charges the full price of the new tier (no proration) and grants its full allocation at
   * once, on top of what remains, without moving the cycle. A downgrade or cancellation waits
   * for the next cycle. Choosing the current tier (or upgrading) cancels a pending downgrade.
   */
  changeCreditTier(tierId: string | null, nowMs: number): ChangeCreditTierResult {
    const s = this.state;
    const target = tierId === null ? undefined : resolveTier(this.rules, tierId);
    if (tierId !== null && !target) throw new AccountStateError(`unknown tier ${tierId}`);
    const current = this.tier();
    const from = current?.id ?? 'none';
    if (target && (!current || target.rank > current.rank)) {
      s.tierId = target.id;
      s.pendingTier = null;
      this.charge(target, current ? 'upgrade' : 'purchase', nowMs);
      this.addGrant('subscription', target.name, target.credits, s.cycle.end, nowMs);
      this.log(nowMs, 'tier_change', target.credits, { note: `${from} -> ${target.id}` });
      return { effective: 'now', chargedCents: target.priceCents, creditsGranted: target.credits };
    }
    if (target && current && target.id === current.id) {
      if (s.pendingTier) this.log(nowMs, 'tier_change', 0, { note: `pending change cancelled, stays ${current.id}` });
      s.pendingTier = null;
      return { effective: 'now', chargedCents: 0, creditsGranted: 0 };
    }
    if (!target && !current) {
      s.pendingTier = null;
      return { effective: 'now', chargedCents: 0, creditsGranted: 0 };
    }
    s.pendingTier = { tier: target?.id ?? null };
    this.log(nowMs, 'tier_change', 0, { note: `${from} -> ${target?.id ?? 'none'} at ${s.cycle.end}` });
    return { effective: 'next_cycle', chargedCents: 0, creditsGranted: 0 };
  }

  /** Switch a toggleable feature on or off (validated as toggleable by the caller). */
  setFeatureEnabled(featureId: string, enabled: boolean, nowMs: number): { feature: string; enabled: boolean } {
    const s = this.state;
    s.disabledFeatures = s.disabledFeatures.filter((f) => f !== featureId);
    if (!enabled) s.disabledFeatures.push(featureId);
    this.log(nowMs, 'feature_toggle', 0, { feature: featureId, note: enabled ? 'enabled' : 'disabled' });
    return { feature: featureId, enabled };
  }

  /** Activate or deactivate a Voice Agent; calls of an inactive agent are not authorized. */
  setVoiceAgentActive(agentId: string, active: boolean, nowMs: number): { agentId: string; active: boolean } {
    const s = this.state;
    s.inactiveAgents = s.inactiveAgents.filter((a) => a !== agentId);
    if (!active) s.inactiveAgents.push(agentId);
    this.log(nowMs, 'agent_toggle', 0, { agentId, note: active ? 'activated' : 'deactivated' });
    return { agentId, active };
  }

  /** A manual grant by billing ops, expiring at the end of the Nth cycle counting this one. */
  grantCredits(input: GrantCreditsInput, nowMs: number): GrantCreditsResult {
    const key = `grant:${input.idempotencyKey}`;
    const seen = this.answers.get(key);
    if (seen) return { ...(seen.answer as GrantCreditsResult), duplicate: true };
    const expiresAt = this.cycleEndAfter(input.validForCycles);
    const grant = this.addGrant('manual', input.reason, input.credits, expiresAt, nowMs, input.idempotencyKey);
    const result: GrantCreditsResult = { grantId: grant.grantId, expiresAt, duplicate: false };
    this.remember(key, result);
    return result;
  }

  // ---- time -------------------------------------------------------------------------------

  /** Expire grants whose end has come (mid-cycle expiries, e.g. a promotion after re-anchoring). */
  expireGrants(nowMs: number): void {
    const { live, expired } = partitionExpired(this.state.grants, nowMs);
    if (expired.length === 0) return;
    this.state.grants = live;
    for (const g of expired) {
      if (g.remaining > 0 && Date.parse(g.expiresAt) < Date.parse(this.state.cycle.end)) {
        this.state.cycleGranted -= g.remaining;
      }
      this.log(nowMs, 'expiry', g.remaining, { grantId: g.grantId, source: g.source, note: `${g.label} expired` });
    }
  }

  /**
   * Close the current cycle and open the next one, priced with `rules` (the version in force at
   * its start): grants ending with the cycle expire (their remainder is breakage, recorded),
   * an unsettled overdraft is written off, pending downgrades apply, and the new cycle's
   * included, tier and promotional grants are made.
   */
  startNextCycle(rules: Rules): void {
    this.beginCycle(rules, Date.parse(this.state.cycle.end));
  }

  private beginCycle(rules: Rules, startMs: number): void {
    const s = this.state;
    const index = s.cycle.index + 1;
    const window = cycleAt(s.anchor, index - s.anchorIndex);
    this.expireGrants(startMs);
    if (s.overdraft > 0) {
      this.log(startMs, 'overdraft_write_off', s.overdraft, { note: 'overdraft not covered within its cycle' });
      s.overdraft = 0;
    }
    s.rules = rules;
    if (s.pendingPlan) s.planId = s.pendingPlan;
    if (s.pendingTier) s.tierId = s.pendingTier.tier;
    s.pendingPlan = null;
    s.pendingTier = null;
    s.cycle = { index, start: window.start, end: window.end };
    s.usage = {};
    s.telephonyMicros = 0;
    s.cycleUsed = 0;
    s.cycleGranted = remainingCredits(s.grants);
    s.includedGranted = 0;
    s.rateFrom = window.start;
    s.warningSent = false;
    s.exhaustedArmed = true;
    s.remembered = s.remembered.filter((r) => r.cycle >= index - 1);
    this.answers.clear();
    for (const r of s.remembered) this.answers.set(r.key, r);
    this.log(startMs, 'cycle_start', 0, { note: `cycle ${index}: ${window.start} -> ${window.end}` });
    this.grantCycleAllocations(startMs);
  }

  /** Included or trial credits, the tier's credits (charged) and open promotions for this cycle. */
  private grantCycleAllocations(nowMs: number): void {
    const s = this.state;
    if (s.trial) {
      s.includedGranted = this.rules.trial.credits;
      this.addGrant('trial', 'Trial credits', this.rules.trial.credits, s.cycle.end, nowMs);
    } else {
      this.topUpIncluded(nowMs, 'included credits');
    }
    const tier = this.tier();
    if (tier) {
      this.charge(tier, 'cycle_start', nowMs);
      this.addGrant('subscription', tier.name, tier.credits, s.cycle.end, nowMs);
    }
    this.grantOpenPromotions(nowMs);
  }

  /**
   * Promotions: granted once per eligible account when its first cycle starting on or after
   * the promotion date begins, expiring at the end of the Nth cycle counted from that one. An
   * account that arrives inside that window gets the grant at once, expiring at the window's
   * end; one arriving after it gets nothing.
   */
  private grantOpenPromotions(nowMs: number): void {
    const s = this.state;
    for (const promo of this.rules.promotions) {
      if (s.promotionsGranted.includes(promo.id) || !s.tags.includes(promo.eligibleTag)) continue;
      const startsMs = Date.parse(`${promo.startsOn}T00:00:00.000Z`);
      const first = cycleContaining(s.anchor, startsMs);
      const firstOffset = Date.parse(first.start) >= startsMs ? first.offset : first.offset + 1;
      const windowStart = Date.parse(cycleAt(s.anchor, firstOffset).start);
      const windowEnd = cycleAt(s.anchor, firstOffset + promo.validForCycles - 1).end;
      if (nowMs < windowStart || nowMs >= Date.parse(windowEnd)) continue;
      s.promotionsGranted.push(promo.id);
      this.addGrant('promotion', promo.name, promo.credits, windowEnd, nowMs);
    }
  }

  // ---- effects ----------------------------------------------------------------------------

  /** Remove and return up to `max` effects of the outbox's head that are of one kind. */
  peekOutbox(max: number): Effect[] {
    const head = this.state.outbox[0];
    if (!head) return [];
    if (head.type !== 'ledger') return [head];
    const batch: Effect[] = [];
    for (const e of this.state.outbox) {
      if (e.type !== 'ledger' || batch.length >= max) break;
      batch.push(e);
    }
    return batch;
  }

  /** Drop the first `count` effects once an activity has confirmed them. */
  ackOutbox(count: number): void {
    this.state.outbox.splice(0, count);
  }

  /** Set the first `count` effects aside after a non-retryable failure, so the rest can go on. */
  parkOutbox(count: number, error: string, nowMs: number): void {
    const parked = (this.state.parked ??= []);
    for (const effect of this.state.outbox.splice(0, count)) parked.push({ effect, at: iso(nowMs), error });
    if (parked.length > MAX_PARKED) parked.splice(0, parked.length - MAX_PARKED);
  }

  // ---- internals --------------------------------------------------------------------------

  /** The end of the cycle `cycles - 1` after the current one, on the current calendar. */
  private cycleEndAfter(cycles: number): string {
    const s = this.state;
    return cycleAt(s.anchor, s.cycle.index - s.anchorIndex + cycles - 1).end;
  }

  private topUpIncluded(nowMs: number, label: string): number {
    const s = this.state;
    const due = includedCredits(this.plan(), s.users) - s.includedGranted;
    if (due <= 0) return 0;
    s.includedGranted += due;
    this.addGrant('included', label === 'included credits' ? `${this.plan().name} included credits` : `Included credits (${label})`, due, s.cycle.end, nowMs);
    return due;
  }

  private addGrant(source: GrantSource, label: string, amount: number, expiresAt: string, nowMs: number, idempotencyKey?: string): Grant {
    const s = this.state;
    const grant: Grant = {
      grantId: `g${++s.counters.grant}.${s.epoch}`,
      source,
      label,
      amount,
      remaining: amount,
      grantedAt: iso(nowMs),
      expiresAt,
      seq: s.counters.grant,
    };
    // An overdraft left by a call that ran past zero is settled by the next credits added.
    const settle = Math.min(s.overdraft, amount);
    grant.remaining -= settle;
    s.overdraft -= settle;
    s.grants.push(grant);
    s.cycleGranted += amount;
    if (this.available() > this.rules.alerts.exhaustedAtBalance) s.exhaustedArmed = true;
    this.log(nowMs, 'grant', amount, {
      grantId: grant.grantId,
      source,
      idempotencyKey,
      note: settle > 0 ? `${label}; ${settle} settled the overdraft` : label,
    });
    return grant;
  }

  /** Debit the pool; what the grants cannot cover becomes overdraft (usage admitted above zero is charged in full). */
  private debit(credits: number) {
    const s = this.state;
    const outcome = debitGrants(s.grants, credits, s.rules.consumptionPriority);
    s.overdraft += outcome.shortfall;
    s.cycleUsed += credits;
    return outcome.debits;
  }

  private charge(tier: TierRule, reason: 'cycle_start' | 'purchase' | 'upgrade', nowMs: number): void {
    const s = this.state;
    // A cycle's tier charge is keyed by the billing period itself, so the same period is never
    // billed twice, even by a restarted workflow; purchases and upgrades by this workflow's own count.
    const chargeId =
      reason === 'cycle_start'
        ? `${s.accountId}:tier:${s.cycle.start}`
        : `${s.accountId}:${s.epoch}:charge:${++s.counters.charge}`;
    s.outbox.push({
      type: 'charge',
      charge: {
        chargeId,
        accountId: s.accountId,
        at: iso(nowMs),
        tierId: tier.id,
        amountCents: tier.priceCents,
        currency: this.rules.currency,
        reason,
        cycleIndex: s.cycle.index,
        rulesVersion: this.rules.version,
      },
    });
    this.log(nowMs, 'charge', 0, { amountCents: tier.priceCents, note: `${tier.name} ${reason.replace('_', ' ')}`, idempotencyKey: chargeId });
  }

  private countUsage(feature: string, micros: number, credits: number, accepted: boolean): void {
    const u = (this.state.usage[feature] ??= { micros: 0, credits: 0, count: 0, rejected: 0 });
    u.micros += micros;
    u.credits += credits;
    if (accepted) u.count += 1;
    else u.rejected += 1;
  }

  /** Send each alert once: warning once per cycle; exhausted again only after credits were added. */
  private checkAlerts(nowMs: number): void {
    const s = this.state;
    const projection = this.alertState(nowMs);
    if (projection.state === 'exhausted' && s.exhaustedArmed) {
      s.exhaustedArmed = false;
      this.alert('exhausted', projection.projectedRunOutMs, nowMs);
    } else if (projection.state === 'warning' && !s.warningSent) {
      s.warningSent = true;
      this.alert('warning', projection.projectedRunOutMs, nowMs);
    }
  }

  private alert(state: 'warning' | 'exhausted', runOutMs: number | null, nowMs: number): void {
    const s = this.state;
    const alertId = `${s.accountId}:${s.epoch}:alert:${s.cycle.index}:${state}:${++s.counters.alert}`;
    s.outbox.push({
      type: 'alert',
      alert: {
        alertId,
        accountId: s.accountId,
        at: iso(nowMs),
        state,
        admins: [...s.admins],
        cycleIndex: s.cycle.index,
        cycleEnd: s.cycle.end,
        available: this.available(),
        granted: s.cycleGranted,
        used: s.cycleUsed,
        projectedRunOutAt: runOutMs === null ? null : iso(runOutMs),
        rulesVersion: this.rules.version,
      },
    });
    this.log(nowMs, 'alert', 0, { note: state, idempotencyKey: alertId });
  }

  private remember(key: string, answer: RememberedAnswer['answer']): void {
    const s = this.state;
    const entry: RememberedAnswer = { key, cycle: s.cycle.index, answer };
    s.remembered.push(entry);
    this.answers.set(key, entry);
    if (s.remembered.length > IDEMPOTENCY_WINDOW) {
      const dropped = s.remembered.splice(0, s.remembered.length - IDEMPOTENCY_WINDOW);
      for (const d of dropped) if (this.answers.get(d.key) === d) this.answers.delete(d.key);
    }
  }

  private log(nowMs: number, kind: LedgerEntry['kind'], credits: number, extra: Partial<LedgerEntry>): void {
    const s = this.state;
    const seq = ++s.counters.entry;
    const entry: LedgerEntry = {
      entryId: `${s.accountId}:${s.epoch}:${seq}`,
      accountId: s.accountId,
      seq,
      at: iso(nowMs),
      kind,
      cycleIndex: s.cycle.index,
      credits,
      balanceAfter: this.available(),
      rulesVersion: s.rules.version,
    };
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) (entry as unknown as Record<string, unknown>)[k] = v;
    s.outbox.push({ type: 'ledger', entry });
  }
}
