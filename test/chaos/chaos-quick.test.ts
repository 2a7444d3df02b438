/**
 * The reduced chaos run (`npm run chaos -- --quick`): the compiled worker SIGKILLed twice, the
 * dev server restarted once on its SQLite file and PostgreSQL stopped for 20 seconds, all under
 * load on two accounts. Nothing a caller saw accepted may be lost or charged twice, the
 * summaries and the ledger must agree, and every account must answer at the end.
 * (`npm test` builds dist/ first; the worker runs from it.)
 */
import { describe, expect, it } from 'vitest';
import { QUICK_CHAOS, formatChaosTable, runChaos } from '../../scripts/chaos-run';
import { CARRIED_STATE_BUDGET_BYTES } from '../../domain/state-budget';

describe('chaos, reduced', () => {
  it('loses nothing, charges nothing twice, and every account answers', async () => {
    const report = await runChaos({ ...QUICK_CHAOS, seed: 8, log: () => undefined });
    const table = formatChaosTable(report).join('\n');
    console.log(table);
    expect(report.sent).toBeGreaterThan(100);
    expect({
      lost: report.lost,
      doubleCharged: report.doubleCharged,
      mismatches: report.mismatches,
      unanswered: report.accountCount - report.answering,
      callerErrors: report.callerErrors,
      stillFailing: report.callerErrorsAfterResend,
      findings: report.findings,
    }).toEqual({ lost: 0, doubleCharged: 0, mismatches: 0, unanswered: 0, callerErrors: 0, stillFailing: 0, findings: [] });
    expect(report.largestCarriedState).toBeLessThan(CARRIED_STATE_BUDGET_BYTES);
    expect(report.workerKills).toBe(2);
    expect(report.serverRestarts).toBe(1);
  }, 300_000);
});
