/**
 * The compact ledger batch the workflow hands to `appendLedger`: decoding gives back exactly
 * the entries encoded, whatever they hold, and it is far smaller than the entries as JSON.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../domain/effects';
import { decodeLedgerBatch, encodeLedgerBatch, isCompactLedgerBatch } from '../../domain/ledger-batch';
import { jsonBytes } from '../../domain/state-budget';

const KINDS = ['usage', 'grant', 'expiry', 'void', 'call_end', 'tier_change', 'alert'] as const;
const T0 = Date.parse('2026-11-25T09:00:00.000Z');

/** Entries of one account as the workflow writes them, with now and then an odd one. */
const entries = fc
  .record({
    accountId: fc.string({ minLength: 1, maxLength: 12 }),
    epoch: fc.stringMatching(/^[0-9a-f]{8}$/),
    rulesVersion: fc.constantFrom('2026-06-03', '2026-09-01'),
    items: fc.array(
      fc.record(
        {
          kind: fc.constantFrom(...KINDS),
          dt: fc.integer({ min: 0, max: 90 * 86_400_000 }),
          credits: fc.integer({ min: -1_000_000, max: 1_000_000 }),
          balanceAfter: fc.integer({ min: -1_000_000, max: 10_000_000 }),
          cycleShift: fc.constantFrom(0, 0, 0, 1),
          otherRules: fc.boolean(),
          oddId: fc.constantFrom(false, false, false, true),
          oddTime: fc.constantFrom(false, false, false, true),
          feature: fc.option(fc.constantFrom('enrichment', 'voice-agent', 'x=1'), { nil: undefined }),
          quantity: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((q) => (Object.is(q, -0) ? 0 : q)), { nil: undefined }), // JSON has no -0
          userId: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
          idempotencyKey: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
          decision: fc.option(fc.constantFrom('accepted', 'rejected'), { nil: undefined }),
          debits: fc.option(fc.array(fc.record({ grantId: fc.string({ maxLength: 30 }), credits: fc.integer() }), { maxLength: 3 }), { nil: undefined }),
          note: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
        },
        { requiredKeys: ['kind', 'dt', 'credits', 'balanceAfter', 'cycleShift', 'otherRules', 'oddId', 'oddTime'] },
      ),
      { minLength: 1, maxLength: 30 },
    ),
  })
  .map(({ accountId, epoch, rulesVersion, items }) =>
    items.map((item, seq): LedgerEntry => {
      const entry: Record<string, unknown> = {
        entryId: item.oddId ? `legacy-${seq}` : `${accountId}:${epoch}:${seq}`,
        accountId,
        seq,
        at: item.oddTime ? '2026-11-25T09:00:00Z' : new Date(T0 + item.dt).toISOString(),
        kind: item.kind,
        cycleIndex: 3 + item.cycleShift,
        credits: item.credits,
        balanceAfter: item.balanceAfter,
        rulesVersion: item.otherRules ? '2025-01-01' : rulesVersion,
      };
      for (const field of ['feature', 'quantity', 'userId', 'idempotencyKey', 'decision', 'debits', 'note'] as const) {
        if (item[field] !== undefined) entry[field] = item[field];
      }
      return entry as unknown as LedgerEntry;
    }),
  );

/** A busy account's usage entries, 1,000 of them, the i-th at `offsetMs(i)` after T0. */
function busyUsage(offsetMs: (i: number) => number): LedgerEntry[] {
  return Array.from({ length: 1000 }, (_, i): LedgerEntry => ({
    entryId: `acme-prod:01a2121d:${1000 + i}`,
    accountId: 'acme-prod',
    seq: 1000 + i,
    at: new Date(T0 + offsetMs(i)).toISOString(),
    kind: 'usage',
    cycleIndex: 4,
    credits: 1,
    balanceAfter: 90_000 - i,
    rulesVersion: '2026-06-03',
    feature: 'enrichment',
    quantity: 1,
    unit: 'lead',
    idempotencyKey: `lead-${i}-enrich`,
    decision: 'accepted',
    debits: [{ grantId: 'acme-prod:01a2121d:included:4', credits: 1 }],
  }));
}

