import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CreditAccount } from '../../domain/account';
import type { Effect, LedgerEntry } from '../../domain/effects';
import { AccountLimitError } from '../../domain/account';
import {
  ACCOUNT_LIMITS,
  ANSWER_WINDOW_BYTES,
  CARRIED_STATE_BUDGET_BYTES,
  LEDGER_BATCH_BYTES,
  MAX_SPILLED_BACKLOG,
  RECENT_USAGE_BYTES,
  SPILL_AT_BYTES,
  SPILL_AT_ENTRIES,
  fitToBudget,
  headBatch,
  jsonBytes,
  spillDue,
  takeSpill,
  utf8Bytes,
} from '../../domain/state-budget';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const T0 = Date.parse('2026-06-10T12:00:00.000Z');
const open = () =>
  CreditAccount.open({ accountId: 'acme', plan: 'scale', users: 10, cycleAnchor: '2026-06-03T00:00:00.000Z' }, rules, T0, 'e1');
let n = 0;
const use = (a: CreditAccount, key = `k${++n}`) => a.recordUsage({ feature: 'enrichment', quantity: 1, idempotencyKey: key }, T0);

function entry(seq: number, note = ''): Effect {
  const e: LedgerEntry = {
    entryId: `acme:e1:${seq}`,
    accountId: 'acme',
    seq,
    at: '2026-06-10T12:00:00.000Z',
    kind: 'usage',
    cycleIndex: 0,
    credits: 1,
    balanceAfter: 100,
    rulesVersion: 'v',
    note,
  };
  return { type: 'ledger', entry: e };
}

describe('utf8Bytes', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
    ['\ud800', 3],
  ])('%j weighs %i bytes', (text, bytes) => {
    expect(utf8Bytes(text)).toBe(bytes);
  });

  it('agrees with Buffer for any well-formed string', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => utf8Bytes(s) === Buffer.byteLength(s, 'utf8')));
  });
});

describe('the outbox head batch', () => {
  it('stops at the entry count', () => {
    const outbox = Array.from({ length: 20 }, (_, i) => entry(i + 1));
    expect(headBatch(outbox, 5)).toHaveLength(5);
  });

  it('stops at the byte bound, but always takes one entry', () => {
    const big = 'x'.repeat(70 * 1024);
    const outbox = Array.from({ length: 5 }, (_, i) => entry(i + 1, big));
    expect(headBatch(outbox, 500)).toHaveLength(Math.floor(LEDGER_BATCH_BYTES / jsonBytes((outbox[0] as { entry: LedgerEntry }).entry)));
    expect(headBatch([entry(1, 'y'.repeat(LEDGER_BATCH_BYTES * 2))], 500)).toHaveLength(1);
  });

  it('takes a charge or alert alone', () => {
    const charge: Effect = { type: 'charge', charge: { chargeId: 'c', accountId: 'acme', at: 'x', tierId: 't', amountCents: 1, currency: 'USD', reason: 'purchase', cycleIndex: 0, rulesVersion: 'v' } };
    expect(headBatch([charge, entry(1)], 500)).toEqual([charge]);
  });
});

