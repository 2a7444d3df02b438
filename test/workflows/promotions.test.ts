/**
 * The Chloe beta grant over two cycles, on the time-skipping server. Its own file: the test
 * server's clock starts today, after the shipped promotion's window, so these tests move the
 * promotion date through the real DSL and must run before anything else moves the clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { rulesWithPromotionOn } from '../helpers/rules-variants';
import { recordUsageUpdate, summaryQuery } from '../../workflows/messages';

const DAY = 86_400_000;
const promotionDay = new Date(Date.now() + 10 * DAY).toISOString().slice(0, 10);

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite(rulesWithPromotionOn(promotionDay));
});
afterAll(async () => {
  await suite?.teardown();
});

describe('the Chloe beta grant', () => {
  it('arrives at the first cycle on or after the promotion date and lasts two cycles', async () => {
    const h = await suite.open({ accountId: 'beta-1', plan: 'scale', users: 3, tags: ['chloe-beta'] }, 25);
    const before = await h.query(summaryQuery);
    expect(before.grants.some((g) => g.source === 'promotion')).toBe(false);

    // Anchored 25 days ago, the next cycle starts in about a week: before the promotion date,
    // so still nothing.
    await suite.env.sleep(Date.parse(before.cycle.end) - (await suite.now()) + 1000);
    const early = await h.query(summaryQuery);
    expect(Date.parse(early.cycle.start)).toBeLessThan(Date.parse(`${promotionDay}T00:00:00Z`));
    expect(early.grants.some((g) => g.source === 'promotion')).toBe(false);

    // The cycle after that is the first starting on or after the promotion date.
    await suite.env.sleep(Date.parse(early.cycle.end) - (await suite.now()) + 1000);
    const granted = await h.query(summaryQuery);
    expect(Date.parse(granted.cycle.start)).toBeGreaterThanOrEqual(Date.parse(`${promotionDay}T00:00:00Z`));
    const g = granted.grants.find((x) => x.source === 'promotion');
    expect(g).toMatchObject({ amount: 100000, remaining: 100000, grantedAt: granted.cycle.start, label: expect.stringContaining('beta') });
    expect(granted.credits.available).toBe(6000 + 100000);

    // Second cycle: still there, minus what was used (promotion credits expire later, so
    // included credits expiring sooner are used first).
    await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 7000, idempotencyKey: 'b1' }] });
    const used = await h.query(summaryQuery);
    expect(used.grants.find((x) => x.source === 'included')?.remaining).toBe(0);
    expect(used.grants.find((x) => x.source === 'promotion')?.remaining).toBe(99000);
    await suite.env.sleep(Date.parse(granted.cycle.end) - (await suite.now()) + 1000);
    const second = await h.query(summaryQuery);
    expect(second.grants.find((x) => x.source === 'promotion')).toMatchObject({ remaining: 99000, expiresAt: g?.expiresAt });
    expect(second.credits.available).toBe(6000 + 99000);

    // Third cycle: gone, its remainder recorded as expired, and never granted again.
    await suite.env.sleep(Date.parse(second.cycle.end) - (await suite.now()) + 1000);
    const third = await h.query(summaryQuery);
    expect(third.grants.some((x) => x.source === 'promotion')).toBe(false);
    expect(third.credits.available).toBe(6000);
    const expiry = await waitFor(
      () => suite.acts.ledger.find((e) => e.accountId === 'beta-1' && e.kind === 'expiry' && e.source === 'promotion'),
      'the promotion expiry in the ledger',
    );
    expect(expiry.credits).toBe(99000);
    await suite.env.sleep('31 days');
    expect((await h.query(summaryQuery)).grants.some((x) => x.source === 'promotion')).toBe(false);
  });

  it('an account without the tag gets nothing, and one arriving after the window closed neither', async () => {
    const h = await suite.open({ accountId: 'beta-2', plan: 'scale', users: 1 });
    await suite.env.sleep('40 days');
    expect((await h.query(summaryQuery)).grants.some((g) => g.source === 'promotion')).toBe(false);
    // By now (well over two cycles after the promotion date) the window has closed.
    const late = await suite.open({ accountId: 'beta-3', plan: 'scale', users: 1, tags: ['chloe-beta'] });
    expect((await late.query(summaryQuery)).grants.some((g) => g.source === 'promotion')).toBe(false);
  });
});

