/**
 * Time moving on for an account: grants expiring, one cycle closing and the next opening with
 * its allocations (included credits, the tier's credits and charge, promotions), and a
 * trial's one grant of trial credits, carried across resets rather than granted again.
 */
import type { Rules } from '../ruleset/types';
import { cycleAt, cycleContaining, iso } from './calendar';
import { partitionExpired, remainingCredits } from './grants';
import { tierOf, type AccountState } from './account-state';
import type { AnswerWindow } from './answers';
import { chargeTier, logEntry } from './outbox';
import { addGrant, topUpIncluded, writeOffOverdraft } from './credit-pool';
import { chargeOpenCallsAtReset } from './usage-commands';
import { forgetVoidable } from './usage-voids';
import { cycleNumber } from '../display/cycle-number';

/**
 * Expire grants whose end has come (mid-cycle expiries, e.g. a promotion after re-anchoring).
 * Returns how many expired.
 */
export function expireGrants(state: AccountState, nowMs: number): number {
  const { live, expired } = partitionExpired(state.grants, nowMs);
  if (expired.length === 0) return 0;
  // One at a time: each expiry's entry carries the balance after it, with the grants still to
  // expire counted (the ledger's running balance steps down entry by entry).
  for (const [i, g] of expired.entries()) {
    state.grants = [...live, ...expired.slice(i + 1)];
    if (g.remaining > 0 && Date.parse(g.expiresAt) < Date.parse(state.cycle.end)) {
      state.cycleGranted -= g.remaining;
    }
    logEntry(state, nowMs, 'expiry', g.remaining, { grantId: g.grantId, source: g.source, note: `${g.label} expired` });
  }
  return expired.length;
}

/**
 * Close the current cycle at `startMs` and open the next one, priced with `rules`: calls still
 * open are charged for their part in the closing cycle, grants ending by then expire (their
 * remainder is breakage, recorded), a balance calls left below zero is written off as call
 * overage, pending changes apply, counters and alerts reset, answers older than the
 * cycle just closed are forgotten, and the new cycle's allocations are granted.
 * `roundCallsOnce`: whether a call's part is priced as the rest of the whole call's rounded cost
 * (see `chargeOpenCallsAtReset`). `forgetOlder`: whether the answers older than the cycle just
 * closed are forgotten now (a trial's conversion keeps them: its cycle may be seconds old, and
 * retries from before the last reset must still be recognised); asked only when there are some.
 * `settlePartTier`: whether a tier paid into the new cycle but not through it is settled at
 * once (see {@link grantCycleAllocations}); asked only then.
 */
export function beginCycle(
  state: AccountState,
  answers: AnswerWindow,
  rules: Rules,
  startMs: number,
  roundCallsOnce: () => boolean = () => true,
  forgetOlder: () => boolean = () => true,
  settlePartTier: () => boolean = () => true,
): void {
  const s = state;
  const index = s.cycle.index + 1;
  const window = cycleAt(s.anchor, index - s.anchorIndex);
  // Calls still open pay for their part in the closing cycle first, from its credits and at
  // its rules, before those credits expire and the overdraft is settled.
  chargeOpenCallsAtReset(s, startMs, roundCallsOnce);
  carryTrialGrant(s, window.end);
  expireGrants(s, startMs);
  writeOffOverdraft(s, startMs, 'at the reset');
  s.rules = rules;
  if (s.pendingPlan) s.planId = s.pendingPlan;
  if (s.pendingTier) s.tierId = s.pendingTier.tier;
  s.pendingPlan = null;
  s.pendingTier = null;
  s.cycle = { index, start: window.start, end: window.end };
  s.usage = {};
  s.telephonyMicros = 0;
  s.cycleUsed = 0;
  delete s.callOverage;
  s.cycleGranted = remainingCredits(s.grants);
  s.includedGranted = 0;
  s.rateFrom = window.start;
  s.warningSent = false;
  s.exhaustedArmed = true;
  if (answers.holdsBefore(index - 1) && forgetOlder()) answers.forgetBefore(index - 1);
  forgetVoidable(s);
  logEntry(s, startMs, 'cycle_start', 0, { note: `cycle ${cycleNumber(index)}: ${window.start} -> ${window.end}` });
  grantCycleAllocations(s, startMs, settlePartTier);
}

