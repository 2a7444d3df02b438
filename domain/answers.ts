/**
 * The remembered-answer window: each keyed command (usage, grants, call starts and ends) is
 * answered once per key, and a retry of it gets the first answer back instead of acting again.
 * The answers live in the carried state so a retry is recognised across continue-as-new, in
 * three parts that cannot push each other out:
 * - `remembered`: grants and call starts and ends, in full (and usage answers carried by runs
 *   older than this split, still recognised until they age out);
 * - `recentUsage`: the latest usage answers, free or not, in full, with a payload fingerprint;
 * - `billableKeys`: every usage key that charged credits in the last 24 hours at least, in
 *   compact form (domain/billable-keys.ts), so neither free usage nor volume evicts it;
 * - `updateAnswers`: the answers of updates that set a target value, which carry no key of
 *   their own, by their Temporal update id.
 * The window keeps a lookup index next to them, rebuilt from the state and never carried.
 */
import type { AccountState, RememberedAnswer, TargetUpdateResult } from './account-state';
import type { GrantCreditsInput, RecordUsageInput, RecordUsageResult } from './wire-contract';
import { available } from './account-state';
import { BillableKeys, DIGEST_BITS, FINGERPRINT_BITS } from './billable-keys';
import { fingerprint48, leadingBits, sha256 } from './digest';
import { ANSWER_WINDOW_BYTES, BILLABLE_KEYS_BYTES, RECENT_USAGE_BYTES, UPDATE_ANSWERS_BYTES, jsonBytes } from './state-budget';

// Bound once: in the workflow sandbox each lookup of a global costs about 0.3 µs (see
// domain/digest.ts), and every usage event is keyed and fingerprinted.
const { stringify } = JSON;
const { parseInt: parseInteger } = Number;

/**
 * How many grant and call answers are remembered in full, as long as they weigh no more than
 * {@link ANSWER_WINDOW_BYTES} (with the longest ids that is still about 300 answers). Answers
 * older than the previous cycle are forgotten too. A retry arriving later than that is
 * treated as new; product services retry within seconds, not weeks. (Usage has windows of its
 * own: {@link RECENT_USAGE_WINDOW} and the compact memory of credit-charging keys.)
 */
export const IDEMPOTENCY_WINDOW = 1024;

/**
 * How many usage answers (free or credit-charging) are remembered in full, as long as they
 * weigh no more than {@link RECENT_USAGE_BYTES}. A credit-charging key that leaves it is still
 * recognised for 24 hours by its compact form; a free one is then new again (and costs nothing).
 */
export const RECENT_USAGE_WINDOW = 1024;

/**
 * How many target-value update answers are remembered, as long as they weigh no more than
 * {@link UPDATE_ANSWERS_BYTES}, for the current and the previous cycle: such updates come a few
 * a cycle, and a lost answer is retried within seconds or minutes.
 */
export const UPDATE_ANSWERS_WINDOW = 64;

/**
 * The window's key of a target-value update: its name and the first 128 bits of the SHA-256 of
 * its Temporal update id. The id is the caller's and may be long or hold any character; the
 * digest keeps each answer small, and two ids share one with odds of 1 in 2^128.
 */
export function updateKey(name: string, updateId: string): string {
  const digest = sha256(updateId);
  let hex = '';
  for (let i = 0; i < 16; i++) hex += (digest[i] ?? 0).toString(16).padStart(2, '0');
  return `update:${name}:${hex}`;
}

/** Any answer the window can remember. */
export type RememberedResult = RememberedAnswer['answer'];

/**
 * What a keyed command tells the window beyond its key: the payload the key was sent with (to
 * tell a reused key with another payload), and for usage the time and how to answer a key
 * known only by its compact form.
 */
export interface KeyedUse<T extends RememberedResult> {
  /** The payload as canonical text; a repeat with another payload is flagged `payloadMismatch`. */
  payload: string;
  /** When the command runs: a credit-charging usage key is remembered from then for 24 hours at least. */
  nowMs?: number;
  /** The answer to a repeat of a key known only by its compact form, which kept the credits it charged. */
  recall?: (credits: number) => T;
}

/** A repeat answered as a duplicate: the first answer, flagged so the caller knows nothing happened again. */
export function asDuplicate<T extends { duplicate: boolean }>(first: T): T {
  return { ...first, duplicate: true };
}

/** What the window needs of a `recordUsage`: its payload, its time, and the answer to an old repeat. */
export function usageUse(state: AccountState, input: RecordUsageInput, nowMs: number): KeyedUse<RecordUsageResult> {
  return {
    payload: stringify([input.feature, input.quantity, input.userId ?? null]),
    nowMs,
    // The first answer's balance is not kept in compact form: the balance now is given instead.
    recall: (credits) => ({ accepted: true, credits, balance: available(state), duplicate: true }),
  };
}

