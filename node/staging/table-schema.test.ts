import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../engine/storage/db.ts';
import type { AppError } from '../../engine/errors.ts';
import { openFrontendDb } from '../../test/helpers/frontend.ts';
import type { FrontendItem } from './row-validator.ts';
import { createTableSql, deriveTable, ensureTable, frontendTableName, getTable } from './table-schema.ts';

const BASE: FrontendItem[] = [
  { name: '编号', code: 'id', type: 'string', length: 10, primaryKey: true },
  { name: '名称', code: 'label', type: 'string', length: 20, required: true },
  { name: '数量', code: 'qty', type: 'string' },
];

let dir: string;
let n = 0;
const fresh = (): Db => openFrontendDb(join(dir, `t${n++}.db`));
before(() => (dir = mkdtempSync(join(tmpdir(), 'jilian-fe-schema-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Insert rows straight into the table (the importer's job, kept out of these tests). */
function seed(db: Db, table: string, rows: Record<string, unknown>[]): void {
  for (const [i, r] of rows.entries()) {
    const cols = Object.keys(r).filter((c) => c !== '_v');
    db.prepare(`INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}, _version, _deleted, _updated_at) VALUES (${cols.map(() => '?').join(', ')}, ?, ?, ?)`).run(
      ...cols.map((c) => r[c] as never),
      (r._v as number | undefined) ?? i + 1,
      0,
      '2025-01-01T00:00:00.000Z',
    );
  }
}
const rows = (db: Db, table: string) => db.prepare(`SELECT * FROM "${table}" ORDER BY id`).all() as Record<string, unknown>[];

describe('front-end table derivation', () => {
  it('names the table by a stable hash of the entry id and declares types, checks, key and bookkeeping', () => {
    const t = deriveTable('410602-0190aa', BASE);
    assert.equal(t.tableName, frontendTableName('410602-0190aa'));
    assert.match(t.tableName, /^fe_[0-9a-f]{16}$/);
    assert.notEqual(t.tableName, frontendTableName('410602-0190ab'));
    assert.deepEqual(t.keyCodes, ['id']);
    const sql = createTableSql(t.tableName, t.items);
    assert.match(sql, /"id" TEXT NOT NULL,/);
    assert.match(sql, /\) STRICT;/);
    assert.match(sql, /"_version" INTEGER NOT NULL/);
    assert.match(sql, /"_deleted" INTEGER NOT NULL DEFAULT 0/);
    assert.match(sql, /"_updated_at" TEXT NOT NULL/);
    assert.match(sql, /PRIMARY KEY \("id"\)/);
    assert.match(sql, /CREATE INDEX "fe_[0-9a-f]{16}_version" ON "fe_[0-9a-f]{16}" \("_version"\)/);
    // `required` is checked on import, not declared NOT NULL (see the module comment).
    assert.doesNotMatch(sql, /"label" TEXT NOT NULL/);
  });

  it('refuses items without a primary key, with a reason in both languages', () => {
    assert.throws(
      () =>
        deriveTable(
          'e',
          BASE.map((i) => ({ ...i, primaryKey: false })),
        ),
      (err: AppError) => {
        assert.equal(err.code, 'INVALID_ENTRY');
        assert.match(err.zh, /主键/);
        assert.match(err.en, /needs a key to upsert/);
        return true;
      },
    );
  });

  it('the table enforces storage classes and its CHECKs even if a caller skipped the validator', () => {
    const db = fresh();
    const items: FrontendItem[] = [
      ...BASE,
      { name: '数', code: 'n', type: 'integer' },
      { name: '是', code: 'flag', type: 'boolean' },
      { name: '证', code: 'pid', type: 'string', identifier: 'citizen_id' },
    ];
    const { table } = ensureTable(db, 'e', items);
    const ins = (id: unknown, n: unknown, flag: unknown, pid: unknown = null) =>
      db.prepare(`INSERT INTO "${table.tableName}" (id, label, n, flag, pid, _version, _updated_at) VALUES (?, 'x', ?, ?, ?, 1, 'now')`).run(id as never, n as never, flag as never, pid as never);
    assert.throws(() => ins('a', 'twelve', null), /cannot store TEXT value in INTEGER column/);
    assert.throws(() => ins('b', Buffer.from('x'), null), /cannot store BLOB value in INTEGER column/);
    assert.throws(() => ins('c', null, 2), /CHECK/);
    assert.throws(() => ins('d', null, null, '12345'), /CHECK/);
    assert.throws(() => ins(null, null, null), /NOT NULL/);
    ins('e', 12, 1, '410602199001010018');
    db.close();
  });
});

describe('front-end table migration', () => {
  it('creates once, then reports unchanged; a name-only change updates the registry only', () => {
    const db = fresh();
    assert.equal(ensureTable(db, 'e', BASE).action, 'created');
    assert.equal(ensureTable(db, 'e', BASE).action, 'unchanged');
    const renamed = BASE.map((i) => (i.code === 'label' ? { ...i, name: '名字', required: false } : i));
    const r = ensureTable(db, 'e', renamed);
    assert.equal(r.action, 'unchanged');
    assert.equal(r.generation, 1);
    assert.equal(getTable(db, 'e')!.items.find((i) => i.code === 'label')!.name, '名字');
    db.close();
  });

  it('an added item is an ALTER TABLE ADD COLUMN: rows and versions stay, the new column is NULL', () => {
    const db = fresh();
    const t = ensureTable(db, 'e', BASE).table.tableName;
    seed(db, t, [
      { id: 'a', label: '甲', qty: '1' },
      { id: 'b', label: '乙', qty: '2' },
    ]);
    const r = ensureTable(db, 'e', [...BASE, { name: '备注', code: 'note', type: 'string', length: 5, required: true }]);
    assert.equal(r.action, 'altered');
    assert.equal(r.generation, 2);
    assert.deepEqual(
      rows(db, t).map((x) => [x.id, x.label, x.note, x._version]),
      [
        ['a', '甲', null, 1],
        ['b', '乙', null, 2],
      ],
    );
    // The new column carries its storage class.
    assert.throws(() => db.prepare(`UPDATE "${t}" SET note = x'00' WHERE id = 'a'`).run(), /cannot store BLOB value in TEXT column/);
    db.close();
  });

  it('a retyped item rebuilds the table: convertible values are converted, others go to migration rejects', () => {
    const db = fresh();
    const t = ensureTable(db, 'e', BASE).table.tableName;
    seed(db, t, [
      { id: 'a', label: '甲', qty: '12' },
      { id: 'b', label: '乙', qty: '十二' },
      { id: 'c', label: '丙', qty: null },
    ]);
    const retyped = BASE.map((i) => (i.code === 'qty' ? { ...i, type: 'integer' as const } : i));
    const r = ensureTable(db, 'e', retyped, new Date('2025-02-01T00:00:00Z'));
    assert.equal(r.action, 'rebuilt');
    assert.equal(r.migrationRejects, 1);
    assert.deepEqual(
      rows(db, t).map((x) => [x.id, x.qty, x._version]),
      [
        ['a', 12, 1],
        ['c', null, 3],
      ],
    );
    const rej = db.prepare('SELECT entry_id, table_name, row_json, columns, reason_zh, reason_en FROM frontend_migration_rejects').all() as {
      entry_id: string;
      row_json: string;
      columns: string;
      reason_zh: string;
      reason_en: string;
    }[];
    assert.equal(rej.length, 1);
    assert.equal(rej[0]!.entry_id, 'e');
    assert.deepEqual(JSON.parse(rej[0]!.row_json).qty, '十二');
    assert.equal(rej[0]!.columns, 'qty');
    assert.match(rej[0]!.reason_zh, /不是整数/);
    assert.match(rej[0]!.reason_en, /not an integer/);
    // The rebuilt table has the new type and its version index.
    assert.throws(() => db.prepare(`UPDATE "${t}" SET qty = 'x' WHERE id = 'a'`).run(), /cannot store TEXT value in INTEGER column/);
    assert.ok(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(`${t}_version`));
    db.close();
  });

  it('a shorter length keeps the rows that fit', () => {
    const db = fresh();
    const t = ensureTable(db, 'e', BASE).table.tableName;
    seed(db, t, [
      { id: 'a', label: '短' },
      { id: 'b', label: '长长长长长长' },
    ]);
    const r = ensureTable(
      db,
      'e',
      BASE.map((i) => (i.code === 'label' ? { ...i, length: 3 } : i)),
    );
    assert.equal(r.migrationRejects, 1);
    assert.deepEqual(
      rows(db, t).map((x) => x.id),
      ['a'],
    );
    assert.match((db.prepare('SELECT reason_en FROM frontend_migration_rejects').get() as { reason_en: string }).reason_en, /longer than 3 characters/);
    db.close();
  });

  it('a removed item drops its column, never a row', () => {
    const db = fresh();
    const t = ensureTable(db, 'e', BASE).table.tableName;
    seed(db, t, [
      { id: 'a', label: '甲', qty: '1' },
      { id: 'b', label: '乙', qty: '2' },
    ]);
    const r = ensureTable(
      db,
      'e',
      BASE.filter((i) => i.code !== 'qty'),
    );
    assert.equal(r.action, 'rebuilt');
    assert.equal(r.migrationRejects, 0);
    assert.deepEqual(
      rows(db, t).map((x) => [x.id, x.label, 'qty' in x]),
      [
        ['a', '甲', false],
        ['b', '乙', false],
      ],
    );
    db.close();
  });

  it('re-keying keeps the most recently changed row of a collision and rejects the other with a reason', () => {
    const db = fresh();
    const t = ensureTable(db, 'e', BASE).table.tableName;
    seed(db, t, [
      { id: 'a', label: '同名', qty: 'old', _v: 5 },
      { id: 'b', label: '同名', qty: 'new', _v: 9 },
      { id: 'c', label: '独有', qty: 'x', _v: 7 },
      { id: 'd', label: null, qty: 'y', _v: 8 },
    ]);
    const rekeyed = BASE.map((i) => ({ ...i, primaryKey: i.code === 'label' }));
    const r = ensureTable(db, 'e', rekeyed);
    assert.equal(r.action, 'rebuilt');
    assert.deepEqual(r.table.keyCodes, ['label']);
    assert.equal(r.migrationRejects, 2);
    const kept = rows(db, t)
      .map((x) => [x.label, x.qty, x._version])
      .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    assert.deepEqual(kept, [
      ['同名', 'new', 9],
      ['独有', 'x', 7],
    ]);
    const reasons = (db.prepare('SELECT reason_en FROM frontend_migration_rejects ORDER BY id').all() as { reason_en: string }[]).map((x) => x.reason_en);
    assert.ok(reasons.some((x) => /duplicate value of the new key/.test(x)));
    assert.ok(reasons.some((x) => /required value is missing|new key is missing/.test(x)));
    // Nothing vanished: kept + rejected = held.
    assert.equal(rows(db, t).length + r.migrationRejects, 4);
    db.close();
  });

  it('tombstones survive a rebuild with only their key', () => {
    const db = fresh();
    const t = ensureTable(db, 'e', BASE).table.tableName;
    seed(db, t, [{ id: 'a', label: '甲', qty: '1' }]);
    db.prepare(`UPDATE "${t}" SET label = NULL, qty = NULL, _deleted = 1, _version = 10 WHERE id = 'a'`).run();
    ensureTable(
      db,
      'e',
      BASE.map((i) => (i.code === 'qty' ? { ...i, type: 'integer' as const } : i)),
    );
    assert.deepEqual(
      rows(db, t).map((x) => [x.id, x._deleted, x._version]),
      [['a', 1, 10]],
    );
    db.close();
  });

  it('a failed migration changes nothing (one transaction)', () => {
    const db = fresh();
    const t = ensureTable(db, 'e', BASE).table.tableName;
    seed(db, t, [{ id: 'a', label: '甲', qty: '1' }]);
    assert.throws(() => ensureTable(db, 'e', [...BASE, { name: '键', code: 'id', type: 'integer' }]), /duplicate data item code/);
    assert.equal(getTable(db, 'e')!.items.length, 3);
    assert.equal(rows(db, t).length, 1);
    db.close();
  });
});