describe('spilling the outbox tail', () => {
  it('is due at the entry count or the byte bound of the tail behind the kept head', () => {
    const a = open();
    a.state.outbox = Array.from({ length: 10 + SPILL_AT_ENTRIES - 1 }, (_, i) => entry(i + 1));
    expect(spillDue(a.state, 10)).toBe(false);
    a.state.outbox.push(entry(9999));
    expect(spillDue(a.state, 10)).toBe(true);
    const heavy = 'z'.repeat(Math.ceil(SPILL_AT_BYTES / 40));
    a.state.outbox = Array.from({ length: 50 }, (_, i) => entry(i + 1, heavy));
    expect(spillDue(a.state, 0)).toBe(true);
    expect(spillDue(a.state, 20)).toBe(false);
  });

  it('takes only ledger entries behind the kept head, oldest first, leaving charges and alerts in order', () => {
    const a = open();
    a.state.outbox = [];
    const alert: Effect = {
      type: 'alert',
      alert: { alertId: 'a1', accountId: 'acme', at: 'x', state: 'warning', admins: [], cycleIndex: 0, cycleEnd: 'y', available: 1, granted: 2, used: 1, projectedRunOutAt: null, rulesVersion: 'v' },
    };
    a.state.outbox.push(entry(1), entry(2), entry(3), alert, entry(4));
    const taken = takeSpill(a.state, 1);
    expect(taken.map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(a.state.outbox).toEqual([entry(1), alert]);
  });
});

describe('the carried state budget', () => {
  it('keeps the duplicate window within its bytes however long the keys', () => {
    const a = open();
    // Usage answers in full now live apart from grant and call answers (recentUsage).
    for (let i = 0; i < 3000; i++) use(a, `${i}:${'k'.repeat(190)}`);
    expect(jsonBytes(a.state.recentUsage)).toBeLessThanOrEqual(RECENT_USAGE_BYTES);
    // The newest answers are the ones kept: a retry of the last key is still a duplicate.
    expect(use(a, `2999:${'k'.repeat(190)}`).duplicate).toBe(true);
    expect(a.state.recentUsage?.length).toBeLessThan(3000);
    // Grant and call answers are bounded the same way.
    for (let i = 0; i < 1500; i++) a.startCall({ callId: `${i}:${'c'.repeat(190)}`, agentId: 'va' }, T0);
    expect(jsonBytes(a.state.remembered)).toBeLessThanOrEqual(ANSWER_WINDOW_BYTES);
    expect(a.state.remembered.length).toBeLessThan(1500);
  });

  it('trims parked effects, then the oldest answers, to fit; never the outbox', () => {
    const a = open();
    for (let i = 0; i < 2000; i++) use(a);
    a.state.parked = Array.from({ length: 400 }, (_, i) => ({ effect: entry(i, 'p'.repeat(2000)), at: 'x', error: 'refused' }));
    a.state.outbox = Array.from({ length: 300 }, (_, i) => entry(i, 'o'.repeat(1000)));
    const outboxBefore = a.state.outbox.length;
    const weight = fitToBudget(a.state);
    expect(weight.total).toBeLessThanOrEqual(CARRIED_STATE_BUDGET_BYTES);
    expect(weight.total).toBe(jsonBytes(a.state));
    expect(a.state.outbox).toHaveLength(outboxBefore);
    expect(a.state.parked?.length).toBeLessThan(400);
  });

  it('refuses credit-charging usage once the spilled backlog reaches its bound, and free usage still passes', () => {
    const a = open();
    a.state.spilledBacklog = MAX_SPILLED_BACKLOG;
    expect(use(a)).toMatchObject({ accepted: false, reason: 'ledger_backlog', credits: 0 });
    expect(a.recordUsage({ feature: 'notetaker', quantity: 1, idempotencyKey: 'free-1' }, T0)).toMatchObject({ accepted: true, credits: 0 });
    a.state.spilledBacklog = MAX_SPILLED_BACKLOG - 1;
    expect(use(a)).toMatchObject({ accepted: true, credits: 1 });
  });
});

describe('bounded tables', () => {
  it('authorizes no call past the open-call bound, and again once one ends', () => {
    const a = open();
    for (let i = 0; i < ACCOUNT_LIMITS.openCalls; i++) expect(a.startCall({ callId: `c${i}`, agentId: 'va' }, T0).authorized).toBe(true);
    expect(a.startCall({ callId: 'one-more', agentId: 'va' }, T0)).toMatchObject({ authorized: false, reason: 'too_many_open_calls' });
    a.endCall({ callId: 'c0', minutes: 1 }, T0);
    expect(a.startCall({ callId: 'after-an-end', agentId: 'va' }, T0).authorized).toBe(true);
  });

  it('refuses to deactivate more agents than the bound, changing nothing', () => {
    const a = open();
    for (let i = 0; i < ACCOUNT_LIMITS.inactiveAgents; i++) a.setVoiceAgentActive(`va${i}`, false, T0);
    expect(() => a.setVoiceAgentActive('one-more', false, T0)).toThrow(AccountLimitError);
    expect(a.state.inactiveAgents).toHaveLength(ACCOUNT_LIMITS.inactiveAgents);
    // Deactivating one already inactive, or activating one, is still fine.
    a.setVoiceAgentActive('va0', false, T0);
    a.setVoiceAgentActive('va1', true, T0);
    a.setVoiceAgentActive('one-more', false, T0);
  });

  it('refuses a manual grant past the live-grant bound, granting nothing', () => {
    const a = open();
    for (let i = 0; i < ACCOUNT_LIMITS.manualGrants; i++) a.grantCredits({ credits: 1, reason: 'r', validForCycles: 1, idempotencyKey: `g${i}` }, T0);
    const before = a.available();
    expect(() => a.grantCredits({ credits: 1, reason: 'r', validForCycles: 1, idempotencyKey: 'one-more' }, T0)).toThrow(AccountLimitError);
    expect(a.available()).toBe(before);
    // A repeat of a granted key still answers as a duplicate.
    expect(a.grantCredits({ credits: 1, reason: 'r', validForCycles: 1, idempotencyKey: 'g0' }, T0).duplicate).toBe(true);
  });

  it('keeps a state that fills every bounded table within the carried budget', () => {
    const a = open();
    const id = (p: string, i: number) => `${p}${i}-${'x'.repeat(100)}`;
    for (let i = 0; i < ACCOUNT_LIMITS.openCalls; i++) a.startCall({ callId: id('c', i), agentId: id('a', 0) }, T0);
    for (let i = 0; i < ACCOUNT_LIMITS.inactiveAgents; i++) a.setVoiceAgentActive(id('v', i), false, T0);
    for (let i = 0; i < ACCOUNT_LIMITS.manualGrants; i++) a.grantCredits({ credits: 1, reason: 'r'.repeat(500), validForCycles: 1, idempotencyKey: id('g', i) }, T0);
    for (let i = 0; i < 5000; i++) use(a, id('u', i));
    const admins = Array.from({ length: 50 }, (_, i) => `${i}${'a'.repeat(240)}@example.com`);
    for (let i = 0; i < 100; i++) a.rememberUpdate(i % 2 ? 'setAdmins' : 'setUsers', id('update-', i), i % 2 ? { admins, changed: true } : { creditsGranted: i });
    // The outbox is bounded by draining and spilling (tested above and on the dev server);
    // here it holds the largest head batch the workflow keeps.
    a.state.outbox = headBatch(a.state.outbox, 500);
    const weight = fitToBudget(a.state);
    expect(weight.total).toBeLessThanOrEqual(CARRIED_STATE_BUDGET_BYTES);
  });
});
