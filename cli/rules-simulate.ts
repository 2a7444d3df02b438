/**
 * `credits rules simulate DRAFT.yaml` and `credits account forecast ACCOUNT`: the what-if
 * tools of simulate/ on the command line. The draft is checked like `rules validate` checks a
 * file (its problems are reported the same way, with file:line:col, and nothing is simulated);
 * the ledger is the one `CREDITS_LEDGER_URL` names.
 */
import { availableParallelism } from 'node:os';
import { MultiBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { cycleNumber, formatCount, formatMoney, formatUtc, plural } from '../display';
import { isLedgerError } from '../ledger/errors';
import { openLedgerStore } from '../ledger/open-store';
import type { LedgerStore } from '../ledger/store';
import { CREDITS_RULES } from '../infra/settings';
import { defaultRulesPath, loadRuleSet, loadRuleSets, parseInstantOrDate, type RuleSet } from '../ruleset';
import {
  SimulationError,
  forecastAccount,
  lastCompleteCycles,
  simulate,
  type Forecast,
  type Period,
  type RunFigures,
  type SimulationReport,
} from '../simulate';
import { CliFailure, EXIT_CODES, writeLines, type CliIo } from './io';
import { collect } from './option-parsers';
import { renderTable, type Column } from './text-table';

/** Options of `credits rules simulate`. */
interface SimulateOptions {
  account?: string[];
  tag?: string;
  plan?: string;
  from?: string;
  to?: string;
  rules?: string;
  json?: boolean;
  csv?: boolean;
}

function instantOption(name: string, value: string): number {
  const when = parseInstantOrDate(value);
  if (when === undefined) throw new CliFailure(`--${name} "${value}" is not a date or instant; write 2026-06-03 or 2026-06-03T00:00:00Z`, EXIT_CODES.usage);
  return when.getTime();
}

/** The period the options ask for: `--from`/`--to`, or each account's last three complete cycles. */
export function periodFromOptions(options: { from?: string; to?: string }, nowMs: number): Period {
  if (options.from === undefined && options.to === undefined) return lastCompleteCycles(nowMs);
  if (options.from === undefined) throw new CliFailure('--to needs --from: say where the period starts', EXIT_CODES.usage);
  const fromMs = instantOption('from', options.from);
  const toMs = options.to === undefined ? nowMs : instantOption('to', options.to);
  if (toMs <= fromMs) {
    throw new CliFailure(`the period is empty: --to ${new Date(toMs).toISOString()} is not after --from ${new Date(fromMs).toISOString()}`);
  }
  return { kind: 'dates', fromMs, toMs };
}

/** The dated rules versions in force (`--rules`, else `CREDITS_RULES`, else the shipped `rules/`). */
function inForceRules(path: string | undefined): RuleSet {
  return loadRuleSet(inForcePath(path));
}

/** Where the rules in force are: `--rules`, else CREDITS_RULES, else the shipped rules. */
function inForcePath(path: string | undefined): string {
  return path ?? CREDITS_RULES.read() ?? defaultRulesPath();
}

/** Opens the ledger, or says clearly why it cannot be read. */
async function withLedger<T>(work: (store: LedgerStore) => Promise<T>): Promise<T> {
  let store: LedgerStore;
  try {
    store = await openLedgerStore({ warn: () => undefined, existing: true });
  } catch (err) {
    if (isLedgerError(err)) throw new CliFailure(`cannot open the ledger: ${err.message}`);
    throw err;
  }
  try {
    return await work(store);
  } catch (err) {
    if (err instanceof SimulationError) throw new CliFailure(err.message);
    if (isLedgerError(err)) throw new CliFailure(`cannot read the ledger (${store.label}): ${err.message}`);
    throw err;
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** A progress bar on stderr, only when it is a terminal and the run is long enough to watch. */
function progressBar(): { update: (done: number, total: number) => void; stop: () => void } {
  const stream = process.stderr;
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  let bars: MultiBar | null = null;
  let bar: ReturnType<MultiBar['create']> | null = null;
  return {
    update(done, total) {
      if (bars === null && total >= 20) {
        bars = new MultiBar({ stream, format: 'simulating [{bar}] {value}/{total} accounts', barsize: 30, hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
        bar = bars.create(total, 0);
      }
      bar?.update(done);
    },
    stop() {
      bars?.stop();
    },
  };
}

const FIGURE_ROWS: readonly { label: string; value: (f: RunFigures) => number; money?: boolean }[] = [
  { label: 'credits granted', value: (f) => f.granted },
  { label: 'credits used', value: (f) => f.used },
  { label: 'credits lapsed (breakage)', value: (f) => f.lapsed },
  { label: 'tier revenue', value: (f) => f.revenueCents, money: true },
  { label: 'usage refused', value: (f) => f.refused },
  { label: 'warning alerts', value: (f) => f.warnings },
  { label: 'exhausted alerts (paused)', value: (f) => f.exhausted },
];

function signed(value: number, money: boolean): string {
  const text = money ? formatMoney(value) : formatCount(value);
  return value > 0 ? `+${text}` : text;
}

/** The report as terminal lines. */
export function formatSimulation(report: SimulationReport): string[] {
  const { baseline, draft } = report.totals;
  const after = draft ?? baseline;
  const totals = renderTable(
    [{ heading: '' }, { heading: 'in force', align: 'right' }, { heading: 'draft', align: 'right' }, { heading: 'change', align: 'right' }],
    FIGURE_ROWS.map((row) => {
      const [a, b] = [row.value(baseline), row.value(after)];
      const show = (v: number) => (row.money ? formatMoney(v) : formatCount(v));
      return [row.label, show(a), show(b), signed(b - a, row.money === true)];
    }),
  );
  const tiers = [...new Set([...Object.keys(baseline.revenueByTier), ...Object.keys(after.revenueByTier)])].sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
  const byTier = renderTable(
    [{ heading: 'tier' }, { heading: 'in force', align: 'right' }, { heading: 'draft', align: 'right' }, { heading: 'change', align: 'right' }],
    tiers.map((tier) => {
      const [a, b] = [baseline.revenueByTier[tier] ?? 0, after.revenueByTier[tier] ?? 0];
      return [tier, formatMoney(a), formatMoney(b), signed(b - a, true)];
    }),
  );
  const changeColumns: Column[] = [
    { heading: 'account' },
    { heading: 'plan' },
    { heading: 'in force', align: 'right' },
    { heading: 'draft', align: 'right' },
    { heading: 'change', align: 'right' },
    { heading: 'paused (in force)' },
    { heading: 'paused (draft)' },
  ];
  const changeRow = (c: SimulationReport['changes']['biggest'][number]) => [
    c.accountId,
    c.plan,
    formatMoney(c.baselineCents),
    formatMoney(c.draftCents),
    signed(c.changeCents, true),
    c.baselinePausedAt ? formatUtc(c.baselinePausedAt) : '-',
    c.draftPausedAt ? formatUtc(c.draftPausedAt) : '-',
  ];
  const section = (title: string, rows: SimulationReport['changes']['biggest']) =>
    rows.length === 0 ? [`${title}: none`] : [`${title}:`, ...renderTable(changeColumns, rows.slice(0, 20).map(changeRow)), ...(rows.length > 20 ? [`  ... and ${rows.length - 20} more`] : [])];
  const { gain, lose, equal } = report.distribution;
  return [
    `Simulated ${plural(report.accounts.length, 'account')} (${formatCount(report.entries)} ledger entries), ${report.period}`,
    report.draft ? `Draft: ${report.draft.source} (version ${report.draft.version})` : 'No draft: the rules in force only',
    '',
    ...totals,
    ...(tiers.length > 0 ? ['', 'Tier revenue:', ...byTier] : []),
    '',
    `Accounts: ${gain} bring more revenue, ${lose} less, ${equal} the same`,
    '',
    ...section('Biggest revenue changes', report.changes.biggest),
    ...section('Newly paused', report.changes.newlyPaused),
    ...section('No longer paused', report.changes.noLongerPaused),
    ...(report.warnings.length === 0
      ? ['', 'Baseline replay matches the ledger.']
      : ['', `${plural(report.warnings.length, 'warning')}:`, ...report.warnings.map((w) => `  ${w.accountId}${w.cycleIndex === null ? '' : ` cycle ${w.cycleIndex}`}: ${w.message}`)]),
  ];
}

/** One CSV row per account: the figures in force and under the draft, side by side. */
export function simulationCsv(report: SimulationReport): string {
  const fields = ['granted', 'used', 'lapsed', 'revenueCents', 'refused', 'warnings', 'exhausted', 'pausedAt'] as const;
  const header = ['accountId', 'plan', 'tier', 'cycles', ...fields.map((f) => `inForce.${f}`), ...fields.map((f) => `draft.${f}`), 'revenueChangeCents'];
  const rows = report.accounts.map((a) => {
    const draft = a.draft ?? a.baseline;
    return [
      a.accountId,
      a.plan,
      a.tier ?? '',
      a.cycles.join(' '),
      ...fields.map((f) => a.baseline[f] ?? ''),
      ...fields.map((f) => draft[f] ?? ''),
      draft.revenueCents - a.baseline.revenueCents,
    ];
  });
  return stringify([header, ...rows], { record_delimiter: '\r\n', quote_record_delimiter: true });
}

/** The forecast as terminal lines. */
export function formatForecast(f: Forecast): string[] {
  return [
    `${f.accountId}, cycle #${cycleNumber(f.cycle.index)} (${formatUtc(f.cycle.start)} -> ${formatUtc(f.cycle.end)}), as of ${formatUtc(f.asOf)}`,
    `  available: ${formatCount(f.available)} credits; used ${formatCount(f.usedThisCycle)} this cycle, ${formatCount(f.usedPreviousCycle)} the previous one`,
    `  pace: ${formatCount(Math.round(f.creditsPerDay))} credits a day; ${formatCount(f.projectedCycleUse)} credits over the whole cycle`,
    f.runOutAt === null ? '  run-out: the balance lasts the cycle at this pace' : `  run-out: ${formatUtc(f.runOutAt)} at this pace`,
    !f.tierNeeded
      ? `  tier: none needed at this pace; the cycle's ${formatCount(f.creditsWithoutTier)} credits besides any tier cover it${f.currentTier === null ? '' : ` (${f.currentTier} is held)`}`
      : f.tier === null
      ? '  tier: the rules offer no tiers'
      : f.tier.covers
        ? `  tier that covers the cycle: ${f.tier.name} (${formatCount(f.tier.credits)} credits, ${formatMoney(f.tier.priceCents)} a month)${f.currentTier === f.tier.id ? ', the one held' : ''}`
        : `  no tier covers the cycle at this pace; the largest is ${f.tier.name} (${formatCount(f.tier.credits)} credits, ${formatMoney(f.tier.priceCents)} a month)`,
  ];
}

/** Registers `credits rules simulate` and `credits account forecast` on the existing groups. */
export function registerSimulateCommands(program: Command, io: CliIo): void {
  const group = (name: string, description: string) => program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
  group('rules', 'check, explain and compare the AI-credits pricing rules')
    .command('simulate')
    .description('replay the ledger with the rules in force and with DRAFT: revenue, breakage, pauses, alerts side by side')
    .argument('<draft>', 'the draft rules file (or a directory: its latest version)')
    .option('--account <account>', 'only this account (repeatable)', collect)
    .option('--tag <tag>', 'only accounts carrying this tag')
    .option('--plan <plan>', 'only accounts on this plan id')
    .option('--from <date>', 'cycles starting at or after this date or instant (default: each account\'s last three complete cycles)')
    .option('--to <date>', 'cycles starting before this date or instant (default: now)')
    .option('--rules <path>', 'the dated rules versions in force (default: CREDITS_RULES, else the shipped rules/)')
    .option('--json', 'print the whole report as JSON')
    .option('--csv', 'print one CSV row per account')
    .action(async (draftPath: string, options: SimulateOptions) => {
      if (options.json === true && options.csv === true) throw new CliFailure('choose one of --json and --csv', EXIT_CODES.usage);
      // A broken draft, or broken rules in force, are reported as `rules validate` reports
      // them, both at once, and nothing runs.
      const [draftSet, ruleSet] = loadRuleSets([draftPath, inForcePath(options.rules)]) as [RuleSet, RuleSet];
      const draft = draftSet.latest;
      const nowMs = Date.now();
      const period = periodFromOptions(options, nowMs);
      const bar = progressBar();
      const report = await withLedger((store) =>
        simulate({
          store,
          ruleSet,
          draft,
          period,
          nowMs,
          // The core runs twice per event: spread accounts over the machine's cores.
          workers: availableParallelism(),
          ...(options.account ? { accounts: options.account } : {}),
          ...(options.tag !== undefined ? { tag: options.tag } : {}),
          ...(options.plan !== undefined ? { plan: options.plan } : {}),
          onProgress: (done, total) => bar.update(done, total),
        }),
      ).finally(() => bar.stop());
      if (options.json === true) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      else if (options.csv === true) io.stdout(simulationCsv(report));
      else writeLines(io.stdout, formatSimulation(report));
    });

  group('account', "billing ops' commands on one customer account")
    .command('forecast')
    .description("project the current cycle from the account's recent pace: run-out date, and the tier that would cover it")
    .argument('<account>', 'account id')
    .option('--at <date>', 'forecast as of this earlier date or instant (default: now)')
    .option('--rules <path>', 'the dated rules versions in force (default: CREDITS_RULES, else the shipped rules/)')
    .option('--json', 'print the forecast as JSON')
    .action(async (accountId: string, options: { at?: string; rules?: string; json?: boolean }) => {
      const ruleSet = inForceRules(options.rules);
      const nowMs = Date.now();
      const atMs = options.at === undefined ? nowMs : instantOption('at', options.at);
      // A forecast reads the pace from the ledger up to then: a later instant has no ledger yet.
      if (atMs > nowMs) throw new CliFailure(`--at ${new Date(atMs).toISOString()} is in the future; a forecast is as of now or an earlier date`, EXIT_CODES.usage);
      const forecast = await withLedger((store) => forecastAccount(store, ruleSet, accountId, atMs));
      if (options.json === true) io.stdout(`${JSON.stringify(forecast, null, 2)}\n`);
      else writeLines(io.stdout, formatForecast(forecast));
    });
}
