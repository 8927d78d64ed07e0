/**
 * The rows of a front-end package: SQLite-serialised NDJSON (readNdjson) is byte for byte what the
 * JavaScript serialiser (readRows) writes, for snapshots and deltas with tombstones, over many blocks; the
 * reader thread (openTableSnapshot) reads the version and the rows in one snapshot and cuts exact slices.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../engine/storage/db.ts';
import { openFrontendDb } from '../../test/helpers/frontend.ts';
import type { FrontendItem } from '../staging/row-validator.ts';
import { ensureTable, getTable, q, type FrontendTable } from '../staging/table-schema.ts';
import { readNdjson, readRows } from './table-rows.ts';
import { openTableSnapshot } from './table-snapshot.ts';

const ENTRY = '410802-0190a5e2-7c4b-7def-8123-456789abcdef';
const ITEMS: FrontendItem[] = [
  { name: '编号', code: 'id_no', type: 'string', length: 18, primaryKey: true, required: true },
  { name: '姓名', code: 'name', type: 'string', length: 200 },
  { name: '年龄', code: 'age', type: 'integer' },
  { name: '收入', code: 'income', type: 'decimal', length: 12 },
  { name: '在册', code: 'active', type: 'boolean' },
  { name: '照片', code: 'photo', type: 'binary' },
  { name: '登记日期', code: 'day', type: 'date' },
];
const ODD = ['"', '\\', 'a\u0000b', '\u001f\b\f\n\r\t', '\u007f', '\u2028\u2029', '😀 中文', '</script>', '', ' '];

const dec = new TextDecoder();
const joinRows = (rows: Iterable<{ json: string }>) => [...rows].map((r) => r.json + '\n').join('');
function joinBlocks(blocks: Iterable<{ bytes: Uint8Array; rows: number }>): { text: string; rows: number; blocks: number } {
  const parts: Uint8Array[] = [];
  let rows = 0;
  for (const b of blocks) {
    parts.push(b.bytes.slice());
    rows += b.rows;
  }
  return { text: dec.decode(Buffer.concat(parts)), rows, blocks: parts.length };
}

describe('front-end package rows', () => {
  let dir: string;
  let file: string;
  let db: Db;
  let table: FrontendTable;
  let insert: (i: number, version: number, deleted?: boolean) => void;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jilian-table-rows-'));
    file = join(dir, 'node.db');
    db = openFrontendDb(file);
    ensureTable(db, ENTRY, ITEMS);
    table = getTable(db, ENTRY)!;
    const stmt = db.prepare(
      `INSERT OR REPLACE INTO ${q(table.tableName)} (id_no, name, age, income, active, photo, day, "_version", "_deleted", "_updated_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '2025-01-01T00:00:00Z')`,
    );
    insert = (i, version, deleted = false) =>
      stmt.run(
        `K${String(i).padStart(8, '0')}`,
        i % 7 === 0 ? null : `${ODD[i % ODD.length]}名字${i}`.repeat(1 + (i % 5)),
        i % 11 === 0 ? null : i * 37 - 5000,
        i % 13 === 0 ? null : `${i}.${i % 100}`,
        i % 3 === 0 ? null : i % 2,
        i % 4 === 0 ? Buffer.from([i & 255, 0, 255, (i >> 8) & 255]) : null,
        '2025-03-01',
        version,
        deleted ? 1 : 0,
      );
    db.transaction(() => {
      for (let i = 0; i < 5000; i++) insert(i, i + 1, i % 17 === 0);
    })();
    db.prepare('UPDATE frontend_versions SET value = 5000').run();
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the same NDJSON as the JavaScript serialiser, in several blocks, for a snapshot and deltas', () => {
    for (const [kind, base] of [
      ['snapshot', null],
      ['delta', 0],
      ['delta', 3210],
      ['delta', 4999],
      ['delta', 5000],
    ] as const) {
      const js = joinRows(readRows(db, table, kind, base));
      const got = joinBlocks(readNdjson(db, table, kind, base));
      assert.equal(got.text, js, `${kind} after ${base}`);
      assert.equal(got.rows, js === '' ? 0 : js.split('\n').length - 1);
      if (kind === 'snapshot') assert.ok(got.blocks > 3, `only ${got.blocks} blocks`);
    }
    // Tombstones: key, version and _deleted only.
    const tomb = joinBlocks(readNdjson(db, table, 'delta', 17)).text.split('\n')[0];
    assert.equal(tomb, '{"id_no":"K00000017","_version":18,"_deleted":true}');
  });

  it('writes integers beyond 2^53 exactly, and rereads a block that is not UTF-8 through the JavaScript serialiser', () => {
    const scratch = openFrontendDb(join(dir, 'scratch.db'));
    try {
      ensureTable(scratch, ENTRY, ITEMS);
      const t = getTable(scratch, ENTRY)!;
      scratch.prepare(`INSERT INTO ${q(t.tableName)} (id_no, age, "_version", "_updated_at") VALUES ('big', ?, 1, 'x')`).run(9007199254740993n);
      assert.equal(joinBlocks(readNdjson(scratch, t, 'snapshot', null)).text, '{"id_no":"big","name":null,"age":9007199254740993,"income":null,"active":null,"photo":null,"day":null,"_version":1}\n');
      scratch.exec(`DELETE FROM ${q(t.tableName)}`);
      scratch.exec(`INSERT INTO ${q(t.tableName)} (id_no, name, "_version", "_updated_at") VALUES ('bad', CAST(x'61ff62' AS TEXT), 2, 'x'), ('good', 'ok', 3, 'x')`);
      const got = joinBlocks(readNdjson(scratch, t, 'snapshot', null));
      assert.equal(got.text, joinRows(readRows(scratch, t, 'snapshot', null)));
      assert.ok(got.text.includes('"name":"a\uFFFDb"'));
      assert.equal(got.rows, 2);
    } finally {
      scratch.close();
    }
  });

  it('reads version and rows in one snapshot on a reader thread, in slices of exactly the asked size', async () => {
    const expected = joinRows(readRows(db, table, 'snapshot', null));
    const snap = await openTableSnapshot(file, table, 'snapshot', null, { sliceBytes: 4096 });
    try {
      // Written after the snapshot was taken: neither the row nor the version is seen.
      db.transaction(() => {
        insert(999_999, 5001);
        db.prepare('UPDATE frontend_versions SET value = 5001').run();
      })();
      assert.equal(snap.newVersion, 5000);
      assert.equal(snap.changed, true);
      const pieces: Uint8Array[] = [];
      let rows = 0;
      for await (const b of snap.blocks()) {
        pieces.push(b.bytes);
        rows += b.rows;
        if (pieces.length % 3 === 0) snap.recycle(b.bytes.slice()); // a buffer to fill again (a copy: ours is read below)
      }
      assert.ok(pieces.slice(0, -1).every((p) => p.length === 4096 && p.byteLength === p.buffer.byteLength));
      assert.ok(pieces.at(-1)!.length <= 4096);
      assert.equal(dec.decode(Buffer.concat(pieces)), expected);
      assert.equal(rows, expected.split('\n').length - 1);
    } finally {
      await snap.close();
    }
    const delta = await openTableSnapshot(file, table, 'delta', 5001);
    assert.equal(delta.changed, false);
    await delta.close();
    for (const inline of [false, true]) {
      const next = await openTableSnapshot(file, table, 'delta', 5000, { inline });
      try {
        assert.equal(next.newVersion, 5001);
        assert.equal(next.changed, true);
        const parts: Uint8Array[] = [];
        for await (const b of next.blocks()) parts.push(b.bytes);
        const text = dec.decode(Buffer.concat(parts));
        assert.equal(text, joinRows(readRows(db, table, 'delta', 5000)));
        assert.match(text, /^\{"id_no":"K00999999",/);
      } finally {
        await next.close();
      }
    }
  });

  it('fails loudly when the table is missing', async () => {
    await assert.rejects(openTableSnapshot(file, { ...table, tableName: 'fe_nope' }, 'delta', 1), /package reader failed/);
  });
});
