/**
 * What the ledger tells a closed account started again on purpose (the `restartFacts`
 * activity): the promotions its earlier workflows were granted, and the billing period's latest
 * tier charge. Pure: the activity and the workflow tests' fake read their own stores and agree
 * by calling this.
 */
import type { ChargeRequest } from '../domain/effects';
import type { RestartHistory } from '../domain/input-problems';
import { compareCharges } from './reconcile';
import type { GrantedPromotion } from './store';

/**
 * The restart's history from the earlier promotion grants, the account's charges and the start
 * of the period it opens in. A promotion is known by id from the version that granted it (its
 * name may have changed since), by name when `promotionsOf` no longer knows that version.
 */
export function restartHistoryOf(
  granted: readonly GrantedPromotion[],
  charges: readonly ChargeRequest[],
  periodStart: string,
  promotionsOf: (rulesVersion: string) => readonly { id: string; name: string }[] | undefined,
): RestartHistory {
  const ids = new Set<string>();
  const names = new Set<string>();
  for (const { name, rulesVersion } of granted) {
    const promotion = promotionsOf(rulesVersion)?.find((p) => p.name === name);
    if (promotion) ids.add(promotion.id);
    else names.add(name);
  }
  const latest = charges.filter((c) => c.at >= periodStart).sort(compareCharges).at(-1);
  return {
    promotions: { ids: [...ids].sort(), names: [...names].sort() },
    paidThisPeriod: latest ? { chargeId: latest.chargeId, tierId: latest.tierId, amountCents: latest.amountCents, reason: latest.reason } : null,
  };
}
