/**
 * A Voice Agent call across a reset on the time-skipping server with the real workflow: the
 * closing cycle is charged at the reset for the minutes the call ran in it (from its credits,
 * before they expire), the new cycle at `endCall` for the rest; and a claim beyond the time the
 * call ran is capped; a call whose end was lost is ended at the reset where it has been charged
 * the longest a call runs, or before a call is judged when the account's open-call places are
 * full.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { endCallUpdate, grantCreditsUpdate, startCallUpdate, summaryQuery } from '../../workflows/messages';
import { CALL_TOLERANCE_MINUTES } from '../../domain/wire-contract';
import { creditsForQuantity } from '../../domain/pricing';
import { shippedRules } from '../helpers/shipped-rules';
import { patchIds } from '../helpers/patch-markers';
import { MAX_CALL_MINUTES } from '../../domain/input-problems';
import { CALL_PARTS_ROUNDED_ONCE_PATCH, END_LOST_CALLS_PATCH, END_LOST_CALLS_WHEN_FULL_PATCH } from '../../workflows/account-credits';
import { ACCOUNT_LIMITS } from '../../domain/state-budget';
import { CreditsClient } from '../../client/credits-client';
import { startCallsInTens } from '../helpers/call-table';

const MINUTE = 60_000;
const VOICE_COST = shippedRules().features.find((f) => f.perCall)!.cost!;

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite();
});
afterAll(async () => {
  await suite?.teardown();
});

describe('a call across a reset', () => {
  it('rounds the call once, as a whole: a minute across the reset costs a minute, on the patched path', async () => {
    const h = await suite.open({ accountId: 'call-reset-round', plan: 'growth', users: 1 });
    const first = await h.query(summaryQuery);
    const resetMs = Date.parse(first.cycle.end);
    // A moment before the reset: the reset's part is a fraction of a minute, rounded up alone.
    await suite.env.sleep(resetMs - (await suite.now()) - 600);
    expect(await h.executeUpdate(startCallUpdate, { args: [{ callId: 'c1', agentId: 'chloe' }] })).toMatchObject({ authorized: true });
    await suite.env.sleep(MINUTE);
    await waitFor(async () => (await h.query(summaryQuery)).cycle.index === first.cycle.index + 1, 'the reset');
    await h.executeUpdate(endCallUpdate, { args: [{ callId: 'c1', minutes: 1 }] });
    const [part, last] = await waitFor(() => {
      const found = suite.acts.ledger.filter((e) => e.accountId === 'call-reset-round' && e.callId === 'c1' && e.kind !== 'call_start');
      return found.length === 2 && found;
    }, 'the call in the ledger');
    expect(part).toMatchObject({ kind: 'call_part', credits: 1 });
    expect(part!.quantity).toBeLessThan(0.5);
    expect(last).toMatchObject({ kind: 'call_end' });
    expect(part!.quantity! + last!.quantity!).toBeCloseTo(1, 6);
    // 20 credits a minute: one minute, rounded once. Each part rounded up on its own made 21.
    expect(part!.credits + last!.credits).toBe(creditsForQuantity(VOICE_COST, 1));
    const latest = await suite.env.client.workflow.getHandle(h.workflowId).fetchHistory();
    expect(patchIds(latest)).toContain(CALL_PARTS_ROUNDED_ONCE_PATCH);
  });

  it('charges each cycle for the minutes the call ran in it', async () => {
    const h = await suite.open({ accountId: 'call-reset-1', plan: 'growth', users: 1 });
    const first = await h.query(summaryQuery);
    const resetMs = Date.parse(first.cycle.end);
    await suite.env.sleep(resetMs - (await suite.now()) - 10 * MINUTE);
    expect(await h.executeUpdate(startCallUpdate, { args: [{ callId: 'c1', agentId: 'chloe' }] })).toEqual({ authorized: true, balance: 1500 });
    const runBefore = (await h.describe()).runId;
    await suite.env.sleep(15 * MINUTE);
    const second = await waitFor(async () => {
      const s = await h.query(summaryQuery);
      return s.cycle.index === first.cycle.index + 1 && s;
    }, 'the reset');
    expect((await h.describe()).runId).not.toBe(runBefore);
    expect(second.openCalls).toBe(1);

    const end = await h.executeUpdate(endCallUpdate, { args: [{ callId: 'c1', minutes: 15 }] });
    const entries = await waitFor(() => {
      const found = suite.acts.ledger.filter((e) => e.accountId === 'call-reset-1' && e.callId === 'c1' && e.kind !== 'call_start');
      return found.length === 2 && found;
    }, 'the call in the ledger');
    const [part, last] = entries;

    // The closing cycle pays for the time from the start to the reset (about 10 minutes: the
    // server's clock runs on while the update is delivered), from its own credits.
    expect(part).toMatchObject({ kind: 'call_part', cycleIndex: first.cycle.index, at: first.cycle.end, feature: 'voice-agent' });
    expect(part!.quantity).toBeGreaterThan(9.5);
    expect(part!.quantity).toBeLessThanOrEqual(10);
    expect(part!.credits).toBe(creditsForQuantity(VOICE_COST, part!.quantity!));
    const oldGrants = new Set(first.grants.map((g) => g.grantId));
    expect(part!.debits?.every((d) => oldGrants.has(d.grantId))).toBe(true);
    const expiry = suite.acts.ledger.find((e) => e.accountId === 'call-reset-1' && e.kind === 'expiry' && oldGrants.has(e.grantId ?? ''));
    expect(expiry?.credits).toBe(1500 - part!.credits);
    expect(part!.seq).toBeLessThan(expiry!.seq);

    // The new cycle pays for the rest of the 15 minutes reported: the call is rounded once, so
    // the two parts together cost what 15 minutes cost.
    expect(last).toMatchObject({ kind: 'call_end', cycleIndex: second.cycle.index, credits: end.credits });
    expect(last!.quantity! + part!.quantity!).toBeCloseTo(15, 6);
    expect(end).toEqual({ credits: creditsForQuantity(VOICE_COST, 15) - part!.credits, balance: 1500 - end.credits, minutesCharged: 15, capped: false });

    const after = await h.query(summaryQuery);
    expect(after.usage.find((u) => u.feature === 'voice-agent')).toEqual({ feature: 'voice-agent', quantity: last!.quantity, credits: end.credits, count: 1, rejected: 0 });
    expect(after.telephonyMinutes).toBe(last!.quantity);
    expect(after.credits).toMatchObject({ used: end.credits, available: 1500 - end.credits });
    expect(after.openCalls).toBe(0);
    // A repeat answers the same and charges nothing.
    expect(await h.executeUpdate(endCallUpdate, { args: [{ callId: 'c1', minutes: 15 }] })).toEqual(end);
  });

  it('ends a call whose end was lost at the reset where it has been charged a day, under its patch', async () => {
    const h = await suite.open({ accountId: 'call-lost-1', plan: 'growth', users: 1 });
    const first = await h.query(summaryQuery);
    expect(await h.executeUpdate(startCallUpdate, { args: [{ callId: 'lost', agentId: 'chloe' }] })).toMatchObject({ authorized: true });
    await suite.env.sleep(Date.parse(first.cycle.end) - (await suite.now()) + MINUTE);
    const second = await waitFor(async () => {
      const s = await h.query(summaryQuery);
      return s.cycle.index === first.cycle.index + 1 && s;
    }, 'the reset');
    expect(second.openCalls).toBe(0);
    const [part, end] = await waitFor(() => {
      const found = suite.acts.ledger.filter((e) => e.accountId === 'call-lost-1' && e.callId === 'lost' && e.kind !== 'call_start');
      return found.length === 2 && found;
    }, 'the lost call in the ledger');
    expect(part).toMatchObject({ kind: 'call_part', cycleIndex: first.cycle.index, quantity: MAX_CALL_MINUTES, credits: creditsForQuantity(VOICE_COST, MAX_CALL_MINUTES) });
    expect(end).toMatchObject({ kind: 'call_end', cycleIndex: second.cycle.index, at: first.cycle.end, quantity: 0, credits: 0 });
    expect(end!.note).toMatch(/its end was never reported/);
    // The run that reset recorded the patch; the late end is answered and charges nothing.
    expect(patchIds(await suite.env.client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).fetchHistory())).toContain(END_LOST_CALLS_PATCH);
    expect(await h.executeUpdate(endCallUpdate, { args: [{ callId: 'lost', minutes: 12 }] })).toEqual({
      credits: 0,
      balance: second.credits.available,
      minutesCharged: MAX_CALL_MINUTES,
      capped: false,
    });
    expect((await h.query(summaryQuery)).credits.available).toBe(second.credits.available);
  });

  it('ends the calls that have run a day when the open-call places are full, and authorizes the next, under its patch', async () => {
    const h = await suite.open({ accountId: 'call-full-1', plan: 'growth', users: 1 });
    // Through the client library: a start that arrives while the run hands over to the next is
    // refused (AccountContinuing) and sent again to the new run.
    const credits = new CreditsClient(suite.env.client, { taskQueue: suite.taskQueue });
    const start = (callId: string) => credits.startCall('call-full-1', { callId, agentId: 'chloe' });
    await h.executeUpdate(grantCreditsUpdate, { args: [{ credits: 1_000_000, reason: 'room for the lost calls', validForCycles: 1, idempotencyKey: 'room' }] });
    for (const id of ['lost-0', 'lost-1']) expect(await start(id)).toMatchObject({ authorized: true });
    await suite.env.sleep(MAX_CALL_MINUTES * MINUTE - 60 * MINUTE);
    // The rest of the places; the account continues as new on the way, carrying its open calls.
    const recent = Array.from({ length: ACCOUNT_LIMITS.openCalls - 2 }, (_, i) => `recent-${i}`);
    expect((await startCallsInTens(start, recent)).every((a) => a.authorized)).toBe(true);
    // Not a day yet: refused, nothing ended.
    expect(await start('too-soon')).toMatchObject({ authorized: false, reason: 'too_many_open_calls' });
    const before = await h.query(summaryQuery);
    expect(before.openCalls).toBe(ACCOUNT_LIMITS.openCalls);

    await suite.env.sleep(61 * MINUTE);
    const day = creditsForQuantity(VOICE_COST, MAX_CALL_MINUTES);
    expect(await start('next')).toEqual({ authorized: true, balance: before.credits.available - 2 * day });
    const ends = await waitFor(() => {
      const found = suite.acts.ledger.filter((e) => e.accountId === 'call-full-1' && e.kind === 'call_end');
      return found.length === 2 && found;
    }, 'the lost calls ended in the ledger');
    expect(ends.map((e) => e.callId).sort()).toEqual(['lost-0', 'lost-1']);
    for (const end of ends) {
      expect(end).toMatchObject({ quantity: MAX_CALL_MINUTES, credits: day, cycleIndex: before.cycle.index });
      expect(end.note).toMatch(/open-call places were full/);
    }
    const after = await h.query(summaryQuery);
    expect(after.openCalls).toBe(ACCOUNT_LIMITS.openCalls - 1);
    expect(after.credits.available).toBe(before.credits.available - 2 * day);
    expect(after.telephonyMinutes).toBe(2 * MAX_CALL_MINUTES);
    const run = (await h.describe()).runId;
    expect(patchIds(await suite.env.client.workflow.getHandle(h.workflowId, run).fetchHistory())).toContain(END_LOST_CALLS_WHEN_FULL_PATCH);
    // A late end is answered as the account ended it, and charges nothing more.
    expect(await h.executeUpdate(endCallUpdate, { args: [{ callId: 'lost-1', minutes: 5 }] })).toMatchObject({ credits: day, minutesCharged: MAX_CALL_MINUTES });
    expect((await h.query(summaryQuery)).credits.available).toBe(after.credits.available);
  }, 120_000);

  it('caps minutes claimed beyond the time the call ran', async () => {
    const h = await suite.open({ accountId: 'call-cap-1', plan: 'growth', users: 1 });
    await h.executeUpdate(startCallUpdate, { args: [{ callId: 'c1', agentId: 'chloe' }] });
    await suite.env.sleep(2 * MINUTE);
    const end = await h.executeUpdate(endCallUpdate, { args: [{ callId: 'c1', minutes: 1440 }] });
    expect(end.capped).toBe(true);
    expect(end.minutesCharged).toBeGreaterThanOrEqual(2 + CALL_TOLERANCE_MINUTES);
    expect(end.minutesCharged).toBeLessThan(2.5 + CALL_TOLERANCE_MINUTES);
    expect(end.credits).toBe(creditsForQuantity(VOICE_COST, end.minutesCharged));
    expect((await h.query(summaryQuery)).telephonyMinutes).toBe(end.minutesCharged);
  });
});
