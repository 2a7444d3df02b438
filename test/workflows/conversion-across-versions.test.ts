/**
 * A trial converting after a new rules version took effect, where that version lacks the tier
 * the trial holds: the conversion keeps the account's version, as a reset does, so the tier goes
 * on being billed and granted (it was dropped, and never billed again). Its own server: the
 * test moves the clock past the new version's date.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { patchIds } from '../helpers/patch-markers';
import { rulesWithRepricingAt } from '../helpers/rules-variants';
import { changePlanUpdate, summaryQuery } from '../../workflows/messages';
import { CONVERSION_KEEPS_TIER_PATCH } from '../../workflows/account-credits';

const DAY = 86_400_000;
const repricedFrom = new Date(Date.now() + 10 * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
// The new version drops tier 5.
const ruleSet = rulesWithRepricingAt(repricedFrom, { dropTier5: true });
const [shipped] = ruleSet.versions;

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite(ruleSet);
});
afterAll(async () => {
  await suite?.teardown();
});

describe('a trial converting across a rules version', () => {
  it('converts on the version it has when the new one lacks its tier, so the tier is still billed and granted', async () => {
    const h = await suite.open({ accountId: 'versions-trial', plan: 'growth', users: 1, trial: true, creditTier: 'tier-5' }, 2);
    const chargesOf = () => suite.acts.charges.filter((c) => c.accountId === 'versions-trial');
    await waitFor(() => chargesOf().length === 1, "the trial's tier charge");
    await suite.env.sleep(Date.parse(repricedFrom) - (await suite.now()) + DAY);

    const converted = await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth' }] });
    expect(converted).toMatchObject({ plan: 'growth', effective: 'now' });
    const paid = await h.query(summaryQuery);
    expect(paid).toMatchObject({ trial: false, rulesVersion: shipped?.version, tier: { id: 'tier-5', priceCents: 20000 } });
    expect(patchIds(await h.fetchHistory())).toContain(CONVERSION_KEEPS_TIER_PATCH);

    // The next reset keeps that version (the new one lacks tier 5), bills the tier and grants it.
    await suite.env.sleep(Date.parse(paid.cycle.end) - (await suite.now()) + 1000);
    const next = await waitFor(async () => {
      const s = await h.query(summaryQuery);
      return s.cycle.index === paid.cycle.index + 1 ? s : undefined;
    }, 'the reset');
    expect(next).toMatchObject({ rulesVersion: shipped?.version, tier: { id: 'tier-5' } });
    expect(next.credits.available).toBe(1500 + 16000);
    await waitFor(() => chargesOf().length === 2, "the paid cycle's tier charge");
    expect(chargesOf().map((c) => [c.tierId, c.amountCents, c.reason])).toEqual([
      ['tier-5', 20000, 'cycle_start'],
      ['tier-5', 20000, 'cycle_start'],
    ]);
  });
});
