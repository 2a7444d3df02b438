/**
 * `credits usage ...` and `credits call ...`: what product services do through the client
 * library, from a shell (walkthroughs, support, scripts), and billing ops' void of a usage. A
 * refused usage or void, or an unauthorized call, is a business outcome, printed as such, and
 * exits 1 so a script notices it.
 */
import type { Command } from 'commander';
import { expiredAgain, formatCount } from '../display';
import { CALL_TOLERANCE_MINUTES } from '../domain/wire-contract';
import type { RecordUsageResult, VoidRejection } from '../domain/wire-contract';
import { CliFailure } from './io';
import type { CliIo } from './io';
import { positiveNumber } from './option-parsers';
import { report } from './io';
import { withCreditsClient } from './temporal-connection';
import { registerUsageExport } from './usage-export';

/** What each refused void means, for people. */
const VOID_REFUSALS: Record<VoidRejection, string> = {
  unknown_usage: 'the account knows no usage with this key',
  earlier_cycle: 'the usage was charged in an earlier cycle, which is settled',
  usage_refused: 'the usage was refused and charged nothing',
  nothing_charged: 'the usage charged no credits (free or telephony-billed)',
  void_window_passed: 'the usage is older than the voidable usages the account keeps',
  call_not_voidable: 'the key is a Voice Agent call, which cannot be voided',
};

/**
 * Prints `usage record`'s answer and ends as it means: exit 1 when the usage was refused, or
 * when its key was first used for another usage (`payloadMismatch`). The account then answers
 * with the first usage's outcome and records nothing: read as a plain repeat, an operator's
 * corrected usage would be dropped without a word, so the line says the new values were not
 * applied and the command fails.
 */
export function reportUsageRecord(io: CliIo, json: boolean | undefined, result: RecordUsageResult, key: string): void {
  // A usage costing more than the balance says both numbers: the balance is the limit.
  const why =
    result.cost === undefined ? `balance ${formatCount(result.balance)}` : `it costs ${formatCount(result.cost)} credits, more than the balance of ${formatCount(result.balance)}`;
  const outcome = result.accepted ? `accepted: ${formatCount(result.credits)} credits` : `refused (${result.reason ?? 'unknown reason'})`;
  const repeat = result.duplicate ? ` (repeat of key ${key}: nothing charged again)` : '';
  report(io, json, result, () => [
    result.payloadMismatch === true
      ? `key ${key} was already used for another usage (another feature, quantity or user): that first usage stands (${outcome}); this one was NOT recorded and nothing was charged for it: send it again with a new key`
      : result.accepted
        ? `accepted: ${formatCount(result.credits)} credits, balance ${formatCount(result.balance)}${repeat}`
        : `refused (${result.reason ?? 'unknown reason'}): ${why}${repeat}`,
  ]);
  if (result.payloadMismatch === true) throw new CliFailure(`usage not recorded: key ${key} was already used for another usage; send it again with a new key`);
  if (!result.accepted) throw new CliFailure(`usage refused: ${result.reason ?? 'unknown reason'}${result.cost === undefined ? '' : ` (${why})`}`);
}

/** Registers `credits usage record|void|export` on the program. */
export function registerUsageCommands(program: Command, io: CliIo): void {
  const usage = program.command('usage').description('record usage of an AI feature, and export the usage ledger');

  usage
    .command('record')
    .description('report usage of a feature (Voice Agent calls go through `credits call`)')
    .argument('<account>', 'account id')
    .argument('<feature>', 'feature id, e.g. enrichment or auto-updates')
    .argument('<quantity>', 'units used (fields, calls, ...)', positiveNumber)
    .requiredOption('--key <key>', 'idempotency key: repeating it charges nothing again')
    .option('--user <user>', 'the CRM user who used the feature')
    .option('--json', 'print the answer as JSON')
    .action(async (accountId: string, feature: string, quantity: number, options: { key: string; user?: string; json?: boolean }) => {
      const result = await withCreditsClient(io, (client) =>
        client.recordUsage(accountId, { feature, quantity, idempotencyKey: options.key, ...(options.user === undefined ? {} : { userId: options.user }) }),
      );
      reportUsageRecord(io, options.json, result, options.key);
    });

  usage
    .command('void')
    .description('void a usage of the current cycle by its key (billing ops): its credits go back to the grants they came from')
    .argument('<account>', 'account id')
    .argument('<key>', 'the idempotency key the usage was recorded with')
    .requiredOption('--reason <text>', 'why, written to the ledger')
    .option('--json', 'print the answer as JSON')
    .action(async (accountId: string, key: string, options: { reason: string; json?: boolean }) => {
      const result = await withCreditsClient(io, (client) => client.voidUsage(accountId, { idempotencyKey: key, reason: options.reason }));
      const why = result.reason === undefined ? 'unknown reason' : `${result.reason}: ${VOID_REFUSALS[result.reason]}`;
      report(io, options.json, result, () => [
        !result.voided
          ? `not voided (${why}); balance ${formatCount(result.balance)}`
          : result.duplicate
            ? `usage ${key} was already voided (${formatCount(result.credits)} credits returned then${expiredAgain(result.expired)}); nothing returned again`
            : `voided usage ${key}: ${formatCount(result.credits)} credits returned${expiredAgain(result.expired)}, balance ${formatCount(result.balance)}`,
      ]);
      if (!result.voided) throw new CliFailure(`void refused: ${why}`);
    });

  registerUsageExport(usage, io);
}

/** Registers `credits call start|end` on the program. */
export function registerCallCommands(program: Command, io: CliIo): void {
  const call = program.command('call').description('authorize and end Chloe Voice Agent calls');

  call
    .command('start')
    .description('ask to place a Voice Agent call (idempotent by call id)')
    .argument('<account>', 'account id')
    .argument('<call>', 'call id')
    .requiredOption('--agent <agent>', 'voice agent id')
    .option('--json', 'print the answer as JSON')
    .action(async (accountId: string, callId: string, options: { agent: string; json?: boolean }) => {
      const result = await withCreditsClient(io, (client) => client.startCall(accountId, { callId, agentId: options.agent }));
      report(io, options.json, result, () => [
        result.authorized
          ? `call ${callId} authorized (balance ${formatCount(result.balance)})`
          : `call ${callId} not authorized (${result.reason ?? 'unknown reason'}): balance ${formatCount(result.balance)}`,
      ]);
      if (!result.authorized) throw new CliFailure(`call not authorized: ${result.reason ?? 'unknown reason'}`);
    });

  call
    .command('end')
    .description("report a call's end; it is charged even past zero, for at most the time it ran (idempotent by call id)")
    .argument('<account>', 'account id')
    .argument('<call>', 'call id')
    .requiredOption('--minutes <minutes>', 'call length in minutes', positiveNumber)
    .option('--json', 'print the answer as JSON')
    .action(async (accountId: string, callId: string, options: { minutes: number; json?: boolean }) => {
      const result = await withCreditsClient(io, (client) => client.endCall(accountId, { callId, minutes: options.minutes }));
      const capped = result.capped
        ? `; ${formatCount(options.minutes)} minutes reported, ${result.minutesCharged} charged (capped at the time the call ran plus ${CALL_TOLERANCE_MINUTES} minute)`
        : '';
      report(io, options.json, result, () => [`call ${callId} ended: ${formatCount(result.credits)} credits, balance ${formatCount(result.balance)}${capped}`]);
    });
}
