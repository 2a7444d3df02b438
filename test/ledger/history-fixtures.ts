/**
 * One account's known ledger history for the "over time" views (usage by day and by user, the
 * credit ledger, billing history), with the sums a test expects spelled out beside it.
 */
import type { ChargeRequest, LedgerEntry } from '../../domain/effects';
import { tierCharge, usageEntry } from './entry-fixtures';

/** A user id a spreadsheet would run as a formula if the CSV did not escape it. */
export const FORMULA_USER = '=SUM(A1)';

/** An entry of kind other than usage: no user, feature or decision of its own. */
function movement(accountId: string, seq: number, at: string, overrides: Partial<LedgerEntry>): LedgerEntry {
  const { userId: _u, feature: _f, quantity: _q, unit: _n, decision: _d, idempotencyKey: _k, debits: _b, ...base } = usageEntry(accountId, seq);
  return { ...base, at, ...overrides };
}

/**
 * Cycle 0 (2026-06-03 to 2026-07-03) of `accountId`. Per UTC day: 06-03 12 credits in 2 uses;
 * 06-05 3 credits, 1 use, 1 refused; 06-06 21 credits in 2 uses (a call, no user);
 * 06-07 the 06-05 usage voided (-3, -1 use). Per user: no user 20, user-b 7 (1 refused),
 * user-a 5 (2 uses, 1 voided), {@link FORMULA_USER} 1. Credit movements: seq 1, 7, 8, 9, 11.
 */
export function historyEntries(accountId: string): LedgerEntry[] {
  const use = (seq: number, at: string, userId: string, credits: number, extra: Partial<LedgerEntry> = {}) =>
    usageEntry(accountId, seq, { at, userId, credits, quantity: credits, debits: [{ grantId: 'g-included-0', credits }], ...extra });
  return [
    movement(accountId, 1, '2026-06-03T00:00:00.000Z', { kind: 'grant', credits: 10_000, grantId: 'g-included-0', source: 'included', note: 'Growth included credits' }),
    use(2, '2026-06-03T10:00:00.000Z', 'user-a', 5),
    use(3, '2026-06-03T23:59:59.999Z', 'user-b', 7),
    use(4, '2026-06-05T00:00:00.000Z', 'user-a', 3),
    use(5, '2026-06-05T01:00:00.000Z', 'user-b', 0, { decision: 'rejected', reason: 'insufficient_credits', debits: [] }),
    {
      ...movement(accountId, 6, '2026-06-06T12:00:00.000Z', { kind: 'call_end', credits: 20, decision: 'accepted' }),
      feature: 'voice-agent',
      quantity: 4,
      unit: 'minute',
      callId: 'call-1',
      agentId: 'agent-1',
    },
    movement(accountId, 7, '2026-06-07T09:00:00.000Z', { kind: 'void', credits: -3, feature: 'enrichment', quantity: -3, idempotencyKey: 'key-4', note: 'voided: duplicate' }),
    movement(accountId, 8, '2026-06-07T10:00:00.000Z', { kind: 'grant', credits: 500, grantId: 'g-manual-1', source: 'manual', note: '-goodwill' }),
    movement(accountId, 9, '2026-06-08T00:00:00.000Z', { kind: 'call_overage', credits: 4, note: 'call past zero' }),
    use(10, '2026-06-06T13:00:00.000Z', FORMULA_USER, 1),
    movement(accountId, 11, '2026-07-03T00:00:00.000Z', { kind: 'expiry', credits: 100, grantId: 'g-manual-1', source: 'manual' }),
  ];
}

/** The tier charges of `accountId`: Tier 3 at the cycle start, then an upgrade to Tier 5. */
export function historyCharges(accountId: string): ChargeRequest[] {
  return [
    tierCharge(accountId, { chargeId: `${accountId}:charge:0` }),
    tierCharge(accountId, { chargeId: `${accountId}:charge:1`, at: '2026-06-10T15:30:00.000Z', tierId: 'tier-5', amountCents: 20_000, reason: 'upgrade' }),
  ];
}
