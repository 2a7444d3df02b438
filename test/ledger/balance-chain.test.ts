/**
 * The ledger's running balance followed through an account's whole ledger (every cycle, one
 * epoch): the credit core's own entries across resets follow with no gap; a changed row, a
 * missing one and another epoch's entries are told apart.
 */
import { describe, expect, it } from 'vitest';
import { CreditAccount } from '../../domain/account';
import type { ChargeRequest, LedgerEntry } from '../../domain/effects';
import { ledgerChainOf } from '../../ledger/balance-chain';
import { ledgerChainDifferences } from '../../ledger/reconcile';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const DAY = 86_400_000;

/** Three cycles of an account's ledger, as its drained outbox would have written it. */
function history(epoch = 'e1', users = 2): LedgerEntry[] {
  return outboxOf(epoch, users).flatMap((e) => (e.type === 'ledger' ? [e.entry] : []));
}

/** The same account's billing record: its tier charged at every cycle start. */
function billing(epoch = 'e1'): ChargeRequest[] {
  return outboxOf(epoch, 2).flatMap((e) => (e.type === 'charge' ? [e.charge] : []));
}

function outboxOf(epoch: string, users: number) {
  let now = Date.parse('2026-06-10T12:00:00.000Z');
  const a = CreditAccount.open({ accountId: 'acme', plan: 'growth', users, cycleAnchor: '2026-06-03T00:00:00.000Z', creditTier: 'tier-1' }, rules, now, epoch);
  for (let i = 0; i < 12; i++) {
    a.recordUsage({ feature: 'enrichment', quantity: 300, idempotencyKey: `u${i}` }, now);
    if (i === 3) a.grantCredits({ credits: 250, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'g1' }, now);
    now += 6 * DAY;
    while (now >= Date.parse(a.state.cycle.end)) a.startNextCycle(rules);
    a.expireGrants(now);
  }
  return a.state.outbox;
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

  it("finds an epoch's first entries deleted, and a row added under an existing sequence number", () => {
    const entries = history();
    const [opening, grant] = entries;
    expect([opening?.seq, opening?.kind, opening?.balanceAfter]).toEqual([1, 'cycle_start', 0]);
    const headless = ledgerChainOf('acme', 'e1', entries.slice(2));
    expect(headless.sequenceGaps).toEqual([{ from: 1, to: 2 }]);
    expect(ledgerChainDifferences(headless).map((d) => d.code)).toEqual(['sequence_gap']);
    // The first entry itself changed: it no longer opens from nothing.
    const shifted = ledgerChainOf('acme', 'e1', [{ ...(opening as LedgerEntry), balanceAfter: 5 }, ...entries.slice(1)]);
    expect(shifted.balanceBreaks.map((b) => [b.seq, b.expected, b.balanceAfter])).toEqual([
      [1, 0, 5],
      [2, 5 + (grant?.credits ?? 0), grant?.balanceAfter],
    ]);

    const usage = entries.find((e) => e.kind === 'usage' && e.cycleIndex === 0) as LedgerEntry;
    const forged: LedgerEntry = { ...usage, entryId: `${usage.entryId}x`, credits: 999, balanceAfter: usage.balanceAfter - 999 };
    const chain = ledgerChainOf('acme', 'e1', [...entries, forged]);
    expect(chain.balanceBreaks).toEqual([
      { entryId: forged.entryId, seq: usage.seq, kind: 'usage', cycleIndex: 0, expected: usage.balanceAfter, balanceAfter: forged.balanceAfter, sharesSeqWith: usage.entryId },
    ]);
    expect(ledgerChainDifferences(chain).map((d) => d.message)).toEqual([
      `entry ${forged.entryId} (usage) has the sequence number ${usage.seq} of entry ${usage.entryId}: a row added after the workflow wrote its ledger`,
    ]);
  });

  it("compares every cycle's charge entries with the billing record, when it is given", () => {
    const entries = history();
    const charges = billing();
    expect(new Set(charges.map((c) => c.cycleIndex)).size).toBeGreaterThanOrEqual(3);
    expect(ledgerChainOf('acme', 'e1', entries, charges).chargeMismatches).toEqual([]);
    expect(ledgerChainOf('acme', 'e1', entries).chargeMismatches).toBeUndefined();
    const [first, second] = charges as [ChargeRequest, ChargeRequest];
    // A closed cycle's charge deleted from the billing record, another's amount changed there.
    const tampered = [{ ...second, amountCents: second.amountCents - 1 }, ...charges.slice(2)];
    const chain = ledgerChainOf('acme', 'e1', entries, tampered);
    expect(chain.chargeMismatches).toEqual([
      { chargeId: first.chargeId, logged: first.amountCents, recorded: null },
      { chargeId: second.chargeId, logged: second.amountCents, recorded: second.amountCents - 1 },
    ]);
    expect(ledgerChainDifferences(chain).map((d) => d.code)).toEqual(['charge_record', 'charge_record']);
    // A charge the billing record holds that no entry logs; and one an earlier workflow made
    // for a period before this one opened, which is that workflow's.
    const extra = { ...second, chargeId: 'acme:e1:charge:99' };
    const earlier = { ...first, chargeId: 'acme:tier:2026-05-03T00:00:00.000Z', at: '2026-05-03T00:00:00.000Z' };
    expect(ledgerChainOf('acme', 'e1', entries, [...charges, extra, earlier]).chargeMismatches).toEqual([{ chargeId: extra.chargeId, logged: null, recorded: extra.amountCents }]);
  });

  it('follows each epoch on its own, the latest one when none is named, and reads a row twice as once', () => {
    // Another workflow of the account, a year earlier, with other balances (three users).
    const old = history('old', 3).map((e) => ({ ...e, at: new Date(Date.parse(e.at) - 400 * DAY).toISOString() }));
    const current = history('e1');
    const both = [...old, ...current, current[5] as LedgerEntry];
    const chain = ledgerChainOf('acme', null, both);
    expect(chain).toMatchObject({ epoch: 'e1', entries: current.length, balanceBreaks: [], sequenceGaps: [] });
    expect(ledgerChainOf('acme', 'old', both)).toMatchObject({ epoch: 'old', entries: old.length, balanceBreaks: [] });
    expect(ledgerChainOf('acme', 'none', both)).toMatchObject({ epoch: null, entries: 0, last: null });
  });
});
