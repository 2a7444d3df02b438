/**
 * The account workflows' search attributes: one definition, imported by the workflow (which
 * keeps them current), the client (which sets them at start and lists accounts by them) and
 * whatever registers them on a server (the main job's dev server, the test harness). Bundle-safe:
 * only `@temporalio/common` and domain types.
 */
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  type SearchAttributePair,
  type SearchAttributeUpdatePair,
  type TypedSearchAttributes,
} from '@temporalio/common';
import type { AccountIndex } from '../domain/account-index';
import type { AccountStartInput } from '../domain/wire-contract';

/**
 * Patch under which a run publishes its search attributes: histories recorded before it carry
 * no upsert commands and must replay without them.
 */
export const SEARCH_ATTRIBUTES_PATCH = 'search-attributes';

/**
 * Patch under which the balance alone (`CreditsAvailable`) is published at most every
 * {@link BALANCE_PUBLISH_INTERVAL_MS}, unless the account has gone quiet. Histories recorded
 * before it upserted on every workflow task that changed the balance.
 */
export const SEARCH_BALANCE_THROTTLE_PATCH = 'search-balance-throttle';

/**
 * Patch under which a throttled balance waits for the account's next recorded step instead of
 * a timer of its own: it goes with the first update, ledger write or linger timer at or after
 * {@link BALANCE_PUBLISH_INTERVAL_MS}, or once the outbox is empty. A busy account's steps come
 * often, so its balance rode each interval's timer before: a timer started (a billed action),
 * and a workflow task when it fired, for nothing but the upsert. An account gone quiet still
 * publishes its settled balance: the drain's linger writes its last entries, and the task that
 * confirms that write finds the outbox empty. Histories recorded before it waited on a timer.
 */
export const SEARCH_BALANCE_ON_STEP_PATCH = 'search-balance-on-step';

/**
 * How stale the published balance of a busy account may be. Every upsert is a history event,
 * a visibility write and an action on Temporal Cloud's bill: one per update task doubled what
 * each usage batch cost. The summary query is exact whatever this says.
 */
export const BALANCE_PUBLISH_INTERVAL_MS = 5_000;

/** A search attribute's name and type (the SDK's `SearchAttributeKey`, which its index does not export). */
export interface AccountSearchAttributeKey {
  name: string;
  type: SearchAttributeType;
}

/** The keys, by the {@link AccountIndex} field each one holds. Names carry a `Credits` prefix. */
export const ACCOUNT_SEARCH_ATTRIBUTES = {
  plan: defineSearchAttributeKey('CreditsPlan', SearchAttributeType.KEYWORD),
  tier: defineSearchAttributeKey('CreditsTier', SearchAttributeType.KEYWORD),
  trial: defineSearchAttributeKey('CreditsTrial', SearchAttributeType.BOOL),
  alert: defineSearchAttributeKey('CreditsAlert', SearchAttributeType.KEYWORD),
  available: defineSearchAttributeKey('CreditsAvailable', SearchAttributeType.INT),
  cycleEnd: defineSearchAttributeKey('CreditsCycleEnd', SearchAttributeType.DATETIME),
  tags: defineSearchAttributeKey('CreditsTags', SearchAttributeType.KEYWORD_LIST),
  parkedEffects: defineSearchAttributeKey('CreditsParkedEffects', SearchAttributeType.INT),
} as const satisfies { [Field in keyof AccountIndex]: AccountSearchAttributeKey };

/** Every key, for registering them on a server (`--search-attribute Name=Type`). */
export const ACCOUNT_SEARCH_ATTRIBUTE_KEYS: readonly AccountSearchAttributeKey[] = Object.values(ACCOUNT_SEARCH_ATTRIBUTES);

/** The update of every attribute to the index's value (`null` removes: no tier). */
function pairsOf(index: AccountIndex): SearchAttributeUpdatePair[] {
  const k = ACCOUNT_SEARCH_ATTRIBUTES;
  return [
    { key: k.plan, value: index.plan },
    { key: k.tier, value: index.tier },
    { key: k.trial, value: index.trial },
    { key: k.alert, value: index.alert },
    { key: k.available, value: index.available },
    { key: k.cycleEnd, value: new Date(index.cycleEnd) },
    { key: k.tags, value: index.tags },
    { key: k.parkedEffects, value: index.parkedEffects },
  ];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  // No tags is the same whether the attribute is absent or an empty list.
  if (a === null && Array.isArray(b)) return b.length === 0;
  return a === b;
}

/**
 * The updates that bring `current` to the index: only the attributes whose value differs
 * (an absent attribute equals `null`, and an empty list), so an activation that changed nothing sends nothing.
 */
export function searchAttributeChanges(current: TypedSearchAttributes, index: AccountIndex): SearchAttributeUpdatePair[] {
  return pairsOf(index).filter((pair) => !sameValue(current.get(pair.key) ?? null, pair.value));
}

/** Whether the updates change nothing but the balance (which may wait for {@link BALANCE_PUBLISH_INTERVAL_MS}). */
export function onlyBalanceChanges(changes: readonly SearchAttributeUpdatePair[]): boolean {
  return changes.every((pair) => pair.key.name === ACCOUNT_SEARCH_ATTRIBUTES.available.name);
}

/**
 * The attributes known before the account opens, set by the client at start so a fresh account
 * is listed by plan, trial, tier and tags at once; the workflow adds the rest once it has its rules.
 */
export function startSearchAttributes(input: AccountStartInput): SearchAttributePair[] {
  const k = ACCOUNT_SEARCH_ATTRIBUTES;
  const pairs: SearchAttributePair[] = [
    { key: k.plan, value: input.plan },
    { key: k.trial, value: input.trial === true },
  ];
  if (typeof input.creditTier === 'string') pairs.push({ key: k.tier, value: input.creditTier });
  if (input.tags !== undefined && input.tags.length > 0) pairs.push({ key: k.tags, value: [...new Set(input.tags)] });
  return pairs;
}
