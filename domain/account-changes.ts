/**
 * The commands that change an account rather than spend from it: users, plan, trial
 * conversion, the AI Credit Subscription tier, feature and agent toggles, and manual grants.
 */
import type { Rules, TierRule } from '../ruleset/types';
import type { ChangeCreditTierResult, ChangePlanResult, GrantCreditsInput, GrantCreditsResult, SetUsersResult } from './wire-contract';
import { cycleAt, cycleContaining, iso } from './calendar';
import { resolvePlan, resolveTier } from '../ruleset/catalog';
import { AccountLimitError, AccountStateError, currentPlan, tierOf, trialStartedAt, type AccountState } from './account-state';
import { asDuplicate, grantUse, type AnswerWindow } from './answers';
import { chargeTier, logEntry } from './outbox';
import { addGrant, topUpIncluded } from './credit-pool';
import { beginCycle } from './cycle-rollover';
import { ACCOUNT_LIMITS } from './state-budget';
import { grantKeyDigest } from './grants';

/**
 * Change the number of users. An addition grants the extra included credits at once, up to
 * the plan's cap; a reduction takes nothing back (it shows at the next cycle). Trials get
 * fixed credits, so their user count changes nothing this cycle.
 */
export function setUsers(state: AccountState, users: number, nowMs: number): SetUsersResult {
  const before = state.users;
  state.users = users;
  const granted = state.trial ? 0 : topUpIncluded(state, nowMs, 'users added');
  // 0 credits: what was granted has its own `grant` entry, so summing the ledger's credits
  // never counts it twice (the same for every change entry below).
  logEntry(state, nowMs, 'users_change', 0, { note: `users ${before} -> ${users}` });
  return { users, creditsGranted: granted };
}

/**
 * Change a paid account's plan: moving up grants the difference in included credits at once;
 * moving down waits for the next cycle; the current plan cancels a pending downgrade.
 * Trials convert through `convertTrial` instead.
 */
export function changePlan(state: AccountState, planIdOrAlias: string, nowMs: number): ChangePlanResult {
  const target = resolvePlan(state.rules, planIdOrAlias);
  if (!target) throw new AccountStateError(`unknown plan ${planIdOrAlias}`);
  const current = currentPlan(state);
  if (target.rank < current.rank) {
    state.pendingPlan = target.id;
    logEntry(state, nowMs, 'plan_change', 0, { note: `${current.id} -> ${target.id} at ${state.cycle.end}` });
    return { plan: target.id, effective: 'next_cycle', creditsGranted: 0 };
  }
  state.pendingPlan = null;
  state.planId = target.id;
  const granted = topUpIncluded(state, nowMs, `plan ${current.id} -> ${target.id}`);
  logEntry(state, nowMs, 'plan_change', 0, { note: `${current.id} -> ${target.id}` });
  return { plan: target.id, effective: 'now', creditsGranted: granted };
}

/**
 * Convert a trial to a paid plan, priced with `rules`. The trial credits are forfeited (they
 * do not roll over) and nothing else is: tier credits, manual grants and promotions keep their
 * own expiries. The paid calendar is anchored at `cycleAnchor` (the CRM subscription's new
 * anchor; absent, the conversion instant) and its cycle containing now starts at once with the
 * plan's included credits.
 *
 * A tier the trial holds was charged for the trial's current cycle, and that charge is not
 * repeated for an overlapping period: it pays for the tier until the later of that cycle's end
 * and the first paid cycle's end (`tierPaidThrough`). The tier's grants of the trial's cycle
 * last until then, and the tier is next charged at the first reset from then on (a paid cycle
 * it pays only part of is settled whole at its start: see `grantCycleAllocations`). A pending
 * tier downgrade or cancellation still waits for the next reset.
 *
 * @param cycleAnchor ISO instant, not after `nowMs` nor before the trial started (the update's
 *   validator refuses anything else; here it is a broken precondition).
 * @param roundCallsOnce whether calls open at the conversion are priced as whole calls (see `beginCycle`).
 * @param recordAnchor whether the conversion's note names its anchor (the workflow's patch: a
 *   longer entry could move a ledger batch's byte boundary in a history recorded before).
 * @param keepAnswers whether the answers of the cycles before the trial's are kept (the
 *   workflow's patch; asked only when there are some): a conversion opens a cycle without a
 *   reset, and a retry of a call, grant or change made before the trial's last reset must
 *   still be answered, not applied again.
 */
