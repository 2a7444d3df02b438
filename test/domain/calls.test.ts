/**
 * Voice Agent calls charged for the time they ran: a claim beyond the elapsed time (plus the
 * clock-skew tolerance) is capped, and a call that runs across a reset is charged to each
 * cycle for its part in it, from that cycle's credits.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CreditAccount, type AccountState } from '../../domain/account';
import type { LedgerEntry } from '../../domain/effects';
import { CALL_TOLERANCE_MINUTES, type AccountStartInput } from '../../domain/wire-contract';
import { MAX_CALL_MINUTES, checkStartCall } from '../../domain/input-problems';
import { creditsForQuantity } from '../../domain/pricing';
import { ACCOUNT_LIMITS, CARRIED_STATE_BUDGET_BYTES, fitToBudget, headBatch, jsonBytes } from '../../domain/state-budget';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const MINUTE = 60_000;
const ANCHOR = '2026-06-03T00:00:00.000Z';
/** The end of the first cycle: the first reset. */
const RESET = Date.parse('2026-07-03T00:00:00.000Z');
const RESET_2 = Date.parse('2026-08-03T00:00:00.000Z');
const T0 = Date.parse('2026-06-10T12:00:00.000Z');
const VOICE = rules.features.find((f) => f.perCall)!;

const open = (over: Partial<AccountStartInput> = {}, now = T0) =>
  CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 1, cycleAnchor: ANCHOR, ...over }, rules, now, 'e1');

/** Move the account's time on to `nowMs` as the workflow does: resets first, then expiries. */
function advance(a: CreditAccount, nowMs: number): void {
  while (nowMs >= Date.parse(a.state.cycle.end)) a.startNextCycle(rules);
  a.expireGrants(nowMs);
}

function ledger(a: CreditAccount): LedgerEntry[] {
  return a.state.outbox.flatMap((e) => (e.type === 'ledger' ? [e.entry] : []));
}

/** The ledger entries that charged a call: its parts at resets and its end. */
function callCharges(a: CreditAccount, callId: string): LedgerEntry[] {
  return ledger(a).filter((e) => (e.kind === 'call_part' || e.kind === 'call_end') && e.callId === callId);
}

const voiceCredits = (minutes: number) => creditsForQuantity(VOICE.cost!, minutes);

describe('a call charged for the time it ran', () => {
  it('charges the minutes reported when the call ran that long', () => {
    const a = open();
    a.startCall({ callId: 'c1', agentId: 'chloe' }, T0);
    expect(a.endCall({ callId: 'c1', minutes: 3.5 }, T0 + 3.5 * MINUTE)).toEqual({ credits: 70, balance: 1430, minutesCharged: 3.5, capped: false });
  });

  it('accepts a claim up to the tolerance beyond the elapsed time (clock skew, minute rounding)', () => {
    const a = open();
    a.startCall({ callId: 'c1', agentId: 'chloe' }, T0);
    const claim = 3 + CALL_TOLERANCE_MINUTES;
    expect(a.endCall({ callId: 'c1', minutes: claim }, T0 + 3 * MINUTE)).toMatchObject({ credits: voiceCredits(claim), minutesCharged: claim, capped: false });
  });

  it('caps a claim beyond the elapsed time plus the tolerance, and says so', () => {
    const a = open();
    a.startCall({ callId: 'c1', agentId: 'chloe' }, T0);
    // 1,440 minutes claimed two seconds after the start: 2 s + 1 minute is charged.
    const result = a.endCall({ callId: 'c1', minutes: MAX_CALL_MINUTES }, T0 + 2000);
    const bound = 2 / 60 + CALL_TOLERANCE_MINUTES;
    expect(result.capped).toBe(true);
    expect(result.minutesCharged).toBeCloseTo(bound, 5);
    expect(result.credits).toBe(voiceCredits(result.minutesCharged));
    expect(result.credits).toBe(21);
    expect(a.summary(T0 + 2000).telephonyMinutes).toBe(result.minutesCharged);
    const [end] = callCharges(a, 'c1');
    expect(end).toMatchObject({ kind: 'call_end', credits: 21, quantity: result.minutesCharged });
    expect(end?.note).toMatch(/1440 minutes reported; capped/);
  });

  it('caps a claim just past the tolerance, but not one at it', () => {
    const a = open();
    a.startCall({ callId: 'at', agentId: 'chloe' }, T0);
    a.startCall({ callId: 'past', agentId: 'chloe' }, T0);
    expect(a.endCall({ callId: 'at', minutes: 11 }, T0 + 10 * MINUTE)).toMatchObject({ minutesCharged: 11, capped: false });
    expect(a.endCall({ callId: 'past', minutes: 11.000001 }, T0 + 10 * MINUTE)).toMatchObject({ minutesCharged: 11, capped: true, credits: 220 });
  });

  it('answers a repeated end with the first answer and charges nothing more', () => {
    const a = open();
    a.startCall({ callId: 'c1', agentId: 'chloe' }, T0);
    const first = a.endCall({ callId: 'c1', minutes: 500 }, T0 + 2 * MINUTE);
    expect(a.endCall({ callId: 'c1', minutes: 2 }, T0 + 60 * MINUTE)).toEqual(first);
    expect(a.available()).toBe(1500 - first.credits);
  });

  it('refuses to start a call under the id of one that has ended (it would go uncharged); a retried start of an open call is fine', () => {
    const a = open();
    const context = { callEnded: (id: string) => a.callEnded(id) };
    const start = { callId: 'c1', agentId: 'chloe' };
    expect(a.startCall(start, T0)).toMatchObject({ authorized: true });
    expect(checkStartCall(start, context)).toBeUndefined();
    a.endCall({ callId: 'c1', minutes: 2 }, T0 + 2 * MINUTE);
    expect(checkStartCall(start, context)).toEqual({ code: 'InvalidInput', message: 'callId "c1" names a call that has ended; a new call needs a new call id' });
    expect(checkStartCall({ callId: 'c2', agentId: 'chloe' }, context)).toBeUndefined();
    // Without the account's context (the client's own check), only the shape is checked.
    expect(checkStartCall(start)).toBeUndefined();
  });

  it('charges a call past zero, bounded by its elapsed time', () => {
    const a = open({ plan: 'solo' });
    a.startCall({ callId: 'c1', agentId: 'chloe' }, T0);
    a.recordUsage({ feature: 'enrichment', quantity: 490, idempotencyKey: 'u1' }, T0);
    expect(a.endCall({ callId: 'c1', minutes: 600 }, T0 + 4 * MINUTE)).toEqual({ credits: 100, balance: -90, minutesCharged: 5, capped: true });
  });
});

