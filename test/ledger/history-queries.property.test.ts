/**
 * The "over time" aggregates agree with each other and with the per-feature sums for any mix of
 * usage, refusals, calls and voids: summing usage by day, by user or by feature gives the same
 * credits, uses and refusals, and the credit ledger's pages hold each movement exactly once.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../domain/effects';
import { CREDIT_MOVEMENT_KINDS } from '../../ledger/history-queries';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { usageEntry } from './entry-fixtures';

let store: LedgerStore;
beforeAll(async () => {
  store = await openLedgerStore({ url: 'pglite:memory' });
});
afterAll(async () => {
  await store?.close();
});

type Step = { kind: 'use' | 'refuse' | 'call' | 'grant' | 'void'; credits: number; user: number; minutes: number };

const step = fc.record({
  kind: fc.constantFrom<Step['kind']>('use', 'refuse', 'call', 'grant', 'void'),
  credits: fc.integer({ min: 1, max: 500 }),
  user: fc.integer({ min: 0, max: 3 }),
  minutes: fc.integer({ min: 0, max: 3 * 24 * 60 }),
});

/** The steps as ledger entries a minute-offset apart; a void reverses the latest usage not voided yet. */
function entries(accountId: string, steps: readonly Step[]): LedgerEntry[] {
  let at = Date.parse('2026-06-03T00:00:00.000Z');
  const open: LedgerEntry[] = [];
  return steps.flatMap((s, i): LedgerEntry[] => {
    const seq = i + 1;
    at += s.minutes * 60_000;
    const base = usageEntry(accountId, seq, { at: new Date(at).toISOString(), userId: `user-${s.user}`, credits: s.credits, quantity: s.credits });
    if (s.kind === 'use') {
      open.push(base);
      return [base];
    }
    if (s.kind === 'refuse') return [{ ...base, decision: 'rejected', reason: 'insufficient_credits', credits: 0, debits: [] }];
    if (s.kind === 'call') return [{ ...base, kind: 'call_end', userId: undefined, feature: 'voice-agent', unit: 'minute' }];
    if (s.kind === 'grant') return [{ ...base, kind: 'grant', userId: undefined, feature: undefined, quantity: undefined, decision: undefined, idempotencyKey: undefined }];
    const voided = open.pop();
    if (!voided) return [];
    return [{ ...base, kind: 'void', userId: undefined, credits: -voided.credits, quantity: -voided.credits, decision: undefined, idempotencyKey: voided.idempotencyKey }];
  });
}

let run = 0;

describe('usage over time', () => {
  it('sums alike by day, by user and by feature, and pages every movement once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 7 }), async (steps, limit) => {
        const accountId = `prop-${++run}`;
        const written = entries(accountId, steps);
        await store.appendEntries(written);
        const filter = { accountId, cycleIndex: 0 };
        const total = (rows: readonly { credits: number; uses: number; refused: number }[]) =>
          rows.reduce((t, r) => ({ credits: t.credits + r.credits, uses: t.uses + r.uses, refused: t.refused + r.refused }), { credits: 0, uses: 0, refused: 0 });
        const byFeature = (await store.usageByFeature(accountId, 0)).map((f) => ({ credits: f.credits, uses: f.count, refused: f.rejected }));
        const expected = total(byFeature);
        expect(total(await store.usageByDay(filter))).toEqual(expected);
        expect(total(await store.usageByUser(filter))).toEqual(expected);
        // Voids count for the user they reverse: no user's uses go below zero.
        for (const u of await store.usageByUser(filter)) expect(u.uses).toBeGreaterThanOrEqual(0);

        const seen: number[] = [];
        let beforeSeq: number | undefined;
        for (;;) {
          const page = await store.pageEntries({ accountId, kinds: CREDIT_MOVEMENT_KINDS }, beforeSeq === undefined ? { limit } : { limit, beforeSeq });
          seen.push(...page.entries.map((e) => e.seq));
          if (page.nextBeforeSeq === null) break;
          beforeSeq = page.nextBeforeSeq;
        }
        const movements = written.filter((e) => (CREDIT_MOVEMENT_KINDS as readonly string[]).includes(e.kind)).map((e) => e.seq);
        expect(seen).toEqual([...movements].reverse());
      }),
      { numRuns: 30 },
    );
  });
});
