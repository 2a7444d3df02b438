/**
 * The remembered-answer window: each keyed command (usage, grants, call starts and ends) is
 * answered once per key, and a retry of it gets the first answer back instead of acting again.
 * The answers live in the carried state (`remembered`) so a retry is recognised across
 * continue-as-new; the window keeps a lookup index next to them, rebuilt from the state and
 * never carried.
 */
import type { AccountState, RememberedAnswer } from './account-state';
import { ANSWER_WINDOW_BYTES, jsonBytes } from './state-budget';

/**
 * How many keyed answers (usage, grants, calls) are remembered for duplicate detection, as
 * long as they weigh no more than {@link ANSWER_WINDOW_BYTES} (the carried state's budget:
 * with the longest keys that is still about 2,000 answers). Answers older than the previous
 * cycle are forgotten too. A retry arriving later than that
 * is treated as new usage; product services retry within seconds, not weeks.
 */
export const IDEMPOTENCY_WINDOW = 4096;

/** Any answer the window can remember. */
export type RememberedResult = RememberedAnswer['answer'];

/** A repeat answered as a duplicate: the first answer, flagged so the caller knows nothing happened again. */
export function asDuplicate<T extends { duplicate: boolean }>(first: T): T {
  return { ...first, duplicate: true };
}

function copyOf<T extends RememberedResult>(first: T): T {
  return { ...first };
}

/** Answers each key once, remembering the answers in the account state it wraps. */
export class AnswerWindow {
  private readonly byKey = new Map<string, RememberedAnswer>();
  /** What the remembered answers weigh as JSON (one separator byte each). */
  private bytes = 0;

  /**
   * Wrap the state's remembered answers; `limit` bounds how many are kept and `maxBytes`
   * what they may weigh (the oldest go first). The state is read afresh on each call, as a
   * cycle reset replaces its list.
   */
  constructor(
    private readonly state: Pick<AccountState, 'remembered' | 'cycle'>,
    private readonly limit: number = IDEMPOTENCY_WINDOW,
    private readonly maxBytes: number = ANSWER_WINDOW_BYTES,
  ) {
    this.reindex();
  }

  /** Whether an answer for `key` is remembered. */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /**
   * The answer for `key`: on its first sighting, `compute()` (which acts on the account) is
   * run and its answer remembered under the current cycle and returned; on a repeat,
   * `repeat` of the remembered answer (a shallow copy by default) and nothing is run. An
   * exception from `compute` leaves nothing remembered.
   */
  once<T extends RememberedResult>(key: string, compute: () => T, repeat: (first: T) => T = copyOf): T {
    const seen = this.byKey.get(key);
    if (seen) return repeat(seen.answer as T);
    const answer = compute();
    this.remember(key, answer);
    return answer;
  }

  /** Forget the answers remembered before cycle `cycle` (at a cycle reset). */
  forgetBefore(cycle: number): void {
    this.state.remembered = this.state.remembered.filter((r) => r.cycle >= cycle);
    this.byKey.clear();
    this.reindex();
  }

  private reindex(): void {
    this.bytes = 0;
    for (const r of this.state.remembered) {
      this.byKey.set(r.key, r);
      this.bytes += jsonBytes(r) + 1;
    }
  }

  private remember(key: string, answer: RememberedResult): void {
    const remembered = this.state.remembered;
    const entry: RememberedAnswer = { key, cycle: this.state.cycle.index, answer };
    remembered.push(entry);
    this.byKey.set(key, entry);
    this.bytes += jsonBytes(entry) + 1;
    let drop = 0;
    let bytes = this.bytes;
    while (remembered.length - drop > 1 && (remembered.length - drop > this.limit || bytes > this.maxBytes)) {
      bytes -= jsonBytes(remembered[drop]) + 1;
      drop += 1;
    }
    if (drop > 0) {
      this.bytes = bytes;
      for (const d of remembered.splice(0, drop)) if (this.byKey.get(d.key) === d) this.byKey.delete(d.key);
    }
  }
}
