/**
 * How checks name things to a pricing analyst: `priceCents of tier "tier-5"` rather than
 * `/tiers/4/priceCents`, `a whole number` rather than `integer`.
 */
import { UNPRINTABLE_PATTERN } from '../display/unprintable';
import type { DataPath } from './yaml-source';

/** The lists whose items have ids, and what one item is called. */
const ITEM_KINDS: Readonly<Record<string, string>> = {
  plans: 'plan',
  features: 'feature',
  tiers: 'tier',
  promotions: 'promotion',
};

const TYPE_NAMES: Readonly<Record<string, string>> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'text',
  boolean: 'true or false',
  object: 'a mapping of fields',
  array: 'a list',
  null: 'empty',
};

const MAX_QUOTED_LENGTH = 40;

/** How much of a YAML parser message is shown; they are one short sentence, but may quote the file. */
export const MAX_SHOWN_MESSAGE_LENGTH = 200;


const UNPRINTABLE = new RegExp(UNPRINTABLE_PATTERN, 'g');

/** The same, plus what must be escaped inside double quotes. */
const UNPRINTABLE_OR_QUOTE = new RegExp(`${UNPRINTABLE_PATTERN}|["\\\\]`, 'g');

function escapeCharacter(c: string): string {
  return c === '"' || c === '\\' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function shorten(text: string, max: number, unsafe: RegExp): string {
  let cut = Math.min(text.length, max);
  // Never split a surrogate pair: half of one is exactly what must not be echoed.
  if (cut < text.length && /[\ud800-\udbff]/.test(text.charAt(cut - 1))) cut -= 1;
  const escaped = text.slice(0, cut).replace(unsafe, escapeCharacter);
  return cut < text.length ? `${escaped}...` : escaped;
}

/**
 * Text from the file as a message may show it: at most `max` characters (then `...`), with
 * control characters and lone surrogates written as `\u0000` escapes. A message never carries
 * what a terminal could act on or a serializer could not encode, whatever the file holds, and
 * stays short however long the value is.
 */
export function showText(text: string, max = MAX_QUOTED_LENGTH): string {
  return shorten(text, max, UNPRINTABLE);
}

/** {@link showText} in double quotes, `"Growth"`, with quotes and backslashes inside escaped. */
export function quoteText(text: string): string {
  return `"${shorten(text, MAX_QUOTED_LENGTH, UNPRINTABLE_OR_QUOTE)}"`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `plan "growth"`, or `plan #2` when the item has no usable id. */
export function describeItem(data: unknown, list: string, index: number): string {
  const kind = ITEM_KINDS[list] ?? list;
  const items = isRecord(data) ? data[list] : undefined;
  const item: unknown = Array.isArray(items) ? items[index] : undefined;
  const id = isRecord(item) ? item.id : undefined;
  return typeof id === 'string' && id.length > 0 ? `${kind} ${quoteText(id)}` : `${kind} #${index + 1}`;
}

/** Field names joined with dots; list positions as `item N` (1-based, as people count). */
function describeFields(path: DataPath): string {
  return path
    .map((segment, i) => (typeof segment === 'number' ? ` item ${segment + 1}` : i === 0 ? showText(segment) : `.${showText(segment)}`))
    .join('')
    .trim();
}

/**
 * Names the value at `path` for a message: `userCap of plan "growth"`, `trial.credits`,
 * `cost.unit of feature "enrichment"`, `the rules file` for the whole document.
 */
export function describeSubject(data: unknown, path: DataPath): string {
  if (path.length === 0) return 'the rules file';
  const [list, index, ...rest] = path;
  if (typeof list === 'string' && typeof index === 'number' && list in ITEM_KINDS) {
    const item = describeItem(data, list, index);
    return rest.length === 0 ? item : `${describeFields(rest)} of ${item}`;
  }
  return describeFields(path);
}

/** Shows a value the way it was probably typed: quoted text, bare numbers, `a list`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return quoteText(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}

/** `a whole number` for JSON-schema `integer`, and so on. */
export function describeType(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => TYPE_NAMES[String(t)] ?? String(t)).join(' or ');
}
