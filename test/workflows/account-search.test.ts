/**
 * The accounts' search attributes on the real dev server (the only server here whose
 * visibility store answers queries): set at start, kept current by the workflow as usage
 * crosses the warning and exhausts the credits, as the tier and the tags change, and found
 * through `listAccounts` with filters combined. Visibility is eventually consistent: every
 * look polls. On the time-skipping server (which takes the attributes but answers no listing):
 * the attributes carried into the next cycle's run, and the registration check's warning.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import { msToNumber, msToTs, tsToMs } from '@temporalio/common/lib/time';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreditsClient, accountWorkflowId } from '../../client';
import { LEDGER_LINGER, LEDGER_LINGER_BUSY_MS, LEDGER_LINGER_QUIET_GRACE_MS } from '../../workflows/account-credits';
import { recordUsageBatchUpdate, recordUsageUpdate, summaryQuery } from '../../workflows/messages';
import { ACCOUNT_SEARCH_ATTRIBUTES, BALANCE_PUBLISH_INTERVAL_MS } from '../../workflows/search-attributes';
import { listAccounts, missingSearchAttributes, requireSearchAttributes, type AccountListFilters, type AccountListing } from '../../client/account-list';
import { devServerEnv, fakeActivities, startWorker, workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';

let env: TestWorkflowEnvironment;
let worker: Awaited<ReturnType<typeof startWorker>>;
let credits: CreditsClient;

beforeAll(async () => {
  env = await devServerEnv();
  const acts = fakeActivities();
  // The billing system refuses this account's charges for good: they are parked.
  worker = await startWorker(env, {
    ...acts,
    chargeTier: async (charge) => {
      if (charge.accountId === 'sa-parked') throw ApplicationFailure.nonRetryable('card closed', 'ChargeRefused');
      return acts.chargeTier(charge);
    },
  });
  credits = new CreditsClient(env.client, { taskQueue: worker.taskQueue });
});
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

const anchor = () => new Date(Date.now() - 2 * 86_400_000).toISOString();

/** The listed ids for the filters, once `done` holds of the listing. */
async function listedUntil(filters: AccountListFilters, done: (accounts: AccountListing[]) => boolean): Promise<AccountListing[]> {
  return waitFor(async () => {
    const { accounts } = await listAccounts(env.client, filters, { limit: 100 });
    return done(accounts) ? accounts : undefined;
  }, `a listing for ${JSON.stringify(filters)}`);
}

type HistoryEvents = NonNullable<History['events']>;

/**
 * Timers in `events` that are neither the ledger drain's lingers nor the cycle's end (days
 * away), in ms: before SEARCH_BALANCE_ON_STEP_PATCH, the throttled balance's own timers.
 */
function publisherTimers(events: HistoryEvents): number[] {
  // A busy account's linger timer waits the grace longer (LEDGER_LINGER_ON_STEP_PATCH).
  const lingers = [msToNumber(LEDGER_LINGER), LEDGER_LINGER_BUSY_MS, LEDGER_LINGER_BUSY_MS + LEDGER_LINGER_QUIET_GRACE_MS];
  return events
    .map((e) => e.timerStartedEventAttributes?.startToFireTimeout)
    .filter((d) => d !== undefined && d !== null)
    .map((d) => tsToMs(d))
    .filter((ms) => !lingers.includes(ms) && ms < 86_400_000);
}

const ids = (accounts: AccountListing[]) => accounts.map((a) => a.accountId).sort();
const find = (accounts: AccountListing[], id: string) => accounts.find((a) => a.accountId === id);

