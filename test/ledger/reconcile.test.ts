/**
 * Reconciliation of a summary with its ledger, on fixtures made by the credit core itself: an
 * account driven through usage, calls, grants, a tier upgrade and a feature toggle, whose
 * outbox is the ledger it would write. They agree; each kind of drift is then made by hand.
 */
import { describe, expect, it } from 'vitest';
import { CreditAccount } from '../../domain/account';
import type { ChargeRequest, LedgerEntry } from '../../domain/effects';
import type { AccountSummary } from '../../domain/wire-contract';
import { ledgerFactsOf, reconcileAccount, type LedgerFacts, type LedgerFactsQuery } from '../../ledger/reconcile';
import { epochOfId } from '../../domain/effects';
import { shippedRules } from '../helpers/shipped-rules';

const T0 = Date.parse('2026-06-10T12:00:00.000Z');
const ANCHOR = '2026-06-03T00:00:00.000Z';

/** An account with some of everything, and what its drained outbox would have written. */
function fixture(epoch = 'e1') {
  const a = CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 2, cycleAnchor: ANCHOR, creditTier: 'tier-1' }, shippedRules(), T0, epoch);
  a.recordUsage({ feature: 'enrichment', quantity: 12.5, idempotencyKey: 'u1' }, T0 + 1000);
  a.recordUsage({ feature: 'enrichment', quantity: 0.1, idempotencyKey: 'u2' }, T0 + 2000);
  a.recordUsage({ feature: 'enrichment', quantity: 0.1, idempotencyKey: 'u2' }, T0 + 2500); // a repeat: no entry
  a.recordUsage({ feature: 'auto-updates', quantity: 3, idempotencyKey: 'u3' }, T0 + 3000);
  a.setFeatureEnabled('auto-updates', false, T0 + 4000);
  a.recordUsage({ feature: 'auto-updates', quantity: 1, idempotencyKey: 'u4' }, T0 + 5000); // refused
  a.startCall({ callId: 'c1', agentId: 'ag' }, T0 + 6000);
  // Ended once it has run its 2.5 minutes (a call is charged at most for the time it ran).
  a.endCall({ callId: 'c1', minutes: 2.5 }, T0 + 156_000);
  a.grantCredits({ credits: 100, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'g1' }, T0 + 157_000);
  a.changeCreditTier('tier-2', T0 + 158_000);
  const summary = a.summary(T0 + 159_000);
  const entries: LedgerEntry[] = [];
  const charges: ChargeRequest[] = [];
  for (const effect of a.state.outbox) {
    if (effect.type === 'ledger') entries.push(effect.entry);
    if (effect.type === 'charge') charges.push(effect.charge);
  }
  const query: LedgerFactsQuery = { accountId: 'acme', cycle: summary.cycle, epoch };
  return { summary, entries, charges, query };
}

function facts(f: ReturnType<typeof fixture>, entries = f.entries, charges = f.charges): LedgerFacts {
  return ledgerFactsOf(f.query, entries, charges);
}

describe('ledger facts', () => {
  it('count usage as the summary does: accepted usage and ended calls, refusals apart', () => {
    const f = fixture();
    const ledger = facts(f);
    expect(ledger.usage).toEqual([
      { feature: 'auto-updates', quantity: 3, credits: 6, count: 1, rejected: 1 },
      { feature: 'enrichment', quantity: 12.6, credits: 14, count: 2, rejected: 0 },
      { feature: 'voice-agent', quantity: 2.5, credits: expect.any(Number), count: 1, rejected: 0 },
    ]);
    expect(ledger.last?.balanceAfter).toBe(f.summary.credits.available);
    expect(ledger.charges.map((c) => [c.tierId, c.reason])).toEqual([['tier-1', 'cycle_start'], ['tier-2', 'upgrade']]);
    expect(ledger.epoch).toBe('e1');
    expect(ledger.repeated).toEqual([]);
  });

  it('leave out another epoch of the same account id, and find the latest one when none is named', () => {
    const old = fixture('old');
    const current = fixture('e1');
    const shifted = old.entries.map((e) => ({ ...e, at: new Date(Date.parse(e.at) - 86_400_000).toISOString() }));
    const mixed = [...shifted, ...current.entries];
    expect(ledgerFactsOf(current.query, mixed, current.charges).usage).toEqual(facts(current).usage);
    const guessed = ledgerFactsOf({ ...current.query, epoch: null }, mixed, current.charges);
    expect(guessed.epoch).toBe('e1');
    expect(guessed.entriesRead).toBe(mixed.length);
    expect(epochOfId('acme:e1:7')).toBe('e1');
  });
});

