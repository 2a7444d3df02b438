/**
 * A per-key token bucket: each key may make `perSecond` requests a second on average, with
 * bursts up to `burst`. Kept in memory, one bucket per stored key (a bounded number, since
 * only keys the server holds get past authentication).
 */

/** A rate limit of the usage API. */
export interface RateLimit {
  /** Requests a second each key may make on average. */
  perSecond: number;
  /** Requests a key may make at once after a quiet spell. */
  burst: number;
}

/** The default: generous enough for a product service's whole fleet sending single events. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimit> = { perSecond: 20_000, burst: 40_000 };

/** Token buckets by key index. */
export class RateLimiter {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Takes one request of `key`: 0 when it may go on, else the seconds until it may (for Retry-After). */
  take(key: number): number {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limit.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.perSecond));
  }
}
