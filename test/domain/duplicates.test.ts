/**
 * Duplicates (issue 9, item 5): a retry of a credit-charging usage key is recognised for 24
 * hours at least and across continue-as-new, whatever the volume of free usage, within the
 * carried budget at 100,000 such keys a day; a reused key with another payload is a duplicate
 * flagged `payloadMismatch`.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CreditAccount, type AccountState } from '../../domain/account';
import { AnswerWindow, RECENT_USAGE_WINDOW, usageUse } from '../../domain/answers';
import { BillableKeys, KEY_WINDOW_MS, seal, unseal } from '../../domain/billable-keys';
import { fingerprint48, sha256 } from '../../domain/digest';
import type { RecordUsageInput, RecordUsageResult } from '../../domain/wire-contract';
import { BILLABLE_KEYS_BYTES, CARRIED_STATE_BUDGET_BYTES, fitToBudget, jsonBytes } from '../../domain/state-budget';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const T0 = Date.parse('2026-06-10T00:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const open = () => {
  const a = CreditAccount.open({ accountId: 'acme', plan: 'scale', users: 10, cycleAnchor: '2026-06-03T00:00:00.000Z' }, rules, T0, 'e1a2b3c4');
  a.grantCredits({ credits: 10_000_000, reason: 'load', validForCycles: 1, idempotencyKey: 'load' }, T0);
  return a;
};
const billable = (key: string, quantity = 3, userId?: string): RecordUsageInput => ({ feature: 'enrichment', quantity, idempotencyKey: key, userId });
const free = (key: string): RecordUsageInput => ({ feature: 'notetaker', quantity: 1, idempotencyKey: key });
/** The state as continue-as-new carries it, and a fresh account on it (a new run). */
const answer = (credits: number, balance = 1): RecordUsageResult => ({ accepted: true, credits, balance, duplicate: false });
const carried = (a: CreditAccount) => new CreditAccount(JSON.parse(JSON.stringify(a.state)) as AccountState);
/** Push every full usage answer out with free usage. */
function flood(a: CreditAccount, at: number, count = RECENT_USAGE_WINDOW + 10, prefix = 'f') {
  for (let i = 0; i < count; i++) a.recordUsage(free(`${prefix}${i}`), at);
  a.state.outbox = [];
}

describe('digests', () => {
  it('sha256 agrees with node:crypto', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => {
        expect(Buffer.from(sha256(s)).toString('hex')).toBe(createHash('sha256').update(s).digest('hex'));
      }),
      { numRuns: 300 },
    );
    for (const n of [0, 55, 56, 63, 64, 119, 120, 1000]) {
      const s = 'x'.repeat(n);
      expect(Buffer.from(sha256(s)).toString('hex')).toBe(createHash('sha256').update(s).digest('hex'));
    }
  });

  it('fingerprints payloads as 12 hex digits', () => {
    expect(fingerprint48('["enrichment",3,null]')).toMatch(/^[0-9a-f]{12}$/);
    expect(fingerprint48('["enrichment",3,null]')).not.toBe(fingerprint48('["enrichment",4,null]'));
  });

  it('packs and unpacks a bucket of keys exactly', () => {
    const record = fc.record({ digest: fc.integer({ min: 0, max: 2 ** 48 - 1 }), fp: fc.integer({ min: 0, max: 63 }), credits: fc.integer({ min: 1, max: 2 ** 40 }) });
    fc.assert(
      fc.property(fc.uniqueArray(record, { selector: (r) => r.digest, maxLength: 300 }), fc.boolean(), (records, withFp) => {
        const input = records.map((r) => ({ ...r, fp: withFp ? r.fp : undefined }));
        const bucket = seal(input, 'x');
        expect(bucket.data).not.toMatch(/["'\\]/);
        expect(unseal(JSON.parse(JSON.stringify(bucket)))).toEqual([...input].sort((a, b) => a.digest - b.digest));
      }),
    );
  });

  it('packs and unpacks skewed digests exactly (gaps far from the mean: long unary runs across symbols)', () => {
    // Many digests close together and a few far apart: the Rice parameter follows the mean
    // gap, so the far ones are coded as hundreds of ones in a row.
    const near = fc.integer({ min: 0, max: 5000 });
    const far = fc.integer({ min: 2 ** 47, max: 2 ** 48 - 1 });
    fc.assert(
      fc.property(fc.uniqueArray(near, { minLength: 1, maxLength: 400 }), fc.uniqueArray(far, { maxLength: 3 }), (a, b) => {
        const input = [...a, ...b].map((digest, i) => ({ digest, fp: i % 64, credits: 1 + (i % 7) }));
        expect(unseal(seal(input, 'x'))).toEqual([...input].sort((x, y) => x.digest - y.digest));
      }),
      { numRuns: 200 },
    );
  });
});

