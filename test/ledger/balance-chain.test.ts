/**
 * The ledger's running balance followed through an account's whole ledger (every cycle, one
 * epoch): the credit core's own entries across resets follow with no gap; a changed row, a
 * missing one and another epoch's entries are told apart.
 */
import { describe, expect, it } from 'vitest';
import { CreditAccount } from '../../domain/account';
import type { LedgerEntry } from '../../domain/effects';
import { ledgerChainOf } from '../../ledger/balance-chain';
import { ledgerChainDifferences } from '../../ledger/reconcile';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const DAY = 86_400_000;

/** Three cycles of an account's ledger, as its drained outbox would have written it. */
function history(epoch = 'e1'): LedgerEntry[] {
  let now = Date.parse('2026-06-10T12:00:00.000Z');
  const a = CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 2, cycleAnchor: '2026-06-03T00:00:00.000Z', creditTier: 'tier-1' }, rules, now, epoch);
  for (let i = 0; i < 12; i++) {
    a.recordUsage({ feature: 'enrichment', quantity: 300, idempotencyKey: `u${i}` }, now);
    if (i === 3) a.grantCredits({ credits: 250, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'g1' }, now);
    now += 6 * DAY;
    while (now >= Date.parse(a.state.cycle.end)) a.startNextCycle(rules);
    a.expireGrants(now);
  }
  return a.state.outbox.flatMap((e) => (e.type === 'ledger' ? [e.entry] : []));
}

describe('the whole ledger followed', () => {
  it('follows the credit core across resets with nothing missing, whatever order the entries come in', () => {
    const entries = history();
    expect(new Set(entries.map((e) => e.cycleIndex)).size).toBeGreaterThanOrEqual(3);
    const chain = ledgerChainOf('acme', 'e1', [...entries].reverse());
    expect(chain).toMatchObject({ accountId: 'acme', epoch: 'e1', entries: entries.length, balanceBreaks: [], sequenceGaps: [] });
    expect(chain.last?.seq).toBe(entries.at(-1)?.seq);
    expect(ledgerChainDifferences(chain)).toEqual([]);
  });

  it('finds a row of a closed cycle changed, and a row deleted', () => {
    const entries = history();
    const usage = entries.find((e) => e.kind === 'usage' && e.cycleIndex === 0) as LedgerEntry;
    const changed = entries.map((e) => (e === usage ? { ...e, credits: e.credits - 1 } : e));
    expect(ledgerChainOf('acme', 'e1', changed).balanceBreaks).toEqual([
      { entryId: usage.entryId, seq: usage.seq, kind: 'usage', cycleIndex: 0, expected: usage.balanceAfter + 1, balanceAfter: usage.balanceAfter },
    ]);
    const deleted = entries.filter((e) => e !== usage);
    const chain = ledgerChainOf('acme', 'e1', deleted);
    expect(chain.sequenceGaps).toEqual([{ from: usage.seq, to: usage.seq }]);
    expect(chain.balanceBreaks).toEqual([]);
    expect(ledgerChainDifferences(chain).map((d) => [d.code, d.mayCatchUp])).toEqual([['sequence_gap', true]]);
  });

  it('follows each epoch on its own, the latest one when none is named, and reads a row twice as once', () => {
    const old = history('old').map((e) => ({ ...e, at: new Date(Date.parse(e.at) - 400 * DAY).toISOString(), balanceAfter: e.balanceAfter + 3 }));
    const current = history('e1');
    const both = [...old, ...current, current[5] as LedgerEntry];
    const chain = ledgerChainOf('acme', null, both);
    expect(chain).toMatchObject({ epoch: 'e1', entries: current.length, balanceBreaks: [], sequenceGaps: [] });
    expect(ledgerChainOf('acme', 'old', both)).toMatchObject({ epoch: 'old', entries: old.length, balanceBreaks: [] });
    expect(ledgerChainOf('acme', 'none', both)).toMatchObject({ epoch: null, entries: 0, last: null });
  });
});
