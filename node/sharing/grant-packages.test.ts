/** @module Grant package rows: read at one version with exact integers, shaped by the grant (filter on clear values, granted items, masked). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase } from '../../engine/storage/db.ts';
import { ensureTable, getTable, q } from '../staging/table-schema.ts';
import { NODE_MIGRATIONS } from '../storage/migrations.ts';
import { shapedLines } from './grant-packages.ts';
import { loadSodium } from '../../protocol/sodium.ts';

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

describe('GrantPackager: when a grant gets a new package', () => {
  it('first at once, then only after a newer resource package and the minimum interval; a failed build waits a minute', async () => {
    const { GrantPackager } = await import('./grant-packages.ts');
    await loadSodium(); // schemaHash
    const file = join(root, 'due.db');
    const db = openDatabase(file, NODE_MIGRATIONS);
    const entry = '410803-0190a0b0-0000-7000-8000-000000000002';
    ensureTable(db, entry, [
      { name: '公民身份号码', code: 'citizen_id', type: 'string', primaryKey: true, identifier: 'citizen_id' },
      { name: '姓名', code: 'name', type: 'string' },
    ]);
    const t = getTable(db, entry)!;
    db.prepare(`INSERT INTO ${q(t.tableName)} (citizen_id, name, _version, _deleted, _updated_at) VALUES ('140525199001011234', '张三', 1, 0, '2026-11-24T00:00:00Z')`).run();
    let now = Date.parse('2026-11-24T02:00:00Z');
    const clock = { now: () => new Date(now) };
    const grant = {
      grantId: '0190a0b0-0000-7000-8000-0000000000aa',
      issuer: 'hub-410800',
      consumer: { nodeId: 'county-410802', county: '410802', department: 'X' },
      provider: { county: '410803', department: 'GA410803' },
      resource: entry,
      items: ['citizen_id'],
      rowFilter: null,
      methods: ['batch'],
      purpose: 'p',
      desensitization: { citizen_id: 'citizen_id' },
      validFrom: '2026-01-01T00:00:00.000Z',
      validUntil: '2027-01-01T00:00:00.000Z',
    };
    const list = () => ({ list: { issuer: 'hub-410800', serial: 1, issuedAt: new Date(now - 60_000).toISOString(), nextUpdate: new Date(now + 86_400_000).toISOString(), entries: [] } });
    let fail = false;
    const sends: string[] = [];
    let calls = 0;
    const packager = new GrantPackager({
      db,
      sharing: {
        grant: () => ({ grant, signature: '' }),
        revocations: () => list(),
        grantIdsProvidedBy: (county: string, at: Date) => (county === grant.provider.county && at < new Date(grant.validUntil) ? [grant.grantId] : []),
      } as never,
      sender: {
        async send(rows: Iterable<unknown>, opts: { grantId: string; newVersion: number; generation: number; schemaHash: string }) {
          const id = `0190a0b0-0000-7000-8000-${String(calls++).padStart(12, '0')}`;
          db.prepare("INSERT INTO packages_sent (package_id, resource, new_version, state, created_at, grant_id, generation, schema_hash) VALUES (?, ?, ?, 'building', ?, ?, ?, ?)").run(
            id,
            entry,
            opts.newVersion,
            new Date(now).toISOString(),
            opts.grantId,
            opts.generation,
            opts.schemaHash,
          );
          if (fail) throw new Error('disk full');
          [...rows];
          db.prepare("UPDATE packages_sent SET state = 'stored' WHERE package_id = ?").run(id);
          sends.push(id);
          return { packageId: id, chunks: 1, rows: 1 };
        },
        abandon(id: string) {
          db.prepare("UPDATE packages_sent SET state = 'abandoned', finished_at = ? WHERE package_id = ?").run(new Date(now).toISOString(), id);
        },
      } as never,
      audit: { append() {} } as never,
      clock,
      log: { info() {}, warn() {} } as never,
      county: '410803',
      resourceItems: () => ['citizen_id', 'name'],
      resourceCode: () => null,
      minIntervalMs: 300_000,
    });
    const resourcePackage = (v: number) =>
      db.prepare("INSERT INTO packages_sent (package_id, resource, new_version, state, created_at) VALUES (?, ?, ?, 'stored', ?)").run(`r-${v}`, entry, v, new Date(now).toISOString());
    db.prepare('UPDATE frontend_versions SET value = 5 WHERE id = 1').run();

    assert.equal((await packager.run()).length, 1, 'the first package at once');
    assert.equal((await packager.run()).length, 0, 'nothing newer');
    db.prepare('UPDATE frontend_versions SET value = 9 WHERE id = 1').run();
    resourcePackage(9);
    assert.equal((await packager.run()).length, 0, 'a newer resource package, but within the minimum interval');
    now += 300_000;
    fail = true;
    await packager.run();
    assert.equal(packager.sent(grant.grantId)[0]!.state, 'abandoned', 'a failed build is not left "building"');
    fail = false;
    now += 30_000;
    assert.equal((await packager.run()).length, 0, 'retried only after a minute');
    now += 30_000;
    const rebuilt = await packager.run();
    assert.equal(rebuilt.length, 1, 'then rebuilt');
    assert.equal(rebuilt[0]!.newVersion, 9, 'the table’s version, above the grant’s last (5)');
    // A migration changes the rows' shape without new row versions: rebuilt (after the interval), with a higher version.
    now += 300_000;
    assert.equal((await packager.run()).length, 0);
    ensureTable(db, entry, [
      { name: '公民身份号码', code: 'citizen_id', type: 'string', primaryKey: true, identifier: 'citizen_id', length: 18 },
      { name: '姓名', code: 'name', type: 'string' },
    ]);
    const migrated = await packager.run();
    assert.equal(migrated.length, 1, 'the table was migrated');
    assert.ok(migrated[0]!.newVersion > rebuilt[0]!.newVersion, 'a version the grant has not had');
    now += 3_600_000;
    assert.equal((await packager.run()).length, 0, 'nothing changed since: nothing, however long it waits');
    db.close();
  });
});
