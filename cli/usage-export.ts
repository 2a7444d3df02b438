/**
 * `credits usage export`: an account's usage ledger as CSV (the "CSV export of usage data" of
 * Settings > AI Credits), for one billing cycle or a date range, to stdout or a file. It reads
 * the ledger database directly (`CREDITS_LEDGER_URL`), not Temporal, so it also covers cycles
 * long gone from the workflow's state.
 */
import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { InvalidArgumentError, type Command } from 'commander';
import { MAX_CYCLE_NUMBER, cycleIndexOf, cycleNumber, plural } from '../display';
import type { LedgerEntry } from '../domain/effects';
import { exportUsageCsv } from '../ledger/csv-export';
import { isLedgerError } from '../ledger/errors';
import { openLedgerStore } from '../ledger/open-store';
import type { EntryFilter, LedgerStore } from '../ledger/store';
import { isCalendarDate, parseInstantOrDate } from '../ruleset';
import { CliFailure, EXIT_CODES, writeLines } from './io';
import type { CliIo } from './io';
import { fileName, wholeNumber } from './option-parsers';
import { cliDeps } from './temporal-connection';
import { fetchFromAdmin } from './main-job-admin';
import { runningMainJob } from '../infra/main-job-info';
import { CREDITS_LEDGER_URL } from '../infra/settings';

const DAY_MS = 86_400_000;

/** `--from`: a date (its midnight UTC) or an instant; entries at or after it. */
function fromOption(value: string): string {
  const at = parseInstantOrDate(value);
  if (at === undefined) throw new InvalidArgumentError('expected a date such as 2026-06-03 or an instant such as 2026-06-03T00:00:00Z');
  return at.toISOString();
}

/**
 * `--to`: an instant (entries before it), or a date meaning that whole day included, as
 * people say "from June 3 to June 30".
 */
function toOption(value: string): string {
  const at = fromOption(value);
  return isCalendarDate(value.trim()) ? new Date(Date.parse(at) + DAY_MS).toISOString() : at;
}

interface ExportOptions {
  cycle?: number;
  from?: string;
  to?: string;
  allKinds?: boolean;
  output?: string;
}

/** Where the CSV goes: a file, or the CLI's stdout. */
function destination(io: CliIo, output: string | undefined): NodeJS.WritableStream {
  if (output !== undefined) return createWriteStream(output);
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      io.stdout(chunk.toString());
      done();
    },
  });
}

function describeRange(o: ExportOptions): string {
  const parts = [
    ...(o.cycle === undefined ? [] : [`cycle ${o.cycle}`]),
    ...(o.from === undefined ? [] : [`from ${o.from}`]),
    ...(o.to === undefined ? [] : [`before ${o.to}`]),
  ];
  return parts.length === 0 ? 'all cycles' : parts.join(', ');
}

/** The account's first entry (its opening) or one of a cycle's, if the ledger holds any (an unknown id has none). */
async function firstEntry(store: LedgerStore, accountId: string, cycleIndex?: number): Promise<LedgerEntry | undefined> {
  for await (const entry of store.streamEntries({ accountId, ...(cycleIndex === undefined ? {} : { cycleIndex }) }, { pageSize: 1 })) {
    if (entry !== undefined) return entry;
  }
  return undefined;
}

async function exportCsv(io: CliIo, accountId: string, o: ExportOptions): Promise<void> {
  const deps = cliDeps(io);
  const store = await (deps.openLedger ?? (() => openLedgerStore({ url: CREDITS_LEDGER_URL.read(deps.env), existing: true })))();
  try {
    const opening = await firstEntry(store, accountId);
    if (!opening) {
      throw new CliFailure(`unknown account ${accountId}: the ledger (${store.label}) has no entries for it`);
    }
    // Every cycle that started has its entries (its start, at least): none is a cycle to come,
    // or one before the account opened (cycles count from its anchor, which may be years older).
    if (o.cycle !== undefined && !(await firstEntry(store, accountId, cycleIndexOf(o.cycle)))) {
      const first = cycleNumber(opening.cycleIndex);
      throw new CliFailure(
        o.cycle < first
          ? `cycle ${o.cycle} of ${accountId} began before the account opened: its first cycle is ${first} (cycles count from its anchor)`
          : `cycle ${o.cycle} of ${accountId} has not started yet: the ledger (${store.label}) holds no entry of it`,
      );
    }
    const filter: EntryFilter = {
      accountId,
      ...(o.cycle === undefined ? {} : { cycleIndex: cycleIndexOf(o.cycle) }),
      ...(o.from === undefined ? {} : { from: o.from }),
      ...(o.to === undefined ? {} : { to: o.to }),
    };
    const { rows } = await exportUsageCsv(store, filter, destination(io, o.output), { allKinds: o.allKinds === true });
    const where = o.output === undefined ? '' : ` to ${o.output}`;
    writeLines(io.stderr, [`exported ${plural(rows, 'row')} of ${accountId} (${describeRange(o)})${where}`]);
  } finally {
    await store.close();
  }
}

