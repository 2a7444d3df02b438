/**
 * `credits account ...`: billing ops' commands on one customer account's credit workflow:
 * start it, show its summary, change users, plan, tier, toggles, agents, admins and tags,
 * grant credits by hand, and import many accounts from a file. Each command prints what
 * changed in one or two readable lines (`--json` prints the workflow's answer as is, for
 * scripts).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { formatCount, formatMoney, formatUtc, plural } from '../display';
import type { AccountStartInput, GrantCreditsResult } from '../domain/wire-contract';
import type { TargetUpdateOptions } from '../client';
import { registerAccountList } from './account-list';
import { formatAccountSummary } from './account-show';
import { anchorFrom, barReporter, defaultAnchor, importAccounts, lineReporter, readImportFile } from './import-accounts';
import { CliFailure, EXIT_CODES, writeLines } from './io';
import { collect, oneOf, requestId, wholeNumber } from './option-parsers';
import { report } from './io';
import type { CliIo } from './io';
import { cliDeps, withCreditsClient } from './temporal-connection';
import { registerCallCommands, registerUsageCommands } from './usage-commands';

const ON_OFF = { on: true, off: false, enable: true, disable: false, enabled: true, disabled: false } as const;
const ACTIVE_INACTIVE = { active: true, inactive: false, on: true, off: false, activate: true, deactivate: false } as const;

interface StartOptions {
  plan: string;
  users: number;
  trial?: boolean;
  anchor?: string;
  tier?: string;
  tag?: string[];
  admin?: string[];
  restartClosed?: boolean;
  json?: boolean;
}

function startInputFromOptions(accountId: string, o: StartOptions): AccountStartInput {
  return {
    accountId,
    plan: o.plan,
    users: o.users,
    cycleAnchor: o.anchor ?? defaultAnchor(),
    ...(o.trial === true ? { trial: true } : {}),
    ...(o.tier === undefined || o.tier.toLowerCase() === 'none' ? {} : { creditTier: o.tier }),
    ...(o.tag === undefined ? {} : { tags: o.tag }),
    ...(o.admin === undefined ? {} : { admins: o.admin }),
  };
}

function registerStart(account: Command, io: CliIo): void {
  account
    .command('start')
    .description("start an account's credit workflow (a running account is reported, never changed)")
    .argument('<account>', 'account id: 1-64 of A-Z a-z 0-9 . _ -')
    .requiredOption('--plan <plan>', 'CRM plan id or alias (solo, essentials, growth, scale, Professional, ...)')
    .requiredOption('--users <n>', 'number of users', wholeNumber(1))
    .option('--trial', 'a trial account (fixed trial credits)')
    .option('--anchor <when>', 'billing anchor: a date (2026-05-03) or UTC instant, not in the future (default: now)', parseAnchor)
    .option('--tier <tier>', 'AI Credit Subscription tier, e.g. tier-3 (default: none)')
    .option('--tag <tag>', 'account tag, e.g. chloe-beta (repeatable)', collect)
    .option('--admin <email>', 'admin e-mail for low-credit notices (repeatable)', collect)
    .option('--restart-closed', 'start it even if its workflow ran and closed (terminated, failed): a fresh pool for the current cycle')
    .option('--json', 'print the started account as JSON')
    .action(async (accountId: string, options: StartOptions) => {
      const restart = { restartClosed: options.restartClosed === true };
      const started = await withCreditsClient(io, (client) => client.startAccount(startInputFromOptions(accountId, options), restart));
      report(io, options.json, started, () => {
        const s = started.summary;
        const opened = s
          ? [`  ${s.plan.name}, ${plural(s.users, 'user')}${s.trial ? ' (trial)' : ''}: ${formatCount(s.credits.available)} credits available until ${formatUtc(s.cycle.end)}`]
          : [];
        return [`started account ${accountId} (workflow ${started.workflowId})`, ...opened];
      });
    });
}

function registerShow(account: Command, io: CliIo): void {
  account
    .command('show')
    .description("print an account's credits: plan, tier, cycle, balance, grants, usage by feature, alert")
    .argument('<account>', 'account id')
    .option('--json', 'print the summary object as JSON')
    .action(async (accountId: string, options: { json?: boolean }) => {
      const [summary, closed] = await withCreditsClient(io, async (client) => {
        const shown = await client.summary(accountId);
        return [shown, await client.closedRun(accountId)] as const;
      });
      report(io, options.json, summary, () => formatAccountSummary(summary, closed));
    });
}

/** `--request-id`'s help: what giving the same id to a command sent again does. */
const REQUEST_ID_HELP =
  "the request's own id: the command sent again with it (a retried job, a second operator) gets the first answer and changes nothing more, even after another change in between";

