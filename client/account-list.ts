/**
 * Finding accounts: the visibility query built from billing ops' filters over the account
 * workflows' search attributes (workflows/search-attributes.ts), paged listing, and the check
 * that a server has those attributes registered. Shared by `credits account list` and the
 * admin page's ops view.
 */
import { createHash } from 'node:crypto';
import type { Client, Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import type { AlertState } from '../domain/wire-contract';
import { resolvePlan, resolveTier, type RuleSet, type Rules } from '../ruleset';
import { searchAttributeArgs } from '../infra/dev-server';
import { WORKFLOW_TYPE, accountWorkflowId } from '../workflows/messages';
import { ACCOUNT_SEARCH_ATTRIBUTES, ACCOUNT_SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

/** Alert states a filter names; `none` is the same as the wire contract's `ok`. */
export const ALERT_FILTERS = ['ok', 'none', 'warning', 'exhausted'] as const;
/** An alert filter value. */
export type AlertFilter = (typeof ALERT_FILTERS)[number];

/** Filters of an account listing; all given filters must hold. */
export interface AccountListFilters {
  alert?: AlertFilter;
  tier?: string;
  plan?: string;
  tag?: string;
  /** Only accounts holding parked effects. */
  parked?: boolean;
  /** Only trial accounts (true) or only paid ones (false). */
  trial?: boolean;
  /** Account id prefix. */
  idPrefix?: string;
}

/** One account as listed (from its search attributes, as of the last upsert). */
export interface AccountListing {
  accountId: string;
  plan: string | null;
  tier: string | null;
  trial: boolean | null;
  alert: AlertState | null;
  available: number | null;
  cycleEnd: string | null;
  tags: string[];
  parkedEffects: number;
  startedAt: string | null;
}

/** A page of accounts; `nextPageToken` is null on the last page. */
export interface AccountPage {
  accounts: AccountListing[];
  nextPageToken: string | null;
}

/** Most accounts on one page. */
export const MAX_LIST_LIMIT = 1_000;

/** A filter that cannot be put in a visibility query; `code` is stable. */
export class AccountListFilterError extends Error {
  readonly code = 'InvalidListFilter';
  constructor(message: string) {
    super(message);
    this.name = 'AccountListFilterError';
  }
}

/**
 * The plan and tier filters as the accounts' search attributes hold them: the plan's and the
 * tier's ids. Every command takes a plan's id, name or alias in any case (`Professional`,
 * `GROWTH`) and a tier in any case, and a filter compared as typed matches no account, which
 * a listing shows as "no accounts match". Each is looked up in every rules version, newest
 * first, so a plan only an older version prices is found; one no version knows is an
 * {@link AccountListFilterError} whose message starts with the filter's name (`plan "x" ...`)
 * and lists the known ones.
 */
export function resolveListFilters(filters: AccountListFilters, ruleSet: RuleSet): AccountListFilters {
  const newestFirst = [...ruleSet.versions].reverse();
  const known = (ids: (rules: Rules) => string[]) => [...new Set(newestFirst.flatMap(ids))].join(', ');
  const resolved = { ...filters };
  const { plan: planText, tier: tierText } = filters;
  if (planText !== undefined) {
    const plan = newestFirst.map((rules) => resolvePlan(rules, planText)).find((found) => found !== undefined);
    if (plan === undefined) {
      const plans = known((rules) => rules.plans.map((p) => p.id));
      throw new AccountListFilterError(`plan "${planText}" is no plan of the rules (known: ${plans}, or a plan's name or alias, in any case)`);
    }
    resolved.plan = plan.id;
  }
  if (tierText !== undefined) {
    const tier = newestFirst.map((rules) => resolveTier(rules, tierText)).find((found) => found !== undefined);
    if (tier === undefined) throw new AccountListFilterError(`tier "${tierText}" is no tier of the rules (known: ${known((rules) => rules.tiers.map((t) => t.id))})`);
    resolved.tier = tier.id;
  }
  return resolved;
}

/**
 * A filter value as a quoted query literal. Only printable ASCII without quotes or backslashes
 * is taken: the visibility query language's escaping differs between stores, so a value that
 * would need escaping is refused rather than escaped (it cannot then break out of its quotes).
 */
export function quoteQueryValue(what: string, value: string): string {
  if (value.length === 0 || value.length > 200) throw new AccountListFilterError(`${what} must be 1-200 characters`);
  if (!/^[\x20-\x7e]+$/.test(value) || /['"\\`]/.test(value)) {
    throw new AccountListFilterError(`${what} may hold only printable ASCII characters without quotes or backslashes`);
  }
  return `'${value}'`;
}

/** The visibility query of running account workflows matching every filter. */
export function accountListQuery(filters: AccountListFilters = {}): string {
  const k = ACCOUNT_SEARCH_ATTRIBUTES;
  const terms = [`WorkflowType = '${WORKFLOW_TYPE}'`, `ExecutionStatus = 'Running'`];
  if (filters.alert !== undefined) {
    if (!(ALERT_FILTERS as readonly string[]).includes(filters.alert)) throw new AccountListFilterError(`alert must be one of ${ALERT_FILTERS.join(', ')}`);
    terms.push(`${k.alert.name} = '${filters.alert === 'none' ? 'ok' : filters.alert}'`);
  }
  if (filters.plan !== undefined) terms.push(`${k.plan.name} = ${quoteQueryValue('plan', filters.plan)}`);
  if (filters.tier !== undefined) terms.push(`${k.tier.name} = ${quoteQueryValue('tier', filters.tier)}`);
  if (filters.tag !== undefined) terms.push(`${k.tags.name} = ${quoteQueryValue('tag', filters.tag)}`);
  if (filters.parked === true) terms.push(`${k.parkedEffects.name} > 0`);
  if (filters.trial !== undefined) terms.push(`${k.trial.name} = ${filters.trial ? 'true' : 'false'}`);
  if (filters.idPrefix !== undefined && filters.idPrefix !== '') {
    terms.push(`WorkflowId STARTS_WITH ${quoteQueryValue('account id prefix', accountWorkflowId(filters.idPrefix))}`);
  }
  return terms.join(' AND ');
}

/**
 * Page tokens carry the server's token and a digest of it with the query: a token edited, cut
 * short or used with other filters is refused here, rather than sent to a server that answers
 * it with a retried internal error.
 */
function pageTokenDigest(query: string, raw: Buffer): string {
  return createHash('sha256').update(query).update('\0').update(raw).digest('base64url').slice(0, 16);
}

function encodePageToken(query: string, raw: Buffer): string {
  return `${raw.toString('base64url')}.${pageTokenDigest(query, raw)}`;
}

function decodePageToken(query: string, token: string): Buffer {
  const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{16})$/.exec(token);
  const raw = match ? Buffer.from(match[1] as string, 'base64url') : undefined;
  if (!match || !raw || pageTokenDigest(query, raw) !== match[2]) {
    throw new AccountListFilterError('page token is not one this listing gave (or the filters changed since)');
  }
  return raw;
}

function accountIdOf(workflowId: string): string {
  const prefix = accountWorkflowId('');
  return workflowId.startsWith(prefix) ? workflowId.slice(prefix.length) : workflowId;
}

/**
 * One page of the running accounts matching the filters, newest first (the server's order).
 * Visibility is eventually consistent: an account's latest change may show a moment later.
 *
 * @throws AccountListFilterError for a filter that cannot be queried, or a bad limit or page token
 */
export async function listAccounts(
  temporal: Client,
  filters: AccountListFilters = {},
  page: { limit?: number; pageToken?: string } = {},
): Promise<AccountPage> {
  const limit = page.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw new AccountListFilterError(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
  const query = accountListQuery(filters);
  const nextPageToken = page.pageToken === undefined || page.pageToken === '' ? undefined : decodePageToken(query, page.pageToken);
  const response = await temporal.workflowService.listWorkflowExecutions({ namespace: temporal.options.namespace, query, pageSize: limit, nextPageToken });
  const k = ACCOUNT_SEARCH_ATTRIBUTES;
  const accounts = (response.executions ?? []).map((e): AccountListing => {
    const sa = decodeTypedSearchAttributes(e.searchAttributes?.indexedFields);
    const started = e.startTime?.seconds;
    return {
      accountId: accountIdOf(e.execution?.workflowId ?? ''),
      plan: sa.get(k.plan) ?? null,
      tier: sa.get(k.tier) ?? null,
      trial: sa.get(k.trial) ?? null,
      alert: (sa.get(k.alert) as AlertState | undefined) ?? null,
      available: sa.get(k.available) ?? null,
      cycleEnd: sa.get(k.cycleEnd)?.toISOString() ?? null,
      tags: sa.get(k.tags) ?? [],
      parkedEffects: sa.get(k.parkedEffects) ?? 0,
      startedAt: started === undefined || started === null ? null : new Date(Number(started) * 1000).toISOString(),
    };
  });
  const token = response.nextPageToken && response.nextPageToken.length > 0 ? encodePageToken(query, Buffer.from(response.nextPageToken)) : null;
  return { accounts, nextPageToken: token };
}

/** The attributes as the operator API takes them: name to indexed value type. */
export function searchAttributeTypes(): Record<string, number> {
  return Object.fromEntries(ACCOUNT_SEARCH_ATTRIBUTE_KEYS.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type) as number]));
}

