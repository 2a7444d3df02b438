/**
 * The byte budget of the state that continue-as-new carries. Temporal refuses a payload over
 * 2 MiB, and a workflow whose carried state grew past it could never run again: every
 * workflow task would fail. So the state has a budget of its own, half that limit, shared out
 * among its parts; each part is bounded where it grows (the answer window by bytes, the
 * outbox by spilling its tail, parked effects by count), and `fitToBudget` is the last line
 * that trims what may be trimmed before the state is carried.
 */
import type { AccountState } from './account-state';
import type { Effect, LedgerEntry } from './effects';

/** Most bytes (UTF-8 JSON) of the state carried by continue-as-new: 1 MiB. */
export const CARRIED_STATE_BUDGET_BYTES = 1024 * 1024;

/**
 * The duplicate window's share of the budget, in three parts (domain/answers.ts), each
 * bounded where it grows (the oldest go first):
 * - {@link BILLABLE_KEYS_BYTES}: every credit-charging usage key of the last 24 hours in
 *   compact form, about 7.5 bytes a key (48 bits of digest, less what sorting saves, a 6-bit
 *   payload fingerprint and the credits): at 100,000 keys a day of a few credits each it
 *   weighs about 730 KiB;
 * - {@link RECENT_USAGE_BYTES}: the latest usage answers in full;
 * - {@link ANSWER_WINDOW_BYTES}: grant and call answers in full;
 * - {@link UPDATE_ANSWERS_BYTES}: the answers of target-value updates by update id.
 * That leaves at least 80 KiB for the rest (rules, grants, open calls, the outbox, which the
 * workflow spills before continuing as new if need be).
 */
export const ANSWER_WINDOW_BYTES = 80 * 1024;

/**
 * Most bytes of target-value update answers (users, plan, tier, toggles, admins, tags) kept by
 * update id; see {@link ANSWER_WINDOW_BYTES}. Such updates are rare (a few a cycle), and a
 * typical answer weighs about 100 bytes, so this keeps dozens; the largest (a `setAdmins` of 50
 * long addresses) about 13 KiB, and the newest one is always kept.
 */
export const UPDATE_ANSWERS_BYTES = 16 * 1024;

/** Most bytes of usage answers kept in full; see {@link ANSWER_WINDOW_BYTES}. */
export const RECENT_USAGE_BYTES = 80 * 1024;

/**
 * Most bytes of the compact memory of credit-charging keys; past the supported volume
 * (100,000 such keys a day) its oldest sealed buckets go first. See {@link ANSWER_WINDOW_BYTES}.
 */
export const BILLABLE_KEYS_BYTES = 768 * 1024;

/**
 * Most bytes of voidable usages (the current cycle's newest credit-charging usages and the
 * grants each debited, so billing ops can void one); beyond it the oldest go first. A typical
 * record weighs about 80 bytes, so this keeps the last 800 or so.
 */
export const VOIDABLE_USAGE_BYTES = 64 * 1024;

/**
 * Most bytes of ledger entries sent in one activity call, so the batch in flight (which stays
 * in the outbox until confirmed) has a bound of its own whatever the entries hold.
 */
export const LEDGER_BATCH_BYTES = 192 * 1024;

/**
 * {@link LEDGER_BATCH_BYTES} for runs that write larger ledger batches (the workflow's
 * `compact-ledger-batches` patch): a busy account's ledger keeps up with its intake only when each
 * activity call carries more entries, since one write is in flight at a time (so the ledger's
 * order is the account's order).
 */
export const LEDGER_BATCH_BYTES_LARGE = 768 * 1024;

/**
 * The outbox's tail (everything behind the head batch) is spilled to durable storage once it
 * holds this many bytes or {@link SPILL_AT_ENTRIES} ledger entries: while the ledger is down
 * the backlog leaves the state instead of growing it.
 */
export const SPILL_AT_BYTES = 96 * 1024;
/** See {@link SPILL_AT_BYTES}. */
export const SPILL_AT_ENTRIES = 250;
/** Most bytes of ledger entries in one spilled chunk (a child workflow's input; Temporal's limit is 2 MiB). */
export const SPILL_CHUNK_BYTES = 512 * 1024;

/**
 * Most ledger entries spilled and not yet confirmed by a write to the ledger. Past it the
 * account refuses new credit-charging usage (`ledger_backlog`) rather than pile up work that
 * nothing is draining: at the intake rate of one busy account this is hours of outage.
 */
export const MAX_SPILLED_BACKLOG = 2_000_000;

/**
 * Bounds of the account's tables that grow by command, so that the carried state stays within
 * its budget whatever callers send: Voice Agent calls open at once (a further call is not
 * authorized, `too_many_open_calls`), deactivated Voice Agents, and live manual grants.
 */
export const ACCOUNT_LIMITS = { openCalls: 1_000, inactiveAgents: 1_000, manualGrants: 200 } as const;

/** Most bytes of parked effects kept in the state (the oldest go first; each was logged when parked). */
export const PARKED_BYTES = 64 * 1024;

