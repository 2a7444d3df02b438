/**
 * Loading rules from disk: a single file or a directory of dated versions, and choosing the
 * version in force at an instant. Running accounts pick the version in force at the start of
 * each billing cycle and keep it for that cycle, so every version stays loadable by its id.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { extname, join } from 'node:path';
import { projectRoot } from '../infra/project-root';
import { compileRulesSource } from './compile';
import { RulesError } from './diagnostics';
import type { Diagnostic } from './diagnostics';
import { parseInstantOrDate } from './instant';
import type { Rules } from './types';
import { MAX_SHOWN_MESSAGE_LENGTH, quoteText, showText } from './wording';
import { MAX_RULES_FILE_BYTES, tooLargeMessage } from './yaml-source';
import type { SourcePosition } from './yaml-source';

/** Every dated version found at a path, oldest first. */
export interface RuleSet {
  /** The file or directory the versions were loaded from, as given. */
  readonly path: string;
  /** Sorted by `effectiveFrom`, oldest first; never empty, no two with the same date. */
  readonly versions: readonly Rules[];
  /** The oldest version: what accounts whose cycle began before any version use. */
  readonly earliest: Rules;
  /** The newest version. */
  readonly latest: Rules;
  /**
   * The version in force at `instant`: the latest whose `effectiveFrom` is at or before it.
   * Accepts a Date, an RFC 3339 instant or a calendar date (midnight UTC). Throws a
   * {@link RulesError} (`no-version-in-force`) before the earliest version, `bad-instant` for
   * an unreadable instant.
   */
  at(instant: string | Date): Rules;
  /** The version with this id, e.g. the one a ledger entry was priced with. */
  byVersion(version: string): Rules | undefined;
}

const RULES_EXTENSIONS = new Set(['.yaml', '.yml']);

/** A compiled version and, when it came from a file, where its effectiveFrom is written. */
interface LoadedVersion {
  readonly rules: Rules;
  readonly effectiveFromAt?: SourcePosition;
}

/**
 * Loads a rules file or a directory of them (its `*.yaml` / `*.yml` entries, not hidden ones,
 * not other subdirectories). Throws a {@link RulesError} listing every problem in every file;
 * never returns a partly loaded set. An entry named like a rules file that cannot be read as
 * one (a dangling symbolic link, a link loop, a pipe, a directory) is such a problem: skipped,
 * the version it was meant to hold would silently never take effect.
 */
export function loadRuleSet(path: string): RuleSet {
  const files = rulesFilesAt(path);
  const loaded: LoadedVersion[] = [];
  const problems: Diagnostic[] = [];
  for (const file of files) {
    const text = readRulesFile(file);
    if (typeof text !== 'string') {
      problems.push(text);
      continue;
    }
    const result = compileRulesSource(text, file);
    if (result.ok) loaded.push({ rules: result.rules, effectiveFromAt: result.source.locate(['effectiveFrom']) });
    else problems.push(...result.diagnostics);
  }
  // The versions that did compile are checked against each other too: every problem at once.
  if (problems.length > 0) throw new RulesError([...problems, ...duplicateDates(loaded)]);
  return assembleRuleSet(loaded, path);
}

/**
 * Loads several rule sets at once (a command's old and new rules, a draft and the rules in
 * force): one {@link RulesError} with the problems of every one of them, not only the first's.
 */
export function loadRuleSets(paths: readonly string[]): RuleSet[] {
  const sets: RuleSet[] = [];
  const problems: Diagnostic[] = [];
  for (const path of paths) {
    try {
      sets.push(loadRuleSet(path));
    } catch (err) {
      if (!(err instanceof RulesError)) throw err;
      problems.push(...err.diagnostics);
    }
  }
  if (problems.length > 0) throw new RulesError(problems);
  return sets;
}

/**
 * A rule set from already compiled versions (tests, or rules held in memory by a worker).
 * Throws a {@link RulesError} when empty or when two versions share an effectiveFrom.
 */
export function createRuleSet(versions: readonly Rules[], path = '<memory>'): RuleSet {
  return assembleRuleSet(
    versions.map((rules) => ({ rules })),
    path,
  );
}

function problemAt(file: string, code: Diagnostic['code'], message: string, at: SourcePosition = { line: 1, column: 1 }): Diagnostic {
  return { file, line: at.line, column: at.column, code, message };
}

function rulesFilesAt(path: string): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (err) {
    throw new RulesError([fsProblem(path, err)]);
  }
  if (!isDirectory) return [path];
  let names: string[];
  try {
    names = readdirSync(path);
  } catch (err) {
    throw new RulesError([fsProblem(path, err)]);
  }
  // Every entry named like a rules file is read, whatever it is: one that cannot be read is
  // reported by readRulesFile, never left out, or a dated version would silently not load.
  const files = names
    .filter((name) => !name.startsWith('.') && RULES_EXTENSIONS.has(extname(name).toLowerCase()))
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0) {
    throw new RulesError([problemAt(path, 'no-rules-files', 'this directory holds no rules files (*.yaml or *.yml)')]);
  }
  return files;
}

/**
 * The file's text, or the problem that kept it from being read. Size is checked before reading,
 * and only a regular file is read: a pipe or a device has no size to check and may never end.
 * Bytes that are not UTF-8 are refused where they stand rather than read as U+FFFD.
 */