/**
 * The line saying that a request id sent again got its first answer, for another value than
 * this command asked (`differs`): nothing is printed as if this command's value were applied.
 */
function firstAnswerNote(id: string | undefined, differs: boolean, firstValue: string): string[] {
  if (id === undefined || !differs) return [];
  return [`request id ${id} was first sent for ${firstValue}: that answer stands, and nothing changed now (send a new request id for a new change)`];
}

/** What a command given `--request-id` sends with its update. */
function requestOptions(options: { requestId?: string }): TargetUpdateOptions {
  return options.requestId === undefined ? {} : { updateId: options.requestId };
}

function registerChanges(account: Command, io: CliIo): void {
  account
    .command('users')
    .description('set the number of users; added users get their included credits at once')
    .argument('<account>', 'account id')
    .argument('<users>', 'the new number of users', wholeNumber(1))
    .option('--request-id <id>', REQUEST_ID_HELP, requestId)
    .option('--json', 'print the answer as JSON')
    .action(async (accountId: string, users: number, options: { requestId?: string; json?: boolean }) => {
      const result = await withCreditsClient(io, (client) => client.setUsers(accountId, { users }, requestOptions(options)));
      const set = result.users ?? users;
      report(io, options.json, result, () => [
        `${accountId}: ${plural(set, 'user')}; ${plural(result.creditsGranted, 'credit')} granted now`,
        ...firstAnswerNote(options.requestId, set !== users, plural(set, 'user')),
      ]);
    });

  account
    .command('plan')
    .description('change the CRM plan: an upgrade applies now, a downgrade at the next cycle; converts a trial')
    .argument('<account>', 'account id')
    .argument('<plan>', 'plan id or alias')
    .option('--anchor <when>', 'converting a trial: the CRM subscription\'s billing anchor, a date or UTC instant between the trial start and now (default: now)', parseAnchor)
    .option('--request-id <id>', REQUEST_ID_HELP, requestId)
    .option('--json', 'print the answer as JSON')
    .action(async (accountId: string, plan: string, options: { anchor?: string; requestId?: string; json?: boolean }) => {
      const input = options.anchor === undefined ? { plan } : { plan, cycleAnchor: options.anchor };
      const result = await withCreditsClient(io, (client) => client.changePlan(accountId, input, requestOptions(options)));
      // The plan the answer names: an alias resolved, or the first request's for a request id sent again.
      const chosen = result.plan ?? plan;
      report(io, options.json, result, () => [
        result.effective === 'now'
          ? `${accountId}: plan ${chosen} applies now; ${plural(result.creditsGranted, 'credit')} granted`
          : `${accountId}: plan ${chosen} applies at the start of the next cycle`,
      ]);
    });

  account
    .command('tier')
    .description('buy, upgrade (now, full price), downgrade or cancel (next cycle) the AI Credit Subscription')
    .argument('<account>', 'account id')
    .argument('<tier>', 'tier id such as tier-4, or "none" to cancel')
    .option('--request-id <id>', REQUEST_ID_HELP, requestId)
    .option('--json', 'print the answer as JSON')
    .action(async (accountId: string, tierText: string, options: { requestId?: string; json?: boolean }) => {
      const tier = tierText.toLowerCase() === 'none' ? null : tierText;
      const result = await withCreditsClient(io, (client) => client.changeCreditTier(accountId, { tier }, requestOptions(options)));
      report(io, options.json, result, () => {
        const chosen = result.tier === undefined ? tier : result.tier;
        const what = chosen === null ? 'no credit tier' : chosen;
        const note = firstAnswerNote(options.requestId, (chosen ?? '').toLowerCase() !== (tier ?? '').toLowerCase(), what);
        if (result.effective === 'next_cycle') return [`${accountId}: ${what} from the start of the next cycle; the current tier runs until then`, ...note];
        const money = result.chargedCents > 0 ? `charged ${formatMoney(result.chargedCents)}, ` : 'nothing charged, ';
        return [`${accountId}: ${what} now; ${money}${plural(result.creditsGranted, 'credit')} granted`, ...note];
      });
    });

  account
    .command('feature')
    .description('switch a toggleable credit feature (enrichment, auto-updates) on or off')
    .argument('<account>', 'account id')
    .argument('<feature>', 'feature id')
    .argument('<state>', 'on or off', oneOf(ON_OFF))
    .option('--request-id <id>', REQUEST_ID_HELP, requestId)
    .option('--json', 'print the answer as JSON')
    .action(async (accountId: string, feature: string, enabled: boolean, options: { requestId?: string; json?: boolean }) => {
      const result = await withCreditsClient(io, (client) => client.setFeatureEnabled(accountId, { feature, enabled }, requestOptions(options)));
      report(io, options.json, result, () => [`${accountId}: ${result.feature} is ${result.enabled ? 'on' : 'off'}`]);
    });

  account
    .command('agent')
    .description("activate or deactivate a Voice Agent (an inactive agent's calls are not authorized)")
    .argument('<account>', 'account id')
    .argument('<agent>', 'voice agent id')
    .argument('<state>', 'active or inactive', oneOf(ACTIVE_INACTIVE))
    .option('--request-id <id>', REQUEST_ID_HELP, requestId)
    .option('--json', 'print the answer as JSON')
    .action(async (accountId: string, agentId: string, active: boolean, options: { requestId?: string; json?: boolean }) => {
      const result = await withCreditsClient(io, (client) => client.setVoiceAgentActive(accountId, { agentId, active }, requestOptions(options)));
      report(io, options.json, result, () => [`${accountId}: voice agent ${result.agentId} is ${result.active ? 'active' : 'inactive'}`]);
    });

  account
    .command('grant')
    .description('grant credits by hand; the key makes a repeated command grant nothing more')
    .argument('<account>', 'account id')
    .argument('<credits>', 'whole number of credits', wholeNumber(1))
    .requiredOption('--reason <text>', 'why, shown in the grants table and the ledger')
    .requiredOption('--key <key>', 'idempotency key, e.g. a ticket number: repeating it grants nothing more')
    .option('--cycles <n>', 'valid until the end of the Nth cycle counting this one', wholeNumber(1), 1)
    .option('--json', 'print the answer as JSON')
    .action(async (accountId: string, credits: number, options: { reason: string; key: string; cycles: number; json?: boolean }) => {
      const result = await withCreditsClient(io, (client) =>
        client.grantCredits(accountId, { credits, reason: options.reason, validForCycles: options.cycles, idempotencyKey: options.key }),
      );
      reportGrant(io, options.json, { accountId, credits, key: options.key }, result);
    });
}

