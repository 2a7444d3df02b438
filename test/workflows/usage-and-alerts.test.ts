/**
 * Usage admitted or paused, calls, toggles, duplicates, validators and alerts, on the
 * time-skipping server with the real workflow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import {
  changeCreditTierUpdate,
  changePlanUpdate,
  endCallUpdate,
  grantCreditsUpdate,
  recordUsageUpdate,
  setFeatureEnabledUpdate,
  setVoiceAgentActiveUpdate,
  startCallUpdate,
  summaryQuery,
} from '../../workflows/messages';
import type { RecordUsageInput } from '../../domain/wire-contract';
import { ALERTS_FOLLOW_BALANCE_PATCH } from '../../workflows/account-credits';
import { renderAlertMessage } from '../../notify/alert-message';
import { patchIds } from '../helpers/patch-markers';

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite();
});
afterAll(async () => {
  await suite?.teardown();
});

let n = 0;
const usage = (feature: string, quantity: number, idempotencyKey = `key-${++n}`): { args: [RecordUsageInput] } => ({
  args: [{ feature, quantity, idempotencyKey }],
});

describe('usage gating', () => {
  it('pauses credit-based features at zero, keeps free ones, and resumes when credits are added', async () => {
    const h = await suite.open({ accountId: 'pause-1', plan: 'solo', users: 1 });
    expect(await h.executeUpdate(recordUsageUpdate, usage('enrichment', 500))).toEqual({ accepted: true, credits: 500, balance: 0, duplicate: false });
    expect(await h.executeUpdate(recordUsageUpdate, usage('auto-updates', 1))).toEqual({
      accepted: false,
      reason: 'credits_exhausted',
      credits: 0,
      balance: 0,
      duplicate: false,
    });
    expect(await h.executeUpdate(recordUsageUpdate, usage('notetaker', 1))).toMatchObject({ accepted: true, credits: 0 });
    expect(await h.executeUpdate(recordUsageUpdate, usage('ai-search', 1))).toMatchObject({ accepted: true, credits: 0 });
    expect(await h.executeUpdate(recordUsageUpdate, usage('standard-calls', 12))).toMatchObject({ accepted: true, credits: 0 });
    expect(await h.executeUpdate(startCallUpdate, { args: [{ callId: 'x1', agentId: 'chloe' }] })).toEqual({
      authorized: false,
      reason: 'credits_exhausted',
      balance: 0,
    });
    expect((await h.query(summaryQuery)).alert).toBe('exhausted');
    await h.executeUpdate(grantCreditsUpdate, { args: [{ credits: 40, reason: 'goodwill', validForCycles: 1, idempotencyKey: 'g1' }] });
    expect(await h.executeUpdate(recordUsageUpdate, usage('auto-updates', 1))).toEqual({ accepted: true, credits: 2, balance: 38, duplicate: false });
    // And again at the next cycle's reset.
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 38));
    expect(await h.executeUpdate(recordUsageUpdate, usage('enrichment', 1))).toMatchObject({ accepted: false, reason: 'credits_exhausted' });
    await suite.env.sleep('30 days');
    expect(await h.executeUpdate(recordUsageUpdate, usage('enrichment', 1))).toMatchObject({ accepted: true, balance: 499 });
  });

  it('refuses a usage the balance cannot cover whole (insufficient_credits), with its cost, and admits one that fits', async () => {
    const h = await suite.open({ accountId: 'short-1', plan: 'solo', users: 1 });
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 450));
    expect(await h.executeUpdate(recordUsageUpdate, usage('enrichment', 1_000_000, 'huge'))).toEqual({
      accepted: false,
      reason: 'insufficient_credits',
      credits: 0,
      cost: 1_000_000,
      balance: 50,
      duplicate: false,
    });
    expect(await h.executeUpdate(recordUsageUpdate, usage('enrichment', 51))).toMatchObject({ accepted: false, reason: 'insufficient_credits', cost: 51, balance: 50 });
    expect(await h.executeUpdate(recordUsageUpdate, usage('enrichment', 50))).toEqual({ accepted: true, credits: 50, balance: 0, duplicate: false });
    const s = await h.query(summaryQuery);
    expect(s.credits).toEqual({ available: 0, granted: 500, used: 500, overdraft: 0, callOverage: 0 });
    expect(s.usage.find((u) => u.feature === 'enrichment')).toMatchObject({ credits: 500, count: 2, rejected: 2 });
    const refused = await waitFor(
      () => suite.acts.ledger.find((e) => e.accountId === 'short-1' && e.idempotencyKey === 'huge'),
      'the refused usage entry',
    );
    expect(refused).toMatchObject({ decision: 'rejected', reason: 'insufficient_credits', credits: 0, balanceAfter: 50 });
  });

  it('Growth-and-above free features are not in lower plans', async () => {
    const h = await suite.open({ accountId: 'gating-1', plan: 'starter', users: 1 });
    expect(await h.executeUpdate(recordUsageUpdate, usage('email-thread-summaries', 1))).toMatchObject({ accepted: false, reason: 'not_in_plan' });
    expect(await h.executeUpdate(recordUsageUpdate, usage('chloe-chat', 1))).toMatchObject({ accepted: true });
  });

  it('answers a repeated key with the first answer, marked duplicate, and charges once', async () => {
    const h = await suite.open({ accountId: 'dup-1', plan: 'growth', users: 1 });
    const first = await h.executeUpdate(recordUsageUpdate, usage('enrichment', 7, 'same-key'));
    const again = await h.executeUpdate(recordUsageUpdate, usage('enrichment', 7, 'same-key'));
    expect(first).toEqual({ accepted: true, credits: 7, balance: 1493, duplicate: false });
    expect(again).toEqual({ ...first, duplicate: true });
    const s = await h.query(summaryQuery);
    expect(s.credits.used).toBe(7);
    expect(s.usage.find((u) => u.feature === 'enrichment')).toEqual({ feature: 'enrichment', quantity: 7, credits: 7, count: 1, rejected: 0 });
  });

  it('refuses a toggled-off feature and takes it back when toggled on', async () => {
    const h = await suite.open({ accountId: 'toggle-1', plan: 'growth', users: 1 });
    expect(await h.executeUpdate(setFeatureEnabledUpdate, { args: [{ feature: 'auto-updates', enabled: false }] })).toEqual({
      feature: 'auto-updates',
      enabled: false,
    });
    expect(await h.executeUpdate(recordUsageUpdate, usage('auto-updates', 1))).toMatchObject({ accepted: false, reason: 'feature_disabled' });
    expect(await h.executeUpdate(recordUsageUpdate, usage('enrichment', 1))).toMatchObject({ accepted: true });
    await h.executeUpdate(setFeatureEnabledUpdate, { args: [{ feature: 'auto-updates', enabled: true }] });
    expect(await h.executeUpdate(recordUsageUpdate, usage('auto-updates', 1))).toMatchObject({ accepted: true, credits: 2 });
    expect((await h.query(summaryQuery)).features).toEqual([
      { feature: 'enrichment', enabled: true },
      { feature: 'auto-updates', enabled: true },
    ]);
  });
});

describe('voice agent calls', () => {
  it('lets a call in progress finish past zero, charged in full, and records telephony minutes', async () => {
    const h = await suite.open({ accountId: 'call-1', plan: 'solo', users: 1 });
    expect(await h.executeUpdate(startCallUpdate, { args: [{ callId: 'c1', agentId: 'chloe-1' }] })).toEqual({ authorized: true, balance: 500 });
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 480));
    // The call runs its 4.5 minutes (a call is charged at most for the time it ran).
    await suite.env.sleep('5 minutes');
    const ended = { credits: 90, balance: -70, minutesCharged: 4.5, capped: false };
    expect(await h.executeUpdate(endCallUpdate, { args: [{ callId: 'c1', minutes: 4.5 }] })).toEqual(ended);
    expect(await h.executeUpdate(endCallUpdate, { args: [{ callId: 'c1', minutes: 4.5 }] })).toEqual(ended);
    const s = await h.query(summaryQuery);
    expect(s.credits).toMatchObject({ available: -70, overdraft: 70, used: 570 });
    expect(s.telephonyMinutes).toBe(4.5);
    expect(s.alert).toBe('exhausted');
    // A tier bought now is usable in full at once: the call's 70 past zero is written off as
    // call overage for finance instead of coming out of the purchase.
    expect(await h.executeUpdate(changeCreditTierUpdate, { args: [{ tier: 'tier-1' }] })).toMatchObject({ creditsGranted: 1200 });
    expect((await h.query(summaryQuery)).credits).toEqual({ available: 1200, granted: 1700, used: 570, overdraft: 0, callOverage: 70 });
    expect(await h.executeUpdate(recordUsageUpdate, usage('enrichment', 1200))).toEqual({ accepted: true, credits: 1200, balance: 0, duplicate: false });
    const overage = await waitFor(() => suite.acts.ledger.find((e) => e.accountId === 'call-1' && e.kind === 'call_overage'), 'the call overage entry');
    expect(overage).toMatchObject({ credits: 70, balanceAfter: 0 });
  });

  it('does not authorize a deactivated agent', async () => {
    const h = await suite.open({ accountId: 'agent-1', plan: 'growth', users: 1 });
    await h.executeUpdate(setVoiceAgentActiveUpdate, { args: [{ agentId: 'a7', active: false }] });
    expect(await h.executeUpdate(startCallUpdate, { args: [{ callId: 'c1', agentId: 'a7' }] })).toEqual({
      authorized: false,
      reason: 'agent_inactive',
      balance: 1500,
    });
    expect(await h.executeUpdate(startCallUpdate, { args: [{ callId: 'c2', agentId: 'a8' }] })).toMatchObject({ authorized: true });
    expect((await h.query(summaryQuery)).inactiveAgents).toEqual(['a7']);
  });
});

describe('validators keep malformed input out of history', () => {
  it.each([
    ['recordUsage', recordUsageUpdate, { feature: 'teleportation', quantity: 1, idempotencyKey: 'k' }, 'UnknownFeature'],
    ['recordUsage', recordUsageUpdate, { feature: 'enrichment', quantity: 0, idempotencyKey: 'k' }, 'InvalidQuantity'],
    ['recordUsage', recordUsageUpdate, { feature: 'enrichment', quantity: -2, idempotencyKey: 'k' }, 'InvalidQuantity'],
    ['recordUsage', recordUsageUpdate, { feature: 'enrichment', quantity: 'NaN', idempotencyKey: 'k' }, 'InvalidQuantity'],
    ['recordUsage', recordUsageUpdate, { feature: 'enrichment', quantity: 1.0000001, idempotencyKey: 'k' }, 'InvalidQuantity'],
    ['recordUsage', recordUsageUpdate, { feature: 'enrichment', quantity: 1 }, 'MissingIdempotencyKey'],
    ['recordUsage', recordUsageUpdate, { feature: 'voice-agent', quantity: 1, idempotencyKey: 'k' }, 'UseCallUpdates'],
    ['endCall', endCallUpdate, { callId: 'never-started', minutes: 1 }, 'UnknownCall'],
    ['setFeatureEnabled', setFeatureEnabledUpdate, { feature: 'voice-agent', enabled: false }, 'FeatureNotToggleable'],
    ['grantCredits', grantCreditsUpdate, { credits: 10, reason: 'x', validForCycles: 1 }, 'MissingIdempotencyKey'],
  ] as const)('%s %o is rejected as %s', async (_name, update, input, type) => {
    const h = await suite.open({ accountId: `validate-${++n}`, plan: 'growth', users: 1 });
    const err = await h.executeUpdate(update as typeof recordUsageUpdate, { args: [input as never] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((err as WorkflowUpdateFailedError).cause).toBeInstanceOf(ApplicationFailure);
    expect(((err as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe(type);
    const history = await h.fetchHistory();
    expect(history.events?.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);
  });
});

describe('alerts', () => {
  it('warns when 75% is used on a pace to run out, and is exhausted at zero, each once', async () => {
    const h = await suite.open({ accountId: 'alert-1', plan: 'essentials', users: 1, admins: ['ops@acme.test'] }, 1);
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 700));
    expect((await h.query(summaryQuery)).alert).toBe('ok');
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 60));
    const warned = await waitFor(() => suite.acts.alerts.find((a) => a.accountId === 'alert-1'), 'the warning');
    expect(warned).toMatchObject({ state: 'warning', admins: ['ops@acme.test'], used: 760, available: 240, granted: 1000 });
    expect(Date.parse(warned.projectedRunOutAt ?? '')).toBeLessThan(Date.parse(warned.cycleEnd));
    expect((await h.query(summaryQuery)).alert).toBe('warning');
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 100));
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 140));
    const exhausted = await waitFor(
      () => suite.acts.alerts.find((a) => a.accountId === 'alert-1' && a.state === 'exhausted'),
      'the exhausted alert',
    );
    expect(exhausted).toMatchObject({ available: 0, used: 1000 });
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 1));
    expect(suite.acts.alerts.filter((a) => a.accountId === 'alert-1').map((a) => a.state)).toEqual(['warning', 'exhausted']);
  });

  it('warns again when credits added lift the account out of the warning and it crosses the line again', async () => {
    const h = await suite.open({ accountId: 'alert-again', plan: 'essentials', users: 1, admins: ['ops@acme.test'] }, 1);
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 760));
    await waitFor(() => suite.acts.alerts.find((a) => a.accountId === 'alert-again'), 'the first warning');
    await h.executeUpdate(grantCreditsUpdate, { args: [{ credits: 1000, reason: 'top-up', validForCycles: 1, idempotencyKey: 'top-up' }] });
    expect((await h.query(summaryQuery)).alert).toBe('ok');
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 840));
    const second = await waitFor(() => suite.acts.alerts.filter((a) => a.accountId === 'alert-again')[1], 'the second warning');
    expect(second).toMatchObject({ state: 'warning', used: 1600, granted: 2000, available: 400 });
    expect(patchIds(await h.fetchHistory())).toContain(ALERTS_FOLLOW_BALANCE_PATCH);
  });

  it('warns again after a plan upgrade lifted the account out of the warning, as after a grant', async () => {
    const h = await suite.open({ accountId: 'alert-plan', plan: 'essentials', users: 1, admins: ['ops@acme.test'] }, 1);
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 760));
    await waitFor(() => suite.acts.alerts.find((a) => a.accountId === 'alert-plan'), 'the first warning');
    await h.executeUpdate(changePlanUpdate, { args: [{ plan: 'growth' }] });
    const upgraded = await h.query(summaryQuery);
    expect(upgraded).toMatchObject({ alert: 'ok', credits: { granted: 1500, used: 760 } });
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 400));
    const second = await waitFor(() => suite.acts.alerts.filter((a) => a.accountId === 'alert-plan')[1], 'the second warning');
    expect(second).toMatchObject({ state: 'warning', used: 1160, granted: 1500 });
  });

  it("tells a trial's admins it is exhausted when its credits expire, and promises no reset", async () => {
    const h = await suite.open({ accountId: 'alert-trial', plan: 'growth', users: 1, trial: true, admins: ['ops@acme.test'] }, 1);
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 500));
    const first = await h.query(summaryQuery);
    const ends = first.grants[0]?.expiresAt ?? '';
    await suite.env.sleep(Date.parse(ends) - (await suite.now()) + 60_000);
    expect((await h.query(summaryQuery)).alert).toBe('exhausted');
    const exhausted = await waitFor(() => suite.acts.alerts.find((a) => a.accountId === 'alert-trial' && a.state === 'exhausted'), 'the exhausted alert');
    expect(exhausted).toMatchObject({ available: 0, trial: { endsAt: ends } });
    expect(renderAlertMessage(exhausted).text).toContain('Trial credits do not reset.');
  });

  it('does not warn at 75% when the pace lasts to the reset', async () => {
    const h = await suite.open({ accountId: 'alert-2', plan: 'essentials', users: 1 }, 1);
    await suite.env.sleep('27 days');
    await h.executeUpdate(recordUsageUpdate, usage('enrichment', 800));
    expect((await h.query(summaryQuery)).alert).toBe('ok');
    await suite.env.sleep('4 days');
    expect((await h.query(summaryQuery)).credits.available).toBe(1000);
    expect(suite.acts.alerts.some((a) => a.accountId === 'alert-2')).toBe(false);
  });
});
