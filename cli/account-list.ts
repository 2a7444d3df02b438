/**
 * `credits account list`: billing ops find accounts by alert state, tier, plan, tag, trial or
 * parked effects, a page at a time, as a table or JSON (`listAccounts` of the client library,
 * shared with the admin page's ops view).
 */
import type { Command } from 'commander';
import { formatCount, formatUtc } from '../display';
import { ALERT_FILTERS, AccountListFilterError, MAX_LIST_LIMIT, accountListQuery, listAccounts, resolveListFilters, type AccountListFilters, type AccountPage } from '../client/account-list';
import { CREDITS_RULES } from '../infra/settings';
import { defaultRulesPath, loadRuleSet, type RuleSet } from '../ruleset';
import { CliFailure, EXIT_CODES, report } from './io';
import type { CliIo } from './io';
import { oneOf, wholeNumber } from './option-parsers';
import { renderTable } from './text-table';
import { cliDeps, withCreditsClient } from './temporal-connection';

interface ListOptions {
  alert?: AccountListFilters['alert'];
  tier?: string;
  plan?: string;
  tag?: string;
  parked?: boolean;
  trial?: boolean;
  paid?: boolean;
  limit: number;
  pageToken?: string;
  json?: boolean;
}

/** The listing as table lines, with the command that fetches the next page. */
export function formatAccountPage(page: AccountPage): string[] {
  if (page.accounts.length === 0) return ['no accounts match'];
  const rows = page.accounts.map((a) => [
    a.accountId,
    a.plan ?? '',
    a.tier ?? '-',
    a.trial === true ? 'yes' : 'no',
    a.alert ?? '',
    a.available === null ? '' : formatCount(a.available),
    a.cycleEnd === null ? '' : formatUtc(a.cycleEnd),
    String(a.parkedEffects),
    a.tags.join(','),
  ]);
  const table = renderTable(
    [
      { heading: 'ACCOUNT' },
      { heading: 'PLAN' },
      { heading: 'TIER' },
      { heading: 'TRIAL' },
      { heading: 'ALERT' },
      { heading: 'AVAILABLE', align: 'right' },
      { heading: 'CYCLE ENDS' },
      { heading: 'PARKED', align: 'right' },
      { heading: 'TAGS' },
    ],
    rows,
    0,
  );
  return page.nextPageToken === null ? table : [...table, `more: --page-token ${page.nextPageToken}`];
}

/** {@link resolveListFilters} with an unknown plan or tier as a usage error naming its flag (`--plan "x" ...`). */
export function resolvedFilters(filters: AccountListFilters, ruleSet: RuleSet): AccountListFilters {
  try {
    return resolveListFilters(filters, ruleSet);
  } catch (err) {
    if (err instanceof AccountListFilterError) throw new CliFailure(`--${err.message}`, EXIT_CODES.usage);
    throw err;
  }
}

/** The rules the plan and tier filters are resolved against: the worker's (`CREDITS_RULES`, else the shipped `rules/`). */
function listRules(io: CliIo): RuleSet {
  try {
    return loadRuleSet(CREDITS_RULES.read(cliDeps(io).env) ?? defaultRulesPath());
  } catch (err) {
    // A RulesError's message is its first diagnostic, file:line:column, and how many more.
    throw new CliFailure(`cannot resolve --plan or --tier: the rules (CREDITS_RULES, else rules/) cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Registers `account list` under `account`. */
export function registerAccountList(account: Command, io: CliIo): void {
  account
    .command('list')
    .description('list running accounts, filtered by alert state, tier, plan, tag, trial or parked effects (visibility lags changes by a moment)')
    .option('--alert <state>', `alert state: ${ALERT_FILTERS.join(', ')}`, oneOf(Object.fromEntries(ALERT_FILTERS.map((a) => [a, a]))))
    .option('--tier <tier>', 'AI Credit Subscription tier, e.g. tier-5 (any case)')
    .option('--plan <plan>', 'plan id, name or alias, any case, e.g. growth or Professional')
    .option('--tag <tag>', 'account tag, e.g. chloe-beta')
    .option('--parked', 'only accounts holding parked effects')
    .option('--trial', 'only trial accounts')
    .option('--paid', 'only paid (non-trial) accounts')
    .option('--limit <n>', `accounts per page, 1-${MAX_LIST_LIMIT}`, wholeNumber(1, MAX_LIST_LIMIT), 50)
    .option('--page-token <token>', 'the next page, as printed after the previous one')
    .option('--json', 'print the page ({ accounts, nextPageToken }) as JSON')
    .action(async (options: ListOptions) => {
      if (options.trial === true && options.paid === true) throw new CliFailure('--trial and --paid exclude each other', EXIT_CODES.usage);
      const given: AccountListFilters = {
        ...(options.alert === undefined ? {} : { alert: options.alert }),
        ...(options.tier === undefined ? {} : { tier: options.tier }),
        ...(options.plan === undefined ? {} : { plan: options.plan }),
        ...(options.tag === undefined ? {} : { tag: options.tag }),
        ...(options.parked === true ? { parked: true } : {}),
        ...(options.trial === true ? { trial: true } : options.paid === true ? { trial: false } : {}),
      };
      const filters = given.plan === undefined && given.tier === undefined ? given : resolvedFilters(given, listRules(io));
      // The filters are checked before connecting: a bad one is a usage error whether or not
      // Temporal is up.
      const refuse = (err: unknown): never => {
        if (err instanceof AccountListFilterError) throw new CliFailure(`rejected: ${err.message} [${err.code}]`, EXIT_CODES.usage);
        throw err;
      };
      try {
        accountListQuery(filters);
      } catch (err) {
        refuse(err);
      }
      const page = await withCreditsClient(io, async (client) => {
        try {
          return await listAccounts(client.temporal, filters, { limit: options.limit, ...(options.pageToken === undefined ? {} : { pageToken: options.pageToken }) });
        } catch (err) {
          return refuse(err);
        }
      });
      report(io, options.json, page, () => formatAccountPage(page));
    });
}