/**
 * Prints `account grant`'s answer. A key first used for a grant of other credits, reason or
 * cycles (`payloadMismatch`) is answered with that first grant and grants nothing: it exits 1,
 * saying these values were not applied, so a corrected grant is not taken for done.
 */
export function reportGrant(io: CliIo, json: boolean | undefined, asked: { accountId: string; credits: number; key: string }, result: GrantCreditsResult): void {
  const { accountId, key } = asked;
  report(io, json, result, () => [
    result.payloadMismatch === true
      ? `${accountId}: key ${key} was already used for another grant (other credits, reason or cycles): that grant ${result.grantId} stands (expires ${formatUtc(result.expiresAt)}); these values were NOT applied and nothing was granted: use a new key for a new grant`
      : result.duplicate
        ? `${accountId}: key ${key} was already used for grant ${result.grantId}; nothing more granted`
        : `${accountId}: granted ${plural(asked.credits, 'credit')} (grant ${result.grantId}, expires ${formatUtc(result.expiresAt)})`,
  ]);
  if (result.payloadMismatch === true) throw new CliFailure(`nothing granted: key ${key} was already used for grant ${result.grantId}, with other values; use a new key`);
}

/**
 * `credits account NAME ACCOUNT [ITEMS...] [--clear]`: a command that sets one of the account's
 * lists as a whole. The list is its arguments, or none with `--clear` (never none by accident).
 */