describe('a call across a reset', () => {
  it('charges the closing cycle for the minutes before the reset, from its credits, and the new cycle for the rest', () => {
    const a = open();
    const started = RESET - 10 * MINUTE;
    advance(a, started);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, started);
    const oldGrants = a.state.grants.map((g) => g.grantId);
    advance(a, RESET + 5 * MINUTE);
    expect(a.state.cycle.index).toBe(1);
    expect(a.state.openCalls.c1).toEqual({ agentId: 'chloe', startedAt: new Date(started).toISOString(), partFrom: new Date(RESET).toISOString(), chargedMicros: 10_000_000 });

    const [part] = callCharges(a, 'c1');
    expect(part).toMatchObject({ kind: 'call_part', cycleIndex: 0, quantity: 10, credits: 200, at: new Date(RESET).toISOString(), feature: 'voice-agent' });
    // Paid from the closing cycle's grants, before they expired: the expiry lost 200 credits fewer.
    expect(part?.debits?.map((d) => d.grantId)).toEqual(oldGrants);
    const expiry = ledger(a).find((e) => e.kind === 'expiry' && e.grantId === oldGrants[0]);
    expect(expiry?.credits).toBe(1500 - 200);
    expect(ledger(a).indexOf(part!)).toBeLessThan(ledger(a).indexOf(expiry!));

    const end = a.endCall({ callId: 'c1', minutes: 15 }, RESET + 5 * MINUTE);
    expect(end).toEqual({ credits: 100, balance: 1400, minutesCharged: 15, capped: false });
    expect(callCharges(a, 'c1')[1]).toMatchObject({ kind: 'call_end', cycleIndex: 1, quantity: 5, credits: 100 });
    const summary = a.summary(RESET + 5 * MINUTE);
    expect(summary.telephonyMinutes).toBe(5);
    expect(summary.usage.find((u) => u.feature === 'voice-agent')).toEqual({ feature: 'voice-agent', quantity: 5, credits: 100, count: 1, rejected: 0 });
    expect(summary.credits.used).toBe(100);
    expect(a.available()).toBe(a.state.cycleGranted - a.state.cycleUsed);
  });

  it('bounds the new cycle by the time since the reset, plus the tolerance', () => {
    const a = open();
    advance(a, RESET - 10 * MINUTE);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, RESET - 10 * MINUTE);
    advance(a, RESET + 2 * MINUTE);
    expect(a.endCall({ callId: 'c1', minutes: 60 }, RESET + 2 * MINUTE)).toEqual({ credits: 60, balance: 1440, minutesCharged: 13, capped: true });
  });

  it('charges the new cycle nothing for a call reported shorter than what the reset charged', () => {
    const a = open();
    advance(a, RESET - 10 * MINUTE);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, RESET - 10 * MINUTE);
    advance(a, RESET + MINUTE);
    expect(a.endCall({ callId: 'c1', minutes: 8 }, RESET + MINUTE)).toEqual({ credits: 0, balance: 1500, minutesCharged: 10, capped: false });
    expect(callCharges(a, 'c1')[1]).toMatchObject({ kind: 'call_end', cycleIndex: 1, quantity: 0, credits: 0 });
  });

  it('charges each of two resets its part, never more than the longest call in all', () => {
    const a = open();
    const started = RESET - 1000 * MINUTE;
    advance(a, started);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, started);
    advance(a, RESET_2 + MINUTE);
    const [first, second] = callCharges(a, 'c1');
    expect(first).toMatchObject({ kind: 'call_part', cycleIndex: 0, quantity: 1000, credits: 20_000 });
    expect(second).toMatchObject({ kind: 'call_part', cycleIndex: 1, quantity: MAX_CALL_MINUTES - 1000, credits: 8800 });
    expect(a.endCall({ callId: 'c1', minutes: MAX_CALL_MINUTES }, RESET_2 + MINUTE)).toEqual({ credits: 0, balance: 1500, minutesCharged: MAX_CALL_MINUTES, capped: false });
  });

  it('charges a part past zero when the closing cycle has no credits left, written off with its overdraft', () => {
    const a = open({ plan: 'solo' });
    advance(a, RESET - 10 * MINUTE);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, RESET - 10 * MINUTE);
    a.recordUsage({ feature: 'enrichment', quantity: 450, idempotencyKey: 'u1' }, RESET - 10 * MINUTE);
    advance(a, RESET);
    const part = callCharges(a, 'c1')[0];
    expect(part).toMatchObject({ kind: 'call_part', cycleIndex: 0, credits: 200, balanceAfter: -150 });
    expect(a.available()).toBe(500);
  });

  it('resumes an open call carried by an older run (agent and start only) and keeps the parts across continue-as-new', () => {
    const a = open();
    advance(a, RESET - 10 * MINUTE);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, RESET - 10 * MINUTE);
    const carried = JSON.parse(JSON.stringify(a.state)) as AccountState;
    expect(Object.keys(carried.openCalls.c1!)).toEqual(['agentId', 'startedAt']);
    const older = new CreditAccount(carried);
    advance(older, RESET + 5 * MINUTE);
    const resumed = new CreditAccount(JSON.parse(JSON.stringify(older.state)) as AccountState);
    expect(resumed.endCall({ callId: 'c1', minutes: 15 }, RESET + 5 * MINUTE)).toEqual({ credits: 100, balance: 1400, minutesCharged: 15, capped: false });
  });

  it('answers a start of an open call whose answer was forgotten as authorized, keeping the minutes its reset charged', () => {
    const a = open();
    advance(a, RESET - 10 * MINUTE);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, RESET - 10 * MINUTE);
    advance(a, RESET + 5 * MINUTE);
    const forget = (keep: boolean): CreditAccount => {
      const carried = JSON.parse(JSON.stringify(a.state)) as AccountState;
      carried.remembered = carried.remembered.filter((r) => r.key !== 'start:c1');
      const resumed = new CreditAccount(carried);
      let asked = 0;
      const again = resumed.startCall({ callId: 'c1', agentId: 'chloe' }, RESET + 6 * MINUTE, undefined, () => (asked++, keep));
      expect(again).toEqual({ authorized: true, balance: 1500 });
      expect(asked).toBe(1);
      return resumed;
    };
    const kept = forget(true);
    expect(kept.state.openCalls.c1).toEqual(a.state.openCalls.c1);
    // The end charges the new cycle only for its minutes after the reset: 15 reported, 10 charged at it.
    expect(kept.endCall({ callId: 'c1', minutes: 15 }, RESET + 7 * MINUTE)).toEqual({ credits: 100, balance: 1400, minutesCharged: 15, capped: false });
    // A run before the patch opened the call afresh, and its end charged the reset's minutes again.
    const reopened = forget(false);
    expect(reopened.state.openCalls.c1).toEqual({ agentId: 'chloe', startedAt: new Date(RESET + 6 * MINUTE).toISOString() });
  });

  it('charges the closing cycle nothing for a call started after its end, while the reset was pending', () => {
    const a = open();
    advance(a, RESET - MINUTE);
    // The workflow answers updates while it loads the next cycle's rules.
    a.startCall({ callId: 'c1', agentId: 'chloe' }, RESET + MINUTE);
    a.startNextCycle(rules);
    expect(callCharges(a, 'c1')).toEqual([]);
    expect(a.state.openCalls.c1).toEqual({ agentId: 'chloe', startedAt: new Date(RESET + MINUTE).toISOString() });
    expect(a.endCall({ callId: 'c1', minutes: 5 }, RESET + 3 * MINUTE)).toEqual({ credits: 60, balance: 1440, minutesCharged: 3, capped: true });
  });

  it('charges a part of a call that ran a moment in the closing cycle, rounded like any usage', () => {
    const a = open();
    advance(a, RESET - 3);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, RESET - 3);
    advance(a, RESET);
    expect(callCharges(a, 'c1')).toMatchObject([{ kind: 'call_part', cycleIndex: 0, quantity: 0.00005, credits: 1 }]);
  });

  it('rounds a call once, as a whole: a minute across a reset costs a minute, not a credit more', () => {
    const oneMinute = (roundOnce: boolean) => {
      const a = open();
      a.roundCallPartsOnce = () => roundOnce;
      const started = RESET - 600; // 0.01 of a minute before the reset
      advance(a, started);
      a.startCall({ callId: 'c1', agentId: 'chloe' }, started);
      advance(a, started + MINUTE);
      a.endCall({ callId: 'c1', minutes: 1 }, started + MINUTE);
      return callCharges(a, 'c1').map((e) => [e.kind, e.quantity, e.credits]);
    };
    // The reset's part is rounded up to a credit; the end pays the rest of the minute's 20.
    expect(oneMinute(true)).toEqual([
      ['call_part', 0.01, 1],
      ['call_end', 0.99, 19],
    ]);
    // Before the patch each part was rounded up on its own.
    expect(oneMinute(false)).toEqual([
      ['call_part', 0.01, 1],
      ['call_end', 0.99, 20],
    ]);
  });

  it('asks whether to round once only for a part after another', () => {
    const a = open();
    const asked: string[] = [];
    a.roundCallPartsOnce = () => (asked.push('asked'), true);
    advance(a, RESET - 10 * MINUTE);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, RESET - 10 * MINUTE);
    a.startCall({ callId: 'c2', agentId: 'chloe' }, RESET - 10 * MINUTE);
    a.endCall({ callId: 'c2', minutes: 2 }, RESET - 8 * MINUTE);
    advance(a, RESET + MINUTE);
    expect(asked).toEqual([]);
    a.endCall({ callId: 'c1', minutes: 11 }, RESET + MINUTE);
    expect(asked).toEqual(['asked']);
  });
});

