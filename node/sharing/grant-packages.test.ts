/** @module Grant packages read the table's NDJSON pieces, which may split a line or a UTF-8 character anywhere. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NdjsonBlock } from '../../engine/package/rows.ts';
import type { TableSnapshot } from '../packages/table-snapshot.ts';
import { shapedRows } from './grant-packages.ts';

function snapshotOf(pieces: Uint8Array[]): TableSnapshot & { recycled: number } {
  const snap = {
    newVersion: 9,
    changed: true,
    recycled: 0,
    async *blocks() {
      for (const p of pieces) yield new NdjsonBlock(p, 0);
    },
    recycle() {
      snap.recycled++;
    },
    async close() {},
  };
  return snap;
}

const grant = {
  items: ['citizen_id', 'name'],
  rowFilter: { all: [{ item: 'gender', op: 'eq' as const, value: '1' }] },
  desensitization: { citizen_id: 'citizen_id' as const, name: 'name' as const },
} as never;

describe('shapedRows', () => {
  it('reassembles lines and multi-byte characters split across pieces, then filters and masks', async () => {
    const lines = [
      { citizen_id: '140525199001011234', name: '欧阳娜娜', gender: '1', _version: 3 },
      { citizen_id: '140525199001025678', name: '李四', gender: '2', _version: 4 },
      { citizen_id: '140525199001039012', name: '王五', gender: '1', _version: 5 },
    ];
    const bytes = new TextEncoder().encode(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    // Cut every 7 bytes: lines and the 3-byte CJK characters are split in every possible place.
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.slice(i, i + 7));
    const snap = snapshotOf(pieces);
    const out = [];
    for await (const r of shapedRows(snap, grant)) out.push(r);
    assert.deepEqual(out, [
      { citizen_id: '140525********1234', name: '欧***' },
      { citizen_id: '140525********9012', name: '王*' },
    ]);
    assert.equal(snap.recycled, pieces.length, 'every piece goes back to the reader');
  });

  it('a last line without its newline is still read', async () => {
    const out = [];
    for await (const r of shapedRows(snapshotOf([new TextEncoder().encode('{"citizen_id":"140525199001011234","name":"张三","gender":"1"}')]), grant)) out.push(r);
    assert.equal(out.length, 1);
  });
});