function listCommand(account: Command, name: 'admins' | 'tags', description: string, items: string): Command {
  return account
    .command(name)
    .description(description)
    .argument('<account>', 'account id')
    .argument(`[${name}...]`, `${items} (the whole new list)`)
    .option('--clear', `remove every ${name.slice(0, -1)}`)
    .option('--request-id <id>', REQUEST_ID_HELP, requestId)
    .option('--json', 'print the answer as JSON');
}

/** The list a {@link listCommand} sets, or a usage error. */
function listToSet(items: readonly string[], clear: boolean | undefined, name: 'admins' | 'tags'): string[] {
  if (clear === true && items.length > 0) throw new CliFailure(`give ${name} or --clear, not both`, EXIT_CODES.usage);
  if (clear !== true && items.length === 0) throw new CliFailure(`give at least one ${name.slice(0, -1)}, or --clear to remove them all`, EXIT_CODES.usage);
  return [...items];
}

function registerDetails(account: Command, io: CliIo): void {
  listCommand(account, 'admins', "replace the account's admins, who receive low-credit notices", "the admins' e-mail addresses").action(
    async (accountId: string, emails: string[], options: { clear?: boolean; requestId?: string; json?: boolean }) => {
      const admins = listToSet(emails, options.clear, 'admins');
      const result = await withCreditsClient(io, (client) => client.setAdmins(accountId, { admins }, requestOptions(options)));
      report(io, options.json, result, () => [`${accountId}: admins ${result.changed ? 'now' : 'unchanged,'} ${result.admins.join(', ') || 'none'}`]);
    },
  );

  listCommand(account, 'tags', "replace the account's tags; a tag making it eligible for an open promotion grants it now", 'the tags').action(
    async (accountId: string, given: string[], options: { clear?: boolean; requestId?: string; json?: boolean }) => {
      const tags = listToSet(given, options.clear, 'tags');
      const result = await withCreditsClient(io, (client) => client.setTags(accountId, { tags }, requestOptions(options)));
      report(io, options.json, result, () => [
        `${accountId}: tags ${result.changed ? 'now' : 'unchanged,'} ${result.tags.join(', ') || 'none'}`,
        ...(result.promotionsGranted.length > 0
          ? [`  promotion ${result.promotionsGranted.join(', ')} granted: ${plural(result.creditsGranted, 'credit')}`]
          : []),
      ]);
    },
  );
}

function registerImport(account: Command, io: CliIo): void {
  account
    .command('import')
    .description('start many accounts from a CSV or YAML file; running accounts are skipped, bad rows reported')
    .argument('<file>', 'accounts.csv (header: accountId,plan,users,trial,cycleAnchor,creditTier,tags,admins) or accounts.yaml')
    .action(async (file: string) => {
      const rows = readImportFile(file);
      const tally = await withCreditsClient(io, (client) => {
        const interactive = cliDeps(io).interactive ?? process.stderr.isTTY === true;
        return importAccounts(client, rows, interactive ? barReporter(rows.length) : lineReporter(io));
      });
      writeLines(io.stdout, [
        `${file}: ${plural(tally.rows, 'row')}: ${tally.started} started, ${tally.skipped} skipped (already running), ${tally.failed} failed`,
      ]);
      if (tally.failed > 0) {
        throw new CliFailure(`${plural(tally.failed, 'row')} failed (listed above); fix them and import again: running accounts are skipped`);
      }
    });
}

/** Registers `credits account ...`, `credits usage ...` and `credits call ...` on the program. */
/** A `--anchor` value: a date or UTC instant, as the account start and a conversion take it. */
function parseAnchor(value: string): string {
  const anchor = anchorFrom(value);
  if (anchor === undefined) throw new InvalidArgumentError('expected a date such as 2026-05-03 or an instant such as 2026-05-03T00:00:00Z');
  return anchor;
}

export function registerAccountCommands(program: Command, io: CliIo): void {
  const account = program.command('account').description("start, inspect and change customer accounts' AI credits");
  registerStart(account, io);
  registerShow(account, io);
  registerAccountList(account, io);
  registerChanges(account, io);
  registerDetails(account, io);
  registerImport(account, io);
  registerUsageCommands(program, io);
  registerCallCommands(program, io);
}
