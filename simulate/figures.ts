/**
 * The figures a simulation reports, counted from ledger entries. The ledger's own entries and
 * the entries a replay's core writes are counted by this one function, so a difference between
 * the two is a difference in what happened, never in how it was counted.
 */
import type { LedgerEntry } from '../domain/effects';

/** What one cycle (or a sum of cycles) of one account came to. */
export interface Figures {
  /** Credits granted: included, trial, tier, promotional and manual grants. */
  granted: number;
  /** Credits used: accepted usage and call minutes, less voids. */
  used: number;
  /** Credits that lapsed unused (grants expired at resets, trial credits forfeited): breakage. */
  lapsed: number;
  /** Tier charges in integer cents. */
  revenueCents: number;
  /** Usages and call starts refused. */
  refused: number;
  /** Low-credit warnings that fired. */
  warnings: number;
  /** Exhausted alerts that fired: each is a moment the account was paused. */
  exhausted: number;
  /** When the first exhausted alert fired (UTC ISO-8601), or null. */
  pausedAt: string | null;
}

/** The figures' numeric fields, the ones compared and summed. */
export const FIGURE_FIELDS = ['granted', 'used', 'lapsed', 'revenueCents', 'refused', 'warnings', 'exhausted'] as const;
/** One of {@link FIGURE_FIELDS}. */
export type FigureField = (typeof FIGURE_FIELDS)[number];

/** Nothing yet. */
export function emptyFigures(): Figures {
  return { granted: 0, used: 0, lapsed: 0, revenueCents: 0, refused: 0, warnings: 0, exhausted: 0, pausedAt: null };
}

/**
 * Refusals that say the ledger was down, not that the account ran short: a replay has no
 * outage, so these are neither replayed nor counted on either side.
 */
export function isOutageRefusal(entry: LedgerEntry): boolean {
  return entry.reason === 'ledger_backlog';
}

/** Adds what one entry says to `figures`. */
export function countEntry(figures: Figures, entry: LedgerEntry): void {
  switch (entry.kind) {
    case 'grant':
      figures.granted += entry.credits;
      break;
    case 'usage':
      if (entry.decision === 'accepted') figures.used += entry.credits;
      else if (!isOutageRefusal(entry)) figures.refused += 1;
      break;
    case 'call_start':
      if (entry.decision === 'rejected') figures.refused += 1;
      break;
    case 'call_end':
    case 'call_part':
    case 'void':
      figures.used += entry.credits;
      break;
    case 'expiry':
    case 'forfeit':
      figures.lapsed += entry.credits;
      break;
    case 'charge':
      figures.revenueCents += entry.amountCents ?? 0;
      break;
    case 'alert':
      if (entry.note === 'warning') figures.warnings += 1;
      if (entry.note === 'exhausted') {
        figures.exhausted += 1;
        if (figures.pausedAt === null) figures.pausedAt = entry.at;
      }
      break;
    default:
      break;
  }
}

/** `into` plus `more`: sums, and the earlier pause. */
export function addFigures(into: Figures, more: Figures): void {
  for (const field of FIGURE_FIELDS) into[field] += more[field];
  if (more.pausedAt !== null && (into.pausedAt === null || more.pausedAt < into.pausedAt)) into.pausedAt = more.pausedAt;
}