describe('credit-charging keys', () => {
  it('survive free usage: free answers never push them out', () => {
    const a = open();
    const first = a.recordUsage(billable('keep', 3), T0);
    flood(a, T0, 3 * RECENT_USAGE_WINDOW);
    expect(a.state.recentUsage?.some((r) => r.key === 'usage:keep')).toBe(false);
    const b = carried(a);
    const balance = b.available();
    expect(b.recordUsage(billable('keep', 3), T0 + HOUR)).toEqual({ ...first, balance, duplicate: true });
    expect(b.available()).toBe(balance);
    // The million-free-usage volume is in the budget test below.
  });

  it('are recognised for 24 hours, across continue-as-new, and new again after', () => {
    const a = open();
    const first = a.recordUsage(billable('k1', 7), T0);
    expect(first).toMatchObject({ accepted: true, credits: 7, duplicate: false });
    flood(a, T0 + HOUR);
    let b = carried(a);
    const balance = b.available();
    // Known only by its compact form: the credits it charged, and the balance now.
    expect(b.recordUsage(billable('k1', 7), T0 + DAY - 1)).toEqual({ accepted: true, credits: 7, balance, duplicate: true });
    expect(b.available()).toBe(balance);
    // A key charged later keeps the memory alive; the first key has aged out past 24 hours.
    b.recordUsage(billable('later'), T0 + DAY + 1);
    b = carried(b);
    expect(b.recordUsage(billable('k1', 7), T0 + DAY + 2)).toMatchObject({ accepted: true, credits: 7, duplicate: false });
    expect(b.recordUsage(billable('later'), T0 + DAY + 3).duplicate).toBe(true);
  });

  it('a free usage repeated while recent is a duplicate, and once forgotten costs nothing', () => {
    const a = open();
    expect(a.recordUsage(free('n1'), T0)).toEqual({ accepted: true, credits: 0, balance: a.available(), duplicate: false });
    expect(a.recordUsage(free('n1'), T0).duplicate).toBe(true);
    flood(a, T0);
    const before = a.available();
    expect(a.recordUsage(free('n1'), T0)).toMatchObject({ accepted: true, credits: 0, duplicate: false });
    expect(a.available()).toBe(before);
  });

  it('answers carried by an older run (usage in `remembered`) are still recognised after the upgrade', () => {
    const a = open();
    a.recordUsage(billable('old-1', 4), T0);
    a.recordUsage(free('old-free'), T0);
    // The shape an older run carried: every answer in `remembered`, no fingerprints, no compact memory.
    const legacy = JSON.parse(JSON.stringify(a.state)) as AccountState;
    legacy.remembered = [...legacy.remembered, ...(legacy.recentUsage ?? []).map(({ fp: _fp, ...r }) => r)];
    delete legacy.recentUsage;
    delete legacy.billableKeys;
    const b = new CreditAccount(legacy);
    const balance = b.available();
    expect(b.recordUsage(billable('old-1', 4), T0 + HOUR)).toMatchObject({ credits: 4, duplicate: true });
    expect(b.recordUsage(free('old-free'), T0 + HOUR).duplicate).toBe(true);
    // Pushed out of every full list, the old key is still known for 24 hours from the upgrade.
    for (let i = 0; i < 1100; i++) b.startCall({ callId: `call-${i}`, agentId: 'chloe' }, T0 + HOUR);
    flood(b, T0 + 2 * HOUR);
    const c = carried(b);
    expect(c.state.remembered.some((r) => r.key === 'usage:old-1')).toBe(false);
    const now = c.available();
    expect(c.recordUsage(billable('old-1', 9), T0 + 20 * HOUR)).toEqual({ accepted: true, credits: 4, balance: now, duplicate: true });
    expect(c.available()).toBe(balance);
  });
});