const NON_ASCII = /[^\p{ASCII}]/u;

// Bound once, as the globals on the intake's hot path are: in the workflow sandbox each
// lookup of a global costs about 0.3 µs (see domain/digest.ts), and every usage event is weighed.
const { stringify } = JSON;

/** UTF-8 length of a string, without an encoder (the workflow sandbox and the domain share this). */
export function utf8Bytes(text: string): number {
  // Nearly all text is ASCII: one native scan then answers without a character loop.
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

/** Bytes of a value as JSON: what it weighs in a Temporal payload. */
export function jsonBytes(value: unknown): number {
  return utf8Bytes(stringify(value) ?? '');
}

/** How much each part of a carried state weighs, for logs, tests and the chaos report. */
export interface StateWeight {
  total: number;
  rules: number;
  answers: number;
  outbox: number;
  parked: number;
}

/** Weigh a state and its biggest parts. */
export function weighState(state: AccountState): StateWeight {
  return {
    total: jsonBytes(state),
    rules: jsonBytes(state.rules),
    answers:
      jsonBytes(state.remembered) + jsonBytes(state.recentUsage ?? []) + jsonBytes(state.billableKeys ?? null) + jsonBytes(state.updateAnswers ?? []),
    outbox: jsonBytes(state.outbox),
    parked: jsonBytes(state.parked ?? []),
  };
}

/**
 * The head of the outbox that one activity call takes: one charge or alert alone, or a run of
 * ledger entries up to `maxEntries` and `maxBytes` (at least one entry).
 */
export function headBatch(outbox: readonly Effect[], maxEntries: number, maxBytes: number = LEDGER_BATCH_BYTES): Effect[] {
  const head = outbox[0];
  if (!head) return [];
  if (head.type !== 'ledger') return [head];
  const batch: Effect[] = [];
  let bytes = 0;
  for (const e of outbox) {
    if (e.type !== 'ledger' || batch.length >= maxEntries) break;
    bytes += jsonBytes(e.entry);
    if (batch.length > 0 && bytes > maxBytes) break;
    batch.push(e);
  }
  return batch;
}

/**
 * Take the ledger entries behind the first `keep` effects out of the outbox, oldest first, up
 * to {@link SPILL_CHUNK_BYTES}: the workflow hands them to durable storage. Charges and alerts
 * stay in place (they are few and keep their order).
 */
export function takeSpill(state: AccountState, keep: number): LedgerEntry[] {
  const taken: LedgerEntry[] = [];
  const stay: Effect[] = state.outbox.slice(0, keep);
  let bytes = 0;
  for (const e of state.outbox.slice(keep)) {
    const size = e.type === 'ledger' ? jsonBytes(e.entry) : 0;
    if (e.type === 'ledger' && (taken.length === 0 || bytes + size <= SPILL_CHUNK_BYTES)) {
      taken.push(e.entry);
      bytes += size;
    } else stay.push(e);
  }
  state.outbox = stay;
  return taken;
}

/** Whether the outbox's tail behind the first `keep` effects is due to be spilled. */
export function spillDue(state: AccountState, keep: number): boolean {
  const tail = state.outbox.length - keep;
  if (tail >= SPILL_AT_ENTRIES) return true;
  // Below a few dozen entries the tail cannot reach the byte bound: skip weighing it.
  return tail >= 32 && jsonBytes(state.outbox.slice(keep)) >= SPILL_AT_BYTES;
}

/**
 * Make a state fit {@link CARRIED_STATE_BUDGET_BYTES} before it is carried, trimming only what
 * may be trimmed without losing money: parked effects (already logged), then the oldest full
 * usage answers (a credit-charging key among them is still known in compact form), then the
 * oldest target-value update answers and grant and call answers, and last the oldest sealed
 * buckets of credit-charging keys.
 * Returns the state's weight after trimming.
 */
export function fitToBudget(state: AccountState): StateWeight {
  let weight = weighState(state);
  const parked = state.parked ?? [];
  while (parked.length > 0 && (weight.parked > PARKED_BYTES || weight.total > CARRIED_STATE_BUDGET_BYTES)) {
    const dropped = parked.shift();
    const size = jsonBytes(dropped) + 1;
    weight = { ...weight, parked: weight.parked - size, total: weight.total - size };
  }
  for (const list of [state.recentUsage ?? [], state.updateAnswers ?? [], state.remembered]) {
    while (list.length > 0 && weight.total > CARRIED_STATE_BUDGET_BYTES) {
      const dropped = list.shift();
      const size = jsonBytes(dropped) + 1;
      weight = { ...weight, answers: weight.answers - size, total: weight.total - size };
    }
  }
  const sealed = state.billableKeys?.sealed ?? [];
  while (sealed.length > 0 && weight.total > CARRIED_STATE_BUDGET_BYTES) {
    const size = jsonBytes(sealed.shift()) + 1;
    weight = { ...weight, answers: weight.answers - size, total: weight.total - size };
  }
  return weighState(state);
}
