/**
 * `npm run bench:simulate`: how fast `credits rules simulate` replays a large ledger. Makes the
 * ledger first when it is empty (bench/simulate-ledger.ts: 1,000 accounts, 1,000,000 usage
 * events, in `.data/bench-simulate` unless a ledger URL is given), then simulates the shipped
 * rules' latest version as the draft over every account's last three complete cycles, and
 * prints events a second and the peak resident memory.
 *
 *   tsx bench/simulate.ts [LEDGER_URL] [--accounts N] [--events N] [--workers N]
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { dataDir } from '../infra/project-root';
import { openLedgerStore } from '../ledger/open-store';
import { defaultRulesPath, loadRuleSet } from '../ruleset';
import { lastCompleteCycles, simulate } from '../simulate';
import { generateLedger } from './simulate-ledger';

/** The instant the generated ledger runs up to, and the simulation's "now". */
const LEDGER_NOW = Date.parse('2026-11-01T00:00:00Z');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const url = args[0] && !args[0].startsWith('--') ? args[0] : `pglite:${join(dataDir(), 'bench-simulate')}`;
  const accounts = option('--accounts', 1000);
  const workers = option('--workers', availableParallelism());
  const events = option('--events', 1_000_000);
  const ruleSet = loadRuleSet(defaultRulesPath());
  const store = await openLedgerStore({ url });
  try {
    if ((await store.listAccountIds()).length === 0) {
      const started = Date.now();
      process.stderr.write(`making the ledger: ${accounts} accounts, ${events} usage events in ${store.label}\n`);
      await generateLedger(store, ruleSet, accounts, events, LEDGER_NOW, (done) => {
        if (done % 50 === 0) process.stderr.write(`\r  ${done}/${accounts} accounts`);
      });
      process.stderr.write(`\n  made in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
    const started = process.hrtime.bigint();
    const report = await simulate({
      store,
      ruleSet,
      draft: ruleSet.latest,
      period: lastCompleteCycles(LEDGER_NOW),
      nowMs: LEDGER_NOW,
      workers,
      onProgress: (done, total) => {
        if (done % 100 === 0 || done === total) process.stderr.write(`\r  simulated ${done}/${total} accounts`);
      },
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stderr.write('\n');
    const peakMiB = process.resourceUsage().maxRSS / 1024;
    console.log(`ledger:        ${store.label}`);
    console.log(`accounts:      ${report.accounts.length} with cycles in the period`);
    console.log(`entries read:  ${report.entries}`);
    console.log(`workers:       ${workers > 1 ? workers : 'none (one thread)'}`);
    console.log(`time:          ${seconds.toFixed(1)} s`);
    console.log(`events/s:      ${Math.round(report.entries / seconds)}`);
    console.log(`peak RSS:      ${peakMiB.toFixed(0)} MiB`);
    console.log(`warnings:      ${report.warnings.length}`);
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
