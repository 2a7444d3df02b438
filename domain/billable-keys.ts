/**
 * The compact memory of credit-charging usage keys: every key that charged credits in the last
 * 24 hours (at least), as a salted 48-bit digest with an 8-bit fingerprint of its payload and
 * the credits it charged. It lets a retry be recognised long after its full answer has left
 * the recent window, at 100,000 billable keys a day, within the carried state's budget.
 *
 * Layout (plain JSON text in the carried state):
 * - keys arrive in an open bucket, 10 characters each (digest and fingerprint, 6 bits a
 *   character) plus their credits as numbers;
 * - every {@link SEAL_AT} keys the bucket is sealed: its keys sorted by digest, the gaps between
 *   digests Golomb-Rice coded (a sorted set of n random 48-bit numbers needs about
 *   48 - log2(n) + 2 bits a key instead of 48), each followed by its fingerprint and its credits
 *   (Elias gamma: 1 bit for 1 credit), packed 13 bits to two printable characters;
 * - a bucket is dropped once its newest key is older than {@link KEY_WINDOW_MS}, or, past the
 *   supported volume, when the memory outgrows its byte bound (oldest first).
 *
 * The lookup index (digest to fingerprint and credits) is rebuilt from the text on
 * construction and never carried.
 *
 * Collisions: a new key whose digest equals a remembered one's is answered as a duplicate and
 * goes uncharged. By chance that happens with odds n / 2^48 per new key (about 1 in
 * 2,800,000,000 at 100,000 keys a day). On purpose it needs two keys with the same digest:
 * the digests are salted with the workflow's epoch, which no usage answer carries; with the
 * salt known, a colliding pair still costs about 2^24 SHA-256 runs and buys one uncharged
 * repeat, flagged `payloadMismatch` unless the payload is the same one already charged for
 * (63 times in 64). The width is what the 1 MiB carried state allows at 100,000 keys a day.
 */
import { iso } from './calendar';
import { jsonBytes } from './state-budget';

/** How long a credit-charging key is recognised at least: Stripe's idempotency window. */
export const KEY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Keys in the open bucket before it is sealed (sorted and packed). */
export const SEAL_AT = 4096;

/** Bits of a key's salted digest: a new key is taken for an old one with odds n / 2^48. */
export const DIGEST_BITS = 48;

/** Bits of a payload's fingerprint kept with each compact key. */
export const FINGERPRINT_BITS = 6;

/** A sealed bucket of keys. */
export interface SealedKeys {
  /** When its newest key was charged (ISO); `''` for keys carried from an older run, stamped at the next key. */
  last: string;
  /** How many keys it holds. */
  n: number;
  /** Its Golomb-Rice parameter. */
  k: number;
  /** `false` when its keys carry no payload fingerprint (answers carried from an older run). */
  fp?: false;
  /** The packed keys. */
  data: string;
}

/** The carried form of the memory. */
export interface BillableKeysState {
  /** Sealed buckets, oldest first. */
  sealed: SealedKeys[];
  /** Keys not yet sealed: when the newest came, 10 characters per key, and their credits. */
  open: { last: string; keys: string; credits: number[] };
}

/** What is known of a remembered key. */
export interface KnownKey {
  /** Fingerprint of its first payload; undefined when not kept. */
  fp: number | undefined;
  credits: number;
}

interface KeyRecord extends KnownKey {
  digest: number;
}

// 91 printable ASCII characters that JSON never escapes (no `"`, `\`) and shells like (no `'`).
const ALPHABET = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i))
  .filter((c) => c !== '"' && c !== "'" && c !== '\\')
  .join('');
// Each alphabet character's value by its char code, -1 for any other character: a table,
// since every character of every sealed bucket is looked up when a run opens the account.
const VALUE_OF = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE_OF[ALPHABET.charCodeAt(i)] = i;
const SYMBOL_BITS = 13;
// Bound once, as the globals on the intake's hot path are: in the workflow sandbox each
// lookup of a global costs about 0.3 µs (see domain/digest.ts), and packing a key takes dozens.
const { clz32, floor, log2, max, min } = Math;
const OPEN_KEY_CHARS = 10;

function charValue(text: string, i: number): number {
  const v = VALUE_OF[text.charCodeAt(i)] ?? -1;
  if (v < 0) throw new Error('billable key memory holds a character outside its alphabet');
  return v;
}

class BitWriter {
  private text = '';
  private acc = 0;
  private n = 0;

  write(value: number, width: number): void {
    while (width > 0) {
      const take = min(width, SYMBOL_BITS - this.n);
      const shift = width - take;
      const chunk = floor(value / 2 ** shift) % 2 ** take;
      this.acc = this.acc * 2 ** take + chunk;
      this.n += take;
      width -= take;
      if (this.n === SYMBOL_BITS) this.flush();
    }
  }