describe('a call whose end was lost', () => {
  const LOST_NOTE = /ended at the reset: open for 1440 minutes/;

  it('is ended at the reset where its parts reach the longest call, charging nothing more', () => {
    const a = open();
    const started = RESET - 1000 * MINUTE;
    advance(a, started);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, started);
    advance(a, RESET);
    expect(a.summary(RESET).openCalls).toBe(1);
    advance(a, RESET_2);
    expect(a.state.openCalls).toEqual({});
    const [, second, end] = callCharges(a, 'c1');
    expect(second).toMatchObject({ kind: 'call_part', cycleIndex: 1, quantity: MAX_CALL_MINUTES - 1000 });
    expect(end).toMatchObject({ kind: 'call_end', cycleIndex: 2, at: new Date(RESET_2).toISOString(), quantity: 0, credits: 0, decision: 'accepted' });
    expect(end!.note).toMatch(LOST_NOTE);
    // The new cycle counts the call as ended there, at no cost, as an endCall at the reset would.
    expect(a.summary(RESET_2).usage.find((u) => u.feature === VOICE.id)).toMatchObject({ quantity: 0, credits: 0, count: 1 });
    // Its late end gets the reset's answer and moves nothing; its id cannot open a new call.
    const balance = a.available();
    expect(a.endCall({ callId: 'c1', minutes: 3 }, RESET_2 + MINUTE)).toEqual({ credits: 0, balance, minutesCharged: MAX_CALL_MINUTES, capped: false });
    expect(a.available()).toBe(balance);
    expect(callCharges(a, 'c1')).toHaveLength(3);
    expect(a.callEnded('c1')).toBe(true);
  });

  it('is ended at the first reset when it had run a day by then', () => {
    const a = open();
    const started = RESET - MAX_CALL_MINUTES * MINUTE - 1;
    advance(a, started);
    a.startCall({ callId: 'c1', agentId: 'chloe' }, started);
    advance(a, RESET);
    expect(callCharges(a, 'c1')).toMatchObject([
      { kind: 'call_part', cycleIndex: 0, quantity: MAX_CALL_MINUTES, credits: voiceCredits(MAX_CALL_MINUTES) },
      { kind: 'call_end', cycleIndex: 1, quantity: 0, credits: 0 },
    ]);
    expect(a.summary(RESET).openCalls).toBe(0);
  });

  it('keeps a call open that has not run a day, and one a run before the patch keeps (mayEndLostCalls false)', () => {
    const a = open();
    const started = RESET - MAX_CALL_MINUTES * MINUTE + MINUTE;
    advance(a, started);
    a.startCall({ callId: 'short', agentId: 'chloe' }, started);
    let asked = 0;
    a.startNextCycle(rules, () => ++asked > 0);
    // Not asked: no call has been charged the longest a call runs.
    expect(asked).toBe(0);
    expect(Object.keys(a.state.openCalls)).toEqual(['short']);
    a.startNextCycle(rules, () => (++asked, false));
    expect(asked).toBe(1);
    expect(Object.keys(a.state.openCalls)).toEqual(['short']);
    expect(callCharges(a, 'short').map((e) => e.kind)).toEqual(['call_part', 'call_part']);
    a.startNextCycle(rules);
    expect(a.state.openCalls).toEqual({});
  });

  it('frees its open-call place at the reset; a run before the full-table patch locks Voice Agents out until then', () => {
    const a = open({ plan: 'scale', users: 10 });
    const started = RESET - 2 * MAX_CALL_MINUTES * MINUTE;
    advance(a, started);
    for (let i = 0; i < ACCOUNT_LIMITS.openCalls; i++) a.startCall({ callId: `lost-${i}`, agentId: 'chloe' }, started);
    let asked = 0;
    expect(a.startCall({ callId: 'next', agentId: 'chloe' }, RESET - MINUTE, () => (++asked, false))).toMatchObject({ authorized: false, reason: 'too_many_open_calls' });
    expect(asked).toBe(1);
    expect(Object.keys(a.state.openCalls)).toHaveLength(ACCOUNT_LIMITS.openCalls);
    advance(a, RESET);
    expect(a.state.openCalls).toEqual({});
    expect(ledger(a).filter((e) => e.kind === 'call_end' && LOST_NOTE.test(e.note ?? ''))).toHaveLength(ACCOUNT_LIMITS.openCalls);
    expect(a.startCall({ callId: 'next-cycle', agentId: 'chloe' }, RESET + MINUTE)).toMatchObject({ authorized: true });
  });
});

