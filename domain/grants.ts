/**
 * Credit grants and burn-down. A pool is a list of grants; usage debits them in consumption
 * order: the grant expiring soonest first, ties broken by the rules' source priority, then the
 * oldest grant first. Consuming the soonest-expiring credits first is what a customer would
 * do by hand: it minimises credits lost at expiry.
 */
import type { GrantSource } from '../ruleset/types';
import type { GrantView } from './wire-contract';
import type { GrantDebit } from './effects';
import { leadingBits, sha256 } from './digest';

// Bound once: in the workflow sandbox each lookup of a global costs about 0.3 µs (see
// domain/digest.ts), and grants are ordered and debited at every credit-charging event.
const { parse: parseTime } = Date;
const { min } = Math;

/** One grant of credits: what the summary shows of it, plus its creation order for "oldest first". */
export interface Grant extends GrantView {
  seq: number;
  /**
   * A manual grant's idempotency key, as {@link grantKeyDigest}: a retry whose answer the
   * window has forgotten (pushed out by call answers, or older than the previous cycle) is
   * still recognised while the grant lives. Absent on grants made before it was kept.
   */
  key?: number;
}

/**
 * The id of the account's grant number `seq` (its creation order) under workflow `epoch`: one
 * spelling for the grant made now and for one named again after it has expired.
 */
export function grantIdOf(seq: number, epoch: string): string {
  return `g${seq}.${epoch}`;
}

/** 48 leading bits of the SHA-256 of a manual grant's idempotency key (small to carry, not steerable). */
export function grantKeyDigest(idempotencyKey: string): number {
  return leadingBits(sha256(`grant:${idempotencyKey}`), 48);
}

/** Consumption tie-break priority by source (lower is consumed first). */
export type SourcePriority = Readonly<Record<GrantSource, number>>;

/** Grants in the order they are consumed. Does not modify its input. */
export function consumptionOrder(grants: readonly Grant[], priority: SourcePriority): Grant[] {
  return [...grants].sort(
    (a, b) =>
      parseTime(a.expiresAt) - parseTime(b.expiresAt) ||
      priority[a.source] - priority[b.source] ||
      a.seq - b.seq,
  );
}

/** Result of debiting a pool. */
export interface DebitOutcome {
  /** What each grant gave, in consumption order. */
  debits: GrantDebit[];
  /** Credits the pool could not cover (only non-zero when the caller lets usage run past zero). */
  shortfall: number;
}

/**
 * Debit `credits` from the pool in consumption order, mutating the grants' `remaining`.
 * Whatever the grants cannot cover is returned as the shortfall: the caller decides whether
 * that is an overdraft (a call already in progress) or could not happen (admission checks first).
 */
export function debitGrants(grants: Grant[], credits: number, priority: SourcePriority): DebitOutcome {
  const debits: GrantDebit[] = [];
  let left = credits;
  for (const grant of consumptionOrder(grants, priority)) {
    if (left === 0) break;
    const take = min(grant.remaining, left);
    if (take === 0) continue;
    grant.remaining -= take;
    left -= take;
    debits.push({ grantId: grant.grantId, credits: take });
  }
  return { debits, shortfall: left };
}

/** Credits left in the pool's grants. */
export function remainingCredits(grants: readonly Grant[]): number {
  return grants.reduce((sum, g) => sum + g.remaining, 0);
}

/** Split a pool into grants still live at `atMs` and grants that have expired by then. */
export function partitionExpired(grants: readonly Grant[], atMs: number): { live: Grant[]; expired: Grant[] } {
  const live: Grant[] = [];
  const expired: Grant[] = [];
  for (const g of grants) (parseTime(g.expiresAt) <= atMs ? expired : live).push(g);
  return { live, expired };
}

/** The soonest expiry among the grants, in epoch ms, or undefined for an empty pool. */
export function nextExpiryMs(grants: readonly Grant[]): number | undefined {
  let soonest: number | undefined;
  for (const g of grants) {
    const t = parseTime(g.expiresAt);
    if (soonest === undefined || t < soonest) soonest = t;
  }
  return soonest;
}
