/**
 * Plans, caps, trials and users, walked through real cycles on the time-skipping server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { waitFor } from '../helpers/wait-for';
import { untilOpen, workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { changePlanUpdate, setUsersUpdate, summaryQuery, recordUsageUpdate } from '../../workflows/messages';

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite();
});
afterAll(async () => {
  await suite?.teardown();
});

describe('included credits by plan family', () => {
  it.each([
    ['Solo', 4, 500],
    ['Base', 1, 500],
    ['Startup', 7, 7000],
    ['Essentials', 11, 10000],
    ['Growth', 10, 15000],
    ['Professional', 25, 15000],
    ['Business', 9, 18000],
    ['Scale', 12, 20000],
  ])('%s with %i users: %i credits every cycle', async (plan, users, credits) => {
    const h = await suite.open({ accountId: `plan-${plan}-${users}`, plan, users });
    expect((await h.query(summaryQuery)).credits.available).toBe(credits);
    await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 100, idempotencyKey: 'u1' }] });
    expect((await h.query(summaryQuery)).credits.available).toBe(credits - 100);
    await suite.env.sleep('30 days');
    const next = await h.query(summaryQuery);
    expect(next.cycle.index).toBe(1);
    expect(next.credits).toEqual({ available: credits, granted: credits, used: 0, overdraft: 0, callOverage: 0 });
  });
});

describe('mid-cycle users', () => {
  it('grants added users at once below the cap, nothing above it, nothing back on removal', async () => {
    const h = await suite.open({ accountId: 'users-1', plan: 'essentials', users: 8 });
    expect(await h.executeUpdate(setUsersUpdate, { args: [{ users: 9 }] })).toEqual({ users: 9, creditsGranted: 1000 });
    expect(await h.executeUpdate(setUsersUpdate, { args: [{ users: 13 }] })).toEqual({ users: 13, creditsGranted: 1000 });
    expect(await h.executeUpdate(setUsersUpdate, { args: [{ users: 2 }] })).toEqual({ users: 2, creditsGranted: 0 });
    const s = await h.query(summaryQuery);
    expect(s.users).toBe(2);
    expect(s.credits.available).toBe(10000);
    await suite.env.sleep('31 days');
    expect((await h.query(summaryQuery)).credits.available).toBe(2000);
  });
});

describe('plan changes', () => {
  it('an upgrade grants the difference now; a downgrade applies at the next cycle', async () => {
    const h = await suite.open({ accountId: 'plan-change', plan: 'growth', users: 4 });
    expect(await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'Enterprise' }] })).toEqual({ plan: 'scale', effective: 'now', creditsGranted: 2000 });
    expect((await h.query(summaryQuery)).credits.available).toBe(8000);
    expect(await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'essentials' }] })).toEqual({ plan: 'essentials', effective: 'next_cycle', creditsGranted: 0 });
    const pending = await h.query(summaryQuery);
    expect(pending.plan.id).toBe('scale');
    expect(pending.pendingPlan).toEqual({ id: 'essentials', name: 'Essentials', effectiveAt: pending.cycle.end });
    await suite.env.sleep('31 days');
    const after = await h.query(summaryQuery);
    expect(after.plan.id).toBe('essentials');
    expect(after.credits.available).toBe(4000);
  });

  it('a trial gets 1,000 credits; converting forfeits them and starts a paid cycle at that moment', async () => {
    const h = await suite.open({ accountId: 'trial-1', plan: 'growth', users: 6, trial: true }, 5);
    const trial = await h.query(summaryQuery);
    expect(trial.trial).toBe(true);
    expect(trial.credits.available).toBe(1000);
    await h.executeUpdate(recordUsageUpdate, { args: [{ feature: 'enrichment', quantity: 250, idempotencyKey: 't1' }] });
    await suite.env.sleep('3 days');
    const at = await suite.now();
    expect(await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth' }] })).toEqual({ plan: 'growth', effective: 'now', creditsGranted: 9000 });
    const paid = await h.query(summaryQuery);
    expect(paid.trial).toBe(false);
    expect(paid.credits.available).toBe(9000);
    expect(paid.grants.map((g) => g.source)).toEqual(['included']);
    expect(Math.abs(Date.parse(paid.cycle.start) - at)).toBeLessThan(60_000);
    expect(paid.cycle.index).toBe(trial.cycle.index + 1);
    const forfeit = await waitFor(
      () => suite.acts.ledger.find((e) => e.accountId === 'trial-1' && e.kind === 'forfeit'),
      'the forfeited trial credits in the ledger',
    );
    expect(forfeit).toMatchObject({ credits: 750, source: 'trial' });
    // The new cycle resets a month after the conversion, not on the old anchor.
    await suite.env.sleep('29 days');
    expect((await h.query(summaryQuery)).cycle.index).toBe(paid.cycle.index);
    await suite.env.sleep('2 days');
    expect((await h.query(summaryQuery)).cycle.index).toBe(paid.cycle.index + 1);
  });
});

describe('month-end anchors', () => {
  it('Oct 31 -> Nov 30 -> Dec 31 -> Jan 31 -> Feb 28 -> Mar 31', async () => {
    const now = await suite.now();
    // The latest 31st at or before now, at 12:00 UTC.
    const d = new Date(now);
    let anchor = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 31, 12);
    for (let back = 1; new Date(anchor).getUTCDate() !== 31 || anchor > now; back++) {
      anchor = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - back, 31, 12);
    }
    const h = await suite.env.client.workflow.start('accountCredits', {
      taskQueue: suite.taskQueue,
      workflowId: 'ai-credits:month-end',
      args: [{ accountId: 'month-end', plan: 'solo', users: 1, cycleAnchor: new Date(anchor).toISOString() }],
    });
    await untilOpen(h);
    const starts: string[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await h.query(summaryQuery);
      starts.push(s.cycle.start.slice(0, 10));
      await suite.env.sleep(Date.parse(s.cycle.end) - (await suite.now()) + 60_000);
    }
    for (const start of starts) expect(['31', '30', '28', '29']).toContain(start.slice(8));
    // Every cycle returns to the 31st whenever the month has one, else starts on its last day
    // (the 29th of a leap year's February: the server's clock is wherever earlier tests left it).
    for (const start of starts) {
      const [year, month, day] = start.split('-').map(Number) as [number, number, number];
      expect(day).toBe(Math.min(31, new Date(Date.UTC(year, month, 0)).getUTCDate()));
    }
  });
});

describe('start input', () => {
  it.each([
    [{ accountId: 'bad id!', plan: 'growth', users: 1 }, 'accountId must be'],
    [{ accountId: 'bad-users', plan: 'growth', users: 0 }, 'users must be a whole number from 1'],
    [{ accountId: 'bad-plan', plan: 'platinum', users: 1 }, 'unknown plan "platinum"'],
    [{ accountId: 'bad-tier', plan: 'growth', users: 1, creditTier: 'tier-99' }, 'unknown credit tier "tier-99"'],
    [{ accountId: 'bad-tag', plan: 'growth', users: 1, tags: ['\ud800'] }, 'tags[0] must be'],
    [{ accountId: 'bad-admin', plan: 'growth', users: 1, admins: ['ops@x.test\u0000'] }, 'admins[0] must be'],
    // A caller that bypasses the client: a mailer would send to attacker@evil.test.
    [{ accountId: 'list-admin', plan: 'growth', users: 1, admins: ['ok@x.test', 'ops,attacker@evil.test'] }, 'admins[1] must be one plain e-mail address'],
    [{ accountId: 'huge-plan', plan: 'x'.repeat(1 << 20), users: 1 }, 'plan must be'],
    [{ accountId: 'many-users', plan: 'growth', users: 1_000_001 }, 'users must be a whole number from 1 to 1,000,000'],
    [{ accountId: 'junk-field', plan: 'growth', users: 1, junk: true }, 'unknown field(s) "junk"'],
  ])('%o fails the workflow with InvalidStartInput', async (input, message) => {
    const h = await suite.open(input as never);
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidStartInput');
    expect((cause as ApplicationFailure).message).toContain(message);
  });

  it('refuses, in the validator, admins a mailer would read as someone else, and keeps the admins it had', async () => {
    const h = await suite.open({ accountId: 'set-list-admin', plan: 'growth', users: 1, admins: ['ok@x.test'] });
    const refusal = await h.executeUpdate('setAdmins', { args: [{ admins: ['Boss<attacker@evil.test>'] }] }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (refusal as WorkflowUpdateFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidInput');
    expect(cause.message).toContain('admins[0] must be one plain e-mail address');
    expect((await h.query(summaryQuery)).admins).toEqual(['ok@x.test']);
  });

  it('refuses a second start argument: only a run continued as new carries a state', async () => {
    const anchor = new Date((await suite.now()) - 86_400_000).toISOString();
    const h = await suite.env.client.workflow.start('accountCredits', {
      taskQueue: suite.taskQueue,
      workflowId: 'ai-credits:forged-state',
      args: [{ accountId: 'forged-state', plan: 'growth', users: 1, cycleAnchor: anchor }, { grants: [], overdraft: 0 }],
    });
    const err = (await h.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect((err.cause as ApplicationFailure).type).toBe('InvalidStartInput');
    expect(err.cause?.message).toBe('the start takes one argument, the start object');
  });

  it('refuses an anchor in the future', async () => {
    const future = new Date((await suite.now()) + 86_400_000).toISOString();
    const h = await suite.env.client.workflow.start('accountCredits', {
      taskQueue: suite.taskQueue,
      workflowId: 'ai-credits:future',
      args: [{ accountId: 'future', plan: 'growth', users: 1, cycleAnchor: future }],
    });
    const err = (await h.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect((err.cause as ApplicationFailure).type).toBe('InvalidStartInput');
    expect(err.cause?.message).toContain('is in the future');
  });
});