/**
 * Included credits (none for a trial), the tier's credits (charged, unless a converted trial's
 * charge still pays for this period: `tierPaidThrough`) and open promotions for this cycle.
 * Trial credits are no cycle allocation: {@link grantTrialCredits} grants them once.
 *
 * A converted trial's charge may pay for the start of this cycle and not its end (a paid
 * calendar anchored before the trial's last reset). The tier follows the CRM cycle (the help
 * page's alignment) and is never prorated, so the cycle is settled whole at its start, whichever
 * way errs less: charged when the paid part is at most half the cycle, else granted without a
 * charge; either way its credits start now and the earlier ones end. Left alone (runs before
 * `settlePartTier`), the cycle went uncharged and lost its tier credits when the paid part ended.
 */
export function grantCycleAllocations(state: AccountState, nowMs: number, settlePartTier: () => boolean = () => true): void {
  if (!state.trial) topUpIncluded(state, nowMs, 'included credits');
  const tier = tierOf(state);
  if (state.tierPaidThrough !== undefined && Date.parse(state.cycle.start) >= Date.parse(state.tierPaidThrough)) delete state.tierPaidThrough;
  if (tier && state.tierPaidThrough !== undefined && !paidWhole(state) && settlePartTier()) settleTierPaidInPart(state, tier, nowMs);
  if (tier && state.tierPaidThrough === undefined) {
    chargeTier(state, tier, 'cycle_start', nowMs);
    addGrant(state, 'subscription', tier.name, tier.credits, state.cycle.end, nowMs);
  }
  grantOpenPromotions(state, nowMs);
}

/**
 * How a cycle `[startMs, endMs)` is settled at its start when an earlier tier charge paid for
 * the tier through `paidThroughMs`: `charge` when nothing or at most half of it was paid (the
 * tier is never prorated, and charging errs less), `grant` (its credits without a charge) when
 * over half was paid, `paid` when the whole was. One rule for the workflow and for what the
 * surfaces say of the next charge.
 */
export function tierSettlement(startMs: number, endMs: number, paidThroughMs: number): 'paid' | 'charge' | 'grant' {
  if (paidThroughMs <= startMs) return 'charge';
  if (paidThroughMs >= endMs) return 'paid';
  return paidThroughMs - startMs <= endMs - paidThroughMs ? 'charge' : 'grant';
}

/**
 * When the tier held is next charged: at the cycle's end, unless a paid period runs past it;
 * then at the first later cycle start {@link tierSettlement} charges, or the end of a cycle it
 * grants without a charge. What the workflow will do at those resets, for what people are told.
 */
export function nextTierChargeAt(state: AccountState): string {
  const through = state.tierPaidThrough === undefined ? NaN : Date.parse(state.tierPaidThrough);
  if (!(through > Date.parse(state.cycle.end))) return state.cycle.end;
  for (let k = 1; k <= 3; k++) {
    const window = cycleAt(state.anchor, state.cycle.index + k - state.anchorIndex);
    const settled = tierSettlement(Date.parse(window.start), Date.parse(window.end), through);
    if (settled === 'charge') return window.start;
    if (settled === 'grant') return window.end;
  }
  return state.tierPaidThrough as string;
}

/**
 * Whether the current cycle's tier is paid whole and its credits are live: a converted trial's
 * tier credits are kept to the paid period's end; a restart paid through a later day than its
 * first cycle's end holds none past that end, and is settled as a cycle paid in part.
 */
function paidWhole(state: AccountState): boolean {
  const end = Date.parse(state.cycle.end);
  if (tierSettlement(Date.parse(state.cycle.start), end, Date.parse(state.tierPaidThrough ?? '')) !== 'paid') return false;
  return state.grants.some((g) => g.source === 'subscription' && Date.parse(g.expiresAt) >= end);
}