  unary(q: number): void {
    for (let i = 0; i < q; i++) this.write(1, 1);
    this.write(0, 1);
  }

  gamma(value: number): void {
    let len = 0;
    while (2 ** (len + 1) <= value) len += 1;
    this.write(0, len);
    this.write(value, len + 1);
  }

  finish(): string {
    if (this.n > 0) this.write(0, SYMBOL_BITS - this.n);
    return this.text;
  }

  private flush(): void {
    // 13 bits as two characters: 91 * 91 = 8281 >= 8192.
    this.text += ALPHABET.charAt(this.acc % 91) + ALPHABET.charAt(floor(this.acc / 91));
    this.acc = 0;
    this.n = 0;
  }
}

class BitReader {
  private pos = 0;
  /** The bits of the current symbol not yet read, as an integer below 2^n. */
  private acc = 0;
  private n = 0;

  constructor(private readonly text: string) {}

  read(width: number): number {
    let value = 0;
    while (width > 0) {
      if (this.n === 0) this.next();
      const take = width < this.n ? width : this.n;
      // A symbol holds 13 bits, so its arithmetic stays within 32-bit integers; the value
      // (up to 48 bits) is built in floating point, which is exact below 2^53.
      const rest = this.n - take;
      value = value * (1 << take) + (this.acc >>> rest);
      this.acc &= (1 << rest) - 1;
      this.n = rest;
      width -= take;
    }
    return value;
  }

  unary(): number {
    let q = 0;
    for (;;) {
      if (this.n === 0) this.next();
      // Count the leading ones of what is left of the symbol at once.
      const ones = clz32(~(this.acc << (32 - this.n)) | 0);
      if (ones < this.n) {
        q += ones;
        this.n -= ones + 1;
        this.acc &= (1 << this.n) - 1;
        return q;
      }
      q += this.n;
      this.n = 0;
      this.acc = 0;
    }
  }

  gamma(): number {
    let len = 0;
    while (this.read(1) === 0) len += 1;
    return 2 ** len + this.read(len);
  }

  private next(): void {
    if (this.pos + 1 >= this.text.length) throw new Error('billable key memory ends early');
    // Two characters give up to 8,280; a symbol is the low 13 bits (all a writer ever sets).
    this.acc = (charValue(this.text, this.pos) + 91 * charValue(this.text, this.pos + 1)) & 0x1fff;
    this.pos += 2;
    this.n = SYMBOL_BITS;
  }
}

/** The Golomb-Rice parameter that packs these sorted digests smallest. */
function riceParameter(digests: readonly number[]): number {
  const mean = 2 ** DIGEST_BITS / max(1, digests.length);
  const guess = max(0, floor(log2(mean)));
  let best = guess;
  let bestBits = Infinity;
  for (const k of [guess - 2, guess - 1, guess, guess + 1].filter((x) => x >= 0)) {
    let bits = 0;
    let prev = 0;
    for (const d of digests) {
      bits += floor((d - prev) / 2 ** k) + 1 + k;
      prev = d;
    }
    if (bits < bestBits) [best, bestBits] = [k, bits];
  }
  return best;
}

/** Pack records (any order) into a sealed bucket. */
export function seal(records: readonly KeyRecord[], last: string): SealedKeys {
  const sorted = [...records].sort((a, b) => a.digest - b.digest);
  const k = riceParameter(sorted.map((r) => r.digest));
  const withFp = sorted.every((r) => r.fp !== undefined);
  const out = new BitWriter();
  let prev = 0;
  for (const r of sorted) {
    const gap = r.digest - prev;
    out.unary(floor(gap / 2 ** k));
    out.write(gap % 2 ** k, k);
    if (withFp) out.write(r.fp as number, FINGERPRINT_BITS);
    out.gamma(r.credits);
    prev = r.digest;
  }
  const bucket: SealedKeys = { last, n: sorted.length, k, data: out.finish() };
  if (!withFp) bucket.fp = false;
  return bucket;
}

/** The records of a sealed bucket, sorted by digest. */
export function unseal(bucket: SealedKeys): KeyRecord[] {
  const input = new BitReader(bucket.data);
  const records: KeyRecord[] = [];
  let prev = 0;
  for (let i = 0; i < bucket.n; i++) {
    const digest = prev + input.unary() * 2 ** bucket.k + input.read(bucket.k);
    const fp = bucket.fp === false ? undefined : input.read(FINGERPRINT_BITS);
    records.push({ digest, fp, credits: input.gamma() });
    prev = digest;
  }
  return records;
}

function openKeyText(digest: number, fp: number): string {
  let text = '';
  for (let shift = DIGEST_BITS - 6; shift >= 0; shift -= 6) text += ALPHABET.charAt(floor(digest / 2 ** shift) % 64);
  return text + ALPHABET.charAt(fp >> 4) + ALPHABET.charAt(fp & 15);
}