describe('a reused key with another payload', () => {
  it('is a duplicate flagged payloadMismatch, never charged, for usage and grants', () => {
    const a = open();
    const first = a.recordUsage(billable('m1', 3, 'ann'), T0);
    const balance = a.available();
    expect(a.recordUsage(billable('m1', 3, 'ann'), T0)).toEqual({ ...first, duplicate: true });
    expect(a.recordUsage(billable('m1', 30, 'ann'), T0)).toEqual({ ...first, duplicate: true, payloadMismatch: true });
    expect(a.recordUsage(billable('m1', 3, 'bob'), T0)).toEqual({ ...first, duplicate: true, payloadMismatch: true });
    expect(a.recordUsage({ ...billable('m1', 3, 'ann'), feature: 'auto-updates' }, T0)).toEqual({ ...first, duplicate: true, payloadMismatch: true });
    expect(a.available()).toBe(balance);
    const grant = a.grantCredits({ credits: 10, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'gm' }, T0);
    expect(a.grantCredits({ credits: 10, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'gm' }, T0)).toEqual({ ...grant, duplicate: true });
    expect(a.grantCredits({ credits: 99, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'gm' }, T0)).toEqual({ ...grant, duplicate: true, payloadMismatch: true });
    expect(a.available()).toBe(balance + 10);
  });

  it('is flagged too when the key is known only in compact form (6-bit fingerprint)', () => {
    const a = open();
    a.recordUsage(billable('m2', 3, 'ann'), T0);
    flood(a, T0);
    const b = carried(a);
    const balance = b.available();
    expect(b.recordUsage(billable('m2', 3, 'ann'), T0 + HOUR)).toEqual({ accepted: true, credits: 3, balance, duplicate: true });
    // One mismatch in 64 goes unflagged in compact form; these payloads are not among them.
    const flagged = [4, 5, 6, 7, 8].filter((q) => b.recordUsage(billable('m2', q, 'ann'), T0 + HOUR).payloadMismatch === true);
    expect(flagged.length).toBeGreaterThanOrEqual(4);
    expect(b.available()).toBe(balance);
  });
});

describe('a manual grant retried after its answer is forgotten', () => {
  const grant = { credits: 5_000, reason: 'goodwill', validForCycles: 3, idempotencyKey: 'ops-42' };

  it('is answered from the live grant, across resets and continue-as-new, and granted again only once the grant is gone', () => {
    let a = open();
    const first = a.grantCredits(grant, T0);
    // Two resets: the answer window forgets answers older than the previous cycle.
    a.startNextCycle(rules);
    a.startNextCycle(rules);
    a = carried(a);
    expect(a.state.remembered.map((r) => r.key)).not.toContain('grant:ops-42');
    const before = a.available();
    a.state.outbox = [];
    expect(a.grantCredits(grant, T0 + 62 * DAY)).toEqual({ grantId: first.grantId, expiresAt: first.expiresAt, duplicate: true });
    expect(a.available()).toBe(before);
    expect(a.state.outbox).toEqual([]);
    // The summary does not show the key's digest.
    expect(Object.keys(a.summary(T0 + 62 * DAY).grants.find((g) => g.grantId === first.grantId) ?? {})).not.toContain('key');
    // Past its third cycle the grant has expired: the key is new again.
    a.startNextCycle(rules);
    expect(a.grantCredits(grant, T0 + 93 * DAY).duplicate).toBe(false);
  });

  it('grants again where the workflow says the recall may not apply (a history from before it)', () => {
    const a = open();
    a.grantCredits(grant, T0);
    a.startNextCycle(rules);
    a.startNextCycle(rules);
    const asked: boolean[] = [];
    const again = a.grantCredits(grant, T0 + 62 * DAY, () => {
      asked.push(true);
      return false;
    });
    expect(again.duplicate).toBe(false);
    expect(asked).toEqual([true]);
  });
});

