/** @module Grant package rows: read at one version with exact integers, shaped by the grant (filter on clear values, granted items, masked). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase } from '../../engine/db.ts';
import { ensureTable, getTable, q } from '../frontend/table-schema.ts';
import { NODE_MIGRATIONS } from '../storage/migrations.ts';
import { shapedLines } from './grant-packages.ts';

const root = mkdtempSync(join(tmpdir(), 'jilian-grant-pkg-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('shapedLines', () => {
  it('filters on clear values, keeps granted items only, masks them, and writes integers beyond 2^53 exactly', () => {
    const file = join(root, 'node.db');
    const db = openDatabase(file, NODE_MIGRATIONS);
    const entry = '410803-0190a0b0-0000-7000-8000-000000000001';
    ensureTable(db, entry, [
      { name: '公民身份号码', code: 'citizen_id', type: 'string', primaryKey: true, identifier: 'citizen_id' },
      { name: '姓名', code: 'name', type: 'string' },
      { name: '账户号', code: 'account', type: 'integer' },
      { name: '是否在册', code: 'active', type: 'boolean' },
      { name: '照片', code: 'photo', type: 'binary' },
    ]);
    const t = getTable(db, entry)!;
    const ins = db.prepare(`INSERT INTO ${q(t.tableName)} (citizen_id, name, account, active, photo, _version, _deleted, _updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, '2026-11-24T00:00:00Z')`);
    ins.run('140525199001011234', '欧阳娜娜', 9007199254740993n, 1, Buffer.from([1, 2, 3]), 1, 0);
    ins.run('140525199001025678', '李四', 7, 0, null, 2, 0);
    ins.run('140525199001039012', '王五', 8, 1, null, 3, 1); // deleted: never in a snapshot
    db.close();
    const grant = {
      items: ['citizen_id', 'name', 'account', 'photo'],
      rowFilter: { all: [{ item: 'active', op: 'eq' as const, value: true }] },
      desensitization: { citizen_id: 'citizen_id' as const, name: 'name' as const, account: 'none' as const, photo: 'none' as const },
    } as never;
    const reader = new Database(file, { readonly: true });
    const lines = [...shapedLines(reader, getTable(reader, entry)!, grant)].map((r) => r.json);
    reader.close();
    assert.deepEqual(lines, ['{"citizen_id":"140525********1234","name":"欧***","account":9007199254740993,"photo":"AQID"}'], 'the filter saw the clear boolean; "active" itself is not granted');
  });
});