export function convertTrial(
  state: AccountState,
  answers: AnswerWindow,
  planIdOrAlias: string,
  rules: Rules,
  nowMs: number,
  cycleAnchor?: string,
  roundCallsOnce: () => boolean = () => true,
  keepAnswers: () => boolean = () => true,
  recordAnchor: () => boolean = () => true,
): ChangePlanResult {
  const target = resolvePlan(rules, planIdOrAlias);
  if (!target) throw new AccountStateError(`unknown plan ${planIdOrAlias}`);
  const s = state;
  const anchorMs = cycleAnchor === undefined ? nowMs : Date.parse(cycleAnchor);
  const earliest = trialStartedAt(s);
  if (!(anchorMs <= nowMs) || (earliest !== null && anchorMs < Date.parse(earliest))) {
    throw new AccountStateError(`cycle anchor ${cycleAnchor ?? ''} is not between the trial's start and now`);
  }
  if (!rules.trial.rolloverOnConversion) {
    for (const g of s.grants.filter((grant) => grant.source === 'trial')) {
      s.grants = s.grants.filter((grant) => grant !== g);
      logEntry(s, nowMs, 'forfeit', g.remaining, { grantId: g.grantId, source: g.source, note: 'trial credits end with the trial' });
    }
  }
  const from = s.planId;
  const trialCycleEnd = s.cycle.end;
  const paid = cycleContaining(iso(anchorMs), nowMs);
  const paidThrough = Date.parse(paid.end) > Date.parse(trialCycleEnd) ? paid.end : trialCycleEnd;
  if (s.tierId !== null) s.tierPaidThrough = paidThrough;
  s.trial = false;
  s.planId = target.id;
  s.pendingPlan = null;
  s.anchor = iso(anchorMs);
  s.anchorIndex = s.cycle.index + 1 - paid.offset;
  // The anchor too: a day-29-31 anchor's cycles do not all start on its day, and a replay of the
  // ledger (simulate/) must follow the same calendar.
  logEntry(s, nowMs, 'plan_change', 0, { note: `trial ${from} -> paid ${target.id}${recordAnchor() ? `, anchor ${s.anchor}` : ''}` });
  // The first paid cycle takes the place of the trial's cycle, not of the next one.
  const pendingTier = s.pendingTier;
  s.pendingTier = null;
  // The trial's tier credits are kept to the paid-through day below: nothing to settle here.
  beginCycle(s, answers, rules, nowMs, roundCallsOnce, () => !keepAnswers(), () => false);
  s.pendingTier = pendingTier;
  // A backdated anchor opens a cycle that started before the conversion: measure the burn
  // rate from the conversion, when the paid credits arrived.
  s.rateFrom = iso(nowMs);
  const tier = tierOf(s);
  if (tier && s.tierPaidThrough !== undefined) {
    for (const g of s.grants) if (g.source === 'subscription' && g.expiresAt === trialCycleEnd) g.expiresAt = paidThrough;
    logEntry(s, nowMs, 'tier_change', 0, { note: `${tier.id} is paid through ${paidThrough}; a cycle it pays only part of is settled at its start` });
  }
  return { plan: target.id, effective: 'now', creditsGranted: s.includedGranted };
}

/**
 * The conversion as it ran before {@link convertTrial} kept the paid grants: the trial's cycle
 * ends now with every grant that was to end with it, and a paid cycle anchored at this moment
 * starts with its tier charged again. Only the workflow's replay of histories recorded before
 * the `trial-conversion-keeps-paid-grants` patch takes this path, so they replay unchanged.
 */
