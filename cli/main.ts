/**
 * Entry point of the `credits` command line. `main` never throws and never prints a stack
 * trace: every failure becomes a message on stderr and an exit code (see EXIT_CODES).
 */
import { CommanderError } from 'commander';
import { plural } from '../display';
import { formatDiagnostic, isRulesError } from '../ruleset';
import { CliFailure, EXIT_CODES, writeLines } from './io';
import type { CliIo } from './io';
import { buildProgram } from './program';

/** Commander codes that mean "did what was asked" (help or version printed on request). */
const SUCCESS_CODES = new Set(['commander.helpDisplayed', 'commander.version']);

function reportFailure(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its message through io.
    return SUCCESS_CODES.has(err.code) ? EXIT_CODES.ok : EXIT_CODES.usage;
  }
  if (isRulesError(err)) {
    writeLines(io.stderr, [...err.diagnostics.map(formatDiagnostic), `${plural(err.diagnostics.length, 'problem')} found`]);
    return EXIT_CODES.failure;
  }
  if (err instanceof CliFailure) {
    writeLines(io.stderr, [`credits: ${err.message}`]);
    return err.exitCode;
  }
  writeLines(io.stderr, [`credits: unexpected error: ${err instanceof Error ? err.message : String(err)}`]);
  return EXIT_CODES.failure;
}

/**
 * Runs the CLI. `argv` is in `process.argv` form (node, script, then arguments). Resolves to
 * the exit code; output goes only through `io`.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...argv], { from: 'node' });
    return EXIT_CODES.ok;
  } catch (err) {
    return reportFailure(err, io);
  }
}

if (require.main === module) {
  void main(process.argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then((code) => {
    process.exitCode = code;
  });
}
