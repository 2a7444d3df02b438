/** Ledger entries, charges and alerts for tests, valid unless a test spoils them. */
import type { AlertNotice, ChargeRequest, LedgerEntry } from '../../domain/effects';

const CYCLE_START = Date.parse('2026-06-03T00:00:00.000Z');

/** A usage entry of `accountId` with sequence number `seq`, one minute after the previous. */
export function usageEntry(accountId: string, seq: number, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    entryId: `${accountId}:${seq}`,
    accountId,
    seq,
    at: new Date(CYCLE_START + seq * 60_000).toISOString(),
    kind: 'usage',
    cycleIndex: 0,
    credits: 2,
    balanceAfter: 10_000 - 2 * seq,
    rulesVersion: 'rules-v1',
    feature: 'enrichment',
    quantity: 2,
    unit: 'field',
    userId: 'user-1',
    idempotencyKey: `key-${seq}`,
    decision: 'accepted',
    debits: [{ grantId: 'g-included-0', credits: 2 }],
    ...overrides,
  };
}

/**
 * An entry of another kind than usage (a grant, a write-off) of `accountId` with sequence number
 * `seq`: {@link usageEntry} without the usage's own fields.
 */
export function plainEntry(accountId: string, seq: number, overrides: Partial<LedgerEntry> & Pick<LedgerEntry, 'kind'>): LedgerEntry {
  const { feature: _f, quantity: _q, unit: _u, userId: _p, idempotencyKey: _k, decision: _d, debits: _b, ...plain } = usageEntry(accountId, seq);
  return { ...plain, ...overrides };
}

/** `count` consecutive usage entries starting at `firstSeq`. */
export function usageEntries(accountId: string, firstSeq: number, count: number): LedgerEntry[] {
  return Array.from({ length: count }, (_, i) => usageEntry(accountId, firstSeq + i));
}

/** A cycle-start tier charge. */
export function tierCharge(accountId: string, overrides: Partial<ChargeRequest> = {}): ChargeRequest {
  return {
    chargeId: `${accountId}:charge:0`,
    accountId,
    at: '2026-06-03T00:00:00.000Z',
    tierId: 'tier-3',
    amountCents: 10_000,
    currency: 'USD',
    reason: 'cycle_start',
    cycleIndex: 0,
    rulesVersion: 'rules-v1',
    ...overrides,
  };
}

/** A warning alert for two admins. */
export function warningAlert(accountId: string, overrides: Partial<AlertNotice> = {}): AlertNotice {
  return {
    alertId: `${accountId}:alert:0:warning`,
    accountId,
    at: '2026-06-20T12:00:00.000Z',
    state: 'warning',
    admins: ['ada@example.com', 'grace@example.com'],
    cycleIndex: 0,
    cycleEnd: '2026-07-03T00:00:00.000Z',
    available: 3_000,
    granted: 15_000,
    used: 12_000,
    projectedRunOutAt: '2026-06-28T06:00:00.000Z',
    rulesVersion: 'rules-v1',
    ...overrides,
  };
}
