/**
 * What every `credits` command writes to and how it ends: injected streams (so tests run the
 * CLI in-process and read its output) and the exit codes scripts may rely on.
 */

/** Where a command writes. Each call gets text exactly as it should appear, newlines included. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** Exit codes: scripts and CI branch on these, so their meaning never changes. */
export const EXIT_CODES = {
  /** Done; for `validate`, the rules are valid. */
  ok: 0,
  /** Invalid rules or another business error, explained on stderr. */
  failure: 1,
  /** The command line itself was wrong (unknown command or option, missing argument). */
  usage: 2,
} as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** A failure a command explains in one sentence; `main` prints it without a stack trace. */
export class CliFailure extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = EXIT_CODES.failure) {
    super(message);
    this.name = 'CliFailure';
    this.exitCode = exitCode;
  }
}

/** Writes lines, each ending in a newline. */
export function writeLines(write: (text: string) => void, lines: readonly string[]): void {
  if (lines.length > 0) write(`${lines.join('\n')}\n`);
}

/** Prints `result` as JSON, or the readable lines. */
export function report(io: CliIo, json: boolean | undefined, result: unknown, lines: () => string[]): void {
  if (json === true) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else writeLines(io.stdout, lines());
}