describe('a call across a reset', () => {
  it('counts the part charged at the reset in the closing cycle, and the rest in the new one', () => {
    const reset = Date.parse('2026-07-03T00:00:00.000Z');
    const a = CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 1, cycleAnchor: ANCHOR }, shippedRules(), T0, 'e1');
    a.startCall({ callId: 'c1', agentId: 'ag' }, reset - 10 * 60_000);
    const closing = a.summary(reset - 1);
    a.startNextCycle(shippedRules());
    a.endCall({ callId: 'c1', minutes: 15 }, reset + 5 * 60_000);
    const entries = a.state.outbox.flatMap((e) => (e.type === 'ledger' ? [e.entry] : []));
    const old = ledgerFactsOf({ accountId: 'acme', cycle: closing.cycle, epoch: 'e1' }, entries, []);
    expect(old.usage).toEqual([{ feature: 'voice-agent', quantity: 10, credits: 200, count: 1, rejected: 0 }]);
    const summary = a.summary(reset + 5 * 60_000);
    const current = ledgerFactsOf({ accountId: 'acme', cycle: summary.cycle, epoch: 'e1' }, entries, []);
    expect(current.usage).toEqual([{ feature: 'voice-agent', quantity: 5, credits: 100, count: 1, rejected: 0 }]);
    expect(reconcileAccount(summary, current)).toEqual([]);
  });
});