describe('a full open-call table', () => {
  const FULL_NOTE = /ended when the account's 1000 open-call places were full: open for 1440 minutes/;
  const DAY = MAX_CALL_MINUTES * MINUTE;

  /** An account with `lost` calls started at `lostAt` and the rest of its places taken at `recentAt`. */
  function fullTable(lost: number, lostAt: number, recentAt: number): CreditAccount {
    const a = open({ plan: 'scale', users: 10 });
    advance(a, lostAt);
    a.grantCredits({ credits: 10_000_000, reason: 'room for the lost calls', validForCycles: 1, idempotencyKey: 'room' }, lostAt);
    for (let i = 0; i < lost; i++) expect(a.startCall({ callId: `lost-${i}`, agentId: 'chloe' }, lostAt)).toMatchObject({ authorized: true });
    advance(a, recentAt);
    for (let i = lost; i < ACCOUNT_LIMITS.openCalls; i++) expect(a.startCall({ callId: `recent-${i}`, agentId: 'chloe' }, recentAt)).toMatchObject({ authorized: true });
    return a;
  }

  it('ends the calls that have run a day before judging the next, each charged its day, and authorizes it', () => {
    const a = fullTable(3, T0, T0 + DAY - MINUTE);
    const balance = a.available();
    const now = T0 + DAY;
    expect(a.startCall({ callId: 'next', agentId: 'chloe' }, now)).toEqual({ authorized: true, balance: balance - 3 * voiceCredits(MAX_CALL_MINUTES) });
    expect(a.available()).toBe(balance - 3 * voiceCredits(MAX_CALL_MINUTES));
    for (let i = 0; i < 3; i++) {
      const [end, ...more] = callCharges(a, `lost-${i}`);
      expect(more).toEqual([]);
      expect(end).toMatchObject({ kind: 'call_end', at: new Date(now).toISOString(), quantity: MAX_CALL_MINUTES, credits: voiceCredits(MAX_CALL_MINUTES), decision: 'accepted' });
      expect(end!.note).toMatch(FULL_NOTE);
      expect(a.callEnded(`lost-${i}`)).toBe(true);
    }
    // The ends come before the new call's start in the ledger: they were charged before it was judged.
    const kinds = ledger(a).slice(-4).map((e) => `${e.kind}:${e.callId}`);
    expect(kinds).toEqual(['call_end:lost-0', 'call_end:lost-1', 'call_end:lost-2', 'call_start:next']);
    expect(Object.keys(a.state.openCalls)).toHaveLength(ACCOUNT_LIMITS.openCalls - 2);
    expect(a.summary(now).telephonyMinutes).toBe(3 * MAX_CALL_MINUTES);
    // A late end of a call ended so gets that answer (the balance after it) and charges nothing more.
    const after = a.available();
    expect(a.endCall({ callId: 'lost-1', minutes: 30 }, now + MINUTE)).toEqual({
      credits: voiceCredits(MAX_CALL_MINUTES),
      balance: balance - 2 * voiceCredits(MAX_CALL_MINUTES),
      minutesCharged: MAX_CALL_MINUTES,
      capped: false,
    });
    expect(callCharges(a, 'lost-1')).toHaveLength(1);
    expect(a.available()).toBe(after);
  });

  it('keeps refusing while no call has run a day, and never asks the patch', () => {
    const a = fullTable(3, T0, T0 + MINUTE);
    let asked = 0;
    expect(a.startCall({ callId: 'next', agentId: 'chloe' }, T0 + DAY - 1, () => (++asked, true))).toMatchObject({ authorized: false, reason: 'too_many_open_calls' });
    expect(asked).toBe(0);
    expect(ledger(a).filter((e) => e.kind === 'call_end')).toEqual([]);
  });

  it('does not look at lost calls while a place is free', () => {
    const a = open({ plan: 'scale', users: 10 });
    a.startCall({ callId: 'lost', agentId: 'chloe' }, T0);
    let asked = 0;
    expect(a.startCall({ callId: 'next', agentId: 'chloe' }, T0 + 2 * DAY, () => (++asked, true))).toMatchObject({ authorized: true });
    expect(asked).toBe(0);
    expect(Object.keys(a.state.openCalls).sort()).toEqual(['lost', 'next']);
  });

  it('charges a call a reset has charged in part only for the rest of its day', () => {
    const started = RESET - 600 * MINUTE;
    const a = fullTable(1, started, RESET + MINUTE);
    const now = started + DAY;
    a.startCall({ callId: 'next', agentId: 'chloe' }, now);
    expect(callCharges(a, 'lost-0')).toMatchObject([
      { kind: 'call_part', cycleIndex: 0, quantity: 600 },
      { kind: 'call_end', cycleIndex: 1, quantity: MAX_CALL_MINUTES - 600, credits: voiceCredits(MAX_CALL_MINUTES - 600) },
    ]);
    expect(a.state.openCalls['next']).toBeDefined();
  });

  it('judges the next call on the balance the lost calls leave: their charges may exhaust it', () => {
    const a = open({ plan: 'scale', users: 10 });
    for (let i = 0; i < ACCOUNT_LIMITS.openCalls; i++) a.startCall({ callId: `lost-${i}`, agentId: 'chloe' }, T0);
    const result = a.startCall({ callId: 'next', agentId: 'chloe' }, T0 + DAY);
    expect(result).toMatchObject({ authorized: false, reason: 'credits_exhausted' });
    expect(a.state.openCalls).toEqual({});
    expect(ledger(a).filter((e) => e.kind === 'call_end' && FULL_NOTE.test(e.note ?? ''))).toHaveLength(ACCOUNT_LIMITS.openCalls);
    expect(a.available()).toBe(result.balance);
    // Calls in progress always complete: the day each ran is charged past zero, and the reset writes the overdraft off.
    expect(result.balance).toBeLessThan(0);
  });
});

