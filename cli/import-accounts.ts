/**
 * `credits account import FILE`: starts many accounts from a CSV or YAML file. Every row is
 * read and checked before anything starts (a bad row is reported with its row and line and
 * every one of its problems, each naming its field); the good rows are then started one by one, accounts already
 * running are skipped (so a re-import after fixing a row is safe), and one row's failure
 * never stops the others. Nothing is silently dropped: every row ends started, skipped or
 * failed, and the tally says how many of each; a file whose rows cannot all be told apart (a
 * CSV with a misplaced quote, a header naming a column twice) is refused whole.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { MultiBar, Presets } from 'cli-progress';
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import { LineCounter, isMap, isSeq, parseDocument, visit, type Node } from 'yaml';
import { isAccountAlreadyRunningError, type CreditsClient } from '../client';
import type { AccountStartInput } from '../domain/wire-contract';
import { startShapeProblems } from '../domain/input-problems';
import { parseInstantOrDate } from '../ruleset';
import { CliFailure, EXIT_CODES, writeLines } from './io';
import type { CliIo } from './io';
import { cliFailureOf } from './temporal-connection';

/** Columns of an import CSV, in the order the example files use. */
export const IMPORT_COLUMNS = ['accountId', 'plan', 'users', 'trial', 'cycleAnchor', 'creditTier', 'tags', 'admins'] as const;
type ImportField = (typeof IMPORT_COLUMNS)[number];
const REQUIRED_COLUMNS: readonly ImportField[] = ['accountId', 'plan', 'users'];

/** One row of the file: where it is, and either the start input or what is wrong with it. */
export interface ImportRow {
  /** `row 3 (line 4)` for CSV, `entry 3 (line 12)` for YAML: what a person looks for in an editor. */
  where: string;
  accountId?: string;
  input?: AccountStartInput;
  /** Every problem of the row, joined for one line: the only problem, or `3 problems: a; b; c`. */
  error?: string;
  /** Every problem of the row, each naming its field; absent when the row is good. */
  errors?: string[];
}

/** How one row ended. */
export type RowOutcome = 'started' | 'skipped' | 'failed';

/** Counts of {@link importAccounts}. */
export interface ImportTally {
  rows: number;
  started: number;
  skipped: number;
  failed: number;
}

/**
 * The start anchor used when a row (or `account start`) gives none: now, to the whole minute,
 * so a clock a little ahead of the server's cannot put the anchor in the workflow's future.
 */
export function defaultAnchor(nowMs: number = Date.now()): string {
  return new Date(Math.floor(nowMs / 60_000) * 60_000).toISOString().replace('.000Z', 'Z');
}

/** An anchor as typed (date or instant) as a UTC instant; undefined when unreadable. */
export function anchorFrom(text: string): string | undefined {
  return parseInstantOrDate(text)?.toISOString().replace('.000Z', 'Z');
}

/** Whether `value` is one value a field holds (a YAML entry may hold a list or a mapping instead). */
function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** What a value that is not one value is, for the row's problem. */
function shapeOf(value: unknown): string {
  return Array.isArray(value) ? 'a list' : 'a mapping';
}

function asText(value: unknown): string | undefined {
  if (!isScalar(value)) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

function asList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const items = Array.isArray(value) ? value.filter(isScalar).map((v) => String(v)) : isScalar(value) ? String(value).split(';') : [];
  const list = items.map((item) => item.trim()).filter((item) => item !== '');
  return list.length === 0 ? undefined : list;
}

/**
 * The fields whose value has the wrong shape: a list or mapping where one value belongs, or
 * for `tags` and `admins`, anything but one text or a list of values. Read as text such a value
 * would become `"3"` from `[3]`, or `"[object Object]"`.
 */
function shapeProblems(record: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const [field, value] of Object.entries(record)) {
    if (value === undefined || value === null || isScalar(value)) continue;
    const list = field === 'tags' || field === 'admins';
    if (list && Array.isArray(value) && value.every((item) => item === null || isScalar(item))) continue;
    problems.push(list ? `${field}: ${shapeOf(value)} where a text or a list of texts belongs` : `${field}: ${shapeOf(value)} where one value belongs`);
  }
  return problems;
}

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0']);

