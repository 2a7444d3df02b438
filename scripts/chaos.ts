/**
 * `npm run chaos`: the chaos suite from the command line (see chaos-run.ts). With no options it
 * runs the profile (20 worker kills, 4 dev server restarts, a 5-minute ledger outage);
 * `--quick` runs the reduced one of `npm test`; every figure can be set. Exits 1 when anything
 * accepted was lost or double-charged, the ledger disagrees, or an account does not answer.
 */
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_CHAOS, QUICK_CHAOS, chaosFailed, formatChaosTable, runChaos, type ChaosOptions } from './chaos-run';

function count(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim())) throw new InvalidArgumentError('expected a number');
  return n;
}

interface Flags {
  quick?: boolean;
  accounts?: number;
  loadSeconds?: number;
  workerKills?: number;
  serverRestarts?: number;
  outageSeconds?: number;
  busyRate?: number;
  rate?: number;
  settleSeconds?: number;
  seed?: number;
  keep?: boolean;
  json?: boolean;
}

async function main(): Promise<void> {
  const flags = new Command('chaos')
    .description('kill the worker, restart the dev server and stop the ledger under load; then check nothing was lost')
    .option('--quick', 'the reduced run of npm test (2 kills, 1 restart, a 20 s outage, 2 accounts)')
    .option('--accounts <n>', 'accounts under load; the first is the busy one', count)
    .option('--load-seconds <s>', 'seconds of load, inside which the faults happen', count)
    .option('--worker-kills <n>', 'times the worker is SIGKILLed and restarted', count)
    .option('--server-restarts <n>', 'times the dev server is restarted on its SQLite file', count)
    .option('--outage-seconds <s>', 'seconds PostgreSQL is down under load (0: no outage)', count)
    .option('--busy-rate <n>', 'operations per second on the busy account', count)
    .option('--rate <n>', 'operations per second on each other account', count)
    .option('--settle-seconds <s>', 'seconds allowed at the end for the ledger to catch up', count)
    .option('--seed <n>', 'seed of every random choice (default: random, printed)', count)
    .option('--keep', 'keep the work directory (server files and logs)')
    .option('--json', 'print the report as JSON')
    .parse()
    .opts<Flags>();
  const base = flags.quick ? QUICK_CHAOS : DEFAULT_CHAOS;
  const options: ChaosOptions = {
    ...base,
    ...Object.fromEntries(Object.entries(flags).filter(([k, v]) => v !== undefined && k in base)),
    seed: flags.seed ?? Math.floor(Math.random() * 1_000_000),
    log: (line) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`),
  };
  if (options.outageSeconds >= options.loadSeconds) {
    options.loadSeconds = options.outageSeconds + Math.max(30, Math.round(options.outageSeconds * 0.3));
    options.log(`load lengthened to ${options.loadSeconds} s so that the outage happens under load`);
  }
  const report = await runChaos(options);
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${formatChaosTable(report).join('\n')}\n`);
  process.exitCode = chaosFailed(report) ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});
