/**
 * The log of refused API keys, bounded per caller address: a script hammering the API with a
 * wrong key would otherwise write a line per request. Each address gets a few lines a window;
 * the next line after a quiet spell says how many refusals went unlogged in between.
 */

/** How many refusal lines an address may write, per window of `perMs`. */
export interface RefusalLogBudget {
  lines: number;
  perMs: number;
}

/** Default {@link RefusalLogBudget}: ten lines a minute per address. */
export const DEFAULT_REFUSAL_LOG_BUDGET: RefusalLogBudget = { lines: 10, perMs: 60_000 };

/** Addresses tracked at most; past it the counts start again (a flood from many addresses). */
const MAX_ADDRESSES = 10_000;

/** Counts refusals per address and says which to log. */
export class RefusalLog {
  private readonly seen = new Map<string, { since: number; logged: number; unlogged: number }>();

  constructor(
    private readonly budget: RefusalLogBudget = DEFAULT_REFUSAL_LOG_BUDGET,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A refusal from `address`: the suffix to log it with (`''`, or how many went unlogged
   * before it), or undefined when this one is not to be logged.
   */
  note(address: string): string | undefined {
    const at = this.now();
    let entry = this.seen.get(address);
    if (entry === undefined || at - entry.since >= this.budget.perMs) {
      if (entry === undefined && this.seen.size >= MAX_ADDRESSES) this.seen.clear();
      const unlogged = entry?.unlogged ?? 0;
      entry = { since: at, logged: 0, unlogged: 0 };
      this.seen.set(address, entry);
      entry.logged = 1;
      return unlogged > 0 ? ` (and ${unlogged} more refused from this address before it, not logged)` : '';
    }
    if (entry.logged < this.budget.lines) {
      entry.logged += 1;
      return '';
    }
    entry.unlogged += 1;
    return undefined;
  }
}