function readRulesFile(file: string): string | Diagnostic {
  let bytes: Buffer | Diagnostic;
  try {
    // stat, not open: opening a pipe for reading waits for a writer.
    bytes = notARegularFile(file, statSync(file)) ?? readOpened(file);
  } catch (err) {
    return fsProblem(file, err);
  }
  if (!Buffer.isBuffer(bytes)) return bytes;
  try {
    return UTF8.decode(bytes);
  } catch {
    return problemAt(file, 'bad-text', 'this line holds bytes that are not UTF-8 text (a file saved as Latin-1 or Windows-1252?); save the file as UTF-8', firstBadUtf8(bytes));
  }
}

/** Why `file` is not read as a rules file (not a regular file, or too large), if it is not. */
function notARegularFile(file: string, stat: Stats): Diagnostic | undefined {
  if (stat.isDirectory()) {
    return problemAt(file, 'unreadable', 'cannot read it: it is a directory, not a rules file (subdirectories are not loaded); rename it or move its files up');
  }
  if (!stat.isFile()) return problemAt(file, 'unreadable', 'cannot read it: it is not a regular file (a pipe, a device or a socket)');
  if (stat.size > MAX_RULES_FILE_BYTES) return problemAt(file, 'file-too-large', tooLargeMessage(stat.size));
  return undefined;
}

/**
 * The bytes of a file found to be a regular one, opened without blocking and checked again
 * once open: it may have been replaced by a pipe since it was looked at.
 */
function readOpened(file: string): Buffer | Diagnostic {
  const fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    return notARegularFile(file, fstatSync(fd)) ?? readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Line and column (in characters, as editors count them) of the first byte that is not UTF-8. */
function firstBadUtf8(bytes: Buffer): SourcePosition {
  // Decoded leniently, each bad sequence becomes one U+FFFD; a U+FFFD really written in the
  // file is the three bytes EF BF BD, so walking the text and the bytes together tells them apart.
  const text = bytes.toString('utf8');
  let offset = 0;
  let line = 1;
  let column = 1;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code === 0xfffd && !(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) break;
    offset += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (char === '\n') {
      line += 1;
      column = 1;
    } else column += char.length;
  }
  return { line, column };
}

function fsProblem(path: string, err: unknown): Diagnostic {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    const target = danglingLinkTarget(path);
    if (target !== undefined) return problemAt(path, 'not-found', `it is a symbolic link to ${showText(target, MAX_SHOWN_MESSAGE_LENGTH)}, which does not exist`);
    return problemAt(path, 'not-found', 'no such file or directory');
  }
  if (code === 'ELOOP') return problemAt(path, 'unreadable', 'cannot read it: following its symbolic links leads round in a loop');
  const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String(code ?? err);
  return problemAt(path, 'unreadable', `cannot read it: ${reason}`);
}

/** Where `path` points when it is a symbolic link (to something missing, as the caller found). */
function danglingLinkTarget(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

/** The versions in force order. */
function byEffectiveFrom(loaded: readonly LoadedVersion[]): LoadedVersion[] {
  return [...loaded].sort((a, b) => Date.parse(a.rules.effectiveFrom) - Date.parse(b.rules.effectiveFrom));
}

/** Each version whose effectiveFrom an earlier one already uses, at that date. */
function duplicateDates(loaded: readonly LoadedVersion[]): Diagnostic[] {
  const sorted = byEffectiveFrom(loaded);
  const problems: Diagnostic[] = [];
  for (const [index, entry] of sorted.entries()) {
    const previous = sorted[index - 1];
    if (previous?.rules.effectiveFrom !== entry.rules.effectiveFrom) continue;
    problems.push(
      problemAt(
        entry.rules.source,
        'duplicate-effective-from',
        `effectiveFrom ${entry.rules.effectiveFrom} is also used by ${previous.rules.source}; each version needs its own date`,
        entry.effectiveFromAt,
      ),
    );
  }
  return problems;
}

function assembleRuleSet(loaded: readonly LoadedVersion[], path: string): RuleSet {
  const sorted = byEffectiveFrom(loaded);
  const problems = duplicateDates(sorted);
  const versions = Object.freeze(sorted.map((entry) => entry.rules));
  const earliest = versions[0];
  const latest = versions[versions.length - 1];
  if (earliest === undefined || latest === undefined) {
    problems.push(problemAt(path, 'no-rules-files', 'there are no rules versions to load'));
  }
  if (problems.length > 0 || earliest === undefined || latest === undefined) throw new RulesError(problems);

  const starts = versions.map((rules) => Date.parse(rules.effectiveFrom));
  return Object.freeze({
    path,
    versions,
    earliest,
    latest,
    at(instant: string | Date): Rules {
      const when = typeof instant === 'string' ? parseInstantOrDate(instant) : instant;
      if (when === undefined || Number.isNaN(when.getTime())) {
        throw new RulesError([
          problemAt(path, 'bad-instant', `${quoteText(String(instant))} is not a date or instant; write 2026-06-03 or 2026-06-03T00:00:00Z`),
        ]);
      }
      const t = when.getTime();
      let inForce: Rules | undefined;
      for (const [index, rules] of versions.entries()) {
        if ((starts[index] ?? Infinity) <= t) inForce = rules;
      }
      if (inForce === undefined) {
        throw new RulesError([
          problemAt(
            path,
            'no-version-in-force',
            `no rules version is in force at ${when.toISOString()}; the earliest takes effect ${earliest.effectiveFrom}`,
          ),
        ]);
      }
      return inForce;
    },
    byVersion(version: string): Rules | undefined {
      return versions.find((rules) => rules.version === version);
    },
  });
}

/**
 * The shipped `rules/` directory, found from the project root so it resolves the same
 * whether this code runs from the TypeScript sources or from `dist/`.
 */
export function defaultRulesPath(): string {
  return join(projectRoot(), 'rules');
}
