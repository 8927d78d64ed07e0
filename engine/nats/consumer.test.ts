/** @module Tests of FairTurns: lanes waiting for the turn are served round-robin, one message at a time. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FairTurns } from './consumer.ts';

describe('FairTurns', () => {
  it('a lane with a deep backlog and a lane with one message take turns', async () => {
    const turns = new FairTurns();
    const order: string[] = [];
    const lane = async (name: string, n: number, startAfterMs = 0) => {
      await new Promise((r) => setTimeout(r, startAfterMs));
      for (let i = 0; i < n; i++) {
        await turns.take(name);
        try {
          order.push(name);
          await Promise.resolve(); // a handler that awaits
        } finally {
          turns.release();
        }
      }
    };
    // A's 1,000 messages are under way before B's single one arrives.
    await Promise.all([lane('A', 1_000), lane('B', 1, 5), lane('C', 3, 5)]);
    // B and C joined while A had most of its messages left: they were served within a few turns.
    const joined =
      order.length -
      order
        .slice()
        .reverse()
        .findIndex((x) => x !== 'A'); // after the last B/C
    assert.ok(joined < 100, `B and C done after ${joined} of ${order.length} turns`);
    const firstOther = order.findIndex((x) => x !== 'A');
    assert.deepEqual(order.slice(firstOther, firstOther + 6).filter((x) => x === 'A').length <= 3, true, 'A got no more than every other turn meanwhile');
    assert.equal(order.filter((x) => x === 'A').length, 1_000);
    assert.equal(order.filter((x) => x === 'C').length, 3);
  });

  it('one turn at a time', async () => {
    const turns = new FairTurns();
    let inside = 0;
    let most = 0;
    await Promise.all(
      ['A', 'B', 'C'].map(async (name) => {
        for (let i = 0; i < 50; i++) {
          await turns.take(name);
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setImmediate(r));
          inside--;
          turns.release();
        }
      }),
    );
    assert.equal(most, 1);
  });
});