/** The admin server's query for the same export: it takes both ends of a range, so open ends are filled. */
function adminQuery(o: ExportOptions): URLSearchParams {
  const q = new URLSearchParams();
  if (o.cycle !== undefined) q.set('cycle', String(o.cycle));
  else if (o.from !== undefined || o.to !== undefined) {
    q.set('from', o.from ?? new Date(0).toISOString());
    q.set('to', o.to ?? '9999-12-31T00:00:00.000Z');
  } else q.set('all', '1');
  if (o.allKinds) q.set('kinds', 'all');
  return q;
}

/**
 * Copies UTF-8 text from `chunks` to `out`, with back-pressure; returns the bytes read. A
 * character's bytes may be split between two chunks: the decoder carries them over, where
 * decoding each chunk alone wrote two replacement characters in its place.
 */
export async function copyText(chunks: AsyncIterable<Uint8Array>, out: NodeJS.WritableStream): Promise<number> {
  let bytes = 0;
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of chunks) {
    bytes += chunk.byteLength;
    if (!out.write(decoder.decode(chunk, { stream: true }))) await new Promise((resolve) => out.once('drain', resolve));
  }
  const rest = decoder.decode();
  if (rest !== '') out.write(rest);
  return bytes;
}

/** Stream the CSV from a running main job's admin server (which holds the embedded ledger). */
async function exportThroughAdmin(io: CliIo, adminUrl: string, accountId: string, o: ExportOptions): Promise<void> {
  const path = `/accounts/${encodeURIComponent(accountId)}/usage.csv?${adminQuery(o).toString()}`;
  const response = await fetchFromAdmin(adminUrl, path, `export ${accountId}`);
  const out = destination(io, o.output);
  const bytes = await copyText(response.body as unknown as AsyncIterable<Uint8Array>, out);
  await new Promise<void>((resolve, reject) => (o.output === undefined ? resolve() : out.end((err?: Error | null) => (err ? reject(err) : resolve()))));
  const where = o.output === undefined ? '' : ` to ${o.output}`;
  writeLines(io.stderr, [`exported ${plural(bytes, 'byte')} of CSV of ${accountId} (${describeRange(o)}) through the main job at ${adminUrl}${where}`]);
}

/** Registers `credits usage export` under `usage`. */
export function registerUsageExport(usage: Command, io: CliIo): void {
  usage
    .command('export')
    .description("write an account's usage ledger as CSV, for a billing cycle or a date range (default: all)")
    .argument('<account>', 'account id')
    .option('--cycle <n>', 'billing cycle number, as `account show` prints it ("Cycle #5" is 5; the first is 1)', wholeNumber(1, MAX_CYCLE_NUMBER))
    .option('--from <when>', 'entries at or after this date or instant', fromOption)
    .option('--to <when>', 'entries before this instant, or up to and including this date', toOption)
    .option('--all-kinds', 'every entry (grants, expiries, charges, changes), not only usage and calls')
    .option('--output <file>', 'write the CSV to this file instead of stdout', fileName)
    .action(async (accountId: string, options: ExportOptions) => {
      // One meaning however the ledger is read: the main job's admin server takes one or the other.
      if (options.cycle !== undefined && (options.from !== undefined || options.to !== undefined)) {
        throw new CliFailure('use either --cycle or --from/--to, not both', EXIT_CODES.usage);
      }
      if (options.from !== undefined && options.to !== undefined && options.from >= options.to) {
        throw new CliFailure(`--from ${options.from} is not before --to ${options.to}`, EXIT_CODES.usage);
      }
      try {
        await exportCsv(io, accountId, options);
      } catch (err) {
        if (isLedgerError(err) && err.code === 'database_locked') {
          // The main job's worker holds the embedded ledger; its admin server serves the same CSV.
          const mainJob = runningMainJob();
          if (mainJob) return exportThroughAdmin(io, mainJob.adminUrl, accountId, options);
          throw new CliFailure(`${err.message}; while it runs, the admin page serves this CSV at /accounts/${accountId}/usage.csv`);
        }
        if (isLedgerError(err)) throw new CliFailure(err.message);
        // Opening, writing or closing the output (a full disk, a read-only file): what and why, in a line.
        const syscall = (err as NodeJS.ErrnoException).syscall;
        if (syscall === 'open' || syscall === 'write' || syscall === 'close') throw new CliFailure(`cannot write ${options.output ?? 'the CSV'}: ${(err as Error).message}`);
        throw err;
      }
    });
}
