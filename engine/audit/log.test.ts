/** @module Tests of the audit log: append and verify, tamper detection (edit, delete, reorder), guards, search. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { generateSigningKeyPair } from '../../protocol/keys.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { openDatabase, type Db } from '../storage/db.ts';
import { AppError } from '../errors.ts';
import { hashRecord } from './chain.ts';
import { keySigner, signCheckpoint } from './checkpoint.ts';
import { AUDIT_SCHEMA_SQL, AuditLog, type AuditEventInput } from './log.ts';
import { rowFields, type AuditRow } from './row.ts';
import { dropGuards, FakeClock, pick, rewriteFrom } from './testing.ts';

const T0 = new Date('2024-05-01T08:00:00.000Z');
const event = (i: number, over: Partial<AuditEventInput> = {}): AuditEventInput => ({
  actor: `user-${i % 3}`,
  actorRole: 'department',
  department: i % 2 ? 'hs-gaj' : 'hs-mzj',
  action: 'data.use',
  resource: `entry-${i % 4}`,
  fields: ['姓名', '身份证号'],
  purpose: '户籍核验',
  result: 'ok',
  detail: { i },
  ...over,
});

const SWAP_COLS = ['at', 'actor', 'actor_role', 'department', 'action', 'resource', 'fields', 'purpose', 'result', 'detail', 'prev_hash', 'hash'];

describe('AuditLog', () => {
  let dir: string;
  let db: Db;
  let clock: FakeClock;
  let log: AuditLog;
  let n = 0;

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-audit-'));
  });
  beforeEach(() => {
    db?.close();
    db = openDatabase(join(dir, `audit-${n++}.db`), [{ version: 1, name: 'audit', sql: AUDIT_SCHEMA_SQL }]);
    clock = new FakeClock(T0);
    log = new AuditLog(db, clock);
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fill = (count: number) => {
    for (let i = 1; i <= count; i++) {
      log.append(event(i));
      clock.advance(60_000);
    }
  };

  it('an empty log verifies, with the genesis head', () => {
    assert.deepEqual(log.head(), { seq: 0, hash: '0'.repeat(64) });
    assert.deepEqual(log.verify(), { ok: true, count: 0, head: { seq: 0, hash: '0'.repeat(64) }, guardsIntact: true });
  });

  it('append chains records with consecutive seqs and the clock time; verify re-hashes them', () => {
    const a = log.append(event(1));
    clock.advance(1000);
    const b = log.append(event(2, { department: null, resource: null, purpose: null, fields: undefined, detail: undefined }));
    assert.equal(a.seq, 1);
    assert.equal(a.prevHash, '0'.repeat(64));
    assert.equal(a.at, T0.toISOString());
    assert.equal(b.seq, 2);
    assert.equal(b.prevHash, a.hash);
    assert.deepEqual([b.department, b.resource, b.purpose, b.fields, b.detail], [null, null, null, [], {}]);
    assert.equal(Buffer.from(hashRecord(Buffer.from(a.hash, 'hex'), b)).toString('hex'), b.hash);
    assert.deepEqual(log.head(), { seq: 2, hash: b.hash });
    const v = log.verify();
    assert.deepEqual(v, { ok: true, count: 2, head: { seq: 2, hash: b.hash }, guardsIntact: true });
  });

  it('an append in a rolled-back transaction leaves nothing; in a committed one it stays with the change', () => {
    db.exec('CREATE TABLE things (id INTEGER PRIMARY KEY)');
    assert.throws(
      () =>
        db.transaction(() => {
          db.prepare('INSERT INTO things (id) VALUES (1)').run();
          log.append(event(1));
          throw new Error('the change failed');
        })(),
      /the change failed/,
    );
    assert.equal(log.head().seq, 0);
    db.transaction(() => {
      db.prepare('INSERT INTO things (id) VALUES (1)').run();
      log.append(event(1));
    })();
    assert.equal(log.head().seq, 1);
    assert.ok(log.verify().ok);
  });

  it('refuses invalid events and unregistered actions; instances can register more actions', () => {
    assert.throws(
      () => log.append(event(1, { actor: '' })),
      (e: unknown) => e instanceof AppError && e.code === 'INVALID_REQUEST' && e.fields.some((f) => f.path === 'actor'),
    );
    assert.throws(() => log.append({ ...event(1), extra: 1 } as AuditEventInput), AppError);
    assert.throws(() => log.append(event(1, { detail: { bad: Number.NaN } })), AppError);
    // A "__proto__" key would escape canonical JSON (it becomes a prototype); zod drops it before hashing and storing.
    assert.deepEqual(log.append(event(1, { detail: JSON.parse('{"a":{"__proto__":{"x":1}},"b":1}') })).detail, { a: {}, b: 1 });
    assert.throws(() => log.append(event(1, { action: 'grant.create' })), /unregistered audit action grant\.create/);
    const extended = new AuditLog(db, clock, { actions: ['grant.create'] });
    assert.equal(extended.append(event(1, { action: 'grant.create' })).action, 'grant.create');
    assert.equal(log.head().seq, 2);
    assert.ok(log.verify().ok);
  });

  describe('guards', () => {
    it('triggers refuse UPDATE, DELETE and overwriting by INSERT OR REPLACE', () => {
      fill(3);
      assert.throws(() => db.prepare("UPDATE audit_log SET actor = 'x' WHERE seq = 2").run(), /append-only: UPDATE refused/);
      assert.throws(() => db.prepare('DELETE FROM audit_log WHERE seq = 2').run(), /DELETE only by retention purge/);
      assert.throws(() => db.prepare('DELETE FROM audit_log').run(), /DELETE only by retention purge/);
      const row = db.prepare('SELECT * FROM audit_log WHERE seq = 2').get() as Record<string, unknown>;
      assert.throws(
        () =>
          db
            .prepare(
              `INSERT OR REPLACE INTO audit_log (${Object.keys(row).join(',')}) VALUES (${Object.keys(row)
                .map(() => '?')
                .join(',')})`,
            )
            .run(...Object.values(row)),
        /append-only/,
      );
      assert.throws(() => db.prepare("INSERT INTO audit_meta VALUES (1, 5, x'00', 1, '', '', NULL)").run(), /append-only/);
      assert.deepEqual(log.verify(), { ok: true, count: 3, head: log.head(), guardsIntact: true });
    });

    it('verify reports dropped triggers even when no row was touched', () => {
      fill(2);
      db.exec('DROP TRIGGER audit_log_no_delete');
      const v = log.verify();
      assert.equal(v.ok, true);
      assert.equal(v.guardsIntact, false);
    });
  });

  describe('tampering by someone with the database file (triggers dropped first)', () => {
    beforeEach(() => {
      fill(8);
      dropGuards(db);
    });

    it('an edited row is reported at its seq', () => {
      db.prepare("UPDATE audit_log SET purpose = '私自查询' WHERE seq = 5").run();
      const v = log.verify();
      assert.equal(v.ok, false);
      assert.ok(!v.ok && v.firstBrokenSeq === 5 && v.reason === 'hash-mismatch', JSON.stringify(v));
      assert.ok(!v.ok && v.guardsIntact === false);
      assert.match(!v.ok ? v.message['zh-CN'] : '', /序号 5/);
    });

    it('an edit of a JSON column into non-JSON is reported, not thrown', () => {
      db.prepare("UPDATE audit_log SET detail = 'not json' WHERE seq = 3").run();
      assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 3, reason: 'hash-mismatch' });
    });

    it('an edited row whose own hash was recomputed is reported at the next seq', () => {
      const row = db.prepare('SELECT * FROM audit_log WHERE seq = 5').get() as AuditRow;
      const forged = { ...rowFields(row), purpose: '伪造' };
      db.prepare('UPDATE audit_log SET purpose = ?, hash = ? WHERE seq = 5').run('伪造', hashRecord(row.prev_hash as Uint8Array, forged));
      assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 6, reason: 'prev-hash-mismatch' });
    });

    it('a deleted middle row is reported as missing at its seq', () => {
      db.prepare('DELETE FROM audit_log WHERE seq = 4').run();
      assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 4, reason: 'record-missing' });
    });

    it('a deleted first row is reported', () => {
      db.prepare('DELETE FROM audit_log WHERE seq = 1').run();
      assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 1, reason: 'record-missing' });
    });

    it('two rows with swapped contents are reported at the first', () => {
      const get = db.prepare(`SELECT ${SWAP_COLS.join(',')} FROM audit_log WHERE seq = ?`);
      const r3 = get.get(3) as Record<string, unknown>;
      const r4 = get.get(4) as Record<string, unknown>;
      const set = db.prepare(`UPDATE audit_log SET ${SWAP_COLS.map((c) => `${c} = @${c}`).join(', ')} WHERE seq = @seq`);
      set.run({ ...r4, seq: 3 });
      set.run({ ...r3, seq: 4 });
      assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 3, reason: 'prev-hash-mismatch' });
    });

    it('two rows renumbered into each other’s place are reported at the first', () => {
      db.exec('UPDATE audit_log SET seq = -1 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = -1;');
      assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 3, reason: 'prev-hash-mismatch' });
    });

    it('a deleted last row passes alone but not against an earlier signed checkpoint', () => {
      const signer = keySigner('county-410602', generateSigningKeyPair().secretKey);
      const cp = signCheckpoint(log.head(), signer, clock.now());
      db.prepare('DELETE FROM audit_log WHERE seq = 8').run();
      assert.equal(log.verify().ok, true, 'the newest record is only vouched for by a checkpoint');
      assert.deepEqual(pick(log.verify({ checkpoint: cp })), { firstBrokenSeq: 8, reason: 'truncated' });
    });

    it('a rewritten tail (every hash recomputed) passes alone but not against an earlier checkpoint', () => {
      const signer = keySigner('county-410602', generateSigningKeyPair().secretKey);
      const cp = signCheckpoint({ seq: 6, hash: log.search({ limit: 1, offset: 2 }).records[0]!.hash }, signer, clock.now());
      assert.equal(log.verify({ checkpoint: cp }).ok, true);
      rewriteFrom(db, 5, '改写');
      assert.equal(log.verify().ok, true);
      assert.deepEqual(pick(log.verify({ checkpoint: cp })), { firstBrokenSeq: 6, reason: 'checkpoint-mismatch' });
    });
  });

  describe('search', () => {
    beforeEach(() => fill(12)); // one record a minute from T0

    it('filters by actor, department, resource and action, newest first, with the total', () => {
      const r = log.search({ actor: 'user-1', limit: 100 });
      assert.deepEqual(
        r.records.map((x) => x.seq),
        [10, 7, 4, 1],
      );
      assert.equal(r.total, 4);
      assert.deepEqual(
        log.search({ department: 'hs-gaj', resource: 'entry-1', limit: 100 }).records.map((x) => x.seq),
        [9, 5, 1],
      );
      assert.equal(log.search({ action: 'catalog.update', limit: 10 }).total, 0);
      assert.equal(log.search({ action: 'data.use', limit: 10 }).total, 12);
    });

    it('filters by time: from inclusive, to exclusive; accepts query-string values', () => {
      const from = new Date(T0.getTime() + 3 * 60_000);
      const to = new Date(T0.getTime() + 6 * 60_000);
      assert.deepEqual(
        log.search({ from, to, limit: 100 }).records.map((x) => x.seq),
        [6, 5, 4],
      );
      const q = { from: from.toISOString(), to: to.toISOString(), limit: '2', offset: '1' } as unknown as Parameters<AuditLog['search']>[0];
      const page = log.search(q);
      assert.deepEqual(
        page.records.map((x) => x.seq),
        [5, 4],
      );
      assert.equal(page.total, 3);
    });

    it('returns complete records, Chinese text intact', () => {
      const [r] = log.search({ limit: 1 }).records;
      assert.deepEqual(r && { ...r, hash: r.hash.length, prevHash: r.prevHash.length }, {
        seq: 12,
        at: new Date(T0.getTime() + 11 * 60_000).toISOString(),
        actor: 'user-0',
        actorRole: 'department',
        department: 'hs-mzj',
        action: 'data.use',
        resource: 'entry-0',
        fields: ['姓名', '身份证号'],
        purpose: '户籍核验',
        result: 'ok',
        detail: { i: 12 },
        hash: 64,
        prevHash: 64,
      });
    });

    it('refuses a limit above 1000 and unknown filters', () => {
      assert.throws(() => log.search({ limit: 1001 }));
      assert.throws(() => log.search({ limit: 1, who: 'x' } as Parameters<AuditLog['search']>[0]));
    });
  });
});
