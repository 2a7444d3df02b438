/**
 * Where an account is heading this cycle: its ledger replayed up to now through the credit
 * core, then its pace (credits used in the previous and current cycles over the time they
 * took) carried forward: when the balance runs out, and which tier would cover the cycle.
 */
import type { CreditAccount } from '../domain/account';
import { cycleAt } from '../domain/calendar';
import { cycleNumber } from '../display/cycle-number';
import type { LedgerStore } from '../ledger/store';
import type { RuleSet } from '../ruleset/load';
import { lastCompleteCycles } from './period';
import { replayAccount, type RunFigures } from './replay';
import { SimulationError, manualGrantExpiries } from './simulate';

/** The forecast of one account's current cycle. */
export interface Forecast {
  accountId: string;
  asOf: string;
  cycle: { index: number; start: string; end: string };
  available: number;
  usedThisCycle: number;
  usedPreviousCycle: number;
  /** Credits a day at the pace of the previous and current cycles together. */
  creditsPerDay: number;
  /** When the balance reaches zero at that pace, or null when it lasts the cycle. */
  runOutAt: string | null;
  /** Credits the whole cycle would use at that pace. */
  projectedCycleUse: number;
  /** The cycle's credits besides the tier held: included, promotional, manual and trial grants. */
  creditsWithoutTier: number;
  /** Whether the projected use needs a tier: false when {@link creditsWithoutTier} covers it. */
  tierNeeded: boolean;
  /**
   * The cheapest tier whose credits, with the rest of the cycle's grants, cover the projected use
   * (or the largest, `covers: false`); null when no tier is needed or the rules offer none.
   */
  tier: { id: string; name: string; priceCents: number; credits: number; covers: boolean } | null;
  currentTier: string | null;
}

const DAY_MS = 86_400_000;

/**
 * Forecasts `accountId` at `nowMs` (default now).
 *
 * @throws SimulationError `unknown_account` when the ledger holds no such account.
 */
export async function forecastAccount(store: LedgerStore, ruleSet: RuleSet, accountId: string, nowMs = Date.now()): Promise<Forecast> {
  const ids = await store.listAccountIds();
  if (!ids.includes(accountId)) throw new SimulationError('unknown_account', `the ledger (${store.label}) holds no account ${JSON.stringify(accountId)}`);
  let seen: { account: CreditAccount; cycles: ReadonlyMap<number, RunFigures> } | null = null;
  const outcome = await replayAccount(accountId, store.streamEntries({ accountId }), {
    ruleSet,
    draft: null,
    period: lastCompleteCycles(nowMs, 1),
    untilMs: nowMs,
    manualExpiries: await manualGrantExpiries(store, accountId),
    inspect: (account, cycles) => {
      seen = { account, cycles };
    },
  });
  if (seen === null) {
    // Nothing read up to `nowMs`: the account's ledger begins later.
    if (outcome.entries === 0) throw new SimulationError('no_current_cycle', `${JSON.stringify(accountId)} did not exist yet at ${new Date(nowMs).toISOString()}: its ledger begins later`);
    throw new SimulationError('unknown_account', `the ledger's history of ${JSON.stringify(accountId)} cannot be replayed (no opening entry)`);
  }
  const { account, cycles } = seen as { account: CreditAccount; cycles: ReadonlyMap<number, RunFigures> };
  const s = account.state;
  // The replay goes as far as the ledger: a ledger that ends before the cycle of `nowMs`
  // began (no reset written) is an account that closed, which nothing else marks.
  if (nowMs >= Date.parse(s.cycle.end)) {
    throw new SimulationError(
      'no_current_cycle',
      `the ledger holds nothing of ${JSON.stringify(accountId)} after cycle #${cycleNumber(s.cycle.index)}, which ended ${s.cycle.end}: the account seems to have closed, so there is no current cycle to forecast`,
    );
  }
  const startMs = Date.parse(s.cycle.start);
  const endMs = Date.parse(s.cycle.end);
  // The pace counts only time the account existed: one opened mid-cycle used its credits in less.
  const openedMs = outcome.openedAt === null ? -Infinity : Date.parse(outcome.openedAt);
  const previous = cycles.get(s.cycle.index - 1);
  const usedPrevious = previous?.used ?? 0;
  const previousSpan = previous ? Math.max(0, startMs - Math.max(Date.parse(cycleStartBefore(account)), openedMs)) : 0;
  const spanMs = Math.max(1, nowMs - Math.max(startMs, openedMs)) + previousSpan;
  const perMs = (usedPrevious + s.cycleUsed) / spanMs;
  const available = account.available();
  const runOutMs = perMs > 0 ? nowMs + available / perMs : Infinity;
  const projected = Math.ceil(s.cycleUsed + perMs * Math.max(0, endMs - nowMs));
  const heldTier = s.rules.tiers.find((t) => t.id === s.tierId);
  const beyondTier = s.cycleGranted - (heldTier?.credits ?? 0);
  const covering = s.rules.tiers.find((t) => beyondTier + t.credits >= projected);
  const largest = s.rules.tiers[s.rules.tiers.length - 1];
  const needed = beyondTier < projected;
  const pick = needed ? (covering ?? largest) : undefined;
  return {
    accountId,
    asOf: new Date(nowMs).toISOString(),
    cycle: { ...s.cycle },
    available,
    usedThisCycle: s.cycleUsed,
    usedPreviousCycle: usedPrevious,
    creditsPerDay: Math.round(perMs * DAY_MS * 100) / 100,
    runOutAt: runOutMs < endMs ? new Date(Math.max(nowMs, runOutMs)).toISOString() : null,
    projectedCycleUse: projected,
    creditsWithoutTier: beyondTier,
    tierNeeded: needed,
    tier: pick ? { id: pick.id, name: pick.name, priceCents: pick.priceCents, credits: pick.credits, covers: covering !== undefined } : null,
    currentTier: s.tierId,
  };
}

/** Start of the cycle before the current one, on the account's calendar. */
function cycleStartBefore(account: CreditAccount): string {
  const s = account.state;
  return cycleAt(s.anchor, s.cycle.index - s.anchorIndex - 1).start;
}