export function convertTrialLegacy(state: AccountState, answers: AnswerWindow, planIdOrAlias: string, rules: Rules, nowMs: number): ChangePlanResult {
  const target = resolvePlan(rules, planIdOrAlias);
  if (!target) throw new AccountStateError(`unknown plan ${planIdOrAlias}`);
  const s = state;
  for (const g of s.grants) {
    if (g.source === 'trial' && !rules.trial.rolloverOnConversion) {
      logEntry(s, nowMs, 'forfeit', g.remaining, { grantId: g.grantId, source: g.source, note: 'trial credits end with the trial' });
      g.remaining = 0;
    }
    if (g.expiresAt === s.cycle.end) g.expiresAt = iso(nowMs);
  }
  const from = s.planId;
  s.trial = false;
  s.planId = target.id;
  s.pendingPlan = null;
  s.anchor = iso(nowMs);
  s.anchorIndex = s.cycle.index + 1;
  logEntry(s, nowMs, 'plan_change', 0, { note: `trial ${from} -> paid ${target.id}` });
  // Recorded long before calls were rounded once (each part on its own, as then), or a paid
  // period was settled in part.
  beginCycle(s, answers, rules, nowMs, () => false, undefined, () => false);
  return { plan: target.id, effective: 'now', creditsGranted: s.includedGranted };
}

/** What a tier change does, decided before anything moves (see {@link tierChangeOutcome}). */
type TierDecision =
  | { kind: 'buy'; target: TierRule; current: TierRule | undefined }
  | { kind: 'stay'; target: TierRule }
  | { kind: 'nothing' }
  | { kind: 'wait'; target: TierRule | undefined; current: TierRule | undefined };

function decideTierChange(state: AccountState, tierId: string | null): TierDecision {
  const target = tierId === null ? undefined : resolveTier(state.rules, tierId);
  if (tierId !== null && !target) throw new AccountStateError(`unknown tier ${tierId}`);
  const current = tierOf(state);
  if (target && (!current || target.rank > current.rank)) return { kind: 'buy', target, current };
  if (target && current && target.id === current.id) return { kind: 'stay', target };
  if (!target && !current) return { kind: 'nothing' };
  return { kind: 'wait', target, current };
}

/**
 * What {@link changeCreditTier} to `tierId` would answer now (when it takes effect, what it
 * charges, what it grants), changing nothing: what a caller that showed a price checks it
 * against before the change is made.
 */
export function tierChangeOutcome(state: AccountState, tierId: string | null): Pick<ChangeCreditTierResult, 'effective' | 'chargedCents' | 'creditsGranted'> {
  const decision = decideTierChange(state, tierId);
  if (decision.kind === 'buy') return { effective: 'now', chargedCents: decision.target.priceCents, creditsGranted: decision.target.credits };
  return { effective: decision.kind === 'wait' ? 'next_cycle' : 'now', chargedCents: 0, creditsGranted: 0 };
}

/**
 * Buy, upgrade, downgrade or cancel the AI Credit Subscription tier. Buying or upgrading
 * charges the full price of the new tier (no proration) and grants its full allocation at
 * once, on top of what remains, without moving the cycle. A downgrade or cancellation waits
 * for the next cycle. Choosing the current tier (or upgrading) cancels a pending downgrade.
 */
export function changeCreditTier(state: AccountState, tierId: string | null, nowMs: number, endPaidThrough: () => boolean = () => true): ChangeCreditTierResult {
  const s = state;
  const decision = decideTierChange(s, tierId);
  if (decision.kind === 'buy') {
    const { target, current } = decision;
    s.tierId = target.id;
    s.pendingTier = null;
    // A converted trial's tier paid past this cycle (`tierPaidThrough`) was that tier's: the one
    // bought now is charged at each reset from the next, or its cycles would go unbilled and
    // without its credits. (`endPaidThrough`: the workflow's patch, asked only then.)
    if (s.tierPaidThrough !== undefined && Date.parse(s.tierPaidThrough) > Date.parse(s.cycle.end) && endPaidThrough()) delete s.tierPaidThrough;
    chargeTier(s, target, current ? 'upgrade' : 'purchase', nowMs);
    addGrant(s, 'subscription', target.name, target.credits, s.cycle.end, nowMs);
    logEntry(s, nowMs, 'tier_change', 0, { note: `${current?.id ?? 'none'} -> ${target.id}` });
    return { tier: target.id, effective: 'now', chargedCents: target.priceCents, creditsGranted: target.credits };
  }
  if (decision.kind === 'stay') {
    if (s.pendingTier) logEntry(s, nowMs, 'tier_change', 0, { note: `pending change cancelled, stays ${decision.target.id}` });
    s.pendingTier = null;
    return { tier: decision.target.id, effective: 'now', chargedCents: 0, creditsGranted: 0 };
  }
  if (decision.kind === 'nothing') {
    s.pendingTier = null;
    return { tier: null, effective: 'now', chargedCents: 0, creditsGranted: 0 };
  }
  const { target, current } = decision;
  s.pendingTier = { tier: target?.id ?? null };
  logEntry(s, nowMs, 'tier_change', 0, { note: `${current?.id ?? 'none'} -> ${target?.id ?? 'none'} at ${s.cycle.end}` });
  return { tier: target?.id ?? null, effective: 'next_cycle', chargedCents: 0, creditsGranted: 0 };
}

