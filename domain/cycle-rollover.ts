/**
 * Time moving on for an account: grants expiring, one cycle closing and the next opening with
 * its allocations (included or trial credits, the tier's credits and charge, promotions).
 */
import type { Rules } from '../ruleset/types';
import { cycleAt, cycleContaining } from './calendar';
import { partitionExpired, remainingCredits } from './grants';
import { tierOf, type AccountState } from './account-state';
import type { AnswerWindow } from './answers';
import { chargeTier, logEntry } from './outbox';
import { addGrant, topUpIncluded } from './credit-pool';
import { forgetVoidable } from './usage-voids';

/** Expire grants whose end has come (mid-cycle expiries, e.g. a promotion after re-anchoring). */
export function expireGrants(state: AccountState, nowMs: number): void {
  const { live, expired } = partitionExpired(state.grants, nowMs);
  if (expired.length === 0) return;
  state.grants = live;
  for (const g of expired) {
    if (g.remaining > 0 && Date.parse(g.expiresAt) < Date.parse(state.cycle.end)) {
      state.cycleGranted -= g.remaining;
    }
    logEntry(state, nowMs, 'expiry', g.remaining, { grantId: g.grantId, source: g.source, note: `${g.label} expired` });
  }
}

/**
 * Close the current cycle at `startMs` and open the next one, priced with `rules`: grants
 * ending by then expire (their remainder is breakage, recorded), an unsettled overdraft is
 * written off, pending changes apply, counters and alerts reset, answers older than the
 * cycle just closed are forgotten, and the new cycle's allocations are granted.
 */
export function beginCycle(state: AccountState, answers: AnswerWindow, rules: Rules, startMs: number): void {
  const s = state;
  const index = s.cycle.index + 1;
  const window = cycleAt(s.anchor, index - s.anchorIndex);
  expireGrants(s, startMs);
  if (s.overdraft > 0) {
    logEntry(s, startMs, 'overdraft_write_off', s.overdraft, { note: 'overdraft not covered within its cycle' });
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
  answers.forgetBefore(index - 1);
  forgetVoidable(s);
  logEntry(s, startMs, 'cycle_start', 0, { note: `cycle ${index}: ${window.start} -> ${window.end}` });
  grantCycleAllocations(s, startMs);
}

/** Included or trial credits, the tier's credits (charged) and open promotions for this cycle. */
export function grantCycleAllocations(state: AccountState, nowMs: number): void {
  if (state.trial) {
    state.includedGranted = state.rules.trial.credits;
    addGrant(state, 'trial', 'Trial credits', state.rules.trial.credits, state.cycle.end, nowMs);
  } else {
    topUpIncluded(state, nowMs, 'included credits');
  }
  const tier = tierOf(state);
  if (tier) {
    chargeTier(state, tier, 'cycle_start', nowMs);
    addGrant(state, 'subscription', tier.name, tier.credits, state.cycle.end, nowMs);
  }
  grantOpenPromotions(state, nowMs);
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