/** What the window needs of a `grantCredits`: its payload. */
export function grantUse(input: GrantCreditsInput): KeyedUse<never> {
  return { payload: stringify([input.credits, input.reason, input.validForCycles]) };
}

// Target-value answers hold lists (admins, tags, promotions) that may be the state's own.
function deepCopy<T extends TargetUpdateResult>(answer: T): T {
  return JSON.parse(stringify(answer)) as T;
}

function copyOf<T extends RememberedResult>(first: T): T {
  return { ...first };
}


/** The compact fingerprint: the first {@link FINGERPRINT_BITS} bits of the full one. */
function compactFingerprint(fp: string): number {
  return parseInteger(fp.slice(0, 2), 16) >> (8 - FINGERPRINT_BITS);
}

const isUsageKey = (key: string) => key.startsWith('usage:');

/** Credits charged by an answer, when it is a usage answer that charged any. */
function chargedCredits(key: string, answer: RememberedResult): number {
  return isUsageKey(key) && 'accepted' in answer && answer.accepted ? answer.credits : 0;
}

type WindowState = Pick<AccountState, 'remembered' | 'cycle'> &
  Partial<Pick<AccountState, 'recentUsage' | 'billableKeys' | 'epoch' | 'accountId' | 'updateAnswers'>>;

/** One bounded list of full answers, oldest first, with what each weighs (kept in memory, never carried). */
class FullAnswers {
  private bytes = 0;
  private sizes: number[] = [];

  constructor(
    private readonly list: () => RememberedAnswer[],
    private readonly limit: number,
    private readonly maxBytes: number,
  ) {}

  /** Weigh the list afresh (it was replaced or trimmed from outside). */
  weigh(): void {
    this.sizes = this.list().map((r) => jsonBytes(r) + 1);
    this.bytes = this.sizes.reduce((sum, n) => sum + n, 0);
  }

  /** Add an answer; returns those dropped to stay within the bounds. */
  push(entry: RememberedAnswer): RememberedAnswer[] {
    const list = this.list();
    if (this.sizes.length !== list.length) this.weigh();
    const size = jsonBytes(entry) + 1;
    list.push(entry);
    this.sizes.push(size);
    this.bytes += size;
    const dropped: RememberedAnswer[] = [];
    while (list.length > 1 && (list.length > this.limit || this.bytes > this.maxBytes)) {
      this.bytes -= this.sizes.shift() ?? 0;
      const d = list.shift();
      if (d) dropped.push(d);
    }
    return dropped;
  }
}

/** Answers each key once, remembering the answers in the account state it wraps. */
export class AnswerWindow {
  private readonly byKey = new Map<string, RememberedAnswer>();
  private readonly others: FullAnswers;
  private readonly usage: FullAnswers;
  private readonly updates: FullAnswers;
  private readonly billable: BillableKeys;
  /**
   * Salt of the key digests (the workflow's epoch and the account id): a usage caller never
   * sees the epoch, so it cannot craft two keys whose digests collide (see billable-keys.ts).
   */
  private readonly salt: string;

  /**
   * Wrap the state's remembered answers; `limit` bounds how many grant and call answers are
   * kept and `maxBytes` what they may weigh (the oldest go first); `sizes` shrinks the usage
   * window and the compact memory's buckets (for tests). The state is read afresh on
   * each call, as a cycle reset replaces its lists. Credit-charging usage answers carried by an
   * older run are adopted into the compact memory, so they too are recognised for 24 hours.
   */
  constructor(
    private readonly state: WindowState,
    limit: number = IDEMPOTENCY_WINDOW,
    maxBytes: number = ANSWER_WINDOW_BYTES,
    sizes: { usageLimit?: number; sealAt?: number } = {},
  ) {
    this.salt = `${state.epoch ?? ''}:${state.accountId ?? ''}`;
    this.others = new FullAnswers(() => this.state.remembered, limit, maxBytes);
    this.usage = new FullAnswers(() => (this.state.recentUsage ??= []), sizes.usageLimit ?? RECENT_USAGE_WINDOW, RECENT_USAGE_BYTES);
    this.updates = new FullAnswers(() => (this.state.updateAnswers ??= []), UPDATE_ANSWERS_WINDOW, UPDATE_ANSWERS_BYTES);
    this.billable = new BillableKeys(state, BILLABLE_KEYS_BYTES, sizes.sealAt);
    this.reindex();
    if (!state.billableKeys) {
      const carried = state.remembered.filter((r) => chargedCredits(r.key, r.answer) > 0);
      this.billable.adopt(carried.map((r) => ({ digest: this.digest(r.key), credits: chargedCredits(r.key, r.answer) })));
    }
  }

