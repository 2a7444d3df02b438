/**
 * Time moving on for a replayed account, as the workflow's main loop moves it: at each wake
 * (a cycle end or a grant's expiry) every cycle that has ended is closed and the next opened
 * with the rules chosen for its start, then grants that are due expire. The replay and the
 * scenario recorder share this one function, so both see time pass the same way.
 */
import { CreditAccount, rulesFitAccount } from '../domain/account';
import { cycleAt } from '../domain/calendar';
import type { Rules } from '../ruleset/types';

/** A cycle about to open: its index and window. */
export interface CycleOpening {
  index: number;
  start: string;
  end: string;
}

/** Chooses the rules a cycle opens with (the version in force at its start, or a draft). */
export type RulesForCycle = (cycle: CycleOpening) => Rules;

/** The window of the cycle after the account's current one, on its own calendar. */
export function nextCycleOf(account: CreditAccount): CycleOpening {
  const s = account.state;
  const index = s.cycle.index + 1;
  const window = cycleAt(s.anchor, index - s.anchorIndex);
  return { index, start: window.start, end: window.end };
}

/**
 * Moves the account on to `atMs`: every wake at or before it is handled in order. Rules that
 * lack the account's plan or tier are not used: the cycle keeps the previous version, as the
 * workflow does; `onUnfit` hears of it.
 */
export function advanceTo(account: CreditAccount, atMs: number, rulesFor: RulesForCycle, onUnfit?: (cycle: CycleOpening, rules: Rules) => void): void {
  for (;;) {
    const wake = account.nextWakeMs();
    if (wake > atMs) return;
    while (wake >= Date.parse(account.state.cycle.end)) {
      const cycle = nextCycleOf(account);
      const next = rulesFor(cycle);
      const fits = rulesFitAccount(next, account.state);
      if (!fits) onUnfit?.(cycle, next);
      account.startNextCycle(fits ? next : account.state.rules);
    }
    account.expireGrants(wake);
  }
}
