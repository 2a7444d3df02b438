/**
 * Dated rules versions under a running account: each cycle is priced with the version in
 * force at its start and keeps it, even when a new version takes effect mid-cycle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { rulesWithRepricingAt } from '../helpers/rules-variants';
import { changeCreditTierUpdate, recordUsageUpdate, summaryQuery } from '../../workflows/messages';

const DAY = 86_400_000;
// The test server's clock starts now; the new version takes effect in ten days.
const repricedFrom = new Date(Date.now() + 10 * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
const ruleSet = rulesWithRepricingAt(repricedFrom);
const [shipped, repriced] = ruleSet.versions;

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite(ruleSet);
});
afterAll(async () => {
  await suite?.teardown();
});

describe('dated rules versions', () => {
  it('pins the version in force at the cycle start for the whole cycle', async () => {
    const h = await suite.open({ accountId: 'versions-1', plan: 'growth', users: 2, creditTier: 'tier-3' }, 5);
    const first = await h.query(summaryQuery);
    expect(first.rulesVersion).toBe(shipped?.version);
    expect(first.credits.available).toBe(3000 + 7000);

    // The new version takes effect mid-cycle: this cycle keeps the old one, prices included.
    await suite.env.sleep(Date.parse(repricedFrom) - (await suite.now()) + DAY);
    const mid = await h.query(summaryQuery);
    expect(mid.cycle.index).toBe(first.cycle.index);
    expect(mid.rulesVersion).toBe(shipped?.version);
    const usage = await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 10, idempotencyKey: 'v1' }] });
    expect(usage.credits).toBe(10);

    // The next cycle starts under the new version: new per-user credits, new tier price.
    await suite.env.sleep(Date.parse(mid.cycle.end) - (await suite.now()) + 1000);
    const next = await h.query(summaryQuery);
    expect(next.rulesVersion).toBe(repriced?.version);
    expect(next.credits.available).toBe(3200 + 7500);
    expect(next.tier).toMatchObject({ id: 'tier-3', priceCents: 11000, credits: 7500 });
    await waitFor(() => suite.acts.charges.filter((c) => c.accountId === 'versions-1').length === 2, 'two tier charges');
    expect(suite.acts.charges.filter((c) => c.accountId === 'versions-1').map((c) => [c.amountCents, c.rulesVersion])).toEqual([
      [10000, shipped?.version],
      [11000, repriced?.version],
    ]);
    // Entries carry the version they were priced with.
    await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-4' }] });
    const entries = await waitFor(() => {
      const e = suite.acts.ledger.filter((x) => x.accountId === 'versions-1' && x.kind === 'usage');
      return e.length === 1 ? e : undefined;
    }, 'the usage entry');
    expect(entries[0]?.rulesVersion).toBe(shipped?.version);
  });
});