/** Switch a toggleable feature on or off (validated as toggleable by the caller). */
export function setFeatureEnabled(state: AccountState, featureId: string, enabled: boolean, nowMs: number): { feature: string; enabled: boolean } {
  state.disabledFeatures = state.disabledFeatures.filter((f) => f !== featureId);
  if (!enabled) state.disabledFeatures.push(featureId);
  logEntry(state, nowMs, 'feature_toggle', 0, { feature: featureId, note: enabled ? 'enabled' : 'disabled' });
  return { feature: featureId, enabled };
}

/** Activate or deactivate a Voice Agent; calls of an inactive agent are not authorized. */
export function setVoiceAgentActive(state: AccountState, agentId: string, active: boolean, nowMs: number): { agentId: string; active: boolean } {
  const others = state.inactiveAgents.filter((a) => a !== agentId);
  if (!active && others.length >= ACCOUNT_LIMITS.inactiveAgents) {
    throw new AccountLimitError(`at most ${ACCOUNT_LIMITS.inactiveAgents} Voice Agents can be deactivated at once; activate or delete some first`);
  }
  state.inactiveAgents = others;
  if (!active) state.inactiveAgents.push(agentId);
  logEntry(state, nowMs, 'agent_toggle', 0, { agentId, note: active ? 'activated' : 'deactivated' });
  return { agentId, active };
}

/**
 * A manual grant by billing ops, expiring at the end of the Nth cycle counting this one. A
 * repeated key gets the first answer, flagged as a duplicate.
 */
export function grantCredits(
  state: AccountState,
  answers: AnswerWindow,
  input: GrantCreditsInput,
  nowMs: number,
  mayRecallLiveGrant: () => boolean = () => true,
): GrantCreditsResult {
  // A retry the answer window has forgotten is still a retry while its grant lives: answered
  // from the grant, never granted twice. (`mayRecallLiveGrant` is asked only then: the workflow
  // records a patch marker there, so histories from before it replay as they ran.)
  const key = `grant:${input.idempotencyKey}`;
  if (!answers.has(key)) {
    const digest = grantKeyDigest(input.idempotencyKey);
    const live = state.grants.find((g) => g.source === 'manual' && g.key === digest);
    if (live && mayRecallLiveGrant()) return { grantId: live.grantId, expiresAt: live.expiresAt, duplicate: true };
  }
  return answers.once(
    key,
    (): GrantCreditsResult => {
      // The end of the cycle `validForCycles - 1` after the current one, on the current calendar.
      const manual = state.grants.filter((g) => g.source === 'manual').length;
      if (manual >= ACCOUNT_LIMITS.manualGrants) {
        throw new AccountLimitError(`the account already holds ${manual} live manual grants, the most it can hold; wait for some to expire`);
      }
      const expiresAt = cycleAt(state.anchor, state.cycle.index - state.anchorIndex + input.validForCycles - 1).end;
      const grant = addGrant(state, 'manual', input.reason, input.credits, expiresAt, nowMs, input.idempotencyKey);
      return { grantId: grant.grantId, expiresAt, duplicate: false };
    },
    asDuplicate,
    grantUse(input),
  );
}
