/**
 * Corrections and account details through the real workflow on the time-skipping server: a
 * usage voided by its key (credits back, counters down, the ledger's reversal, a repeat, a
 * refusal, a key of a cycle that has reset, and an ended trial's usage, whose credits expire
 * again), and tags and admins changed on a running
 * account, a new tag granting the open promotion at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { rulesWithPromotionOn } from '../helpers/rules-variants';
import { ACCOUNT_UPDATES, recordUsageUpdate, summaryQuery } from '../../workflows/messages';
import { VOID_EXPIRES_WITH_GRANT_PATCH } from '../../workflows/account-credits';
import { patchIds } from '../helpers/patch-markers';

const DAY = 86_400_000;
// The promotion opened a few days ago: an account anchored since is inside its window.
const promotionDay = new Date(Date.now() - 5 * DAY).toISOString().slice(0, 10);
const { voidUsage, setTags, setAdmins } = ACCOUNT_UPDATES;

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite(rulesWithPromotionOn(promotionDay));
});
afterAll(async () => {
  await suite?.teardown();
});

const ledgerOf = (accountId: string) => suite.acts.ledger.filter((e) => e.accountId === accountId);

// Account details first: the promotion window is measured from the server's clock, which the
// tests below move on by a cycle.
describe('account details', () => {
  it('a tag added inside the promotion window grants the promotion at once, until the window ends', async () => {
    const h = await suite.open({ accountId: 'tags-1', plan: 'growth', users: 1, admins: ['old@acme.test'] });
    const before = await h.query(summaryQuery);
    expect(before.grants.some((g) => g.source === 'promotion')).toBe(false);

    const result = await h.executeUpdate(setTags.definition, { args: [{ tags: ['chloe-beta', 'emea'] }] });
    expect(result).toEqual({ tags: ['chloe-beta', 'emea'], changed: true, promotionsGranted: ['chloe-beta-2026'], creditsGranted: 100_000 });
    const after = await h.query(summaryQuery);
    expect(after.tags).toEqual(['chloe-beta', 'emea']);
    expect(after.credits.available).toBe(before.credits.available + 100_000);
    const promo = after.grants.find((g) => g.source === 'promotion');
    // The window is this cycle (the first starting on or after the promotion date) and the next.
    expect(Date.parse(promo?.expiresAt ?? '')).toBeGreaterThan(Date.parse(after.cycle.end));

    expect(await h.executeUpdate(setAdmins.definition, { args: [{ admins: ['new@acme.test'] }] })).toEqual({ admins: ['new@acme.test'], changed: true });
    expect((await h.query(summaryQuery)).admins).toEqual(['new@acme.test']);
    const changes = await waitFor(() => {
      const found = ledgerOf('tags-1').filter((e) => e.kind === 'tags_change' || e.kind === 'admins_change');
      return found.length === 2 ? found : undefined;
    }, 'the two change entries');
    expect(changes.map((e) => [e.kind, e.note])).toEqual([
      ['tags_change', 'tags: added chloe-beta, emea; removed none; promotion chloe-beta-2026 granted'],
      ['admins_change', 'admins: added new@acme.test; removed old@acme.test'],
    ]);

    // Granted once: removing and adding the tag again grants nothing more, in this cycle or the next.
    await h.executeUpdate(setTags.definition, { args: [{ tags: [] }] });
    expect(await h.executeUpdate(setTags.definition, { args: [{ tags: ['chloe-beta'] }] })).toMatchObject({ promotionsGranted: [], creditsGranted: 0 });
    await suite.env.sleep(Date.parse(after.cycle.end) - (await suite.now()) + 1000);
    const next = await h.query(summaryQuery);
    expect(next.grants.filter((g) => g.source === 'promotion')).toMatchObject([{ grantId: promo?.grantId, expiresAt: promo?.expiresAt }]);
  });

  it('refuses a list past its bound with the start input\'s message', async () => {
    const h = await suite.open({ accountId: 'tags-2' });
    const tags = Array.from({ length: 51 }, (_, i) => `t${i}`);
    await expect(h.executeUpdate(setTags.definition, { args: [{ tags }] })).rejects.toMatchObject({
      cause: { type: 'InvalidInput', message: 'tags may hold at most 50 items, got 51' },
    });
    expect((await h.query(summaryQuery)).tags).toEqual([]);
  });
});

describe('voidUsage', () => {
  it('gives a usage back, once, keeps the key used, and refuses what it cannot void', async () => {
    const h = await suite.open({ accountId: 'void-1', plan: 'growth', users: 2 });
    const start = (await h.query(summaryQuery)).credits.available;
    await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 300, idempotencyKey: 'dup-sync-7' }] });
    await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 20, idempotencyKey: 'kept' }] });

    const input = { idempotencyKey: 'dup-sync-7', reason: 'charged twice by a CRM sync bug (TICKET-913)' };
    const first = await h.executeUpdate(voidUsage.definition, { args: [input] });
    expect(first).toEqual({ voided: true, credits: 300, balance: start - 20, duplicate: false });
    expect(await h.executeUpdate(voidUsage.definition, { args: [input] })).toEqual({ ...first, duplicate: true });
    // The voided key stays used: the product service's retry is a duplicate, not new usage.
    expect(await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 300, idempotencyKey: 'dup-sync-7' }] })).toMatchObject({
      duplicate: true,
    });
    expect(await h.executeUpdate(voidUsage.definition, { args: [{ idempotencyKey: 'never-seen', reason: 'typo' }] })).toEqual({
      voided: false,
      reason: 'unknown_usage',
      credits: 0,
      balance: start - 20,
      duplicate: false,
    });

    const s = await h.query(summaryQuery);
    expect(s.credits).toMatchObject({ available: start - 20, used: 20 });
    expect(s.usage).toEqual([{ feature: 'enrichment', quantity: 20, credits: 20, count: 1, rejected: 0 }]);
    const reversal = await waitFor(() => ledgerOf('void-1').find((e) => e.kind === 'void'), 'the void entry');
    expect(reversal).toMatchObject({ idempotencyKey: 'dup-sync-7', credits: -300, quantity: -300, note: `voided: ${input.reason}` });
    expect(ledgerOf('void-1').filter((e) => e.idempotencyKey === 'dup-sync-7').map((e) => e.kind)).toEqual(['usage', 'void']);

    // After the reset (and continue-as-new) the cycle's usage can no longer be voided.
    await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 5, idempotencyKey: 'last-cycle' }] });
    await suite.env.sleep(Date.parse(s.cycle.end) - (await suite.now()) + 1000);
    expect(await h.executeUpdate(voidUsage.definition, { args: [{ idempotencyKey: 'last-cycle', reason: 'late' }] })).toMatchObject({
      voided: false,
      reason: 'earlier_cycle',
    });
  });

  it("voids a trial's usage after the trial has ended: the credits expire again with the trial's grant, on the patched path", async () => {
    const h = await suite.open({ accountId: 'void-trial', plan: 'essentials', users: 3, trial: true });
    await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 900, idempotencyKey: 'trial-run' }] });
    const trialGrant = (await h.query(summaryQuery)).grants.find((g) => g.source === 'trial');
    await suite.env.sleep(Date.parse(trialGrant?.expiresAt ?? '') - (await suite.now()) + DAY);
    await waitFor(() => ledgerOf('void-trial').some((e) => e.kind === 'expiry' && e.grantId === trialGrant?.grantId), "the trial grant's expiry");
    expect((await h.query(summaryQuery)).credits.available).toBe(0);

    const answer = await h.executeUpdate(voidUsage.definition, { args: [{ idempotencyKey: 'trial-run', reason: 'a test run on a live trial' }] });
    expect(answer).toEqual({ voided: true, credits: 900, expired: 900, balance: 0, duplicate: false });
    const s = await h.query(summaryQuery);
    expect(s.credits).toMatchObject({ available: 0, used: 0 });
    expect(s.grants).toEqual([]);
    const [reversal, expiry] = await waitFor(() => {
      const found = ledgerOf('void-trial').filter((e) => e.kind === 'void' || (e.kind === 'expiry' && e.note?.startsWith('credits given back')));
      return found.length === 2 ? found : undefined;
    }, 'the void and its expiry');
    expect(reversal).toMatchObject({ credits: -900, debits: [{ grantId: trialGrant?.grantId, credits: -900 }], balanceAfter: 900 });
    expect(expiry).toMatchObject({ credits: 900, grantId: trialGrant?.grantId, balanceAfter: 0 });
    expect(expiry?.seq).toBe((reversal?.seq ?? 0) + 1);
    expect(patchIds(await h.fetchHistory())).toContain(VOID_EXPIRES_WITH_GRANT_PATCH);
  });

  it('refuses a void without a reason before it reaches the account', async () => {
    const h = await suite.open({ accountId: 'void-2' });
    await expect(h.executeUpdate('voidUsage', { args: [{ idempotencyKey: 'k' }] })).rejects.toMatchObject({
      cause: { type: 'InvalidInput', message: expect.stringMatching(/^reason must be a text of 1-500 characters/) as unknown },
    });
  });
});
