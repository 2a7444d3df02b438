/**
 * How long ledger entries wait for company before their write (time-skipping server): 2 s for
 * a quiet account, 10 s once the account's last write carried 50 entries or more, so a busy
 * account writes a few large batches instead of one small one every 2 s (each write costs the
 * server a timer, an activity and two workflow tasks). A busy account's write goes with its
 * first update once the 10 s are up; the linger's timer, 2 s later, is for one that went quiet.
 */
import { tsToMs } from '@temporalio/common/lib/time';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_UPDATES } from '../../workflows/messages';
import { LEDGER_BUSY_WRITE, LEDGER_LINGER_BUSY_MS, LEDGER_LINGER_QUIET_GRACE_MS } from '../../workflows/account-credits';
import { waitFor } from '../helpers/wait-for';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite();
});
afterAll(async () => {
  await suite?.teardown();
});

const usage = (idempotencyKey: string) => ({ feature: 'enrichment', quantity: 1, idempotencyKey });
const written = (accountId: string, key: string) => suite.acts.ledger.some((e) => e.accountId === accountId && e.idempotencyKey === key);
const realPause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens `accountId` and makes it busy: a write of more than {@link LEDGER_BUSY_WRITE} entries. */
async function openBusy(accountId: string) {
  const h = await suite.open({ accountId });
  await suite.env.sleep('3 seconds');
  await waitFor(() => suite.acts.ledger.some((e) => e.accountId === accountId), 'the opening entries');
  // A burst of usage: its entries wait the quiet linger, then leave in one write.
  const burst = Array.from({ length: LEDGER_BUSY_WRITE + 10 }, (_, i) => usage(`burst-${i}`));
  await h.executeUpdate(ACCOUNT_UPDATES.recordUsageBatch.definition, { args: [{ events: burst }] });
  await suite.env.sleep('3 seconds');
  await waitFor(() => burst.every((e) => written(accountId, e.idempotencyKey)), 'the burst written after 2 s');
  return h;
}

describe('ledger linger', () => {
  const quietAfterBusyMs = LEDGER_LINGER_BUSY_MS + LEDGER_LINGER_QUIET_GRACE_MS;

  it('writes a quiet account within 2 s, a busy one that went quiet within 12 s, and a quiet one again within 2 s', async () => {
    const h = await openBusy('linger-1');
    // The last write made the account busy: the next entry waits 10 s, not 2, and with no
    // update to carry the write after those, the linger's timer 2 s later.
    const from = (await h.fetchHistory()).events?.length ?? 0;
    await h.executeUpdate(ACCOUNT_UPDATES.recordUsage.definition, { args: [usage('after-burst')] });
    await suite.env.sleep('4 seconds');
    await realPause(1_000);
    expect(written('linger-1', 'after-burst')).toBe(false);
    await suite.env.sleep(quietAfterBusyMs - 4_000);
    await waitFor(() => written('linger-1', 'after-burst'), 'the entry written after 12 s');
    // Read from the history rather than timed on the server's clock (which also runs while the
    // test waits): the write waited for one timer, of 12 s, which fired.
    const events = ((await h.fetchHistory()).events ?? []).slice(from);
    const started = events.filter((e) => e.timerStartedEventAttributes);
    expect(started.map((e) => tsToMs(e.timerStartedEventAttributes?.startToFireTimeout))).toEqual([quietAfterBusyMs]);
    expect(events.filter((e) => e.timerFiredEventAttributes).map((e) => String(e.timerFiredEventAttributes?.startedEventId))).toEqual([String(started[0]?.eventId)]);

    // That write carried one entry: the account is quiet again, and 2 s is the linger.
    await h.executeUpdate(ACCOUNT_UPDATES.recordUsage.definition, { args: [usage('quiet-again')] });
    await suite.env.sleep('3 seconds');
    await waitFor(() => written('linger-1', 'quiet-again'), 'the entry written after 2 s', 5_000);
  });

  it('writes a busy account with its first update 10 s after the last write, and no linger timer fires', async () => {
    const h = await openBusy('linger-2');
    const from = (await h.fetchHistory()).events?.length ?? 0;
    // Six events a second for 25 s, so that every write carries a busy account's 50 or more:
    // each goes with the update 10 s after the linger began, 2 s before its timer would fire.
    const second = (s: number) => Array.from({ length: 6 }, (_, i) => usage(`flow-${s}-${i}`));
    const writtenBy = (s: number) => Array.from({ length: s }, (_, t) => second(t).every((e) => written('linger-2', e.idempotencyKey)));
    for (let s = 0; s < 25; s++) {
      await h.executeUpdate(ACCOUNT_UPDATES.recordUsageBatch.definition, { args: [{ events: second(s) }] });
      // By 11 s the first ten seconds are written: before the timer (12 s) could have fired.
      if (s === 11) await waitFor(() => writtenBy(10).every(Boolean), 'the first ten seconds written by 11 s', 5_000);
      await suite.env.sleep('1 second');
    }
    const events = ((await h.fetchHistory()).events ?? []).slice(from);
    const timers = events.map((e) => e.timerStartedEventAttributes?.startToFireTimeout).filter((d) => d !== undefined && d !== null);
    expect(timers.map(tsToMs)).toEqual(Array(timers.length).fill(quietAfterBusyMs));
    expect(timers.length).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.timerFiredEventAttributes)).toEqual([]);
    const writes = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'appendLedger');
    expect(writes.length).toBeGreaterThanOrEqual(2);
    // Each write was scheduled by the workflow task of an accepted update, not of a timer.
    for (const write of writes) {
      const before = events.slice(0, events.indexOf(write)).reverse();
      expect(before.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.timerFiredEventAttributes)?.workflowExecutionUpdateAcceptedEventAttributes).toBeDefined();
    }
  });
});