describe('the open-call record', () => {
  it('grows by a few bytes a call at a reset, and a full table still fits the carried budget', () => {
    const a = open({ plan: 'scale', users: 10 });
    const id = (p: string, i: number) => `${p}${i}-${'x'.repeat(100)}`;
    advance(a, RESET - MINUTE);
    for (let i = 0; i < ACCOUNT_LIMITS.openCalls; i++) a.startCall({ callId: id('c', i), agentId: id('a', 0) }, RESET - MINUTE);
    const before = jsonBytes(a.state.openCalls);
    advance(a, RESET);
    expect(ledger(a).filter((e) => e.kind === 'call_part')).toHaveLength(ACCOUNT_LIMITS.openCalls);
    expect((jsonBytes(a.state.openCalls) - before) / ACCOUNT_LIMITS.openCalls).toBeLessThanOrEqual(64);
    a.state.outbox = headBatch(a.state.outbox, 500);
    expect(fitToBudget(a.state).total).toBeLessThanOrEqual(CARRIED_STATE_BUDGET_BYTES);
  });
});

// ---- property --------------------------------------------------------------------------

type Step = { t: 'start'; id: string } | { t: 'end'; id: string; minutes: number } | { t: 'wait'; seconds: number } | { t: 'use'; quantity: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ t: fc.constant('start' as const), id: fc.constantFrom('a', 'b', 'c') }),
  {
    arbitrary: fc.record({ t: fc.constant('end' as const), id: fc.constantFrom('a', 'b', 'c'), minutes: fc.integer({ min: 1, max: MAX_CALL_MINUTES * 1000 }).map((n) => n / 1000) }),
    weight: 2,
  },
  // Waits of seconds to weeks, in steps of 3 s so every instant is a whole number of micro-minutes.
  {
    arbitrary: fc.record({
      t: fc.constant('wait' as const),
      seconds: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 600 }), weight: 4 }, { arbitrary: fc.integer({ min: 1, max: 300_000 }), weight: 1 }).map((n) => n * 3),
    }),
    weight: 3,
  },
  fc.record({ t: fc.constant('use' as const), quantity: fc.integer({ min: 1, max: 3000 }) }),
);

