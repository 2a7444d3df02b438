/**
 * Entry point of the `credits` command line. `main` never throws and never prints a stack
 * trace: every failure becomes a message on stderr and an exit code (see EXIT_CODES).
 */
import { CommanderError } from 'commander';
import { plural, showableText } from '../display';
import { formatDiagnostic, isRulesError, problemCount } from '../ruleset';
import { CliFailure, EXIT_CODES, writeLines } from './io';
import { isSettingsError } from '../infra/settings';
import type { CliIo } from './io';
import { buildProgram } from './program';

/** Commander codes that mean "did what was asked" (help or version printed on request). */
const SUCCESS_CODES = new Set(['commander.helpDisplayed', 'commander.version']);

function reportFailure(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its message through io. `credits help` and `credits help
    // rules` end as `commander.help` with exit code 0: help asked for, as with --help.
    return SUCCESS_CODES.has(err.code) || err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  }
  if (isRulesError(err)) {
    writeLines(io.stderr, [...err.diagnostics.map(formatDiagnostic), `${plural(problemCount(err.diagnostics), 'problem')} found`]);
    return EXIT_CODES.failure;
  }
  if (err instanceof CliFailure) {
    writeLines(io.stderr, [`credits: ${err.message}`]);
    return err.exitCode;
  }
  // A setting the environment gives that cannot be used (a short portal secret, a bad port):
  // the message says which and why; it is no unexpected error.
  if (isSettingsError(err)) {
    writeLines(io.stderr, [`credits: ${err.message}`]);
    return EXIT_CODES.failure;
  }
  writeLines(io.stderr, [`credits: unexpected error: ${err instanceof Error ? err.message : String(err)}`]);
  return EXIT_CODES.failure;
}

/**
 * Runs the CLI. `argv` is in `process.argv` form (node, script, then arguments). Resolves to
 * the exit code; output goes only through `io`.
 */
export async function main(argv: readonly string[], cliIo: CliIo): Promise<number> {
  // Messages quote the command line back (a bad argument, an unknown account id): a terminal
  // is never handed its escape sequences raw. Output (tables, JSON, CSV) goes as it is.
  const io: CliIo = { ...cliIo, stderr: (text) => cliIo.stderr(showableText(text)) };
  try {
    await buildProgram(io).parseAsync([...argv], { from: 'node' });
    return EXIT_CODES.ok;
  } catch (err) {
    return reportFailure(err, io);
  }
}

/**
 * The process's own streams as the CLI's io. Output that cannot be written ends the command
 * without a stack trace: a reader that went away (`credits rules explain | head`, EPIPE) ends
 * it quietly, as other command-line tools do; any other failure (a full disk) is one line on
 * stderr and exit code 1.
 */
export function processIo(): CliIo {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_CODES.ok);
    process.stderr.write(`credits: cannot write the output: ${err.code ?? err.message}\n`);
    process.exit(EXIT_CODES.failure);
  });
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  };
}

if (require.main === module) {
  void main(process.argv, processIo()).then((code) => {
    process.exitCode = code;
  });
}
