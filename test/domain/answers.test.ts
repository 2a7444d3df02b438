import { describe, expect, it } from 'vitest';
import { AnswerWindow, IDEMPOTENCY_WINDOW, UPDATE_ANSWERS_WINDOW, asDuplicate, updateKey } from '../../domain/answers';
import type { RememberedAnswer } from '../../domain/account-state';
import { ANSWER_WINDOW_BYTES, UPDATE_ANSWERS_BYTES, jsonBytes } from '../../domain/state-budget';
import type { EndCallResult, GrantCreditsResult, SetAdminsResult } from '../../domain/wire-contract';

type Carried = { remembered: RememberedAnswer[]; cycle: { index: number; start: string; end: string }; updateAnswers?: RememberedAnswer[] };

const carried = (index = 0): Carried => ({ remembered: [], cycle: { index, start: '', end: '' } });

/** A compute step that counts its runs, answering with that count. */
function counter() {
  let runs = 0;
  return { runs: () => runs, compute: (): EndCallResult => ({ credits: ++runs, balance: 0, minutesCharged: 0, capped: false }) };
}

describe('answer window', () => {
  it('computes a key once and returns a copy of the first answer on a repeat', () => {
    const window = new AnswerWindow(carried());
    const c = counter();
    const first = window.once('end:c1', c.compute);
    const again = window.once('end:c1', c.compute);
    expect(c.runs()).toBe(1);
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    expect(window.has('end:c1')).toBe(true);
  });

  it('flags a repeat as a duplicate where asked, leaving the remembered answer as it was', () => {
    const state = carried();
    const window = new AnswerWindow(state);
    const compute = (): GrantCreditsResult => ({ grantId: 'g1.e1', expiresAt: 'x', duplicate: false });
    expect(window.once('grant:k', compute, asDuplicate)).toEqual({ grantId: 'g1.e1', expiresAt: 'x', duplicate: false });
    expect(window.once('grant:k', compute, asDuplicate)).toEqual({ grantId: 'g1.e1', expiresAt: 'x', duplicate: true });
    expect(state.remembered).toEqual([{ key: 'grant:k', cycle: 0, answer: { grantId: 'g1.e1', expiresAt: 'x', duplicate: false } }]);
  });

  it('remembers nothing when the computation throws', () => {
    const state = carried();
    const window = new AnswerWindow(state);
    expect(() => window.once('usage:k', () => { throw new Error('boom'); })).toThrow('boom');
    expect(state.remembered).toEqual([]);
    expect(window.has('usage:k')).toBe(false);
  });

  it('keeps at most its limit, forgetting the oldest first', () => {
    const state = carried();
    const window = new AnswerWindow(state, 3);
    const c = counter();
    for (const k of ['a', 'b', 'c', 'd']) window.once(k, c.compute);
    expect(state.remembered.map((r) => r.key)).toEqual(['b', 'c', 'd']);
    expect(window.has('a')).toBe(false);
    // The forgotten key is new again; the kept ones still answer from memory.
    expect(window.once('a', c.compute)).toEqual({ credits: 5, balance: 0, minutesCharged: 0, capped: false });
    expect(window.once('c', c.compute)).toEqual({ credits: 3, balance: 0, minutesCharged: 0, capped: false });
    expect(c.runs()).toBe(5);
  });

  it('is bounded by IDEMPOTENCY_WINDOW answers (bytes aside) and, by default, by ANSWER_WINDOW_BYTES too', () => {
    const state = carried();
    const window = new AnswerWindow(state, IDEMPOTENCY_WINDOW, Number.POSITIVE_INFINITY);
    const c = counter();
    for (let i = 0; i <= IDEMPOTENCY_WINDOW; i++) window.once(`k${i}`, c.compute);
    expect(state.remembered).toHaveLength(IDEMPOTENCY_WINDOW);
    expect(window.has('k0')).toBe(false);
    expect(window.has('k1')).toBe(true);

    const bounded = carried();
    const byDefault = new AnswerWindow(bounded);
    for (let i = 0; i <= IDEMPOTENCY_WINDOW; i++) byDefault.once(`k${i}`, c.compute);
    expect(bounded.remembered.length).toBeLessThanOrEqual(IDEMPOTENCY_WINDOW);
    expect(jsonBytes(bounded.remembered)).toBeLessThanOrEqual(ANSWER_WINDOW_BYTES);
    expect(byDefault.has(`k${IDEMPOTENCY_WINDOW}`)).toBe(true);
  });

  it('files each answer under the cycle it was given in and forgets older cycles at a reset', () => {
    const state = carried(4);
    const window = new AnswerWindow(state);
    const c = counter();
    window.once('old', c.compute);
    state.cycle.index = 5;
    window.once('previous', c.compute);
    state.cycle.index = 6;
    window.once('current', c.compute);
    expect(state.remembered.map((r) => [r.key, r.cycle])).toEqual([['old', 4], ['previous', 5], ['current', 6]]);
    window.forgetBefore(5);
    expect(state.remembered.map((r) => r.key)).toEqual(['previous', 'current']);
    expect(window.has('old')).toBe(false);
    expect(window.has('previous')).toBe(true);
  });

  it('answers from the carried list when rebuilt from it', () => {
    const state = carried();
    const c = counter();
    new AnswerWindow(state).once('start:c1', c.compute);
    const resumed = new AnswerWindow(JSON.parse(JSON.stringify(state)) as Carried);
    expect(resumed.once('start:c1', c.compute)).toEqual({ credits: 1, balance: 0, minutesCharged: 0, capped: false });
    expect(c.runs()).toBe(1);
  });
});