/** A row's problems as the one line the import prints: the only one, or all of them counted. */
export function joinProblems(problems: readonly string[]): string {
  return problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems: ${problems.join('; ')}`;
}

/**
 * A record (CSV strings or YAML values) as a start input, checked with the workflow's own
 * start validator; returns every problem of the record instead when there are any (each
 * naming its field), so a row is fixed in one pass. A record with any problem gives no input:
 * nothing of a bad row is started.
 */
export function startInputFrom(
  record: Readonly<Record<string, unknown>>,
  nowMs: number = Date.now(),
): { input: AccountStartInput } | { error: string; errors: string[] } {
  const problems: string[] = [];
  const unknown = Object.keys(record).filter((key) => !(IMPORT_COLUMNS as readonly string[]).includes(key));
  if (unknown.length > 0) problems.push(`unknown field(s) ${unknown.join(', ')} (known: ${IMPORT_COLUMNS.join(', ')})`);
  const shapes = shapeProblems(record);
  problems.push(...shapes);
  const users = asText(record.users);
  const usersRead = users !== undefined && /^\d+$/.test(users);
  if (!usersRead && isScalar(record.users ?? '')) problems.push(`users: "${users ?? ''}" is not a whole number of users`);
  const trialText = asText(record.trial)?.toLowerCase();
  const trialRead = trialText === undefined || TRUE_WORDS.has(trialText) || FALSE_WORDS.has(trialText);
  if (!trialRead) problems.push(`trial: "${trialText}" is not true or false`);
  const anchorText = asText(record.cycleAnchor);
  const cycleAnchor = anchorText === undefined ? defaultAnchor(nowMs) : anchorFrom(anchorText);
  if (cycleAnchor === undefined) {
    problems.push(`cycleAnchor: "${anchorText ?? ''}" is not a date (2026-06-03) or a UTC instant (2026-06-03T00:00:00Z)`);
  }
  const tier = asText(record.creditTier);
  // Fields unreadable above stand in as valid values here, so the start validator reports
  // the other fields' problems and not these twice.
  const input: AccountStartInput = {
    accountId: asText(record.accountId) ?? '',
    plan: asText(record.plan) ?? '',
    users: usersRead ? Number(users) : 1,
    cycleAnchor: cycleAnchor ?? defaultAnchor(nowMs),
    ...(trialText === undefined || !trialRead ? {} : { trial: TRUE_WORDS.has(trialText) }),
    ...(tier === undefined || tier.toLowerCase() === 'none' ? {} : { creditTier: tier }),
    ...optionalList('tags', asList(record.tags)),
    ...optionalList('admins', asList(record.admins)),
  };
  problems.push(...startShapeProblems(input, nowMs).map((p) => p.message));
  return problems.length > 0 ? { error: joinProblems(problems), errors: problems } : { input };
}

function optionalList<K extends 'tags' | 'admins'>(key: K, list: string[] | undefined): Partial<Record<K, string[]>> {
  return list === undefined ? {} : ({ [key]: list } as Partial<Record<K, string[]>>);
}

function toRow(where: string, record: Readonly<Record<string, unknown>>, nowMs: number): ImportRow {
  const accountId = asText(record.accountId);
  const checked = startInputFrom(record, nowMs);
  return { where, ...(accountId === undefined ? {} : { accountId }), ...checked };
}

/**
 * What is wrong with a CSV header, each naming its column: a repeated column (the parser would
 * keep the later one's value and drop the earlier's without a word, say 1 user instead of 10),
 * an unknown one, a required one missing.
 */
function headerProblems(header: readonly string[]): string[] {
  const repeated = [...new Set(header.filter((name, i) => header.indexOf(name) !== i))].map((name) => {
    const fields = header.flatMap((other, i) => (other === name ? [String(i + 1)] : []));
    return `repeated column "${name}" (fields ${fields.slice(0, -1).join(', ')} and ${fields.at(-1) ?? ''}: give each column once)`;
  });
  const unknown = header.filter((name, i) => !(IMPORT_COLUMNS as readonly string[]).includes(name) && header.indexOf(name) === i);
  const missing = REQUIRED_COLUMNS.filter((name) => !header.includes(name));
  return [...repeated, ...unknown.map((name) => `unknown column "${name}"`), ...missing.map((name) => `missing column "${name}"`)];
}

/**
 * The header's line number and text, for its problems: the first line that is neither empty
 * nor a comment, as the CSV reader finds it.
 */
function headerLine(text: string): { line: number; text: string } {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  const index = lines.findIndex((line) => line.replace(/\r$/, '') !== '' && !line.startsWith('#'));
  return { line: index + 1, text: (lines[index] ?? '').replace(/\r$/, '') };
}

/** What a misplaced quote costs, said after its line: none of the file is imported. */
const QUOTE_REFUSED = 'the rows after it would be misread or swallowed, so nothing was started: fix the quote and import again';

/**
 * The first misplaced quote of an import CSV, as a message naming its line; undefined when
 * every quote is where CSV wants it. The CSV reader reads an unclosed quote to the end of the
 * file (or to the next quote, lines later) and, after a stray one, resumes at a point of its
 * own: rows after it are swallowed into one value or misread as accounts, and no count of rows
 * can say which. So a misplaced quote refuses the whole file before anything starts. No start
 * field holds a line break, so a quoted value must close on the line it opens: one that runs
 * on is a quote left open, even when a later quote happens to close it.
 */
export function csvQuoteProblem(text: string): string | undefined {
  let line = 1;
  let field = 1;
  let fieldStart = true;
  let i = text.startsWith('\uFEFF') ? 1 : 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '#' && field === 1 && fieldStart) {
      // A comment line, as the reader skips it (only a # that starts the line).
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (c === '\n') {
      line += 1;
      field = 1;
      fieldStart = true;
      i += 1;
    } else if (c === ',') {
      field += 1;
      fieldStart = true;
      i += 1;
    } else if (c !== '"') {
      fieldStart = false;
      i += 1;
    } else if (!fieldStart) {
      return `line ${line}: a quote in the middle of field ${field} (a quoted value must start with its quote, and a quote inside one is written ""); ${QUOTE_REFUSED}`;
    } else {
      const closed = closingQuote(text, i + 1);
      if (closed === undefined) return `line ${line}: the quote that opens field ${field} is not closed on that line (no start field spans lines); ${QUOTE_REFUSED}`;
      i = closed + 1;
      const next = text.slice(i, i + 2);
      if (i < text.length && !/^(,|\n|\r\n|\r$)/.test(next)) return `line ${line}: text after the closing quote of field ${field}; ${QUOTE_REFUSED}`;
      fieldStart = false;
    }
  }
  return undefined;
}

/** Where the quoted value opened before `from` closes on its line (`""` is a quote inside it); undefined if it does not. */
function closingQuote(text: string, from: number): number | undefined {
  const lineEnd = text.indexOf('\n', from);
  let at = from;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote < 0 || (lineEnd >= 0 && quote > lineEnd)) return undefined;
    if (text[quote + 1] !== '"') return quote;
    at = quote + 2;
  }
}

/** Reads an import CSV: header row of {@link IMPORT_COLUMNS} names, `;` between list items. */
export function readImportCsv(text: string, nowMs: number = Date.now()): ImportRow[] {
  const found: { line: number; row: (row: number) => ImportRow }[] = [];
  let header: string[] = [];
  let records: { record: Record<string, string>; info: { lines: number } }[];
  const quote = csvQuoteProblem(text);
  if (quote !== undefined) throw new CliFailure(quote);
  try {
    records = parseCsv(text, {
      bom: true,
      columns: (names: string[]) => {
        header = names.map((name) => name.trim());
        return header;
      },
      skip_empty_lines: true,
      comment: '#',
      // Only a line that starts with # is a comment: `vip#2` or `a#b@example.com` is data.
      comment_no_infix: true,
      info: true,
      // A malformed record (a wrong field count) becomes that row's error; the parser goes on
      // with the next one. Misplaced quotes, which it cannot go on after, were refused above.
      skip_records_with_error: true,
      on_skip: (err: CsvError | undefined) => {
        if (err === undefined) return;
        const line = typeof err.lines === 'number' ? err.lines : 0;
        const message = err.message.replace(/ on line \d+$/, '');
        found.push({ line, row: (row) => ({ where: `row ${row} (line ${line})`, error: message, errors: [message] }) });
      },
    }) as { record: Record<string, string>; info: { lines: number } }[];
  } catch (err) {
    throw new CliFailure(`cannot read the CSV: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (header.length === 0) throw new CliFailure(`the CSV is empty: it needs a header row (${IMPORT_COLUMNS.join(',')}) and a row per account`);
  const problems = headerProblems(header);
  if (problems.length > 0) {
    const at = headerLine(text);
    throw new CliFailure(`the CSV header (line ${at.line}: ${at.text}) has ${problems.join(', ')}; expected: ${IMPORT_COLUMNS.join(',')}`);
  }
  for (const { record, info } of records) {
    found.push({ line: info.lines, row: (row) => toRow(`row ${row} (line ${info.lines})`, record, nowMs) });
  }
  return onePerAccount(found.sort((a, b) => a.line - b.line).map((entry, i) => entry.row(i + 1)));
}

/** Reads an import YAML: a list of start objects (or `accounts:` holding one). */
export function readImportYaml(text: string, nowMs: number = Date.now()): ImportRow[] {
  const lineCounter = new LineCounter();
  // A byte order mark (Windows editors write one) is not YAML: before a top-level list the
  // parser refuses the file. It is no column an editor shows either, so positions stay right.
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const at = first === undefined ? undefined : lineCounter.linePos(first.pos[0]);
    const why = first?.code === 'MULTIPLE_DOCS' ? 'it holds more than one YAML document ("---"); put every account in one list' : (first?.message.split('\n')[0] ?? 'syntax error');
    throw new CliFailure(`cannot read the YAML${at ? ` (line ${at.line}, column ${at.col})` : ''}: ${why}`);
  }
  // A number is read as written, as the CSV reads it: `accountId: 007` stays "007" (not 7, a
  // different account), and `users: 0x10` is refused, not taken as 16.
  visit(doc, {
    Scalar(_key, node) {
      if (node.type === 'PLAIN' && typeof node.value === 'number' && node.source !== undefined) node.value = node.source;
    },
  });
  let list: unknown = doc.contents;
  if (isMap(list) && list.has('accounts')) list = list.get('accounts', true);
  if (!isSeq(list)) throw new CliFailure('the YAML must be a list of accounts (or have an "accounts:" list)');
  return onePerAccount(
    list.items.map((item, i) => {
      const line = lineCounter.linePos((item as Node | null)?.range?.[0] ?? 0).line;
      const where = `entry ${i + 1} (line ${line})`;
      const notMap = 'each entry must be a mapping of start fields (accountId, plan, users, ...)';
      if (!isMap(item)) return { where, error: notMap, errors: [notMap] };
      // With the document, so an alias (`tags: *common`) is read as what it names.
      let record: Record<string, unknown>;
      try {
        record = item.toJS(doc, { maxAliasCount: 100 }) as Record<string, unknown>;
      } catch (err) {
        if (!(err instanceof ReferenceError)) throw err;
        const expands = 'its anchors and aliases expand to too much repeated content; write the values out';
        return { where, error: expands, errors: [expands] };
      }
      return toRow(where, record, nowMs);
    }),
  );
}

/**
 * Refuses every row after the first for one account id: a file that lists an account twice is
 * a mistake (the second row's plan or tier would be dropped as "already running").
 */
function onePerAccount(rows: ImportRow[]): ImportRow[] {
  const first = new Map<string, string>();
  return rows.map((row) => {
    if (row.accountId === undefined) return row;
    const earlier = first.get(row.accountId);
    if (earlier === undefined) {
      first.set(row.accountId, row.where);
      return row;
    }
    const error = `account ${row.accountId} is also on ${earlier}: an import starts each account once; merge the two`;
    return { where: row.where, accountId: row.accountId, error, errors: [error] };
  });
}

/**
 * Why a file's bytes are not UTF-8 text, or undefined. A spreadsheet saved as "Unicode text"
 * is UTF-16: read as UTF-8 every other byte is a NUL, and its header came out as an unknown
 * column full of \u0000. Text holds no NUL, so one also means binary or UTF-16 without a mark.
 * A spreadsheet saved as "CSV" on Windows is often Windows-1252 or Latin-1: its accented letters
 * are bytes that are not UTF-8, and read as UTF-8 they would become U+FFFD in names and tags.
 */
export function encodingProblem(bytes: Uint8Array): string | undefined {
  const save = 'save it as UTF-8 (in Excel: "CSV UTF-8"; in an editor: encoding UTF-8) and import again';
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return `the file is UTF-16 text (it starts with a UTF-16 byte order mark), not UTF-8: ${save}`;
  }
  const lineAt = (offset: number) => bytes.subarray(0, offset).reduce((lines, byte) => (byte === 0x0a ? lines + 1 : lines), 1);
  const nul = bytes.indexOf(0);
  if (nul >= 0) return `the file holds NUL bytes (the first on line ${lineAt(nul)}), so it is not UTF-8 text (UTF-16, or not text at all): ${save}`;
  const bad = firstNonUtf8(bytes);
  if (bad >= 0) return `line ${lineAt(bad)} holds bytes that are not UTF-8 text (a file saved as Windows-1252 or Latin-1?): ${save}`;
  return undefined;
}

/** The offset of the first byte that does not belong to well-formed UTF-8, or -1. */
function firstNonUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const byte = bytes[i] as number;
    const size = byte < 0x80 ? 1 : byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3 : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
    if (size === 0 || i + size > bytes.length) return i;
    for (let k = 1; k < size; k++) if (((bytes[i + k] as number) & 0xc0) !== 0x80) return i;
    // Overlong three- and four-byte forms, surrogates and code points past U+10FFFF.
    const second = bytes[i + 1] as number;
    if ((byte === 0xe0 && second < 0xa0) || (byte === 0xed && second > 0x9f) || (byte === 0xf0 && second < 0x90) || (byte === 0xf4 && second > 0x8f)) return i;
    i += size;
  }
  return -1;
}

/** Reads an import file, choosing the format by extension (`.csv`, `.yaml`/`.yml`). */
export function readImportFile(path: string, nowMs: number = Date.now()): ImportRow[] {
  const ext = extname(path).toLowerCase();
  if (ext !== '.csv' && ext !== '.yaml' && ext !== '.yml') {
    throw new CliFailure(`${path}: cannot tell the format; name the file .csv, .yaml or .yml`, EXIT_CODES.usage);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new CliFailure(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err)}`);
  }
  const encoding = encodingProblem(bytes);
  if (encoding !== undefined) throw new CliFailure(`${path}: ${encoding}`);
  const text = bytes.toString('utf8');
  try {
    return ext === '.csv' ? readImportCsv(text, nowMs) : readImportYaml(text, nowMs);
  } catch (err) {
    if (err instanceof CliFailure) throw new CliFailure(`${path}: ${err.message}`, err.exitCode);
    throw err;
  }
}

