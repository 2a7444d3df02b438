/**
 * The usage export's credit columns add up: over a real account's ledger (the domain's own
 * entries) with a tier bought and upgraded, a plan upgrade, users added, a promotion, a manual
 * grant, usage, a void, a call and a reset, the `balance_change` column sums to the
 * balance, and the `credits` column counts every granted credit once (a change row carries 0,
 * its grant row the credits).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CreditAccount } from '../../domain/account';
import type { LedgerEntry } from '../../domain/effects';
import { CSV_COLUMNS, DEFAULT_EXPORT_KINDS, balanceChange, entryToCsvRow } from '../../ledger/csv-export';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const DAY = 86_400_000;
const T0 = Date.parse('2026-06-10T12:00:00.000Z');

function ledgerOf(a: CreditAccount): LedgerEntry[] {
  return a.state.outbox.flatMap((e) => (e.type === 'ledger' ? [e.entry] : []));
}

/** The sum of one CSV column over `entries`' rows, as a spreadsheet would add it. */
function columnSum(entries: readonly LedgerEntry[], column: (typeof CSV_COLUMNS)[number], kinds?: readonly string[]): number {
  const at = CSV_COLUMNS.indexOf(column);
  return entries
    .filter((e) => kinds === undefined || kinds.includes(e.kind))
    .map((e) => Number(entryToCsvRow(e)[at] || 0))
    .reduce((sum, n) => sum + n, 0);
}

function scenario(): CreditAccount {
  const a = CreditAccount.open({ accountId: 'sums', plan: 'growth', users: 2, cycleAnchor: '2026-06-03T00:00:00.000Z' }, rules, T0, 'e1');
  let t = T0;
  const next = () => (t += 3_600_000);
  a.recordUsage({ feature: 'enrichment', quantity: 50, idempotencyKey: 'u1' }, next());
  a.changeCreditTier('tier-1', next());
  a.recordUsage({ feature: 'auto-updates', quantity: 20, idempotencyKey: 'u2' }, next());
  a.changeCreditTier('tier-3', next());
  a.voidUsage({ idempotencyKey: 'u1', reason: 'test data' }, next());
  a.setUsers(4, next());
  a.changePlan('scale', next());
  a.setTags(['chloe-beta'], next());
  a.grantCredits({ credits: 250, reason: 'goodwill', idempotencyKey: 'g1', validForCycles: 1 }, next());
  a.startCall({ callId: 'c1', agentId: 'chloe' }, next());
  a.endCall({ callId: 'c1', minutes: 3 }, next());
  a.changeCreditTier('tier-2', next());
  a.startNextCycle(rules);
  a.recordUsage({ feature: 'enrichment', quantity: 7, idempotencyKey: 'u3' }, Date.parse(a.state.cycle.start) + DAY);
  return a;
}