describe('account search attributes', () => {
  it('are registered on the harness dev server', async () => {
    expect(await missingSearchAttributes(env.connection, env.namespace ?? 'default')).toEqual([]);
    await expect(requireSearchAttributes(env.connection, env.namespace ?? 'default')).resolves.toBeUndefined();
  });

  it('are asked for by name, with the command that registers them, on a namespace without them', async () => {
    await env.connection.workflowService.registerNamespace({ namespace: 'sa-bare', workflowExecutionRetentionPeriod: msToTs('1 day') });
    const missing = await waitFor(async () => {
      try {
        return await missingSearchAttributes(env.connection, 'sa-bare');
      } catch {
        return undefined; // the namespace is still being created
      }
    }, 'the new namespace');
    expect(missing).toEqual(['CreditsPlan', 'CreditsTier', 'CreditsTrial', 'CreditsAlert', 'CreditsAvailable', 'CreditsCycleEnd', 'CreditsTags', 'CreditsParkedEffects']);
    await expect(requireSearchAttributes(env.connection, 'sa-bare')).rejects.toThrow(
      "namespace sa-bare lacks the accounts' search attributes (CreditsPlan, CreditsTier, CreditsTrial, CreditsAlert, CreditsAvailable, CreditsCycleEnd, CreditsTags, CreditsParkedEffects); register them once with: temporal operator search-attribute create --namespace sa-bare --name CreditsPlan --type Keyword",
    );
  });

  it('list an account after start with its plan, tier, credits and cycle end', async () => {
    const started = await credits.startAccount({ accountId: 'sa-start', plan: 'growth', users: 1, cycleAnchor: anchor(), creditTier: 'tier-3', tags: ['vip'] });
    const summary = started.summary!;
    const listed = await listedUntil({ idPrefix: 'sa-start' }, (a) => find(a, 'sa-start')?.available === summary.credits.available);
    expect(find(listed, 'sa-start')).toMatchObject({
      accountId: 'sa-start',
      plan: 'growth',
      tier: 'tier-3',
      trial: false,
      alert: 'ok',
      available: summary.credits.available,
      cycleEnd: summary.cycle.end,
      tags: ['vip'],
      parkedEffects: 0,
    });
  });

  it('follow usage past the warning to exhausted', async () => {
    const started = await credits.startAccount({ accountId: 'sa-usage', plan: 'growth', users: 1, cycleAnchor: anchor() });
    const available = started.summary!.credits.available;
    await credits.recordUsage('sa-usage', { feature: 'enrichment', quantity: Math.ceil(available * 0.8), idempotencyKey: 'u1' });
    expect((await credits.summary('sa-usage')).alert).toBe('warning');
    await listedUntil({ alert: 'warning', idPrefix: 'sa-usage' }, (a) => find(a, 'sa-usage') !== undefined);
    const left = (await credits.summary('sa-usage')).credits.available;
    await credits.recordUsage('sa-usage', { feature: 'enrichment', quantity: left, idempotencyKey: 'u2' });
    const exhausted = await listedUntil({ alert: 'exhausted' }, (a) => find(a, 'sa-usage') !== undefined);
    expect(find(exhausted, 'sa-usage')).toMatchObject({ alert: 'exhausted', available: 0 });
    // No longer a warning.
    expect(ids((await listAccounts(env.client, { alert: 'warning', idPrefix: 'sa-usage' })).accounts)).toEqual([]);
  });

  it("publish a busy account's balance at most every few seconds, and the balance it settles on once its ledger writes are done", async () => {
    await credits.startAccount({ accountId: 'sa-busy', plan: 'scale', users: 5, cycleAnchor: anchor() });
    const handle = env.client.workflow.getHandle(accountWorkflowId('sa-busy'));
    const upserts = async () => (await handle.fetchHistory()).events?.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes) ?? [];
    const before = (await upserts()).length;
    const started = Date.now();
    // One update (and one workflow task) at a time, each changing the balance alone.
    const sent = 30;
    for (let i = 0; i < sent; i++) await handle.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 1, idempotencyKey: `busy-${i}` }] });
    const burstSeconds = (Date.now() - started) / 1000;
    const { credits: settled } = await handle.query(summaryQuery);
    const listed = await listedUntil({ idPrefix: 'sa-busy' }, (a) => find(a, 'sa-busy')?.available === settled.available);
    expect(find(listed, 'sa-busy')?.available).toBe(settled.available);
    // Without the throttle each of those tasks upserted; with it, one per interval at most
    // during the burst, then the settled balance once the ledger write emptied the outbox.
    const during = (await upserts()).length - before;
    expect(during).toBeLessThanOrEqual(Math.ceil(burstSeconds / (BALANCE_PUBLISH_INTERVAL_MS / 1000)) + 2);
    expect(during).toBeLessThan(sent / 2);
    // The wait is the account's next step, not a timer of the publisher's own.
    expect(publisherTimers((await handle.fetchHistory()).events ?? [])).toEqual([]);
  });

  it('follow a tier change and new tags, and combine filters', async () => {
    await credits.startAccount({ accountId: 'sa-tier-a', plan: 'growth', users: 1, cycleAnchor: anchor() });
    await credits.startAccount({ accountId: 'sa-tier-b', plan: 'growth', users: 1, cycleAnchor: anchor(), creditTier: 'tier-5' });
    await credits.startAccount({ accountId: 'sa-tier-c', plan: 'scale', users: 1, cycleAnchor: anchor(), trial: true });
    await credits.changeCreditTier('sa-tier-a', { tier: 'tier-5' });
    await credits.setTags('sa-tier-a', { tags: ['chloe-beta', 'emea'] });
    await credits.setTags('sa-tier-c', { tags: ['chloe-beta'] });

    const tier5 = await listedUntil({ tier: 'tier-5', idPrefix: 'sa-tier' }, (a) => a.length === 2);
    expect(ids(tier5)).toEqual(['sa-tier-a', 'sa-tier-b']);
    const beta = await listedUntil({ tag: 'chloe-beta', idPrefix: 'sa-tier' }, (a) => a.length === 2);
    expect(ids(beta)).toEqual(['sa-tier-a', 'sa-tier-c']);
    expect(ids(await listedUntil({ tag: 'chloe-beta', tier: 'tier-5', idPrefix: 'sa-' }, (a) => a.length === 1))).toEqual(['sa-tier-a']);
    expect(ids(await listedUntil({ tag: 'chloe-beta', trial: true, idPrefix: 'sa-' }, (a) => a.length === 1))).toEqual(['sa-tier-c']);
    expect(ids((await listAccounts(env.client, { tag: 'emea', plan: 'scale', idPrefix: 'sa-' })).accounts)).toEqual([]);
    expect(ids((await listAccounts(env.client, { parked: true, idPrefix: 'sa-' })).accounts)).toEqual([]);
  });

  it('find a tag with odd (but quotable) characters, and nothing else', async () => {
    await credits.startAccount({ accountId: 'sa-odd', plan: 'growth', users: 1, cycleAnchor: anchor(), tags: ['odd:tag/1+x%', 'plain'] });
    expect(ids(await listedUntil({ tag: 'odd:tag/1+x%' }, (a) => a.length === 1))).toEqual(['sa-odd']);
    expect(ids((await listAccounts(env.client, { tag: 'odd:tag/1+x' })).accounts)).toEqual([]);
  });

  it('find accounts holding parked effects', async () => {
    await credits.startAccount({ accountId: 'sa-parked', plan: 'growth', users: 1, cycleAnchor: anchor(), creditTier: 'tier-3' });
    const parked = await listedUntil({ parked: true, idPrefix: 'sa-' }, (a) => a.length > 0);
    expect(ids(parked)).toEqual(['sa-parked']);
    expect(find(parked, 'sa-parked')?.parkedEffects).toBe((await credits.summary('sa-parked')).parkedEffects);
    expect(find(parked, 'sa-parked')?.parkedEffects).toBeGreaterThan(0);
  });

  it('pages with a token', async () => {
    const first = await listAccounts(env.client, { idPrefix: 'sa-' }, { limit: 2 });
    expect(first.accounts).toHaveLength(2);
    expect(first.nextPageToken).not.toBeNull();
    const rest = await listAccounts(env.client, { idPrefix: 'sa-' }, { limit: 100, pageToken: first.nextPageToken! });
    const all = [...first.accounts, ...rest.accounts].map((a) => a.accountId);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBeGreaterThanOrEqual(5);
  });

  it('upsert at most once per workflow task, however many updates it applied', async () => {
    await credits.startAccount({ accountId: 'sa-burst', plan: 'growth', users: 1, cycleAnchor: anchor() });
    const handle = env.client.workflow.getHandle(accountWorkflowId('sa-burst'));
    // Sent together without coalescing: several land in one workflow task.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        handle.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 1, idempotencyKey: `b${i}` }] }),
      ),
    );
    const after = (await credits.summary('sa-burst')).credits.available;
    await listedUntil({ idPrefix: 'sa-burst' }, (a) => find(a, 'sa-burst')?.available === after);
    const history = await handle.fetchHistory();
    let upsertsThisTask = 0;
    let upserts = 0;
    for (const event of history.events ?? []) {
      if (event.workflowTaskCompletedEventAttributes) upsertsThisTask = 0;
      // The SDK's own upsert of TemporalChangeVersion (a patch) is not ours.
      const fields = Object.keys(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
      if (fields.some((name) => name.startsWith('Credits'))) {
        upsertsThisTask += 1;
        upserts += 1;
        expect(upsertsThisTask).toBe(1);
      }
    }
    expect(upserts).toBeGreaterThan(0);
    expect(upserts).toBeLessThan(20);
  });
});