/** The `temporal` CLI command registering the attributes on an existing server's namespace. */
export function searchAttributeCreateCommand(namespace: string): string {
  // The same Name=Type spelling as the dev server's flags, split into --name/--type.
  const args = searchAttributeArgs(ACCOUNT_SEARCH_ATTRIBUTE_KEYS).filter((_, i) => i % 2 === 1);
  const pairs = args.map((arg) => {
    const [name, type] = arg.split('=');
    return `--name ${name} --type ${type}`;
  });
  return `temporal operator search-attribute create --namespace ${namespace} ${pairs.join(' ')}`;
}

/**
 * The account search attributes a namespace lacks (or holds with another type). Without them
 * an account cannot start and a running account's workflow task fails at each upsert.
 */
export async function missingSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<string[]> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = listed.customAttributes ?? {};
  const types = searchAttributeTypes();
  return Object.keys(types).filter((name) => custom[name] !== types[name]);
}

/** gRPC statuses of a server that cannot say which attributes it has (no operator API, or not for us). */
const CANNOT_TELL = new Set([7 /* PERMISSION_DENIED */, 12 /* UNIMPLEMENTED */]);

/**
 * Fails with the command to run when the namespace lacks any account search attribute: the
 * worker and the main job refuse to run accounts that could neither start nor publish them.
 * A server that cannot list its attributes (no operator API, or no permission) is not refused:
 * `warn` is told, and the run goes on.
 *
 * @throws Error naming the missing attributes and the `temporal operator search-attribute create` command
 */
export async function requireSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
  warn: (message: string) => void = () => undefined,
): Promise<void> {
  let missing: string[];
  try {
    missing = await missingSearchAttributes(connection, namespace);
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code !== 'number' || !CANNOT_TELL.has(code)) throw err;
    warn(`cannot check the accounts' search attributes on namespace ${namespace} (${err instanceof Error ? err.message : String(err)}); if accounts fail to start, register them with: ${searchAttributeCreateCommand(namespace)}`);
    return;
  }
  if (missing.length === 0) return;
  throw new Error(
    `namespace ${namespace} lacks the accounts' search attributes (${missing.join(', ')}); register them once with: ${searchAttributeCreateCommand(namespace)}`,
  );
}
