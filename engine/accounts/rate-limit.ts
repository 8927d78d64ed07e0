/**
 * @module Login throttling: after `max` failures for one key within `windowMs`, further attempts are
 * refused until the window passes. Only keys with a failure in the window are kept: asking about a
 * key stores nothing, expired keys are swept as the map grows, and beyond `maxKeys` the keys whose
 * last failure is oldest go first (so a flood of random names cannot grow memory without bound, and
 * evicting a throttled key takes `maxKeys` fresh failures, each paying a gated password hash).
 */
import type { Clock } from '../clock.ts';

export class FailureLimiter {
  /** Key → failure times, oldest first; the map is ordered by each key's last failure (oldest first). */
  private readonly failures = new Map<string, number[]>();
  private sweepAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly max = 5,
    private readonly windowMs = 15 * 60_000,
    private readonly maxKeys = 10_000,
  ) {
    this.sweepAt = Math.min(1024, maxKeys);
  }

  /** Keys currently held (tests, status). */
  get size(): number {
    return this.failures.size;
  }

  /** Milliseconds until `key` may try again, or 0 if it may try now. */
  retryAfterMs(key: string): number {
    const list = this.failures.get(key);
    if (!list) return 0;
    const now = this.clock.now().getTime();
    const recent = this.recent(list, now);
    if (recent.length === 0) {
      this.failures.delete(key);
      return 0;
    }
    if (recent !== list) this.failures.set(key, recent);
    return recent.length >= this.max ? this.windowMs - (now - recent[0]!) : 0;
  }

  fail(key: string): void {
    const now = this.clock.now().getTime();
    const list = this.recent(this.failures.get(key) ?? [], now);
    list.push(now);
    // Only the last `max` failures matter for the decision.
    if (list.length > this.max) list.splice(0, list.length - this.max);
    this.failures.delete(key); // re-insert: the map stays ordered by last failure
    this.failures.set(key, list);
    if (this.failures.size > this.sweepAt) this.prune(now);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  /** Drop expired keys; then, if still over `maxKeys`, the keys whose last failure is oldest. */
  private prune(now: number): void {
    for (const [k, list] of this.failures) {
      // Ordered by last failure: the first key whose last failure is recent ends the expired run.
      if (now - list[list.length - 1]! < this.windowMs) break;
      this.failures.delete(k);
    }
    for (const k of this.failures.keys()) {
      if (this.failures.size <= this.maxKeys) break;
      this.failures.delete(k);
    }
    // Sweep again only after the map doubled (amortised O(1) a failure), never beyond the cap.
    this.sweepAt = Math.min(this.maxKeys, Math.max(1024, this.failures.size * 2));
  }

  private recent(list: number[], now: number): number[] {
    let i = 0;
    while (i < list.length && now - list[i]! >= this.windowMs) i++;
    return i === 0 ? list : list.slice(i);
  }
}
