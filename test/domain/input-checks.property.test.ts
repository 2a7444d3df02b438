/**
 * Properties of the update checks over thousands of generated payloads (no server): a check
 * never throws; a refusal is small, well-formed and carries one of the update's declared
 * failure types; and whatever a check lets through holds only clean, bounded text and safe,
 * bounded numbers, with no field the contract does not name.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ACCOUNT_UPDATES } from '../../workflows/messages';
import { checkStartShape, checkUpdateArguments } from '../../domain/input-problems';
import { hasControlCharacter, isWellFormedText } from '../../domain/input-text';
import { asReceived, PROTOTYPE_NAMES, updatePayload } from '../helpers/update-payloads';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const NOW = Date.parse('2026-06-10T12:00:00.000Z');

/** Every string and number inside `value`, with the path to it. */
function leaves(value: unknown, path = '$'): { path: string; value: string | number }[] {
  if (typeof value === 'string' || typeof value === 'number') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => leaves(v, `${path}.${k}`));
  return [];
}

function expectCleanLeaves(value: unknown): void {
  for (const leaf of leaves(value)) {
    if (typeof leaf.value === 'number') {
      expect(Number.isFinite(leaf.value), leaf.path).toBe(true);
      expect(Math.abs(leaf.value), leaf.path).toBeLessThanOrEqual(10_000_000);
    } else {
      expect(isWellFormedText(leaf.value), leaf.path).toBe(true);
      expect(hasControlCharacter(leaf.value), leaf.path).toBe(false);
      expect(leaf.value.length, leaf.path).toBeLessThanOrEqual(500);
    }
  }
}

describe('update checks over generated payloads', () => {
  it('never throw, refuse small and clean, and let through only clean input', () => {
    fc.assert(
      fc.property(updatePayload({ hugeLength: 10_000, callIds: ['call-1', ...PROTOTYPE_NAMES] }), fc.boolean(), ({ name, args }, withRules) => {
        const message = ACCOUNT_UPDATES[name];
        const received = asReceived(args);
        const found = checkUpdateArguments(received, message.check, withRules ? { rules, knowsCall: () => true } : {});
        if (found) {
          expect(message.failures).toContain(found.code);
          expect(found.message.length).toBeLessThan(1024);
          expect(isWellFormedText(found.message)).toBe(true);
          expect(hasControlCharacter(found.message)).toBe(false);
          return;
        }
        expect(received).toHaveLength(1);
        expectCleanLeaves(received[0]);
      }),
      { numRuns: 5_000 },
    );
  });

  it('accept the valid inputs the contract documents, whatever their ids', () => {
    const id = fc.stringMatching(/^[!-~]{1,200}$/);
    fc.assert(
      fc.property(id, id, fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 10_000_000 }), (key, other, quantity, credits) => {
        const context = { rules, knowsCall: () => true };
        expect(ACCOUNT_UPDATES.recordUsage.check({ feature: 'enrichment', quantity, idempotencyKey: key, userId: other }, context)).toBeUndefined();
        expect(ACCOUNT_UPDATES.startCall.check({ callId: key, agentId: other }, context)).toBeUndefined();
        expect(ACCOUNT_UPDATES.endCall.check({ callId: key, minutes: (quantity % 1440) + 1 }, context)).toBeUndefined();
        expect(ACCOUNT_UPDATES.grantCredits.check({ credits, reason: other, validForCycles: 1, idempotencyKey: key }, context)).toBeUndefined();
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('the start check over generated input', () => {
  it('never throws, refuses small and clean, and lets through only clean input', () => {
    const field = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('\ud800', 'x\u0000', 'x'.repeat(10_000), ...PROTOTYPE_NAMES), fc.double(), fc.anything({ maxDepth: 2 }));
    const start = fc.record(
      {
        accountId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), field),
        plan: fc.oneof(fc.constantFrom('growth', 'Professional'), field),
        users: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), field),
        cycleAnchor: fc.oneof(fc.constant('2026-06-03T00:00:00Z'), field),
        creditTier: fc.oneof(fc.constantFrom(null, 'tier-3'), field),
        tags: fc.oneof(fc.array(fc.stringMatching(/^[!-~]{1,20}$/), { maxLength: 3 }), fc.array(field, { maxLength: 3 }), field),
        admins: fc.oneof(fc.constant(['ops@example.com']), fc.array(field, { maxLength: 3 }), field),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(start, (input) => {
        const received = JSON.parse(JSON.stringify(input)) as unknown;
        const found = checkStartShape(received, NOW);
        if (found) {
          expect(found.code).toBe('InvalidStartInput');
          expect(found.message.length).toBeLessThan(1024);
          expect(isWellFormedText(found.message)).toBe(true);
          expect(hasControlCharacter(found.message)).toBe(false);
        } else {
          expectCleanLeaves(received);
        }
      }),
      { numRuns: 3_000 },
    );
  });
});
