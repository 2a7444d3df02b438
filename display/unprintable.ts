/**
 * The characters no message, key or stored text may carry raw: control characters (C0, DEL,
 * C1), which end C strings and break log lines, and lone UTF-16 surrogates, which have no UTF-8
 * form (no JSON encoder, Temporal payload or PostgreSQL column takes them). One definition, so
 * the rules validator, the update validators and the ledger refuse exactly the same text.
 */

// Without the `u` flag a regex sees UTF-16 code units: a high surrogate not followed by a low
// one, or a low one not preceded by a high one, is a lone surrogate.
const CONTROL = String.raw`[\u0000-\u001f\u007f-\u009f]`;
/** One control character (C0, DEL, C1), as a regular expression source. */
export const CONTROL_CHARACTER_PATTERN = CONTROL;
const LONE_SURROGATE = String.raw`[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]`;

/** One control character or lone surrogate, as a regular expression source (for larger patterns). */
export const UNPRINTABLE_PATTERN = `${CONTROL}|${LONE_SURROGATE}`;

const CONTROL_CHAR = new RegExp(CONTROL);
const LONE_SURROGATE_CHAR = new RegExp(LONE_SURROGATE);

/** Whether `text` holds no lone UTF-16 surrogate (so it encodes as UTF-8). */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE_CHAR.test(text);
}

/** Whether `text` holds a C0 control (U+0000-U+001F), DEL or a C1 control (U+0080-U+009F). */
export function hasControlCharacter(text: string): boolean {
  return CONTROL_CHAR.test(text);
}

/**
 * Characters a message must not show raw: controls other than newline and tab (ESC starts
 * the sequences that retitle a window or rewrite a terminal's screen), DEL and C1 controls,
 * invisible format characters (a U+202E reverses what follows it on screen) and the line and
 * paragraph separators.
 */
const UNSHOWABLE = new RegExp(String.raw`[\u0000-\u0008\u000b-\u001f\u007f-\u009f\p{Cf}\u2028\u2029]`, 'gu');

/** `\uXXXX` for each UTF-16 unit of `c` (an astral format character is two). */
function escapeUnits(c: string): string {
  let out = '';
  for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/**
 * `text` with the characters of {@link UNSHOWABLE} written as `\uXXXX`: for messages that may
 * quote a caller's raw input (a mistyped account id, a bad argument, a refused value).
 */
export function showableText(text: string): string {
  return text.replace(UNSHOWABLE, escapeUnits);
}
