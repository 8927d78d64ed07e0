/** @module The login throttle's key map stays bounded: asking stores nothing, expired keys go, and a hard cap holds under a flood of random names. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureLimiter } from './rate-limit.ts';

function fakeClock(start = Date.parse('2024-05-01T08:00:00Z')) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

describe('FailureLimiter', () => {
  it('throttles after max failures within the window, and lets go after it', () => {
    const clock = fakeClock();
    const l = new FailureLimiter(clock, 3, 60_000);
    for (let i = 0; i < 3; i++) {
      assert.equal(l.retryAfterMs('a|1.2.3.4'), 0);
      l.fail('a|1.2.3.4');
    }
    assert.equal(l.retryAfterMs('a|1.2.3.4'), 60_000);
    clock.advance(59_999);
    assert.equal(l.retryAfterMs('a|1.2.3.4'), 1);
    clock.advance(1);
    assert.equal(l.retryAfterMs('a|1.2.3.4'), 0);
    assert.equal(l.size, 0, 'an expired key is dropped when asked about');
  });

  it('asking about a key with no failures stores nothing (a flood of random names that are only checked)', () => {
    const l = new FailureLimiter(fakeClock());
    for (let i = 0; i < 5_000; i++) assert.equal(l.retryAfterMs(`random-${i}|1.2.3.4`), 0);
    assert.equal(l.size, 0);
  });

  it('expired keys are pruned as new failures arrive', () => {
    const clock = fakeClock();
    const l = new FailureLimiter(clock, 5, 60_000, 100_000);
    for (let i = 0; i < 3_000; i++) l.fail(`old-${i}|1.2.3.4`);
    clock.advance(60_000);
    for (let i = 0; i < 3_000; i++) l.fail(`new-${i}|1.2.3.4`);
    assert.ok(l.size <= 3_000, `expired keys kept: ${l.size}`);
  });

  it('a hard cap holds however many names fail, and evicts the keys whose last failure is oldest', () => {
    const clock = fakeClock();
    const l = new FailureLimiter(clock, 5, 15 * 60_000, 100);
    for (let i = 0; i < 5; i++) l.fail('victim|1.2.3.4');
    for (let i = 0; i < 50; i++) clock.advance(1), l.fail(`flood-${i}|1.2.3.4`);
    for (let i = 0; i < 5; i++) l.fail('throttled|1.2.3.4'); // refreshed: most recent
    for (let i = 50; i < 10_000; i++) {
      l.fail(`flood-${i}|1.2.3.4`);
      assert.ok(l.size <= 100, `over the cap: ${l.size}`);
      if (i < 140) assert.ok(l.retryAfterMs('throttled|1.2.3.4') > 0, 'a throttled key survives fewer than maxKeys newer failures');
    }
    assert.equal(l.retryAfterMs('victim|1.2.3.4'), 0, 'the oldest keys went first');
  });
});
