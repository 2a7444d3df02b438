/**
 * `recordUsageBatch` in the domain: its check (a malformed batch refused as a whole, naming
 * each bad event, short, never echoing input) and its answers (each event exactly as
 * `recordUsage` answers it, in order; an event the rules refuse gets its own `invalid_event`).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CreditAccount } from '../../domain/account';
import { MAX_LISTED_BAD_EVENTS, MAX_USAGE_BATCH_EVENTS, checkRecordUsage, checkRecordUsageBatch } from '../../domain/input-problems';
import type { RecordUsageInput } from '../../domain/wire-contract';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const T0 = Date.parse('2026-06-10T12:00:00.000Z');
const ANCHOR = '2026-06-03T00:00:00.000Z';
const open = (plan = 'solo') => CreditAccount.open({ accountId: 'acme', plan, users: 1, cycleAnchor: ANCHOR }, rules, T0, 'e1');
const ev = (idempotencyKey: string, quantity = 1, feature = 'enrichment'): RecordUsageInput => ({ feature, quantity, idempotencyKey });

describe('checkRecordUsageBatch', () => {
  it('takes 1 to 500 well-formed events', () => {
    expect(checkRecordUsageBatch({ events: [ev('a')] })).toBeUndefined();
    expect(checkRecordUsageBatch({ events: Array.from({ length: MAX_USAGE_BATCH_EVENTS }, (_, i) => ev(`k-${i}`)) })).toBeUndefined();
    // The rules are not its business: an unknown feature is that event's own answer.
    expect(checkRecordUsageBatch({ events: [ev('a', 1, 'teleportation')] })).toBeUndefined();
  });

  it.each([
    ['not an object', null, /one object argument/],
    ['a list', [ev('a')], /one object argument/],
    ['an unknown field', { events: [ev('a')], junk: 1 }, /unknown field\(s\) "junk"/],
    ['events not a list', { events: 'many' }, /events as "many"/],
    ['no events', { events: [] }, /at least one event/],
    ['too many events', { events: Array.from({ length: MAX_USAGE_BATCH_EVENTS + 1 }, (_, i) => ev(`k-${i}`)) }, /at most 500 events, got 501/],
  ])('refuses a batch that is %s as InvalidInput', (_what, input, message) => {
    const found = checkRecordUsageBatch(input);
    expect(found?.code).toBe('InvalidInput');
    expect(found?.message).toMatch(message);
  });

  it('names the index and reason of each malformed event, capped, without echoing it', () => {
    const secret = `s${'x'.repeat(5000)}\u0000`;
    const events: unknown[] = Array.from({ length: 20 }, (_, i) => ev(`k-${i}`));
    events[3] = { feature: 'enrichment', quantity: 1 };
    events[7] = { ...ev('k-7'), junk: secret };
    for (const i of [10, 11, 12, 13, 14, 15]) events[i] = { ...ev(`k-${i}`), quantity: -1 };
    const found = checkRecordUsageBatch({ events });
    expect(found?.code).toBe('InvalidInput');
    expect(found?.message).toMatch(/8 of 20 events malformed: events\[3\]: MissingIdempotencyKey, .*; events\[7\]: InvalidInput, recordUsage: unknown field\(s\) "junk"/);
    expect(found?.message).toMatch(/events\[12\]: InvalidQuantity.*; and 3 more bad event\(s\)$/);
    expect(found?.message.match(/events\[\d+\]/g)).toHaveLength(MAX_LISTED_BAD_EVENTS);
    expect(found?.message).not.toContain('xxxxxxxxxx');
    expect(found?.message.length).toBeLessThan(2000);
  });

  it('refuses exactly when some event fails the shape check, for any events', () => {
    const anyEvent = fc.oneof(
      fc.record({ feature: fc.constantFrom('enrichment', 'teleportation', ''), quantity: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.double()), idempotencyKey: fc.string({ maxLength: 4 }) }),
      fc.anything({ maxDepth: 1 }),
    );
    fc.assert(
      fc.property(fc.array(anyEvent, { minLength: 1, maxLength: 30 }), (events) => {
        const bad = events.filter((e) => checkRecordUsage(e, {}) !== undefined).length;
        const found = checkRecordUsageBatch({ events });
        expect(found === undefined).toBe(bad === 0);
        if (found) expect(found.message).toContain(`${bad} of ${events.length} events malformed`);
      }),
    );
  });
});

describe('CreditAccount.recordUsageBatch', () => {
  it('answers in order, duplicates inside the batch, refusals mid-batch not stopping the rest, and rule problems per event', () => {
    const a = open();
    const { results } = a.recordUsageBatch([ev('a', 400), ev('a', 400), ev('b', 200), ev('bad', 1, 'teleportation'), ev('c', 100), ev('d', 1, 'voice-agent')], T0);
    expect(results[0]).toEqual({ accepted: true, credits: 400, balance: 100, duplicate: false });
    expect(results[1]).toEqual({ accepted: true, credits: 400, balance: 100, duplicate: true });
    expect(results[2]).toEqual({ accepted: false, reason: 'insufficient_credits', credits: 0, cost: 200, balance: 100, duplicate: false });
    expect(results[3]).toMatchObject({ accepted: false, reason: 'invalid_event', code: 'UnknownFeature', credits: 0, balance: 100, duplicate: false });
    expect(results[4]).toEqual({ accepted: true, credits: 100, balance: 0, duplicate: false });
    expect(results[5]).toMatchObject({ accepted: false, reason: 'invalid_event', code: 'UseCallUpdates' });
    // A later batch repeating a key is answered from the window, charging nothing.
    expect(a.recordUsageBatch([ev('c', 100)], T0).results).toEqual([{ accepted: true, credits: 100, balance: 0, duplicate: true }]);
    // The invalid events left no trace: no ledger entry, no remembered answer.
    const keys = a.state.outbox.flatMap((e) => (e.type === 'ledger' && e.entry.kind === 'usage' ? [e.entry.idempotencyKey] : []));
    expect(keys).toEqual(['a', 'b', 'c']);
  });

  it('is the same as recordUsage event by event, for any events', () => {
    const event = fc.record({
      feature: fc.constantFrom('enrichment', 'auto-updates', 'notetaker', 'teleportation', 'voice-agent'),
      quantity: fc.integer({ min: 1, max: 300 }),
      idempotencyKey: fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5', 'k6'),
    });
    fc.assert(
      fc.property(fc.array(fc.array(event, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }), (batches) => {
        const batched = open('growth');
        const single = open('growth');
        for (const batch of batches) {
          const got = batched.recordUsageBatch(batch, T0).results;
          const want = batch.map((e) => {
            const problem = checkRecordUsage(e, { rules });
            return problem
              ? { accepted: false, reason: 'invalid_event', code: problem.code, message: problem.message, credits: 0, balance: single.available(), duplicate: false }
              : single.recordUsage(e, T0);
          });
          expect(got).toEqual(want);
        }
        expect(batched.state).toEqual(single.state);
      }),
    );
  });
});
