/**
 * A ledger batch in compact form, as the account workflow hands it to the `appendLedger`
 * activity. Every batch rides in the workflow's history (the activity's input), and on a busy
 * account the ledger entries were most of it: about 375 bytes an entry, against some 150 for
 * the usage event and its answer. History is what the server persists, so its bytes bound the
 * intake. In compact form what every entry of the batch shares is written once (account,
 * rules version, cycle), the id is left out where it is the account's `<account>:<epoch>:<seq>`,
 * the time is an offset in ms from the batch's first, and field names are one or two letters:
 * about a third of the size. Decoding gives back exactly the entries encoded (checked by a
 * property test), and a field this module does not know is carried under its own name.
 */
import { epochOfId, ledgerIdPrefix, type LedgerEntry } from './effects';
import { iso } from './calendar';

/** A batch of ledger entries in compact form (see the module comment). */
export interface CompactLedgerBatch {
  /**
   * Format version. In version 2 each entry after the first holds only what differs from the
   * entry before it (see {@link encodeLedgerBatch}).
   */
  v: 1 | 2;
  /** The account every entry is for. */
  a: string;
  /** The epoch of the entry ids `<account>:<epoch>:<seq>`. */
  e: string;
  /** The rules version of the entries that name none of their own. */
  r: string;
  /** The cycle index of the entries that name none of their own. */
  y: number;
  /** The first entry's time, ms since the epoch; each entry's `t` is an offset from it. */
  t: number;
  /** The entries, each with short field names. */
  x: Record<string, unknown>[];
}

// Short names of the entry fields (never one of the batch's own letters inside an entry:
// `id`, `av`, `ay` and `at` below hold what differs from the batch).
const SHORT = {
  seq: 's',
  kind: 'k',
  credits: 'c',
  balanceAfter: 'b',
  feature: 'f',
  quantity: 'q',
  unit: 'u',
  userId: 'w',
  idempotencyKey: 'i',
  decision: 'd',
  reason: 'z',
  debits: 'D',
  grantId: 'g',
  source: 'o',
  amountCents: 'm',
  callId: 'l',
  agentId: 'A',
  note: 'n',
} as const satisfies Partial<Record<keyof LedgerEntry, string>>;
const LONG: Record<string, string> = Object.fromEntries(Object.entries(SHORT).map(([long, short]) => [short, long]));
const BATCH_FIELDS = new Set(['entryId', 'accountId', 'rulesVersion', 'cycleIndex', 'at']);

// Bound once: in the workflow sandbox each lookup of a global costs about 0.3 µs (see
// domain/digest.ts), and every usage event's ledger entry is encoded.
const { stringify } = JSON;
const { entries: entriesOf, keys: keysOf, hasOwn } = Object;

// The entries of a batch mostly share their time (a batch update's events all have one): the
// last time read is remembered rather than parsed and checked again for each entry (`iso`
// remembers the last time written).
let lastAt = '';
let lastAtMs: number | undefined;

/** Whether `at` is the canonical ISO text of its own instant, so ms give it back exactly. */
function canonicalMs(at: string): number | undefined {
  if (at !== lastAt) {
    const ms = Date.parse(at);
    lastAtMs = Number.isFinite(ms) && new Date(ms).toISOString() === at ? ms : undefined;
    lastAt = at;
  }
  return lastAtMs;
}


/**
 * Encodes entries (at least one, all of one account) as a compact batch. Version 2 writes each
 * entry after the first as its difference from the one before: a field with the same value is
 * left out, `s` when it is one more than the previous entry's, `b` when it is the previous
 * balance less this entry's credits, and a field the previous entry had and this one lacks is
 * named in `-`. A busy account's usage entries then hold little more than their idempotency
 * key: about a sixth of version 1.
 */
export function encodeLedgerBatch(entries: readonly LedgerEntry[], version: 1 | 2 = 1): CompactLedgerBatch {
  const batch = encodeFull(entries);
  if (version === 1) return batch;
  return { ...batch, v: 2, x: batch.x.map((item, i) => (i === 0 ? item : differenceOf(item, batch.x[i - 1] ?? {}))) };
}

/** Whether a v1 item's `s` follows from the previous item's (one more). */
function seqFollows(item: Record<string, unknown>, prev: Record<string, unknown>): boolean {
  return typeof item.s === 'number' && typeof prev.s === 'number' && item.s === prev.s + 1;
}

/** Whether a v1 item's `b` follows from the previous item's (its balance less this item's credits). */
function balanceFollows(item: Record<string, unknown>, prev: Record<string, unknown>): boolean {
  return typeof item.b === 'number' && typeof prev.b === 'number' && typeof item.c === 'number' && item.b === prev.b - item.c;
}

