/**
 * The simulation on a real PostgreSQL server (started and removed by this file): the same
 * recorded scenarios replay to the ledger's own figures, as they do on the embedded ledger.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../infra/postgres-server';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { defaultRulesPath, loadRuleSet } from '../../ruleset';
import { FIGURE_FIELDS, simulate } from '../../simulate';
import { ACCOUNTS, recordScenarios } from './scenarios';

const ruleSet = loadRuleSet(defaultRulesPath());
const UNTIL = Date.parse('2026-10-20T00:00:00Z');
let server: PostgresServer;
let store: LedgerStore;

beforeAll(async () => {
  server = await startPostgres();
  store = await openLedgerStore({ url: server.url, warn: () => undefined });
  await recordScenarios(store, ruleSet, UNTIL);
}, 180_000);
afterAll(async () => {
  await store?.close();
  server?.destroy();
});

it('reproduces the ledger exactly on PostgreSQL', async () => {
  const period = { kind: 'dates', fromMs: Date.parse('2026-06-01T00:00:00Z'), toMs: UNTIL } as const;
  const report = await simulate({ store, ruleSet, draft: ruleSet.latest, period, nowMs: UNTIL, pageSize: 7 });
  expect(report.warnings).toEqual([]);
  expect(report.accounts.map((a) => a.accountId).sort()).toEqual(Object.values(ACCOUNTS).sort());
  for (const account of report.accounts) {
    for (const field of FIGURE_FIELDS) {
      expect(account.baseline[field], `${account.accountId} ${field}`).toBe(account.ledger[field]);
      expect(account.draft?.[field], `${account.accountId} ${field}`).toBe(account.ledger[field]);
    }
  }
});