describe('reconcileAccount', () => {
  it('finds nothing when the ledger holds every effect', () => {
    const f = fixture();
    expect(reconcileAccount(f.summary, facts(f))).toEqual([]);
  });

  it('takes a voided usage off its feature, as the summary does', () => {
    const a = CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 2, cycleAnchor: ANCHOR }, shippedRules(), T0, 'e1');
    a.recordUsage({ feature: 'enrichment', quantity: 12.5, idempotencyKey: 'u1' }, T0 + 1000);
    a.recordUsage({ feature: 'enrichment', quantity: 0.1, idempotencyKey: 'u2' }, T0 + 2000);
    expect(a.voidUsage({ idempotencyKey: 'u1', reason: 'sync bug' }, T0 + 3000).voided).toBe(true);
    const summary = a.summary(T0 + 4000);
    const entries = a.state.outbox.flatMap((e) => (e.type === 'ledger' ? [e.entry] : []));
    const ledger = ledgerFactsOf({ accountId: 'acme', cycle: summary.cycle, epoch: 'e1' }, entries, []);
    expect(ledger.usage).toEqual([{ feature: 'enrichment', quantity: 0.1, credits: 1, count: 1, rejected: 0 }]);
    expect(ledger.repeated).toEqual([]);
    expect(reconcileAccount(summary, ledger)).toEqual([]);
  });

  it('reports a ledger behind the summary as differences that may catch up', () => {
    const f = fixture();
    const behind = facts(f, f.entries.slice(0, -6));
    const diffs = reconcileAccount(f.summary, behind);
    expect(diffs.map((d) => d.code)).toEqual(expect.arrayContaining(['balance', 'usage', 'used']));
    expect(diffs.every((d) => d.mayCatchUp)).toBe(true);
    const empty = reconcileAccount(f.summary, facts(f, [], []));
    expect(empty.map((d) => d.code)).toEqual(expect.arrayContaining(['no_entries', 'tier_charge']));
  });

  it('reports one usage field at a time with both values', () => {
    const f = fixture();
    const entries = f.entries.map((e) => (e.idempotencyKey === 'u1' ? { ...e, quantity: 12.4 } : e));
    expect(reconcileAccount(f.summary, facts(f, entries))).toEqual([
      {
        code: 'usage',
        field: 'usage.enrichment.quantity',
        summary: 12.6,
        ledger: 12.5,
        mayCatchUp: true,
        message: 'enrichment quantity: summary 12.6, ledger 12.5',
      },
    ]);
  });

  it('reports a key charged twice, for good', () => {
    const f = fixture();
    const u1 = f.entries.find((e) => e.idempotencyKey === 'u1') as LedgerEntry;
    const twice = [...f.entries, { ...u1, entryId: 'acme:e1:999', seq: 999 }];
    const diffs = reconcileAccount(f.summary, facts(f, twice));
    expect(diffs.find((d) => d.code === 'repeated_charge')).toMatchObject({ field: 'usage:u1', ledger: 2, mayCatchUp: false });
    expect(diffs.map((d) => d.field)).toEqual(expect.arrayContaining(['usage.enrichment.count', 'credits.used', 'credits.available']));
  });

  it('compares the tier with the billing record, and the record with the ledger', () => {
    const f = fixture();
    const noUpgrade = f.charges.filter((c) => c.reason !== 'upgrade');
    const diffs = reconcileAccount(f.summary, facts(f, f.entries, noUpgrade));
    expect(diffs.map((d) => d.code)).toEqual(['tier_charge', 'charge_record']);
    expect(diffs[0]?.message).toMatch(/on tier-2 \(5000 cents\).*latest charge this cycle is tier-1 2000/);

    const wrongAmount = f.charges.map((c) => (c.reason === 'upgrade' ? { ...c, amountCents: 4999 } : c));
    expect(reconcileAccount(f.summary, facts(f, f.entries, wrongAmount)).map((d) => d.code)).toEqual(['tier_charge', 'charge_record']);

    const stray: ChargeRequest = { ...(f.charges[1] as ChargeRequest), chargeId: 'acme:e1:charge:99', at: '2026-06-10T11:00:00.000Z', tierId: 'tier-1', amountCents: 2000 };
    expect(reconcileAccount(f.summary, facts(f, f.entries, [...f.charges, stray])).map((d) => d.field)).toEqual(['charge.acme:e1:charge:99']);

    const noTier: AccountSummary = { ...f.summary, tier: null };
    expect(reconcileAccount(noTier, facts(f)).map((d) => [d.code, d.mayCatchUp])).toEqual([['tier_charge', false]]);
  });

  it('follows the running balance entry by entry: a changed row breaks it, for good', () => {
    const f = fixture();
    const u2 = f.entries.find((e) => e.idempotencyKey === 'u2') as LedgerEntry;
    // A row changed after the fact: its balance no longer follows, nor does the next one's.
    const changed = f.entries.map((e) => (e === u2 ? { ...e, balanceAfter: e.balanceAfter + 1 } : e));
    const breaks = reconcileAccount(f.summary, facts(f, changed)).filter((d) => d.code === 'balance_chain');
    expect(breaks).toEqual([
      {
        code: 'balance_chain',
        field: `entry.${u2.seq}`,
        summary: u2.balanceAfter,
        ledger: u2.balanceAfter + 1,
        mayCatchUp: false,
        message: `entry ${u2.entryId} (usage) leaves a balance of ${u2.balanceAfter + 1}; the entry before it and its own move make ${u2.balanceAfter}`,
      },
      expect.objectContaining({ code: 'balance_chain', field: `entry.${u2.seq + 1}`, mayCatchUp: false }),
    ]);
    // A debit made smaller (credits 1 where 2 were taken) breaks the entry itself, though its
    // balance after is the summary's.
    const cheaper = f.entries.map((e) => (e === u2 ? { ...e, credits: e.credits - 1 } : e));
    expect(reconcileAccount(f.summary, facts(f, cheaper)).map((d) => d.code)).toEqual(expect.arrayContaining(['balance_chain', 'usage', 'used']));
  });

  it('reports entries missing between two read as a gap that may be catching up, without a chain break after it', () => {
    const f = fixture();
    const missing = f.entries.filter((e) => e.seq !== 4 && e.seq !== 5);
    const diffs = reconcileAccount(f.summary, facts(f, missing));
    expect(diffs.find((d) => d.code === 'sequence_gap')).toEqual({
      code: 'sequence_gap',
      field: 'seq.4',
      summary: null,
      ledger: 2,
      mayCatchUp: true,
      message: 'entries 4-5 are missing from the ledger (not yet written, parked, or deleted)',
    });
    expect(diffs.filter((d) => d.code === 'balance_chain')).toEqual([]);
    expect(facts(f, f.entries.filter((e) => e.seq !== 6)).sequenceGaps).toEqual([{ from: 6, to: 6 }]);
  });

  it('follows the balance in sequence order whatever order the entries come in, and each epoch on its own', () => {
    const f = fixture();
    expect(facts(f, [...f.entries].reverse()).balanceBreaks).toEqual([]);
    const other = fixture('e2').entries.map((e) => ({ ...e, balanceAfter: e.balanceAfter - 7 }));
    expect(facts(f, [...other, ...f.entries])).toMatchObject({ balanceBreaks: [], sequenceGaps: [] });
  });

  it('reports parked effects as a difference that will not catch up', () => {
    const f = fixture();
    expect(reconcileAccount({ ...f.summary, parkedEffects: 2 }, facts(f))).toEqual([
      expect.objectContaining({ code: 'parked_effects', summary: 2, mayCatchUp: false }),
    ]);
  });
});
