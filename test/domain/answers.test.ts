import { describe, expect, it } from 'vitest';
import { AnswerWindow, IDEMPOTENCY_WINDOW, asDuplicate } from '../../domain/answers';
import type { RememberedAnswer } from '../../domain/account-state';
import { ANSWER_WINDOW_BYTES, jsonBytes } from '../../domain/state-budget';
import type { EndCallResult, GrantCreditsResult } from '../../domain/wire-contract';

type Carried = { remembered: RememberedAnswer[]; cycle: { index: number; start: string; end: string } };

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
