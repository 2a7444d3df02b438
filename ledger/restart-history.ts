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
 * Whether `charge` pays for the tier at the restart: its paid period (from the charge to its
 * `paidThrough`) holds the restart's instant `at`, on whatever calendar the earlier workflow
 * ran. A charge recorded without its paid-through (or a restart that did not say when it ran)
 * is judged by the restart's own period instead: made at or after `periodStart`.
 */
function paysAt(charge: ChargeRequest, periodStart: string, at: string | undefined): boolean {
  if (charge.paidThrough === undefined || at === undefined) return charge.at >= periodStart;
  return Date.parse(charge.at) <= Date.parse(at) && Date.parse(at) < Date.parse(charge.paidThrough);
}

/**
 * The restart's history from the earlier promotion grants, the account's charges, and the
 * start of the period it opens in and its instant. A promotion is known by id from the version
 * that granted it (its name may have changed since), by name when `promotionsOf` no longer
 * knows that version. The tier paid for is that of the latest charge paying for the instant.
 */
export function restartHistoryOf(
  granted: readonly GrantedPromotion[],
  charges: readonly ChargeRequest[],
  period: { start: string; at?: string },
  promotionsOf: (rulesVersion: string) => readonly { id: string; name: string }[] | undefined,
): RestartHistory {
  const ids = new Set<string>();
  const names = new Set<string>();
  for (const { name, rulesVersion } of granted) {
    const promotion = promotionsOf(rulesVersion)?.find((p) => p.name === name);
    if (promotion) ids.add(promotion.id);
    else names.add(name);
  }
  const latest = charges.filter((c) => paysAt(c, period.start, period.at)).sort(compareCharges).at(-1);
  const paid = latest ? { chargeId: latest.chargeId, tierId: latest.tierId, amountCents: latest.amountCents, reason: latest.reason } : null;
  // The paid-through day only for a restart that said when it ran: workflow code from before
  // that reads none, and one replayed would take another path at its first reset.
  const through = period.at !== undefined && latest?.paidThrough !== undefined ? { paidThrough: latest.paidThrough } : {};
  return {
    promotions: { ids: [...ids].sort(), names: [...names].sort() },
    paidThisPeriod: paid ? { ...paid, ...through } : null,
  };
}
