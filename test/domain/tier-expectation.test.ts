/**
 * A tier change held to what the caller showed (`expect`): `tierChangeOutcome` says what
 * `changeCreditTier` would answer without changing anything, for any state and target; the
 * check refuses an expectation the account would no longer meet (`TierChangeDiffers`) and a
 * malformed one (`InvalidInput`), and lets through one that holds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CreditAccount } from '../../domain/account';
import { checkChangeCreditTier, type CheckContext } from '../../domain/input-problems';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const T0 = Date.parse('2026-06-10T12:00:00.000Z');
const TIERS = [null, ...rules.tiers.map((t) => t.id)];

function open(tier: string | null): CreditAccount {
  return CreditAccount.open({ accountId: 'tiers', plan: 'growth', users: 2, cycleAnchor: '2026-06-03T00:00:00.000Z', ...(tier ? { creditTier: tier } : {}) }, rules, T0, 'e1');
}

function contextOf(a: CreditAccount): CheckContext {
  return { rules: a.state.rules, tierChange: (tier) => a.tierChangeOutcome(tier) };
}

describe('tierChangeOutcome', () => {
  it('is what changeCreditTier then answers, and changes nothing itself (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TIERS), fc.array(fc.constantFrom(...TIERS), { maxLength: 6 }), (start, targets) => {
        const a = open(start);
        let t = T0;
        for (const target of targets) {
          const before = JSON.stringify(a.state);
          const outcome = a.tierChangeOutcome(target);
          expect(JSON.stringify(a.state)).toBe(before);
          const { effective, chargedCents, creditsGranted } = a.changeCreditTier(target, (t += 60_000));
          expect({ effective, chargedCents, creditsGranted }).toEqual(outcome);
        }
      }),
    );
  });
});

describe('checkChangeCreditTier with an expectation', () => {
  it('lets through a change that would do what was shown', () => {
    const a = open('tier-1');
    const shown = a.tierChangeOutcome('tier-3');
    expect(shown).toEqual({ effective: 'now', chargedCents: rules.tiers[2]!.priceCents, creditsGranted: rules.tiers[2]!.credits });
    expect(checkChangeCreditTier({ tier: 'tier-3', expect: shown }, contextOf(a))).toBeUndefined();
  });

  it('refuses one reviewed before the account changed: a downgrade page confirmed after the tier moved charges nothing', () => {
    const a = open('tier-3');
    // The page said: Tier 2 from the next cycle, nothing charged now.
    const shown = a.tierChangeOutcome('tier-2');
    expect(shown).toEqual({ effective: 'next_cycle', chargedCents: 0, creditsGranted: 0 });
    // Meanwhile the account went down to Tier 1 (another tab, then the reset).
    a.changeCreditTier('tier-1', T0 + 60_000);
    a.startNextCycle(rules);
    const price = rules.tiers[1]!.priceCents;
    expect(checkChangeCreditTier({ tier: 'tier-2', expect: shown }, contextOf(a))).toEqual({
      code: 'TierChangeDiffers',
      message: `this change would now take effect now, charging ${price} cents and granting ${rules.tiers[1]!.credits} credits, not at the next cycle, charging 0 cents and granting 0 credits as shown; nothing was changed`,
    });
  });

  it('refuses one whose price changed since it was shown', () => {
    const a = open(null);
    const shown = { ...a.tierChangeOutcome('tier-2'), chargedCents: rules.tiers[1]!.priceCents - 500 };
    expect(checkChangeCreditTier({ tier: 'tier-2', expect: shown }, contextOf(a))?.code).toBe('TierChangeDiffers');
  });

  it.each([
    ['not an object', 5],
    ['a missing field', { effective: 'now', chargedCents: 0 }],
    ['an extra field', { effective: 'now', chargedCents: 0, creditsGranted: 0, tier: 'tier-2' }],
    ['an unknown timing', { effective: 'later', chargedCents: 0, creditsGranted: 0 }],
    ['negative cents', { effective: 'now', chargedCents: -1, creditsGranted: 0 }],
    ['fractional credits', { effective: 'now', chargedCents: 0, creditsGranted: 0.5 }],
    ['text for a number', { effective: 'now', chargedCents: '5000', creditsGranted: 0 }],
  ])('refuses a malformed expectation: %s', (_case, expectation) => {
    expect(checkChangeCreditTier({ tier: 'tier-2', expect: expectation }, contextOf(open(null)))).toEqual({
      code: 'InvalidInput',
      message: 'expect must be {effective: "now" or "next_cycle", chargedCents, creditsGranted}: whole numbers of at least 0',
    });
  });

  it('checks the shape only where the account is not open (the client, an early validator)', () => {
    expect(checkChangeCreditTier({ tier: 'tier-2', expect: { effective: 'now', chargedCents: 1, creditsGranted: 1 } }, { rules })).toBeUndefined();
  });
});
