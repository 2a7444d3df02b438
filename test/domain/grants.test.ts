import { describe, expect, it } from 'vitest';
import { consumptionOrder, debitGrants, partitionExpired, type Grant } from '../../domain/grants';

const priority = { promotion: 0, trial: 1, included: 2, manual: 3, subscription: 4 } as const;
const grant = (grantId: string, source: Grant['source'], remaining: number, expiresAt: string, seq: number): Grant => ({
  grantId,
  source,
  label: grantId,
  amount: remaining,
  remaining,
  grantedAt: '2026-06-03T00:00:00.000Z',
  expiresAt,
  seq,
});

describe('consumption order', () => {
  it('takes the grant expiring soonest, then the rules priority, then the oldest', () => {
    const grants = [
      grant('sub', 'subscription', 10, '2026-07-03T00:00:00.000Z', 1),
      grant('inc', 'included', 10, '2026-07-03T00:00:00.000Z', 2),
      grant('promo-late', 'promotion', 10, '2026-08-03T00:00:00.000Z', 3),
      grant('manual-old', 'manual', 10, '2026-07-03T00:00:00.000Z', 4),
      grant('manual-new', 'manual', 10, '2026-07-03T00:00:00.000Z', 5),
    ];
    expect(consumptionOrder(grants, priority).map((g) => g.grantId)).toEqual([
      'inc',
      'manual-old',
      'manual-new',
      'sub',
      'promo-late',
    ]);
  });

  it('debits across grants and reports the shortfall', () => {
    const grants = [grant('a', 'included', 5, '2026-07-03T00:00:00.000Z', 1), grant('b', 'subscription', 3, '2026-07-03T00:00:00.000Z', 2)];
    expect(debitGrants(grants, 10, priority)).toEqual({
      debits: [
        { grantId: 'a', credits: 5 },
        { grantId: 'b', credits: 3 },
      ],
      shortfall: 2,
    });
    expect(grants.map((g) => g.remaining)).toEqual([0, 0]);
  });

  it('expires grants whose end has come, and only those', () => {
    const grants = [grant('a', 'included', 5, '2026-07-03T00:00:00.000Z', 1), grant('b', 'promotion', 3, '2026-08-03T00:00:00.000Z', 2)];
    const { live, expired } = partitionExpired(grants, Date.parse('2026-07-03T00:00:00.000Z'));
    expect(live.map((g) => g.grantId)).toEqual(['b']);
    expect(expired.map((g) => g.grantId)).toEqual(['a']);
  });
});