describe('the carried budget at 100,000 credit-charging keys a day', () => {
  it('holds every key of the last 24 hours, through a million free ones, within 1 MiB', () => {
    const a = open();
    // A realistic rest of the state: some grants, a few open calls, a small outbox.
    for (let i = 0; i < 20; i++) a.grantCredits({ credits: 100, reason: `promo ${i}`, validForCycles: 2, idempotencyKey: `grant-${i}` }, T0);
    for (let i = 0; i < 20; i++) a.startCall({ callId: `call-${i}`, agentId: 'chloe' }, T0);
    const state = a.state;
    const window = new AnswerWindow(state);
    const KEYS = 100_000;
    const FREE_PER_KEY = 10;
    const key = (i: number) => `enrich-lead-${i}-2026-06-10-field-email`;
    const input = (i: number) => billable(key(i), 1 + (i % 12), `user_${i % 40}`);
    const start = T0 + HOUR;
    for (let i = 0; i < KEYS; i++) {
      const at = start + Math.floor((i * DAY) / KEYS);
      const u = input(i);
      window.once(`usage:${u.idempotencyKey}`, () => answer(u.quantity, 5_000_000 - i), undefined, usageUse(state, u, at));
      for (let j = 0; j < FREE_PER_KEY; j++) {
        const f = free(`chloe-chat-${i}-${j}`);
        window.once(`usage:${f.idempotencyKey}`, () => answer(0, 5_000_000 - i), undefined, usageUse(state, f, at));
      }
    }
    const bytes = jsonBytes(state);
    expect(jsonBytes(state.billableKeys)).toBeLessThanOrEqual(BILLABLE_KEYS_BYTES);
    expect(bytes).toBeLessThan(CARRIED_STATE_BUDGET_BYTES);
    // fitToBudget has nothing to trim.
    expect(fitToBudget(state).total).toBe(bytes);
    const b = new CreditAccount(JSON.parse(JSON.stringify(state)) as AccountState);
    const balance = b.available();
    const lastAt = start + DAY - 1;
    for (let i = 0; i < KEYS; i++) {
      const r = b.recordUsage(input(i), lastAt);
      if (!r.duplicate || r.credits !== input(i).quantity || r.payloadMismatch) throw new Error(`key ${i} not recognised: ${JSON.stringify(r)}`);
    }
    expect(b.available()).toBe(balance);
  }, 180_000);

  it('past that volume drops the oldest keys first, staying within its bytes', () => {
    const holder: { billableKeys?: AccountState['billableKeys'] } = {};
    const keys = new BillableKeys(holder, 64 * 1024, 256);
    for (let i = 0; i < 20_000; i++) keys.add(i * 7_919_000_003, i % 64, 5, T0);
    expect(jsonBytes(holder.billableKeys)).toBeLessThanOrEqual(64 * 1024 + 256 * 12);
    expect(keys.find(19_999 * 7_919_000_003)).toEqual({ fp: 19_999 % 64, credits: 5 });
    expect(keys.find(0)).toBeUndefined();
  });

  it('fitToBudget trims full usage answers before any credit-charging key', () => {
    const a = open();
    for (let i = 0; i < 300; i++) a.recordUsage(billable(`b${i}`), T0);
    a.state.outbox = [];
    // Something else made the state 2,000 bytes too heavy.
    a.state.rules = { ...a.state.rules, version: 'v'.repeat(CARRIED_STATE_BUDGET_BYTES - jsonBytes(a.state) + 2000) };
    const weight = fitToBudget(a.state);
    expect(weight.total).toBeLessThanOrEqual(CARRIED_STATE_BUDGET_BYTES);
    expect(a.state.recentUsage?.length).toBeLessThan(300);
    expect(a.state.billableKeys?.open.credits).toHaveLength(300);
    expect(carried(a).recordUsage(billable('b0'), T0 + HOUR).duplicate).toBe(true);
  });
});

describe('no key is charged twice within its window (property)', () => {
  type Op =
    | { t: 'bill'; key: number; quantity: number }
    | { t: 'free'; key: number }
    | { t: 'wait'; minutes: number }
    | { t: 'carry' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ t: fc.constant('bill' as const), key: fc.integer({ min: 0, max: 40 }), quantity: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('free' as const), key: fc.integer({ min: 0, max: 60 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('wait' as const), minutes: fc.integer({ min: 1, max: 8 * 60 }) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'carry' as const }) },
  );

  it('holds for random interleavings, retries with the same or another payload, and JSON round trips', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 400 }), (ops) => {
        type S = Pick<AccountState, 'remembered' | 'cycle' | 'recentUsage' | 'billableKeys' | 'epoch' | 'accountId'>;
        let state: S = { remembered: [], cycle: { index: 0, start: '', end: '' }, epoch: 'e', accountId: 'p' };
        const sizes = { usageLimit: 4, sealAt: 3 };
        let window = new AnswerWindow(state, 8, 1 << 20, sizes);
        let now = T0;
        const firstCharge = new Map<string, { at: number; credits: number; payload: number }>();
        for (const o of ops) {
          if (o.t === 'wait') now += o.minutes * 60_000;
          else if (o.t === 'carry') {
            state = JSON.parse(JSON.stringify(state)) as S;
            window = new AnswerWindow(state, 8, 1 << 20, sizes);
          } else {
            const key = o.t === 'bill' ? `b${o.key}` : `f${o.key}`;
            const quantity = o.t === 'bill' ? o.quantity : 1;
            const input: RecordUsageInput = { feature: o.t === 'bill' ? 'enrichment' : 'notetaker', quantity, idempotencyKey: key };
            let ran = false;
            const use = { ...usageUse({} as AccountState, input, now), recall: (credits: number) => ({ ...answer(credits, 0), duplicate: true }) };
            const compute = () => {
              ran = true;
              return answer(o.t === 'bill' ? quantity : 0, 0);
            };
            const r = window.once(`usage:${key}`, compute, (first) => ({ ...first, duplicate: true }), use);
            const seen = firstCharge.get(key);
            if (seen && now - seen.at <= KEY_WINDOW_MS) {
              // Within the window: never charged again, answered with the first charge.
              expect(ran).toBe(false);
              expect(r).toMatchObject({ duplicate: true, credits: seen.credits });
              if (seen.payload === quantity) expect(r.payloadMismatch).toBeUndefined();
            }
            if (ran && o.t === 'bill') firstCharge.set(key, { at: now, credits: quantity, payload: quantity });
            if (r.payloadMismatch) expect(seen?.payload ?? quantity).not.toBe(quantity);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
