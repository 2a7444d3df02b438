/**
 * The `credits` command line: one commander program to which each area registers its own
 * command group, so adding `credits account ...` later means adding one function to
 * {@link COMMAND_GROUPS}, not editing the others.
 */
import { Command } from 'commander';
import type { CliIo } from './io';
import { collect } from './option-parsers';
import { registerRulesCommands } from './rules-commands';
import { registerAccountCommands } from './account-commands';
import { registerLedgerCommands } from './ledger-verify';
import { registerWebhookCommands } from './webhooks-log';
import { registerPortalCommands } from './portal-commands';
import { registerSimulateCommands } from './rules-simulate';

/** Adds one area's commands (e.g. `rules`) to the program. */
export type CommandGroup = (program: Command, io: CliIo) => void;

/** Every command group of the `credits` CLI, in the order `credits --help` lists them. */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  registerRulesCommands,
  registerAccountCommands,
  registerLedgerCommands,
  registerWebhookCommands,
  registerPortalCommands,
  registerSimulateCommands,
];

/**
 * Builds the program. Commander never exits the process or writes to the real streams: it
 * throws instead (`exitOverride`) and writes through `io`, so `main` decides the exit code
 * and tests can run it in-process.
 */
export function buildProgram(io: CliIo, groups: readonly CommandGroup[] = COMMAND_GROUPS): Command {
  const program = new Command('credits')
    .description('AI-credits billing engine tools')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (text, write) => write(usageErrorLine(text)) });
  // Subcommands copy these settings when created, so they must be set before groups register.
  for (const register of groups) register(program, io);
  refuseRepeatedOptions(program);
  return program;
}

/**
 * Makes every option that takes one value refuse to be given twice in one command line:
 * commander keeps the last, so `--users 10 ... --users 1` (a pasted line, a script's default
 * before the operator's value) would act on a value the operator may not have meant. Options
 * that collect values (`--tag`, `--admin`, `--account`) are left to repeat.
 */
function refuseRepeatedOptions(command: Command): void {
  const seen = new Map<string, unknown>();
  for (const option of command.options) {
    const takesValue = option.required || option.optional;
    if (!takesValue || option.variadic || option.parseArg === collect) continue;
    command.on(`option:${option.name()}`, (value: unknown) => {
      const flag = option.long ?? option.short ?? option.name();
      if (seen.has(flag)) {
        command.error(`option '${flag}' given twice (${JSON.stringify(seen.get(flag))}, then ${JSON.stringify(value)}): give it once`, {
          exitCode: 2,
          code: 'credits.repeatedOption',
        });
      }
      seen.set(flag, value);
    });
  }
  for (const sub of command.commands) refuseRepeatedOptions(sub);
}

/**
 * Commander's usage error (`error: unknown command 'usrs'`, a suggestion on the next line) as
 * the one `credits: ...` line every other error of the CLI is, with where to look for usage.
 */
export function usageErrorLine(text: string): string {
  const parts = text
    .replace(/^error: /, '')
    .split('\n')
    .map((line) => line.trim().replace(/^\((.*)\)$/, '$1'))
    .filter((line) => line !== '');
  return `credits: ${parts.join('; ')} (see --help)\n`;
}