describe('target-value update answers, by update id', () => {
  it('answers the same update name and id with a copy of the first answer, and nothing else', () => {
    const state = carried();
    const window = new AnswerWindow(state);
    const first: SetAdminsResult = { admins: ['a@x.io'], changed: true };
    window.rememberUpdate('setAdmins', 'u-1', first);
    // The list handed in may be the state's own: changing it later must not change the memory.
    first.admins.push('b@x.io');
    const again = window.updateAnswer('setAdmins', 'u-1') as SetAdminsResult;
    expect(again).toEqual({ admins: ['a@x.io'], changed: true });
    again.admins.push('c@x.io');
    expect(window.updateAnswer('setAdmins', 'u-1')).toEqual({ admins: ['a@x.io'], changed: true });
    expect(window.updateAnswer('setAdmins', 'u-2')).toBeUndefined();
    expect(window.updateAnswer('setTags', 'u-1')).toBeUndefined();
    // Apart from grant and call answers: it neither pushes them out nor is mistaken for one.
    expect(state.remembered).toEqual([]);
    expect(window.has('update:setAdmins:u-1')).toBe(false);
  });

  it('answers from the carried list when rebuilt from it', () => {
    const state = carried();
    new AnswerWindow(state).rememberUpdate('setUsers', 'u-1', { creditsGranted: 300 });
    const resumed = new AnswerWindow(JSON.parse(JSON.stringify(state)) as Carried);
    expect(resumed.updateAnswer('setUsers', 'u-1')).toEqual({ creditsGranted: 300 });
  });

  it('keys any update id, however long or odd, by a digest of fixed size', () => {
    const ids = ['', 'x'.repeat(100_000), 'a\u0000b\n"\'<>%2F', '\u{1F600}\u200B', '__proto__', 'constructor'];
    const keys = ids.map((id) => updateKey('setUsers', id));
    expect(new Set(keys).size).toBe(ids.length);
    for (const key of keys) expect(key).toMatch(/^update:setUsers:[0-9a-f]{32}$/);
    const window = new AnswerWindow(carried());
    ids.forEach((id, i) => window.rememberUpdate('setUsers', id, { creditsGranted: i }));
    ids.forEach((id, i) => expect(window.updateAnswer('setUsers', id)).toEqual({ creditsGranted: i }));
  });

  it('keeps the newest within UPDATE_ANSWERS_WINDOW answers and UPDATE_ANSWERS_BYTES, however large one is', () => {
    const state = carried();
    const window = new AnswerWindow(state);
    for (let i = 0; i <= UPDATE_ANSWERS_WINDOW; i++) window.rememberUpdate('setUsers', `u-${i}`, { creditsGranted: i });
    expect(state.updateAnswers).toHaveLength(UPDATE_ANSWERS_WINDOW);
    expect(window.updateAnswer('setUsers', 'u-0')).toBeUndefined();
    expect(window.updateAnswer('setUsers', 'u-1')).toEqual({ creditsGranted: 1 });

    const admins = Array.from({ length: 50 }, (_, i) => `${i}${'a'.repeat(240)}@example.com`);
    for (let i = 0; i < 5; i++) window.rememberUpdate('setAdmins', `big-${i}`, { admins, changed: true });
    expect(jsonBytes(state.updateAnswers)).toBeLessThanOrEqual(UPDATE_ANSWERS_BYTES);
    expect(window.updateAnswer('setAdmins', 'big-4')).toEqual({ admins, changed: true });
    expect(window.updateAnswer('setAdmins', 'big-0')).toBeUndefined();
    expect(window.updateAnswer('setUsers', 'u-1')).toBeUndefined();
  });

  it('forgets the answers of cycles before the previous one at a reset', () => {
    const state = carried(4);
    const window = new AnswerWindow(state);
    window.rememberUpdate('changeCreditTier', 'old', { effective: 'now', chargedCents: 2000, creditsGranted: 1200 });
    state.cycle.index = 5;
    window.rememberUpdate('changeCreditTier', 'previous', { effective: 'next_cycle', chargedCents: 0, creditsGranted: 0 });
    state.cycle.index = 6;
    window.forgetBefore(5);
    expect(window.updateAnswer('changeCreditTier', 'old')).toBeUndefined();
    expect(window.updateAnswer('changeCreditTier', 'previous')).toEqual({ effective: 'next_cycle', chargedCents: 0, creditsGranted: 0 });
  });
});
