/**
 * Every piece of text in a rules file, keys included, must be text that every later reader
 * accepts: well-formed UTF-16 (a YAML `"\ud800"` escape makes a lone surrogate, which no
 * JSON encoder, Temporal payload or PostgreSQL column takes) and free of control characters
 * (a NUL ends a C string and PostgreSQL refuses it). Names must also be readable: not blank,
 * and ids, names and other short texts free of invisible formatting characters.
 * Compiled rules flow into histories, ledgers and messages, so one bad character here
 * would otherwise stop an account far from the file that caused it.
 */
import type { Finding } from './finding';
import { UNPRINTABLE_PATTERN } from '../display/unprintable';
import { describeSubject } from './wording';
import type { DataPath } from './yaml-source';

/** Lists whose items carry a person-facing `name`. */
const NAMED_LISTS: ReadonlySet<unknown> = new Set(['plans', 'features', 'tiers', 'promotions']);

const BAD_CHARACTER = new RegExp(UNPRINTABLE_PATTERN);

/** The same, but allowing line feeds and tabs, which free text for people may hold. */
const BAD_CHARACTER_IN_PROSE = new RegExp(`(?![\\t\\n])(?:${UNPRINTABLE_PATTERN})`);

/**
 * An invisible formatting character (Unicode category Cf: zero-width spaces and joiners,
 * left-to-right and right-to-left marks and overrides, the byte-order mark, the soft hyphen).
 * In an id, name or alias it makes two texts that look the same differ ("growth" and
 * "gro\u200Bwth" are two plans to the engine and one to a reader), or shows text in another
 * order than it holds. A note, written for people only, may hold them.
 */
const INVISIBLE_CHARACTER = /\p{Cf}/u;

/**
 * A line or paragraph separator (U+2028, U+2029): no control character, yet it breaks an id,
 * name or alias across lines wherever it is shown (a table, a CSV, an e-mail).
 */
const LINE_SEPARATOR = /[\p{Zl}\p{Zp}]/u;

/**
 * Why `text` is not acceptable rules text, in words, or undefined when it is. `prose` allows
 * line feeds and tabs (a feature's note); nothing else in a rules file has a use for them.
 */
export function textProblem(text: string, prose = false): string | undefined {
  const match = (prose ? BAD_CHARACTER_IN_PROSE : BAD_CHARACTER).exec(text);
  if (match === null) return undefined;
  const code = match[0].charCodeAt(0);
  const where = `U+${code.toString(16).toUpperCase().padStart(4, '0')} at character ${match.index + 1}`;
  return code >= 0xd800 && code <= 0xdfff
    ? `holds a lone UTF-16 surrogate (${where}), which is not valid text; write the whole character`
    : `holds a control character (${where}); rules text may not hold NUL or other control characters`;
}

/** Whether the string at `path` is a person-facing name: a plan, feature, tier or promotion name, or a plan alias. */
function isName(path: DataPath): boolean {
  const [list, , field, alias] = path;
  if (!NAMED_LISTS.has(list) || typeof path[1] !== 'number') return false;
  return (path.length === 3 && field === 'name') || (path.length === 4 && list === 'plans' && field === 'aliases' && typeof alias === 'number');
}

function isNote(path: DataPath): boolean {
  return path.length === 3 && path[0] === 'features' && typeof path[1] === 'number' && path[2] === 'note';
}

/**
 * Checks every string of the parsed file, keys and values. Walks with its own stack: the YAML
 * reader has already bounded nesting, but a recursive walk need not rely on that.
 */
export function checkText(data: unknown): Finding[] {
  const findings: Finding[] = [];
  const pending: [unknown, DataPath][] = [[data, []]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value === 'string') {
      findings.push(...checkString(data, value, path));
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) pending.push([item, [...path, index]]);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const problem = textProblem(key);
        if (problem !== undefined) {
          findings.push({
            path: [...path, key],
            target: 'key',
            code: 'bad-text',
            message: `a field name in ${describeSubject(data, path)} ${problem}`,
          });
        }
        pending.push([item, [...path, key]]);
      }
    }
  }
  return findings;
}

/** Why `text` may not be an id, name or other non-prose rules text beyond {@link textProblem}, or undefined. */
function invisibleProblem(text: string): string | undefined {
  const where = (match: RegExpExecArray) => `U+${(match[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')} at character ${match.index + 1}`;
  const invisible = INVISIBLE_CHARACTER.exec(text);
  if (invisible !== null) return `holds an invisible formatting character (${where(invisible)}), which makes text that looks the same differ; remove it`;
  const separator = LINE_SEPARATOR.exec(text);
  if (separator !== null) return `holds a line or paragraph separator (${where(separator)}), which breaks it across lines wherever it is shown; remove it`;
  return undefined;
}

function checkString(data: unknown, value: string, path: DataPath): Finding[] {
  const prose = isNote(path);
  const problem = textProblem(value, prose) ?? (prose ? undefined : invisibleProblem(value));
  if (problem !== undefined) return [{ path, code: 'bad-text', message: `${describeSubject(data, path)} ${problem}` }];
  if (isName(path) && value.length > 0 && value.trim().length === 0) {
    return [{ path, code: 'blank-name', message: `${describeSubject(data, path)} is only spaces; write a name people can read` }];
  }
  return [];
}