/** See {@link grantCycleAllocations}: the cycle's tier when an earlier charge paid for part of it (or all, its credits gone). */
function settleTierPaidInPart(state: AccountState, tier: NonNullable<ReturnType<typeof tierOf>>, nowMs: number): void {
  const through = state.tierPaidThrough as string;
  const [start, end] = [Date.parse(state.cycle.start), Date.parse(state.cycle.end)];
  // The earlier tier credits, kept to the paid period's end, end with the cycle they paid for.
  for (const g of state.grants) if (g.source === 'subscription' && g.expiresAt === through) g.expiresAt = state.cycle.start;
  expireGrants(state, nowMs);
  if (tierSettlement(start, end, Date.parse(through)) === 'charge') {
    delete state.tierPaidThrough;
    logEntry(state, nowMs, 'tier_change', 0, { note: `${tier.id} was paid through ${through}, under half of this cycle: charged for the cycle now` });
    return;
  }
  // Paid through this cycle's end or later: the next reset settles what is left the same way.
  if (Date.parse(through) < end) state.tierPaidThrough = state.cycle.end;
  addGrant(state, 'subscription', tier.name, tier.credits, state.cycle.end, nowMs);
  const next = Date.parse(through) < end ? `charged again at ${state.cycle.end}` : 'settled again at its end';
  logEntry(state, nowMs, 'tier_change', 0, { note: `${tier.id} was paid through ${through}, over half of this cycle: not charged for it; ${next}` });
}

const DAY_MS = 86_400_000;

/**
 * Grant a trial its fixed trial credits, once per trial: only a new account's opening calls
 * this, never a reset. With the rules' `trial.lengthDays` the grant expires that many days
 * after the trial opens (an unconverted trial then holds no credits); without it the grant
 * is dated to the cycle's end and carried from cycle to cycle until the trial converts. The
 * grant is recorded in `trialGrant`; a state that has one is never granted again.
 */
export function grantTrialCredits(state: AccountState, nowMs: number): void {
  if (!state.trial || state.trialGrant !== undefined) return;
  const { credits, lengthDays } = state.rules.trial;
  const endsAt = lengthDays === undefined ? null : iso(nowMs + lengthDays * DAY_MS);
  state.includedGranted = credits;
  const grant = addGrant(state, 'trial', 'Trial credits', credits, endsAt ?? state.cycle.end, nowMs);
  state.trialGrant = { grantId: grant.grantId, startedAt: iso(nowMs), endsAt };
}

/**
 * A trial without a length keeps its one grant across a reset: the grant is re-dated to the
 * new cycle's end instead of expiring, so it is still spent first among what expires then,
 * and no new trial credits are granted. A trial with a length keeps its own end.
 */
function carryTrialGrant(state: AccountState, cycleEnd: string): void {
  const record = state.trialGrant;
  if (!state.trial || record === undefined || record.endsAt !== null) return;
  const grant = state.grants.find((g) => g.grantId === record.grantId);
  if (grant) grant.expiresAt = cycleEnd;
}

/**
 * Promotions: granted once per eligible account when its first cycle starting on or after
 * the promotion date begins, expiring at the end of the Nth cycle counted from that one. An
 * account that arrives inside that window gets the grant at once, expiring at the window's
 * end; one arriving after it gets nothing. An account that becomes eligible inside the window
 * (a tag added by `setTags`) is granted at once the same way.
 */
export function grantOpenPromotions(state: AccountState, nowMs: number): void {
  for (const promo of state.rules.promotions) {
    if (state.promotionsGranted.includes(promo.id) || !state.tags.includes(promo.eligibleTag)) continue;
    const startsMs = Date.parse(`${promo.startsOn}T00:00:00.000Z`);
    const first = cycleContaining(state.anchor, startsMs);
    const firstOffset = Date.parse(first.start) >= startsMs ? first.offset : first.offset + 1;
    const windowStart = Date.parse(cycleAt(state.anchor, firstOffset).start);
    const windowEnd = cycleAt(state.anchor, firstOffset + promo.validForCycles - 1).end;
    if (nowMs < windowStart || nowMs >= Date.parse(windowEnd)) continue;
    state.promotionsGranted.push(promo.id);
    addGrant(state, 'promotion', promo.name, promo.credits, windowEnd, nowMs);
  }
}
