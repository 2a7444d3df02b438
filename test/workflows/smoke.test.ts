import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { fakeActivities, startAccount, startWorker, timeSkippingEnv } from '../helpers/workflow-harness';
import { recordUsageUpdate, summaryQuery } from '../../workflows/messages';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

describe('smoke', () => {
  it('grants, debits and resets', async () => {
    const acts = fakeActivities();
    const w = await startWorker(env, acts);
    try {
      const now = await env.currentTimeMs();
      const anchor = new Date(now - 3 * 86400_000).toISOString();
      const h = await startAccount(env.client, w.taskQueue, { accountId: 'smoke-1', plan: 'Professional', users: 5, cycleAnchor: anchor });
      const r = await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 10, idempotencyKey: 'k1' }] });
      expect(r).toEqual({ accepted: true, credits: 10, balance: 7490, duplicate: false });
      const s1 = await h.query(summaryQuery);
      expect(s1.credits.available).toBe(7490);
      const t0 = Date.now();
      await env.sleep('31 days');
      console.log('slept in', Date.now() - t0);
      const s2 = await h.query(summaryQuery);
      expect(s2.cycle.index).toBe(1);
      expect(s2.credits.available).toBe(7500);
      console.log(acts.ledger.length, acts.ledger.map((e) => e.kind).join(','));
    } finally {
      await w.stop();
    }
  });
});