describe('compact ledger batches', () => {
  it('decode to exactly the entries encoded, through JSON', () => {
    fc.assert(
      fc.property(entries, (batch) => {
        const wire = JSON.parse(JSON.stringify(encodeLedgerBatch(batch))) as unknown;
        expect(isCompactLedgerBatch(wire)).toBe(true);
        expect(decodeLedgerBatch(wire as ReturnType<typeof encodeLedgerBatch>)).toEqual(batch);
      }),
      { numRuns: 300 },
    );
  });

  it('decode to exactly the entries encoded in version 2 (each entry as its difference from the one before), through JSON', () => {
    fc.assert(
      fc.property(entries, (batch) => {
        const wire = JSON.parse(JSON.stringify(encodeLedgerBatch(batch, 2))) as unknown;
        expect(isCompactLedgerBatch(wire)).toBe(true);
        expect((wire as { v: number }).v).toBe(2);
        expect(decodeLedgerBatch(wire as ReturnType<typeof encodeLedgerBatch>)).toEqual(batch);
      }),
      { numRuns: 300 },
    );
  });

  it('decode version 2 exactly when neighbours share fields, lose them, and break the sequence and balance rules', () => {
    const base = { accountId: 'a', at: new Date(T0).toISOString(), cycleIndex: 1, rulesVersion: 'r' };
    const batch = [
      { ...base, entryId: 'a:e:1', seq: 1, kind: 'usage', credits: 2, balanceAfter: 10, feature: 'f', debits: [{ grantId: 'g', credits: 2 }] },
      // seq and balance follow; debits and feature repeat
      { ...base, entryId: 'a:e:2', seq: 2, kind: 'usage', credits: 2, balanceAfter: 8, feature: 'f', debits: [{ grantId: 'g', credits: 2 }] },
      // seq jumps, balance does not follow, the feature and debits are gone, a note appears
      { ...base, entryId: 'a:e:7', seq: 7, kind: 'grant', credits: 5, balanceAfter: 13, note: 'n' },
      // the same seq again, a balance equal to the last one's, credits gone (so no balance rule)
      { ...base, entryId: 'a:e:7', seq: 7, kind: 'grant', balanceAfter: 13 },
      // seq and balance themselves gone
      { ...base, entryId: 'odd', kind: 'grant', credits: 0 },
    ] as unknown as LedgerEntry[];
    const wire = JSON.parse(JSON.stringify(encodeLedgerBatch(batch, 2))) as ReturnType<typeof encodeLedgerBatch>;
    expect(wire.x[1]).toEqual({});
    expect(decodeLedgerBatch(wire)).toEqual(batch);
  });

  it('weigh about a sixth of version 1 for a busy account’s usage in version 2', () => {
    // Batches of 100 events share a time, as a batch update's do.
    const usage = busyUsage((i) => Math.floor(i / 100) * 40);
    expect(jsonBytes(encodeLedgerBatch(usage, 2))).toBeLessThan(jsonBytes(encodeLedgerBatch(usage)) / 5);
    expect(decodeLedgerBatch(encodeLedgerBatch(usage, 2))).toEqual(usage);
  });

  it('keep a debit with a field of its own as it is', () => {
    const odd = { grantId: 'g1', credits: 2, note: 'kept' };
    const entry = { entryId: 'a:e:1', accountId: 'a', seq: 1, at: new Date(T0).toISOString(), kind: 'usage', cycleIndex: 0, credits: 2, balanceAfter: 5, rulesVersion: 'r', debits: [odd] } as unknown as LedgerEntry;
    expect(decodeLedgerBatch(encodeLedgerBatch([entry]))).toEqual([entry]);
  });

  it('weigh about a third of the entries for a busy account’s usage', () => {
    const usage = busyUsage((i) => i * 3);
    const compact = jsonBytes(encodeLedgerBatch(usage));
    expect(compact).toBeLessThan(jsonBytes({ entries: usage }) * 0.45);
  });

  it('refuse an empty batch and a batch of two accounts', () => {
    expect(() => encodeLedgerBatch([])).toThrow(RangeError);
    const a = { entryId: 'a:e:1', accountId: 'a', seq: 1, at: new Date(T0).toISOString(), kind: 'usage', cycleIndex: 0, credits: 0, balanceAfter: 0, rulesVersion: 'r' } as LedgerEntry;
    expect(() => encodeLedgerBatch([a, { ...a, accountId: 'b', entryId: 'b:e:2', seq: 2 }])).toThrow(RangeError);
    expect(isCompactLedgerBatch({ v: 3, a: 'a', e: 'e', x: [] })).toBe(false);
    expect(isCompactLedgerBatch(null)).toBe(false);
  });
});
