import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeySet } from './import-keys.ts';
import type { SqlValue } from './row-validator.ts';

/** A key set with its committed batches in a Map (the importer keeps them in SQLite). */
function keySet(keyCount: number) {
  const blobs = new Map<number, Buffer>();
  let fetched = 0;
  const s = new KeySet(keyCount, (h) => (fetched++, blobs.get(h)!));
  let next = 1;
  return {
    s,
    blobs,
    fetched: () => fetched,
    /** Commit the batch being written, as the importer does. */
    commit(): void {
      if (s.pending > 0) blobs.set(next, Buffer.from(s.pack())); // pack() reuses its buffer; SQLite copies it
      s.seal(next++);
    },
    claim(key: SqlValue[], row: number): number | undefined {
      const first = s.find(key);
      if (first === undefined) s.add(row);
      return first;
    },
  };
}

describe('import key set', () => {
  it('is exact over 200,000 keys through growth and batches: every key once, with the row that claimed it', () => {
    const k = keySet(1);
    for (let i = 0; i < 200_000; i++) {
      assert.equal(k.claim([`k${i}`], i + 2), undefined);
      if (i % 5000 === 4999) k.commit();
    }
    for (let i = 0; i < 200_000; i += 997) assert.equal(k.s.find([`k${i}`]), i + 2);
    assert.equal(k.s.find(['k200000']), undefined);
    assert.equal(k.s.size, 200_000);
    assert.ok(k.fetched() > 0 && k.fetched() <= 200_000 / 997 + 1, 'committed keys are confirmed from their batch');
  });

  it('tells apart keys that only look alike: composite boundaries, Unicode, lone surrogates, integers, binary', () => {
    const two = keySet(2);
    assert.equal(two.claim(['ab', 'c'], 1), undefined);
    assert.equal(two.claim(['a', 'bc'], 2), undefined, 'component boundaries count');
    two.commit();
    assert.equal(two.claim(['ab', 'c'], 3), 1);
    const one = keySet(1);
    for (const [i, key] of (['张三', '张四', '\uD83D\uDE00', '\uD83D', '\uFFFD', '\uDE00\uD83D', 5, 6n ** 30n, Buffer.from([0, 1]), Buffer.from([0, 1, 0])] as SqlValue[]).entries()) {
      assert.equal(one.claim([key], i), undefined, String(key));
    }
    assert.equal(one.s.find(['张三']), 0);
    assert.equal(one.s.find([5]), 6);
    assert.equal(one.s.find([6n ** 30n]), 7);
    assert.equal(one.s.find([Buffer.from([0, 1, 0])]), 9);
    assert.equal(one.s.find(['\uD83D']), 3);
  });

  it('rolls back a failed batch, and committed batches loaded into a new set restore exactly their keys and rows', () => {
    const k = keySet(1);
    for (let i = 0; i < 1000; i++) k.claim([`a${i}`], i);
    k.commit();
    for (let i = 0; i < 5000; i++) k.claim([`b${i}`], 10_000 + i); // grows the table during the batch
    k.s.rollback();
    assert.equal(k.s.size, 1000);
    assert.equal(k.s.find(['b1']), undefined);
    for (let i = 0; i < 1000; i++) assert.equal(k.s.find([`a${i}`]), i);
    for (let i = 0; i < 3000; i++) k.claim([`c${i}`], 20_000 + i);
    k.commit();

    const r = keySet(1);
    for (const [h, b] of k.blobs) {
      r.blobs.set(h, b);
      r.s.load(h, b);
    }
    assert.equal(r.s.size, 4000);
    assert.equal(r.s.find(['a7']), 7);
    assert.equal(r.s.find(['c2999']), 22_999);
    assert.equal(r.s.find(['b0']), undefined);
    assert.equal(r.claim(['d'], 1), undefined);
  });
});