describe('on the time-skipping server', () => {
  let suite: WorkflowSuite;
  beforeAll(async () => {
    suite = await workflowSuite();
  });
  afterAll(async () => {
    await suite?.teardown();
  });

  it('the attributes cannot be checked (no listing there): a warning, not a refusal', async () => {
    const warnings: string[] = [];
    await requireSearchAttributes(suite.env.connection, 'default', (m) => warnings.push(m));
    expect(warnings).toEqual([
      expect.stringMatching(
        /^cannot check the accounts' search attributes on namespace default \(.*UNIMPLEMENTED.*\); if accounts fail to start, register them with: temporal operator search-attribute create /,
      ),
    ]);
  });

  it("a busy account's balance rides its own steps: published about every interval while usage flows, then settled, with no timer of its own", async () => {
    const h = await suite.open({ accountId: 'sa-steps', plan: 'scale', users: 10 });
    const k = ACCOUNT_SEARCH_ATTRIBUTES;
    await waitFor(async () => (await h.describe()).typedSearchAttributes.get(k.available) !== undefined, 'the attributes published at open');
    const from = (await h.fetchHistory()).events?.length ?? 0;
    // 60 events a second for 20 s: each batch changes the balance alone, and the ledger
    // writes are a busy account's (lingering 10 s), so the outbox is rarely empty.
    for (let s = 0; s < 20; s++) {
      const events = Array.from({ length: 60 }, (_, i) => ({ feature: 'enrichment', quantity: 1, idempotencyKey: `st-${s}-${i}` }));
      await h.executeUpdate(recordUsageBatchUpdate, { args: [{ events }] });
      await suite.env.sleep('1 second');
    }
    await suite.env.sleep('15 seconds');
    const settled = (await h.query(summaryQuery)).credits.available;
    await waitFor(async () => (await h.describe()).typedSearchAttributes.get(k.available) === settled, 'the settled balance published');

    const events = ((await h.fetchHistory()).events ?? []).slice(from);
    expect(publisherTimers(events)).toEqual([]);
    const published = events
      .filter((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[k.available.name])
      .map((e) => tsToMs(e.eventTime ?? undefined));
    // While usage flowed the balance went out about every interval (the next batch after
    // it), not only once the account went quiet.
    expect(published.length).toBeGreaterThanOrEqual(4);
    const gaps = published.slice(1).map((t, i) => t - (published[i] ?? t));
    const busyGaps = gaps.filter((_, i) => (published[i + 1] ?? 0) <= (published[0] ?? 0) + 20_000);
    expect(busyGaps.length).toBeGreaterThanOrEqual(3);
    for (const gap of busyGaps) expect(gap).toBeLessThanOrEqual(BALANCE_PUBLISH_INTERVAL_MS + 2_000);
  });

  it('a workflow started without attributes publishes them all, and the next cycle\'s run carries and updates them', async () => {
    const h = await suite.open({ accountId: 'sa-cycle', tags: ['emea'] });
    const first = await h.query(summaryQuery);
    const k = ACCOUNT_SEARCH_ATTRIBUTES;
    const attributes = async () => (await h.describe()).typedSearchAttributes;
    await waitFor(async () => (await attributes()).get(k.available) === first.credits.available, 'the attributes published');
    const before = await attributes();
    expect([before.get(k.plan), before.get(k.tier), before.get(k.trial), before.get(k.alert), before.get(k.tags), before.get(k.parkedEffects)]).toEqual([
      'growth', undefined, false, 'ok', ['emea'], 0,
    ]);
    expect(before.get(k.cycleEnd)?.toISOString()).toBe(first.cycle.end);

    await suite.env.sleep(Date.parse(first.cycle.end) - (await suite.now()) + 1000);
    const next = await h.query(summaryQuery);
    expect(next.cycle.index).toBe(first.cycle.index + 1);
    await waitFor(async () => (await attributes()).get(k.cycleEnd)?.toISOString() === next.cycle.end, 'the next cycle end published');
    const after = await attributes();
    expect([after.get(k.plan), after.get(k.tags), after.get(k.available)]).toEqual(['growth', ['emea'], next.credits.available]);
  });
});

