/**
 * How long ledger entries wait for company before their write (time-skipping server): 2 s for
 * a quiet account, 10 s once the account's last write carried 50 entries or more, so a busy
 * account writes a few large batches instead of one small one every 2 s (each write costs the
 * server a timer, an activity and two workflow tasks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_UPDATES } from '../../workflows/messages';
import { LEDGER_BUSY_WRITE } from '../../workflows/account-credits';
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
const written = (key: string) => suite.acts.ledger.some((e) => e.accountId === 'linger-1' && e.idempotencyKey === key);
const realPause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ledger linger', () => {
  it('writes a quiet account within 2 s, a busy one every 10 s, and a quiet one again within 2 s', async () => {
    const h = await suite.open({ accountId: 'linger-1' });
    await suite.env.sleep('3 seconds');
    await waitFor(() => suite.acts.ledger.some((e) => e.accountId === 'linger-1'), 'the opening entries');

    // A burst of usage: its entries wait the quiet linger, then leave in one write.
    const burst = Array.from({ length: LEDGER_BUSY_WRITE + 10 }, (_, i) => usage(`burst-${i}`));
    await h.executeUpdate(ACCOUNT_UPDATES.recordUsageBatch.definition, { args: [{ events: burst }] });
    await suite.env.sleep('3 seconds');
    await waitFor(() => burst.every((e) => written(e.idempotencyKey)), 'the burst written after 2 s');

    // The last write made the account busy: the next entry waits 10 s, not 2.
    await h.executeUpdate(ACCOUNT_UPDATES.recordUsage.definition, { args: [usage('after-burst')] });
    await suite.env.sleep('4 seconds');
    await realPause(1_000);
    expect(written('after-burst')).toBe(false);
    await suite.env.sleep('7 seconds');
    await waitFor(() => written('after-burst'), 'the entry written after 10 s');

    // That write carried one entry: the account is quiet again, and 2 s is the linger.
    await h.executeUpdate(ACCOUNT_UPDATES.recordUsage.definition, { args: [usage('quiet-again')] });
    await suite.env.sleep('3 seconds');
    await waitFor(() => written('quiet-again'), 'the entry written after 2 s', 5_000);
  });
});
