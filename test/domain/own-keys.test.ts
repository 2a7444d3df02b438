/**
 * Tables keyed by caller input (open calls by call id, usage by feature, remembered answers by
 * key) see only their own entries: names on Object.prototype are ordinary keys, before and
 * after the JSON round trip of continue-as-new.
 */
import { describe, expect, it } from 'vitest';
import { CreditAccount, type AccountState } from '../../domain/account';
import { AnswerWindow } from '../../domain/answers';
import { ownValue, setOwn } from '../../domain/own-keys';
import { checkEndCall } from '../../domain/input-problems';
import type { RecordUsageResult } from '../../domain/wire-contract';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const T0 = Date.parse('2026-06-10T12:00:00.000Z');
const PROTOTYPE_NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

const open = () => CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 5, cycleAnchor: '2026-06-03T00:00:00.000Z' }, rules, T0, 'e1');
/** The account as the next run sees it: its state after a JSON round trip. */
const resumed = (a: CreditAccount) => new CreditAccount(JSON.parse(JSON.stringify(a.state)) as AccountState);

describe('the open-call map', () => {
  it.each(PROTOTYPE_NAMES)('does not know call %s before it starts, and ending it charges nothing', (callId) => {
    for (const a of [open(), resumed(open())]) {
      expect(a.knowsCall(callId)).toBe(false);
      expect(checkEndCall({ callId, minutes: 5 }, { rules, knowsCall: (id) => a.knowsCall(id) })?.code).toBe('UnknownCall');
      expect(a.endCall({ callId, minutes: 5 }, T0)).toEqual({ credits: 0, balance: 7500, minutesCharged: 0, capped: false });
      expect(a.summary(T0).telephonyMinutes).toBe(0);
    }
  });

  it.each(PROTOTYPE_NAMES)('keeps call %s open across continue-as-new and charges it once at its end', (callId) => {
    const a = open();
    expect(a.startCall({ callId, agentId: callId }, T0)).toEqual({ authorized: true, balance: 7500 });
    expect(a.summary(T0).openCalls).toBe(1);
    expect(Object.getPrototypeOf(a.state.openCalls)).toBe(Object.prototype);
    const next = resumed(a);
    expect(next.knowsCall(callId)).toBe(true);
    expect(next.summary(T0).openCalls).toBe(1);
    expect(next.endCall({ callId, minutes: 2 }, T0 + 2 * 60_000)).toEqual({ credits: 40, balance: 7460, minutesCharged: 2, capped: false });
    expect(next.summary(T0).openCalls).toBe(0);
    expect(next.endCall({ callId, minutes: 2 }, T0 + 2 * 60_000)).toEqual({ credits: 40, balance: 7460, minutesCharged: 2, capped: false });
    expect(next.available()).toBe(7460);
  });
});

describe('own-key helpers', () => {
  it.each(PROTOTYPE_NAMES)('store and read %s as an ordinary entry', (key) => {
    const map: Record<string, number> = {};
    expect(ownValue(map, key)).toBeUndefined();
    setOwn(map, key, 7);
    expect(ownValue(map, key)).toBe(7);
    expect(Object.keys(map)).toEqual([key]);
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    const copy = JSON.parse(JSON.stringify(map)) as Record<string, number>;
    expect(ownValue(copy, key)).toBe(7);
  });
});

describe('the remembered-answer window', () => {
  it.each(PROTOTYPE_NAMES)('answers key %s once and knows nothing of it before', (key) => {
    const state = { remembered: [], cycle: { index: 0, start: '', end: '' } };
    const window = new AnswerWindow(state);
    expect(window.has(key)).toBe(false);
    const first: RecordUsageResult = { accepted: true, credits: 1, balance: 1, duplicate: false };
    expect(window.once(key, () => first)).toEqual(first);
    expect(window.once(key, () => ({ ...first, credits: 2 }))).toEqual(first);
    expect(new AnswerWindow(JSON.parse(JSON.stringify(state)) as typeof state).has(key)).toBe(true);
  });

  it.each(PROTOTYPE_NAMES)('treats idempotency key %s as new usage the first time', (idempotencyKey) => {
    const a = open();
    expect(a.recordUsage({ feature: 'enrichment', quantity: 3, idempotencyKey }, T0)).toMatchObject({ accepted: true, credits: 3, duplicate: false });
    expect(resumed(a).recordUsage({ feature: 'enrichment', quantity: 3, idempotencyKey }, T0)).toMatchObject({ credits: 3, duplicate: true });
  });
});
