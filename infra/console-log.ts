/**
 * The servers' default log: a line on stderr, with the error after it only when there is one
 * (a bare `console.error(message, error)` prints "undefined" after every plain line).
 */

/** Writes `message`, and `error` when given, to stderr. */
export function consoleLog(message: string, error?: unknown): void {
  if (error === undefined) console.error(message);
  else console.error(message, error);
}