/** Where per-row progress goes. */
export interface ImportReporter {
  row(row: ImportRow, outcome: RowOutcome, detail: string): void;
  done(): void;
}

/** Plain lines, one per row: for pipes, CI and tests. Failures go to stderr. */
export function lineReporter(io: CliIo): ImportReporter {
  return {
    row(row, outcome, detail) {
      const who = row.accountId === undefined ? row.where : `${row.where} ${row.accountId}`;
      writeLines(outcome === 'failed' ? io.stderr : io.stdout, [`${who}: ${outcome}${detail === '' ? '' : `: ${detail}`}`]);
    },
    done() {},
  };
}

/** A progress bar on the terminal, with skipped and failed rows logged above it. */
export function barReporter(total: number, stream: NodeJS.WriteStream = process.stderr): ImportReporter {
  const bars = new MultiBar(
    { stream, format: 'importing [{bar}] {value}/{total} {status}', barsize: 30, hideCursor: true, clearOnComplete: false },
    Presets.shades_classic,
  );
  const bar = bars.create(total, 0, { status: '' });
  return {
    row(row, outcome, detail) {
      const who = row.accountId === undefined ? row.where : `${row.where} ${row.accountId}`;
      if (outcome !== 'started') bars.log(`${who}: ${outcome}${detail === '' ? '' : `: ${detail}`}\n`);
      bar.increment(1, { status: `${row.accountId ?? row.where} ${outcome}` });
    },
    done() {
      // stop() does not flush lines logged since the last redraw: redraw first, or they are lost.
      bars.update();
      bars.stop();
    },
  };
}

/** Starts every good row, skips running accounts, reports every row once. */
export async function importAccounts(client: CreditsClient, rows: readonly ImportRow[], reporter: ImportReporter): Promise<ImportTally> {
  const tally: ImportTally = { rows: rows.length, started: 0, skipped: 0, failed: 0 };
  try {
    for (const row of rows) {
      if (row.input === undefined) {
        tally.failed += 1;
        reporter.row(row, 'failed', row.error ?? 'unreadable row');
        continue;
      }
      try {
        await client.startAccount(row.input);
        tally.started += 1;
        reporter.row(row, 'started', '');
      } catch (err) {
        if (isAccountAlreadyRunningError(err)) {
          tally.skipped += 1;
          reporter.row(row, 'skipped', 'already running');
        } else {
          tally.failed += 1;
          const failure = cliFailureOf(err);
          reporter.row(row, 'failed', failure instanceof Error ? failure.message : String(failure));
        }
      }
    }
  } finally {
    reporter.done();
  }
  return tally;
}