describe('the export columns add up', () => {
  it('a tier change row carries 0 credits; its grant is its own row', () => {
    const entries = ledgerOf(scenario());
    const tierRows = entries.filter((e) => e.kind === 'tier_change');
    expect(tierRows.length).toBeGreaterThanOrEqual(3);
    expect(tierRows.map((e) => e.credits)).toEqual(tierRows.map(() => 0));
    expect(entries.filter((e) => e.kind === 'grant' && e.source === 'subscription').map((e) => e.credits)).toEqual(
      expect.arrayContaining([rules.tiers[0]!.credits, rules.tiers[2]!.credits]),
    );
  });

  it('balance_change sums to the balance, and the credits column counts each grant once', () => {
    const a = scenario();
    const entries = ledgerOf(a);
    expect(columnSum(entries, 'balance_change')).toBe(a.available());
    // Net grants minus usage, from the credits column itself: what was granted (grant rows
    // and the change rows written with them) minus what was debited, voids giving back.
    const granted = columnSum(entries, 'credits', ['grant', 'tier_change', 'plan_change', 'users_change', 'tags_change']);
    const used = columnSum(entries, 'credits', ['usage', 'call_end', 'call_part', 'void']);
    const lost = columnSum(entries, 'credits', ['expiry', 'forfeit']);
    const writtenOff = columnSum(entries, 'credits', ['call_overage', 'overdraft_write_off']);
    expect(granted).toBe(columnSum(entries, 'credits', ['grant']));
    expect(granted - used - lost + writtenOff).toBe(a.available());
  });

  it("the default (usage) export's credits sum to the cycle's used credits, with a call past zero written off", () => {
    const a = CreditAccount.open({ accountId: 'past-zero', plan: 'essentials', users: 1, cycleAnchor: '2026-06-03T00:00:00.000Z' }, rules, T0, 'e1');
    let t = T0;
    a.recordUsage({ feature: 'enrichment', quantity: 40, idempotencyKey: 'u1' }, (t += 60_000));
    a.startCall({ callId: 'long', agentId: 'chloe' }, (t += 60_000));
    // Far more minutes than the balance pays for: the call runs past zero.
    a.endCall({ callId: 'long', minutes: 600 }, (t += 600 * 60_000));
    a.grantCredits({ credits: 10, reason: 'r', idempotencyKey: 'g', validForCycles: 1 }, (t += 60_000));
    const summary = a.summary(t);
    expect(summary.credits.callOverage).toBeGreaterThan(0);
    const entries = ledgerOf(a);
    expect(columnSum(entries, 'credits', DEFAULT_EXPORT_KINDS)).toBe(summary.credits.used);
    // Over every kind, balance_change still sums to the balance.
    expect(columnSum(entries, 'balance_change')).toBe(a.available());
  });

  it('balance_change follows each kind, and a zero is never -0', () => {
    expect(balanceChange({ kind: 'grant', credits: 5 })).toBe(5);
    expect(balanceChange({ kind: 'usage', credits: 5 })).toBe(-5);
    expect(balanceChange({ kind: 'void', credits: -5 })).toBe(5);
    expect(balanceChange({ kind: 'tier_change', credits: 7000 })).toBe(0);
    expect(Object.is(balanceChange({ kind: 'usage', credits: 0 }), -0)).toBe(false);
  });

  it('sums to the balance for any sequence of usage, voids, grants and tier changes (property)', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('usage' as const), quantity: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ op: fc.constant('void' as const), back: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ op: fc.constant('tier' as const), tier: fc.constantFrom(null, 'tier-1', 'tier-2', 'tier-5') }),
      fc.record({ op: fc.constant('grant' as const), credits: fc.integer({ min: 1, max: 5000 }) }),
      fc.record({ op: fc.constant('reset' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const a = CreditAccount.open({ accountId: 'p', plan: 'essentials', users: 1, cycleAnchor: '2026-06-03T00:00:00.000Z' }, rules, T0, 'e1');
        let t = T0;
        const keys: string[] = [];
        for (const [i, s] of steps.entries()) {
          t = Math.max(t + 60_000, Date.parse(a.state.cycle.start));
          if (s.op === 'usage') {
            const key = `u${i}`;
            if (a.recordUsage({ feature: 'enrichment', quantity: s.quantity, idempotencyKey: key }, t).accepted) keys.push(key);
          } else if (s.op === 'void') {
            const key = keys.splice(Math.max(0, keys.length - 1 - s.back), 1)[0];
            if (key !== undefined) a.voidUsage({ idempotencyKey: key, reason: 'r' }, t);
          } else if (s.op === 'tier') a.changeCreditTier(s.tier, t);
          else if (s.op === 'grant') a.grantCredits({ credits: s.credits, reason: 'r', idempotencyKey: `g${i}`, validForCycles: 1 }, t);
          else {
            a.startNextCycle(rules);
            keys.length = 0;
          }
        }
        expect(columnSum(ledgerOf(a), 'balance_change')).toBe(a.available());
      }),
      { numRuns: 150 },
    );
  });
});
