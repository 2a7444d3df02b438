/**
 * The one rule for text that enters an account: every string of every update and of the start
 * input goes through `idProblem` or `textProblem` before anything else looks at it. Text that
 * reaches the workflow's history, its carried state and the ledger must be well-formed UTF-16
 * (PostgreSQL refuses a lone surrogate or U+0000, and a refused ledger row would block every
 * entry after it), free of control characters that mean nothing in a key or a label, and short
 * enough that a history page stays small.
 *
 * Refusals describe what is wrong without echoing the input: a lone surrogate echoed into a
 * failure cannot be encoded by the SDK (the worker shuts down), and a megabyte echoed with its
 * stack fails the workflow task. Where naming the value helps, `quote` gives a short, escaped
 * prefix of it.
 */
import { CONTROL_CHARACTER_PATTERN, isWellFormedText, showableText } from '../display/unprintable';

// Bound once: in the workflow sandbox each lookup of a global costs about 0.3 µs (see
// domain/digest.ts), and each usage event's fields are checked three times (validator, handler, rules).
const { keys: keysOf } = Object;

export { hasControlCharacter, isWellFormedText } from '../display/unprintable';

const CONTROL_CHAR = new RegExp(CONTROL_CHARACTER_PATTERN);

/**
 * Longest idempotency key, call id, agent id or user id; 1-200 is what the wire contract has
 * always promised, so no caller that followed it is refused now.
 */
export const MAX_KEY_LENGTH = 200;
/** Longest account tag. */
export const MAX_TAG_LENGTH = 100;
/** Longest plan, tier or feature name a caller may send (ids and aliases are far shorter). */
export const MAX_NAME_LENGTH = 100;
/** Longest grant reason. */
export const MAX_REASON_LENGTH = 500;
/** Longest admin e-mail address (RFC 5321's limit on a forward path). */
export const MAX_EMAIL_LENGTH = 254;
/** Most tags, and most admins, on one account. */
export const MAX_LIST_ITEMS = 50;
/** Characters of a caller's value that a refusal may quote. */
export const QUOTE_LENGTH = 32;

// Ids are printable ASCII without spaces: safe in a ledger column, a CSV cell, a URL and a log
// line without escaping, and never two spellings of one key under Unicode normalisation.
const ID_CHAR = /[^\x21-\x7e]/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * A short, escaped prefix of `value` for a refusal message: JSON of its first
 * {@link QUOTE_LENGTH} characters (lone surrogates, control characters and invisible format
 * characters, such as bidi overrides and zero-width spaces, and line separators escaped as
 * `\uXXXX`), then "…" when there was more. A number or boolean is written as is (it is
 * short); anything else is named by its kind only.
 */
export function quote(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return kindOf(value);
  // JSON escapes C0 controls and lone surrogates but leaves DEL, C1 controls, format
  // characters (a U+202E would reverse the rest of the message on screen) and U+2028/9 as
  // they are.
  const head = showableText(JSON.stringify(value.slice(0, QUOTE_LENGTH)));
  return value.length > QUOTE_LENGTH ? `${head}…` : head;
}


/** What a value is, in a word, for a refusal that must not show it. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `a text of ${value.length} characters`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Why a string breaks the shared rules (length first, so a huge one is not scanned), or undefined. */
function brokenText(text: string, max: number): string | undefined {
  if (text.length > max) return `${text.length} characters long`;
  if (!isWellFormedText(text)) return 'a lone UTF-16 surrogate';
  const control = CONTROL_CHAR.exec(text);
  if (control) return `control character U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at index ${control.index}`;
  return undefined;
}

/**
 * Why `value` is not an id (printable ASCII without spaces, 0x21-0x7E, 1 to `max`
 * characters), as `<field> must be ..., got ...`; undefined when it is one.
 */
export function idProblem(field: string, value: unknown, max: number = MAX_KEY_LENGTH): string | undefined {
  const rule = `${field} must be 1-${max} printable ASCII characters without spaces`;
  if (typeof value !== 'string') return `${rule}, got ${kindOf(value)}`;
  if (value.length === 0) return `${rule}, got an empty text`;
  const broken = brokenText(value, max);
  if (broken) return `${rule}, got ${broken}`;
  const other = ID_CHAR.exec(value);
  if (other) return `${rule}, got ${other[0] === ' ' ? 'a space' : 'a character outside 0x21-0x7E'} at index ${other.index}`;
  return undefined;
}

/**
 * Why `value` is not a piece of text (well-formed, no control characters, not blank, 1 to
 * `max` characters), as `<field> must be ..., got ...`; undefined when it is one.
 */
export function textProblem(field: string, value: unknown, max: number): string | undefined {
  const rule = `${field} must be a text of 1-${max} characters without control characters`;
  if (typeof value !== 'string') return `${rule}, got ${kindOf(value)}`;
  const broken = brokenText(value, max);
  if (broken) return `${rule}, got ${broken}`;
  if (value.trim() === '') return `${rule}, got a blank text`;
  return undefined;
}

/** Why `value` is not an e-mail address of at most {@link MAX_EMAIL_LENGTH} characters; undefined when it is one. */
export function emailProblem(field: string, value: unknown): string | undefined {
  const broken = textProblem(field, value, MAX_EMAIL_LENGTH);
  if (broken) return broken;
  return EMAIL.test(value as string) ? undefined : `${field} must be an e-mail address such as ops@example.com`;
}

/**
 * Why `value` is not one plain e-mail address, or undefined when it is: {@link emailProblem},
 * and none of the characters by which a mail library reads a list, a display name or a group
 * (`ops,other@x`, `Boss <other@x>`, `team: other@x;`), which would mail someone else than the
 * text shows. The clients and the workflow's validator and start check this; the handlers keep
 * the looser {@link emailProblem}, since they run again when older histories replay.
 */
export function plainEmailProblem(field: string, value: unknown): string | undefined {
  const broken = emailProblem(field, value);
  if (broken) return broken;
  return /[,;<>:"()[\]\\]/.test(value as string) ? `${field} must be one plain e-mail address such as ops@example.com, without , ; < > : " ( ) [ ] or \\ (got ${quote(value)})` : undefined;
}

/**
 * Why `value` is not a list of at most {@link MAX_LIST_ITEMS} items each passing `item`
 * (which is given the item's field name, e.g. `tags[2]`); undefined when it is one.
 */
export function listProblem(field: string, value: unknown, item: (field: string, value: unknown) => string | undefined): string | undefined {
  if (!Array.isArray(value)) return `${field} must be a list, got ${kindOf(value)}`;
  if (value.length > MAX_LIST_ITEMS) return `${field} may hold at most ${MAX_LIST_ITEMS} items, got ${value.length}`;
  for (let i = 0; i < value.length; i++) {
    const broken = item(`${field}[${i}]`, value[i]);
    if (broken) return broken;
  }
  return undefined;
}

/**
 * Why an object has fields beyond `known` (own keys only; each is quoted short and escaped,
 * at most five of them); undefined when it has none.
 */
export function unknownFieldsProblem(input: object, known: readonly string[]): string | undefined {
  const unknown = keysOf(input).filter((k) => !known.includes(k));
  if (unknown.length === 0) return undefined;
  const named = unknown.slice(0, 5).map(quote).join(', ');
  return `unknown field(s) ${named}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''} (known: ${known.join(', ')})`;
}

/**
 * A number written as JSON writes it (`5`, `2.5`, `-0.25`, `1e3`): no hex, binary or octal
 * prefix, no plus sign, no spaces. `Number()` takes all of those, so a quantity typed or sent
 * as text is checked against this before it is converted.
 */
export const JSON_NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
