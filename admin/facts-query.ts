/**
 * The query of `GET /api/accounts/:id/ledger`: which cycle's ledger facts `credits ledger
 * verify` wants (`cycle`, its `start` and `end` instants, and the workflow's `epoch`, if known);
 * and of `GET /api/accounts/:id/ledger/chain` (`--history`): the `epoch` alone.
 */
import { isIsoInstant } from '../ruleset/instant';
import type { LedgerFactsQuery } from '../ledger/reconcile';
import { badRequest } from './errors';

/** Epochs are the first characters of a Temporal run id (a UUID). */
const EPOCH = /^[A-Za-z0-9-]{1,64}$/;

function text(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`give ${name} once`);
  return value;
}

/**
 * Reads the epoch of `GET /api/accounts/:id/ledger/chain` (the whole ledger followed): null
 * when not given (the latest epoch is followed).
 *
 * @throws HttpError 400 when it is malformed.
 */
export function parseChainEpoch(query: Record<string, unknown>): string | null {
  const epoch = text(query, 'epoch');
  if (epoch !== undefined && !EPOCH.test(epoch)) throw badRequest('epoch must be 1-64 characters of A-Z, a-z, 0-9 and "-"');
  return epoch ?? null;
}

/**
 * Reads the facts query of `accountId`.
 *
 * @throws HttpError 400 when a parameter is missing or malformed.
 */
export function parseFactsQuery(accountId: string, query: Record<string, unknown>): LedgerFactsQuery {
  const cycle = text(query, 'cycle');
  const start = text(query, 'start');
  const end = text(query, 'end');
  const epoch = parseChainEpoch(query);
  if (cycle === undefined || !/^\d{1,9}$/.test(cycle)) throw badRequest('cycle must be a whole number (the summary\'s cycle index)');
  if (!isIsoInstant(start) || !isIsoInstant(end)) throw badRequest('start and end must be the cycle\'s UTC ISO-8601 instants');
  return { accountId, cycle: { index: Number(cycle), start, end }, epoch };
}
