/** @module The per-grant verify rate limiter: bursts, continuous refill, eviction of idle buckets, clock steps. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUCKET_REFILL_MS, GrantRateLimiter } from './rate-limit.ts';

const G1 = '01950000-0000-7000-8000-0000000000a1';
const G2 = '01950000-0000-7000-8000-0000000000a2';

function fakeClock(start = Date.parse('2025-03-01T08:00:00Z')) {
  let t = start;
  return {
    now: () => new Date(t),
    advance: (ms: number) => (t += ms),
    set: (ms: number) => (t = ms),
    get t() {
      return t;
    },
  };
}

/** How many of `n` takes succeed right now. */
const takes = (l: GrantRateLimiter, id: string, perMinute: number, n: number): number => Array.from({ length: n }, () => l.take(id, perMinute)).filter(Boolean).length;

describe('GrantRateLimiter', () => {
  it('allows a burst of perMinute, then refills continuously at perMinute / 60 per second', () => {
    const clock = fakeClock();
    const l = new GrantRateLimiter(clock);
    assert.equal(takes(l, G1, 3, 5), 3, 'burst of capacity');
    assert.equal(l.take(G1, 3), false);
    clock.advance(19_999);
    assert.equal(l.take(G1, 3), false, 'one token takes 20 s at 3 per minute');
    clock.advance(1);
    assert.equal(l.take(G1, 3), true);
    assert.equal(l.take(G1, 3), false);
    clock.advance(10 * 60_000);
    assert.equal(takes(l, G1, 3, 10), 3, 'never more than the capacity, however long idle');

    const fast = new GrantRateLimiter(clock);
    assert.equal(takes(fast, G1, 120, 200), 120);
    clock.advance(499);
    assert.equal(fast.take(G1, 120), false);
    clock.advance(1);
    assert.equal(fast.take(G1, 120), true, '2 per second');
  });

  it('never exceeds perMinute × (1 + t / 60 s) over a steady stream', () => {
    const clock = fakeClock();
    const l = new GrantRateLimiter(clock);
    let allowed = 0;
    for (let s = 0; s < 600; s++) {
      allowed += takes(l, G1, 30, 5);
      clock.advance(1000);
    }
    // 600 s at 30/min: 30 (burst) + 300 refilled at most.
    assert.ok(allowed <= 30 + 300 && allowed >= 30 + 299, String(allowed));
  });

  it('keeps grants apart, refuses a rate below one and non-finite rates', () => {
    const clock = fakeClock();
    const l = new GrantRateLimiter(clock);
    assert.equal(takes(l, G1, 2, 5), 2);
    assert.equal(takes(l, G2, 2, 5), 2, 'another grant has its own bucket');
    assert.equal(l.take('other', 0), false);
    assert.equal(l.take('other', -1), false);
    assert.equal(l.take('other', Number.NaN), false);
    assert.equal(l.take('other', Number.POSITIVE_INFINITY), false);
    assert.equal(takes(l, 'half', 0.5, 3), 0, 'a bucket of capacity 0.5 never holds a whole token');
  });

  it('does not refill when the clock steps back', () => {
    const clock = fakeClock();
    const l = new GrantRateLimiter(clock);
    assert.equal(takes(l, G1, 2, 2), 2);
    const t0 = clock.t;
    clock.set(t0 - 3_600_000);
    assert.equal(l.take(G1, 2), false);
    clock.set(t0 + 29_999);
    assert.equal(l.take(G1, 2), false, 'refill counts from the latest time seen');
    clock.set(t0 + 30_000);
    assert.equal(l.take(G1, 2), true);
  });

  it('a lowered rate lowers the capacity at once', () => {
    const clock = fakeClock();
    const l = new GrantRateLimiter(clock);
    assert.equal(l.take(G1, 100), true);
    assert.equal(takes(l, G1, 2, 5), 2);
  });

  it('bounds memory: idle buckets are dropped, and so is the least recently used beyond maxBuckets', () => {
    const clock = fakeClock();
    const l = new GrantRateLimiter(clock);
    for (let i = 0; i < 1000; i++) l.take(`g${i}`, 5);
    assert.equal(l.size, 1000);
    clock.advance(BUCKET_REFILL_MS - 1);
    l.take('g0', 5);
    assert.equal(l.size, 1000, 'not idle for a full minute yet');
    clock.advance(1);
    l.take('fresh', 5);
    assert.equal(l.size, 2, 'g0 was used 1 ms ago; the other 999 were idle for a minute');

    // Dropping an idle bucket loses nothing: it is full again, like a new one.
    const exact = new GrantRateLimiter(clock);
    assert.equal(takes(exact, G1, 4, 4), 4);
    clock.advance(BUCKET_REFILL_MS);
    exact.take(G2, 4);
    assert.equal(exact.size, 1);
    assert.equal(takes(exact, G1, 4, 10), 4);

    const capped = new GrantRateLimiter(clock, { maxBuckets: 3 });
    for (let i = 0; i < 10; i++) capped.take(`g${i}`, 5);
    assert.equal(capped.size, 3);
  });
});
