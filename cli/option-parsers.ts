/**
 * Option parsers of the account, usage and call commands: a malformed value is a usage error
 * (exit 2) before anything is sent.
 */
import { InvalidArgumentError } from 'commander';
import { JSON_NUMBER_TEXT, idProblem } from '../domain/input-text';

/**
 * Parses a whole number from `min` to `max` for commander (a bad value is a usage error, exit
 * 2). The default `max` is the largest integer a number holds exactly: past it, digits typed
 * are not the number used.
 */
export function wholeNumber(min: number, max: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    if (Number(value) > max) throw new InvalidArgumentError(`expected a whole number of at most ${max}`);
    return Number(value);
  };
}

/**
 * Parses a positive decimal number for commander, written as JSON writes numbers (`5`, `2.5`,
 * `1e3`): `0x10`, `0b11` or `0o7` are refused, as the usage API refuses them, not converted.
 */
export function positiveNumber(value: string): number {
  const text = value.trim();
  const n = Number(text);
  if (!JSON_NUMBER_TEXT.test(text) || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number, such as 5 or 2.5');
  return n;
}

/**
 * Parses a file name for commander (`--output FILE`): an empty one, as a shell gives for a
 * variable that is not set, is a usage error naming the option, not a file nobody can open.
 */
export function fileName(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a file name, got an empty one');
  return value;
}

/** Parses one of `words` (keys) for commander, as its value. */
export function oneOf<T>(words: Readonly<Record<string, T>>): (value: string) => T {
  return (value) => {
    const found = words[value.toLowerCase()];
    if (found === undefined) throw new InvalidArgumentError(`expected one of: ${Object.keys(words).join(', ')}`);
    return found;
  };
}

/** Collects a repeatable option's values (none given: the option stays undefined). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Parses a request id (`--request-id`) for commander: an id as the account's updates take it
 * (1-200 printable ASCII characters without spaces).
 */
export function requestId(value: string): string {
  const problem = idProblem('the request id', value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}
