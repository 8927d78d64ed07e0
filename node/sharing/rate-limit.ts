/**
 * @module The provider's verify rate limit per grant (Grant.verifyRatePerMinute; protocol/grant.ts leaves
 * this stateful check to the provider): a token bucket of capacity `perMinute`, refilled continuously at
 * perMinute / 60 tokens per second, starting full. So a consumer may burst up to a minute's allowance and
 * then proceeds at the steady rate; it never gets more than perMinute × (1 + t / 60 s) in any t seconds.
 *
 * Memory is bounded without losing state: a bucket untouched for 60 s is full again whatever its rate
 * (capacity / refill rate = 60 s), i.e. indistinguishable from a new one, so it is dropped. Buckets are
 * kept in a Map in last-use order, so dropping them is a walk from the front that stops at the first
 * recent one (amortised O(1) per `take`). Beyond `maxBuckets` buckets in use within one minute (more
 * grants than a provider ever serves) the least recently used one is dropped as well.
 *
 * The clock is injected. If it steps back, nothing is refilled until it has caught up again (the bucket
 * keeps its latest time), so a clock adjustment never grants extra tokens.
 */

/** A bucket is full again this long after its last use, whatever its rate. */
export const BUCKET_REFILL_MS = 60_000;
export const DEFAULT_MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  /** Epoch ms of the last refill (never decreases). */
  at: number;
}

export interface GrantRateLimiterOptions {
  /** Upper bound of buckets held at once (default 100,000). */
  maxBuckets?: number;
}

export class GrantRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxBuckets: number;

  constructor(
    private readonly clock: { now(): Date },
    options: GrantRateLimiterOptions = {},
  ) {
    this.maxBuckets = Math.max(1, options.maxBuckets ?? DEFAULT_MAX_BUCKETS);
  }

  /**
   * Take one token of `grantId`'s bucket if there is one: true to serve the request, false to refuse it.
   * A rate that is not a positive finite number refuses every request (fail closed).
   */
  take(grantId: string, perMinute: number): boolean {
    const now = this.clock.now().getTime();
    if (!Number.isFinite(now)) throw new RangeError('GrantRateLimiter: invalid clock time');
    this.evictIdle(now);
    if (!(Number.isFinite(perMinute) && perMinute > 0)) return false;

    let bucket = this.buckets.get(grantId);
    if (bucket === undefined) {
      bucket = { tokens: perMinute, at: now };
    } else {
      this.buckets.delete(grantId); // re-inserted below: the Map stays in last-use order
      if (now > bucket.at) {
        bucket.tokens = Math.min(perMinute, bucket.tokens + ((now - bucket.at) * perMinute) / BUCKET_REFILL_MS);
        bucket.at = now;
      } else {
        bucket.tokens = Math.min(perMinute, bucket.tokens); // a lowered rate also lowers the capacity
      }
    }
    this.buckets.set(grantId, bucket);
    if (this.buckets.size > this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Buckets currently held (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  /** Forget every bucket (e.g. after the grants were replaced). */
  clear(): void {
    this.buckets.clear();
  }

  /** Drop buckets unused for BUCKET_REFILL_MS (full again, so equal to a fresh bucket) from the front. */
  private evictIdle(now: number): void {
    for (const [id, b] of this.buckets) {
      if (now - b.at < BUCKET_REFILL_MS) break;
      this.buckets.delete(id);
    }
  }
}