/** Whether two JSON values are the same (a primitive by value, a list or an object by its text). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && stringify(a) === stringify(b);
}

/** A v1 item as its difference from the previous one (version 2). */
function differenceOf(item: Record<string, unknown>, prev: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entriesOf(item)) {
    if (key === 's' && seqFollows(item, prev)) continue;
    if (key === 'b' && balanceFollows(item, prev)) continue;
    if (key !== 's' && key !== 'b' && hasOwn(prev, key) && sameJson(prev[key], value)) continue;
    out[key] = value;
  }
  const gone = keysOf(prev).filter((key) => !hasOwn(item, key));
  if (gone.length > 0) out['-'] = gone;
  return out;
}

/** The v1 item a version 2 difference stands for, given the previous v1 item. */
function itemOf(diff: Record<string, unknown>, prev: Record<string, unknown>): Record<string, unknown> {
  const gone = new Set(Array.isArray(diff['-']) ? (diff['-'] as unknown[]) : []);
  const item: Record<string, unknown> = {};
  for (const [key, value] of entriesOf(prev)) if (!gone.has(key) && key !== 's' && key !== 'b') item[key] = value;
  for (const [key, value] of entriesOf(diff)) if (key !== '-') item[key] = value;
  if (!hasOwn(diff, 's') && !gone.has('s') && typeof prev.s === 'number') item.s = prev.s + 1;
  if (!hasOwn(diff, 'b') && !gone.has('b') && typeof prev.b === 'number' && typeof item.c === 'number') item.b = prev.b - item.c;
  return item;
}

function encodeFull(entries: readonly LedgerEntry[]): CompactLedgerBatch {
  const first = entries[0];
  if (!first) throw new RangeError('a ledger batch holds at least one entry');
  // An id that does not start with the account (none this workflow writes) gives no epoch.
  const epoch = first.entryId.startsWith(`${first.accountId}:`) ? (epochOfId(first.entryId) ?? '') : '';
  // An entry whose id is this prefix and its sequence number is written without its id.
  const own = ledgerIdPrefix(first.accountId, epoch);
  const base = canonicalMs(first.at) ?? 0;
  const x = entries.map((entry) => {
    if (entry.accountId !== first.accountId) throw new RangeError('a ledger batch holds the entries of one account');
    const out: Record<string, unknown> = {};
    if (entry.entryId !== `${own}${entry.seq}`) out.id = entry.entryId;
    if (entry.rulesVersion !== first.rulesVersion) out.av = entry.rulesVersion;
    if (entry.cycleIndex !== first.cycleIndex) out.ay = entry.cycleIndex;
    const ms = canonicalMs(entry.at);
    if (ms === undefined) out.at = entry.at;
    else out.t = ms - base;
    for (const [field, value] of entriesOf(entry)) {
      if (BATCH_FIELDS.has(field) || value === undefined) continue;
      if (field === 'debits' && Array.isArray(value)) {
        // A debit of exactly a grant and credits is a pair; anything else stays as it is.
        out.D = (value as Record<string, unknown>[]).map((d) =>
          keysOf(d).length === 2 && typeof d.grantId === 'string' && typeof d.credits === 'number' ? [d.grantId, d.credits] : d,
        );
      } else {
        out[(SHORT as Record<string, string>)[field] ?? field] = value;
      }
    }
    return out;
  });
  return { v: 1, a: first.accountId, e: epoch, r: first.rulesVersion, y: first.cycleIndex, t: base, x };
}

/** Whether `value` is a compact batch (the activity also takes `{ entries }` from older runs). */
export function isCompactLedgerBatch(value: unknown): value is CompactLedgerBatch {
  const b = value as Partial<CompactLedgerBatch> | null;
  return typeof b === 'object' && b !== null && (b.v === 1 || b.v === 2) && typeof b.a === 'string' && typeof b.e === 'string' && Array.isArray(b.x);
}

/** The entries of a compact batch, exactly as they were encoded. */
export function decodeLedgerBatch(batch: CompactLedgerBatch): LedgerEntry[] {
  let items = batch.x;
  if (batch.v === 2) {
    let prev: Record<string, unknown> = {};
    items = batch.x.map((diff, i) => (prev = i === 0 ? diff : itemOf(diff, prev)));
  }
  const own = ledgerIdPrefix(batch.a, batch.e);
  return items.map((item) => {
    const entry: Record<string, unknown> = {};
    const seq = item.s;
    entry.entryId = typeof item.id === 'string' ? item.id : `${own}${String(seq)}`;
    entry.accountId = batch.a;
    entry.rulesVersion = item.av ?? batch.r;
    entry.cycleIndex = item.ay ?? batch.y;
    entry.at = typeof item.at === 'string' ? item.at : iso(batch.t + Number(item.t));
    for (const [short, value] of entriesOf(item)) {
      if (short === 'id' || short === 'av' || short === 'ay' || short === 'at' || short === 't') continue;
      if (short === 'D' && Array.isArray(value)) {
        entry.debits = (value as unknown[]).map((d) => (Array.isArray(d) ? { grantId: d[0] as string, credits: d[1] as number } : d));
      } else {
        entry[LONG[short] ?? short] = value;
      }
    }
    return entry as unknown as LedgerEntry;
  });
}