  /** Whether an answer for `key` is remembered, in full or in compact form. */
  has(key: string): boolean {
    return this.byKey.has(key) || (isUsageKey(key) && this.billable.size > 0 && this.billable.find(this.digest(key)) !== undefined);
  }

  /**
   * The answer for `key`: on its first sighting, `compute()` (which acts on the account) is
   * run and its answer remembered under the current cycle and returned; on a repeat,
   * `repeat` of the remembered answer (a shallow copy by default) and nothing is run, flagged
   * `payloadMismatch: true` when `use` says the payload differs from the first one's. A usage
   * key known only in compact form is answered by `use.recall`. An exception from `compute`
   * leaves nothing remembered.
   */
  once<T extends RememberedResult>(key: string, compute: () => T, repeat: (first: T) => T = copyOf, use?: KeyedUse<T>): T {
    const fp = use ? fingerprint48(use.payload) : undefined;
    const seen = this.byKey.get(key);
    if (seen) {
      const answer = repeat(seen.answer as T);
      return fp !== undefined && seen.fp !== undefined && seen.fp !== fp ? ({ ...answer, payloadMismatch: true } as T) : answer;
    }
    // The salted digest is worked out once, and only for usage the compact memory may know.
    const digest = isUsageKey(key) && use?.nowMs !== undefined ? this.digest(key) : undefined;
    if (use?.recall && digest !== undefined && this.billable.size > 0) {
      const known = this.billable.find(digest);
      if (known) {
        const answer = use.recall(known.credits);
        const mismatch = fp !== undefined && known.fp !== undefined && known.fp !== compactFingerprint(fp);
        return mismatch ? ({ ...answer, payloadMismatch: true } as T) : answer;
      }
    }
    const answer = compute();
    this.remember(key, answer, fp);
    const credits = chargedCredits(key, answer);
    if (credits > 0 && digest !== undefined && use?.nowMs !== undefined) {
      this.billable.add(digest, compactFingerprint(fp ?? '00'), credits, use.nowMs);
    }
    return answer;
  }

  /**
   * The first answer of the target-value update `name` with Temporal update id `updateId`, when
   * it is remembered (a copy), or undefined.
   */
  updateAnswer(name: string, updateId: string): TargetUpdateResult | undefined {
    if (!this.state.updateAnswers?.length) return undefined;
    const seen = this.byKey.get(updateKey(name, updateId));
    return seen ? deepCopy(seen.answer as TargetUpdateResult) : undefined;
  }

  /** Remember the answer of a target-value update that was applied, by its Temporal update id. */
  rememberUpdate(name: string, updateId: string, answer: TargetUpdateResult): void {
    const key = updateKey(name, updateId);
    const entry: RememberedAnswer = { key, cycle: this.state.cycle.index, answer: deepCopy(answer) };
    this.byKey.set(key, entry);
    for (const d of this.updates.push(entry)) if (this.byKey.get(d.key) === d) this.byKey.delete(d.key);
  }

  /** Forget the full answers remembered before cycle `cycle` (at a cycle reset); compact keys age by time only. */
  /** Whether anything remembered is older than `cycle` (what {@link forgetBefore} would drop). */
  holdsBefore(cycle: number): boolean {
    const older = (r: { cycle: number }) => r.cycle < cycle;
    return this.state.remembered.some(older) || (this.state.recentUsage ?? []).some(older) || (this.state.updateAnswers ?? []).some(older);
  }

  forgetBefore(cycle: number): void {
    this.state.remembered = this.state.remembered.filter((r) => r.cycle >= cycle);
    if (this.state.recentUsage) this.state.recentUsage = this.state.recentUsage.filter((r) => r.cycle >= cycle);
    if (this.state.updateAnswers) this.state.updateAnswers = this.state.updateAnswers.filter((r) => r.cycle >= cycle);
    this.byKey.clear();
    this.reindex();
  }

  /** The salted digest of a key, as a number below 2^48. */
  private digest(key: string): number {
    return leadingBits(sha256(`${this.salt}\n${key}`), DIGEST_BITS);
  }

  private reindex(): void {
    for (const r of this.state.remembered) this.byKey.set(r.key, r);
    for (const r of this.state.recentUsage ?? []) this.byKey.set(r.key, r);
    for (const r of this.state.updateAnswers ?? []) this.byKey.set(r.key, r);
    this.others.weigh();
    this.usage.weigh();
    this.updates.weigh();
  }

  private remember(key: string, answer: RememberedResult, fp: string | undefined): void {
    const entry: RememberedAnswer = { key, cycle: this.state.cycle.index, answer };
    if (fp !== undefined) entry.fp = fp;
    this.byKey.set(key, entry);
    const dropped = isUsageKey(key) ? this.usage.push(entry) : this.others.push(entry);
    for (const d of dropped) if (this.byKey.get(d.key) === d) this.byKey.delete(d.key);
  }
}