/** Minutes of [from, to) that fall within [cycleStart, cycleEnd). */
function overlapMinutes(from: number, to: number, cycleStart: number, cycleEnd: number): number {
  return Math.max(0, Math.min(to, cycleEnd) - Math.max(from, cycleStart)) / MINUTE;
}

describe('calls across resets, at random', () => {
  it('charge each cycle at most the minutes the call ran in it, and in all the capped claim', () => {
    fc.assert(
      // Each run starts with call `a` half an hour before the first reset.
      fc.property(fc.array(step, { minLength: 1, maxLength: 50 }), (rest) => {
        const steps: Step[] = [{ t: 'start', id: 'a' }, ...rest];
        let now = Date.parse('2026-07-02T23:30:00.000Z');
        const a = open({}, now);
        const cycles = new Map<number, { start: number; end: number }>();
        const record = () => cycles.set(a.state.cycle.index, { start: Date.parse(a.state.cycle.start), end: Date.parse(a.state.cycle.end) });
        record();
        const calls = new Map<string, { started: number; ended?: number; claim?: number; minutesCharged?: number }>();
        let n = 0;
        for (const s of steps) {
          if (s.t === 'wait') {
            now += s.seconds * 1000;
            while (now >= Date.parse(a.state.cycle.end)) {
              a.startNextCycle(rules);
              record();
            }
            a.expireGrants(now);
          } else if (s.t === 'use') {
            a.recordUsage({ feature: 'enrichment', quantity: s.quantity, idempotencyKey: `u${++n}` }, now);
          } else if (s.t === 'start' && !calls.has(s.id)) {
            if (a.startCall({ callId: s.id, agentId: 'chloe' }, now).authorized) calls.set(s.id, { started: now });
          } else if (s.t === 'end') {
            const call = calls.get(s.id);
            if (!call || call.ended !== undefined) continue;
            const answer = a.endCall({ callId: s.id, minutes: s.minutes }, now);
            Object.assign(call, { ended: now, claim: s.minutes, minutesCharged: answer.minutesCharged });
          }
          expect(a.available()).toBe(a.state.cycleGranted - a.state.cycleUsed);
        }
        for (const [id, call] of calls) {
          const charges = callCharges(a, id);
          const parts = charges.filter((e) => e.kind === 'call_part');
          // A call never ended here that a reset charged the longest a call runs was ended by
          // that reset (its end was lost): a call_end of nothing, at the reset.
          const lostEnd = charges.find((e) => e.kind === 'call_end' && (call.ended === undefined || Date.parse(e.at) < call.ended));
          if (lostEnd) {
            expect(lostEnd).toMatchObject({ quantity: 0, credits: 0, at: new Date(cycles.get(lostEnd.cycleIndex)!.start).toISOString() });
            expect(parts.reduce((sum, e) => sum + e.quantity!, 0)).toBeCloseTo(MAX_CALL_MINUTES, 6);
          }
          for (const e of charges) {
            if (e === lostEnd) continue;
            const cycle = cycles.get(e.cycleIndex)!;
            const ran = overlapMinutes(call.started, e.kind === 'call_end' ? call.ended! : cycle.end, cycle.start, cycle.end);
            const allowed = e.kind === 'call_end' ? ran + CALL_TOLERANCE_MINUTES : ran;
            expect(e.quantity!).toBeLessThanOrEqual(allowed + 1e-9);
            expect(e.credits).toBe(voiceCredits(e.quantity!));
            expect(e.credits).toBeLessThanOrEqual(voiceCredits(allowed));
          }
          // At most one part per cycle; the parts never exceed the longest call.
          expect(new Set(parts.map((e) => e.cycleIndex)).size).toBe(parts.length);
          const charged = parts.reduce((sum, e) => sum + e.quantity!, 0);
          expect(charged).toBeLessThanOrEqual(MAX_CALL_MINUTES + 1e-9);
          if (call.ended === undefined) continue;
          const elapsed = (call.ended - call.started) / MINUTE;
          const total = charged + charges.find((e) => e.kind === 'call_end')!.quantity!;
          expect(total).toBeCloseTo(call.minutesCharged!, 6);
          // The claim capped at the time the call ran plus the tolerance; a call reported
          // shorter than the parts its resets charged costs the new cycle nothing.
          expect(total).toBeCloseTo(Math.max(charged, Math.min(call.claim!, elapsed + CALL_TOLERANCE_MINUTES)), 6);
        }
      }),
      {
        numRuns: 300,
        // Found at random: call `a`, never ended, runs past two resets and is ended by the second.
        examples: [
          [
            [
              { t: 'wait', seconds: 234396 },
              { t: 'wait', seconds: 558 },
              { t: 'wait', seconds: 836649 },
              { t: 'wait', seconds: 1584 },
              { t: 'wait', seconds: 1563 },
              { t: 'wait', seconds: 609486 },
              { t: 'wait', seconds: 414174 },
              { t: 'wait', seconds: 581790 },
              { t: 'end', id: 'b', minutes: 0.001 },
            ],
          ],
        ],
      },
    );
  });
});