function openRecords(open: BillableKeysState['open']): KeyRecord[] {
  const records: KeyRecord[] = [];
  for (let i = 0; i < open.credits.length; i++) {
    const at = i * OPEN_KEY_CHARS;
    let digest = 0;
    for (let c = 0; c < 8; c++) digest = digest * 64 + charValue(open.keys, at + c);
    const fp = charValue(open.keys, at + 8) * 16 + charValue(open.keys, at + 9);
    records.push({ digest, fp, credits: open.credits[i] ?? 0 });
  }
  return records;
}

/** An empty memory. */
export function emptyBillableKeys(): BillableKeysState {
  return { sealed: [], open: { last: '', keys: '', credits: [] } };
}

/**
 * The memory of credit-charging keys in a state (created there on first use), with its lookup
 * index. `maxBytes` bounds what it weighs as JSON (the oldest sealed buckets go first);
 * `sealAt` is how many keys the open bucket takes before it is sealed.
 */
export class BillableKeys {
  private readonly index = new Map<number, KnownKey>();
  /** Digests of each sealed bucket, in the same order, to unindex a bucket that is dropped. */
  private readonly sealedDigests: number[][] = [];
  /** The time of the last {@link expire}: a second one at the same time has nothing to do. */
  private expiredAt = NaN;

  constructor(
    private readonly holder: { billableKeys?: BillableKeysState },
    private readonly maxBytes: number,
    private readonly sealAt: number = SEAL_AT,
  ) {
    const memory = holder.billableKeys;
    if (!memory) return;
    for (const bucket of memory.sealed) this.sealedDigests.push(this.indexAll(unseal(bucket)));
    this.indexAll(openRecords(memory.open));
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.index.size;
  }

  /** What is known of a digest, if it is remembered. */
  find(digest: number): KnownKey | undefined {
    return this.index.get(digest);
  }

  /**
   * Remember a key charged at `nowMs`; first drop what has aged out, and after adding, seal a
   * full open bucket and keep within the byte bound.
   */
  add(digest: number, fp: number, credits: number, nowMs: number): void {
    const memory = this.memory();
    this.expire(nowMs);
    const at = iso(nowMs);
    memory.open.keys += openKeyText(digest, fp);
    memory.open.credits.push(credits);
    memory.open.last = at;
    this.index.set(digest, { fp, credits });
    if (memory.open.credits.length >= this.sealAt) {
      const records = openRecords(memory.open);
      memory.sealed.push(seal(records, at));
      this.sealedDigests.push(records.map((r) => r.digest));
      memory.open = { last: '', keys: '', credits: [] };
      while (memory.sealed.length > 1 && jsonBytes(memory) > this.maxBytes) this.dropOldest();
    }
  }

  /**
   * Remember keys carried by an older run without a time or a payload fingerprint: sealed
   * apart, stamped with the time of the next key charged, so they too are kept a full window.
   */
  adopt(keys: readonly { digest: number; credits: number }[]): void {
    const fresh = new Map<number, KeyRecord>();
    for (const { digest, credits } of keys) if (!this.index.has(digest)) fresh.set(digest, { digest, fp: undefined, credits });
    if (fresh.size === 0) return;
    // The unstamped bucket is stamped at the next expiry, whatever its time.
    this.expiredAt = NaN;
    this.memory().sealed.push(seal([...fresh.values()], ''));
    this.sealedDigests.push(this.indexAll([...fresh.values()]));
  }

  /** Drop the buckets whose newest key is older than {@link KEY_WINDOW_MS} at `nowMs`. */
  expire(nowMs: number): void {
    const memory = this.holder.billableKeys;
    if (!memory) return;
    // Nothing ages out twice at one time: a batch's events all run at the same time.
    if (nowMs === this.expiredAt) return;
    this.expiredAt = nowMs;
    const at = iso(nowMs);
    for (const bucket of memory.sealed) if (bucket.last === '') bucket.last = at;
    while (memory.sealed.length > 0 && Date.parse(memory.sealed[0]?.last ?? '') < nowMs - KEY_WINDOW_MS) this.dropOldest();
    if (memory.open.last !== '' && Date.parse(memory.open.last) < nowMs - KEY_WINDOW_MS) {
      for (const r of openRecords(memory.open)) this.index.delete(r.digest);
      memory.open = { last: '', keys: '', credits: [] };
    }
  }

  private dropOldest(): void {
    this.holder.billableKeys?.sealed.shift();
    for (const d of this.sealedDigests.shift() ?? []) this.index.delete(d);
  }

  private memory(): BillableKeysState {
    this.holder.billableKeys ??= emptyBillableKeys();
    return this.holder.billableKeys;
  }

  private indexAll(records: readonly KeyRecord[]): number[] {
    for (const r of records) this.index.set(r.digest, { fp: r.fp, credits: r.credits });
    return records.map((r) => r.digest);
  }
}