type FullStep = { t: 'start'; id: string } | { t: 'end'; id: string; minutes: number } | { t: 'wait'; minutes: number };

const fullStep: fc.Arbitrary<FullStep> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('start' as const), id: fc.constantFrom('a', 'b', 'c', 'd', 'e') }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('end' as const), id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'filler-0', 'filler-1'), minutes: fc.integer({ min: 1, max: MAX_CALL_MINUTES }) }), weight: 2 },
  // Waits of minutes to two days: the day a call may run is crossed often.
  { arbitrary: fc.record({ t: fc.constant('wait' as const), minutes: fc.integer({ min: 1, max: 2 * MAX_CALL_MINUTES }) }), weight: 3 },
);

describe('a full open-call table, at random', () => {
  it('refuses only while no call has run a day, ends each lost call once for the rest of its day, and the ledger agrees with the summary', () => {
    const longest = MAX_CALL_MINUTES * 1_000_000;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.array(fullStep, { minLength: 1, maxLength: 40 }), (free, steps) => {
        let now = T0;
        const a = open({ plan: 'scale', users: 10 }, now);
        a.grantCredits({ credits: 10_000_000, reason: 'room', validForCycles: 3, idempotencyKey: 'room' }, now);
        // The table full but for `free` places, with calls whose ends will never come.
        for (let i = 0; i < ACCOUNT_LIMITS.openCalls - free; i++) a.startCall({ callId: `filler-${i}`, agentId: 'chloe' }, now);
        const started = new Set<string>();
        for (const s of steps) {
          if (s.t === 'wait') {
            now += s.minutes * MINUTE;
            advance(a, now);
          } else if (s.t === 'start') {
            // A repeated call id gets its first answer: only a first one is judged now.
            const fresh = !started.has(s.id);
            started.add(s.id);
            const answer = a.startCall({ callId: s.id, agentId: 'chloe' }, now);
            if (fresh && !answer.authorized && answer.reason === 'too_many_open_calls') {
              // Refused only when no open call had run the longest a call runs.
              for (const call of Object.values(a.state.openCalls)) {
                const ran = (call.chargedMicros ?? 0) + ((now - Date.parse(call.partFrom ?? call.startedAt)) * 50) / 3;
                expect(ran).toBeLessThan(longest);
              }
            }
          } else {
            a.endCall({ callId: s.id, minutes: s.minutes }, now);
          }
          expect(Object.keys(a.state.openCalls).length).toBeLessThanOrEqual(ACCOUNT_LIMITS.openCalls);
          expect(a.available()).toBe(a.state.cycleGranted - a.state.cycleUsed);
          // The ledger's Voice Agent credits of this cycle are the summary's.
          const entries = ledger(a).filter((e) => e.feature === VOICE.id && e.cycleIndex === a.state.cycle.index);
          const usage = a.summary(now).usage.find((u) => u.feature === VOICE.id);
          expect(entries.reduce((sum, e) => sum + e.credits, 0)).toBe(usage?.credits ?? 0);
        }
        // Nothing charged twice: one end per call at most, and never more than the longest call in all.
        const byCall = new Map<string, LedgerEntry[]>();
        for (const e of ledger(a)) if ((e.kind === 'call_part' || e.kind === 'call_end') && e.callId) byCall.set(e.callId, [...(byCall.get(e.callId) ?? []), e]);
        for (const [callId, charges] of byCall) {
          expect(charges.filter((e) => e.kind === 'call_end').length, callId).toBeLessThanOrEqual(1);
          const minutes = charges.reduce((sum, e) => sum + e.quantity!, 0);
          expect(minutes, callId).toBeLessThanOrEqual(MAX_CALL_MINUTES + CALL_TOLERANCE_MINUTES + 1e-9);
          const full = charges.find((e) => e.kind === 'call_end' && /open-call places were full/.test(e.note ?? ''));
          if (full) expect(minutes, callId).toBeCloseTo(MAX_CALL_MINUTES, 6);
        }
      }),
      { numRuns: 60 },
    );
  });
});

