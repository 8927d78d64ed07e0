/** @module Tests of the retention purge: policy cutoffs (Jiyuan §28, Hebi §13), export first, verifiable afterwards. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { generateSigningKeyPair } from '../../protocol/keys.ts';
import { loadPolicy } from '../../protocol/policy.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { openDatabase, type Db } from '../storage/db.ts';
import { fileArchiver } from './archive.ts';
import type { AuditRecord } from './chain.ts';
import { keySigner } from './checkpoint.ts';
import { AUDIT_SCHEMA_SQL, AuditLog, retentionCutoff, type AuditEventInput } from './log.ts';
import { dropGuards, FakeClock, pick } from './testing.ts';

const DAY = 86_400_000;
const T0 = new Date('2023-01-01T00:00:00.000Z');
const event = (i: number): AuditEventInput => ({ actor: '李四', actorRole: 'department', department: 'hs-gaj', action: 'data.provide', resource: `entry-${i}`, result: 'ok', detail: { i } });

describe('AuditLog.purge', () => {
  let dir: string;
  let db: Db;
  let clock: FakeClock;
  let log: AuditLog;
  let n = 0;
  const keys = () => generateSigningKeyPair();

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-audit-purge-'));
  });
  beforeEach(() => {
    db?.close();
    db = openDatabase(join(dir, `purge-${n++}.db`), [{ version: 1, name: 'audit', sql: AUDIT_SCHEMA_SQL }]);
    clock = new FakeClock(T0);
    // Purges are signed with the node's key (issue 10): without a signer they are refused.
    log = new AuditLog(db, clock, { signer: keySigner('county-410602', keys().secretKey) });
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One record every 30 days from T0: seq i at T0 + 30·(i−1) days; the clock ends on the last. */
  const fill = (count: number) => {
    for (let i = 1; i <= count; i++) {
      if (i > 1) clock.advance(30 * DAY);
      log.append(event(i));
    }
  };

  it('Jiyuan (≥ 6 months): exports then deletes the records older than 184 days; the chain still verifies', () => {
    fill(20); // now = T0 + 570 days
    const policy = loadPolicy('jiyuan');
    const cutoff = retentionCutoff(clock.now(), policy.auditRetentionDays);
    assert.equal(cutoff.toISOString(), new Date(T0.getTime() + (570 - 184) * DAY).toISOString());
    const exported: AuditRecord[] = [];
    const headBefore = log.head();
    const result = log.purgeExpired(policy, (batch) => {
      // Export happens before the delete, in the same transaction: the records are still there.
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n, 20);
      exported.push(...batch);
    });
    // Records 1..13 are at day 0..360 < 386; record 14 is at day 390.
    assert.deepEqual(
      exported.map((r) => r.seq),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    );
    assert.ok(exported.every((r) => new Date(r.at) < cutoff));
    assert.deepEqual({ ...result, statement: undefined }, { purged: 13, firstRetainedSeq: 14, statement: undefined });
    assert.deepEqual([result.statement?.fromSeq, result.statement?.toSeq, result.statement?.toPrevHash, result.statement?.retentionDays], [1, 14, exported[12]!.hash, 184]);
    const v = log.verify();
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.count, 8, '7 retained + the audit.purge record');
    const purgeRecord = log.search({ action: 'audit.purge', limit: 1 }).records[0]!;
    assert.equal(purgeRecord.seq, 21);
    assert.equal(purgeRecord.prevHash, headBefore.hash);
    assert.deepEqual(purgeRecord.detail, { before: cutoff.toISOString(), purged: 13, firstRetainedSeq: 14, lastPurgedHash: exported[12]!.hash, statement: result.statement });
    assert.equal((db.prepare('SELECT MIN(seq) AS s FROM audit_log').get() as { s: number }).s, 14);
  });

  it('Hebi (≥ 3 years, 1096 days): nothing of 570 days is purged', () => {
    fill(20);
    const result = log.purgeExpired(loadPolicy('hebi'), () => assert.fail('nothing to export'));
    assert.deepEqual(result, { purged: 0 });
    assert.equal(log.head().seq, 20, 'no purge record when nothing was purged');
  });

  it('a second purge moves the anchor on; verify passes after each', () => {
    fill(20);
    log.purge(new Date(T0.getTime() + 100 * DAY), () => {});
    assert.ok(log.verify().ok);
    const r = log.purge(new Date(T0.getTime() + 200 * DAY), () => {});
    assert.deepEqual({ purged: r.purged, firstRetainedSeq: r.firstRetainedSeq, from: r.statement?.fromSeq }, { purged: 3, firstRetainedSeq: 8, from: 5 });
    assert.deepEqual(pick(log.verify()), { ok: true, count: 15, head: log.head(), guardsIntact: true });
    assert.equal((db.prepare('SELECT purged_count FROM audit_meta').get() as { purged_count: number }).purged_count, 7);
  });

  it('purging everything leaves the anchor as the head, and the next append chains from it', () => {
    fill(3); // days 0, 30, 60
    clock.advance(200 * DAY); // day 260: a cutoff after day 60 is past the 184-day floor
    const last = log.head();
    log.purge(new Date(clock.now().getTime() - 184 * DAY), () => {});
    // The audit.purge record itself was written after the cutoff's "now"; everything before it is gone.
    const [purge] = log.search({ limit: 10 }).records;
    assert.equal(purge?.seq, 4);
    assert.equal(purge?.prevHash, last.hash);
    assert.ok(log.verify().ok);
  });

  it('only a prefix is purged: a record at or after the cutoff keeps every later one, even older ones', () => {
    fill(5);
    clock.t = new Date(T0.getTime() + 10 * DAY); // the clock was set back (NTP step)
    log.append(event(6)); // seq 6 at day 10, older than seq 2..5
    clock.t = new Date(T0.getTime() + 1000 * DAY);
    const seqs: number[] = [];
    log.purge(new Date(T0.getTime() + 45 * DAY), (b) => seqs.push(...b.map((r) => r.seq)));
    assert.deepEqual(seqs, [1, 2], 'seq 3 is at day 60; seq 6 (day 10) is kept because it follows it');
    assert.ok(log.verify().ok);
  });

  it('an exporter that throws aborts the purge: nothing is deleted', () => {
    fill(10);
    clock.advance(100 * DAY);
    assert.throws(
      () =>
        log.purge(new Date(T0.getTime() + 100 * DAY), () => {
          throw new Error('disk full');
        }),
      /disk full/,
    );
    assert.equal(log.head().seq, 10);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n, 10);
    assert.equal(db.prepare('SELECT * FROM audit_meta').get(), undefined);
    assert.equal(db.prepare('SELECT * FROM audit_purge_guard').get(), undefined);
    assert.equal(log.verify().guardsIntact, true);
  });

  it('exports in batches of at most 1000, in seq order', () => {
    db.transaction(() => {
      for (let i = 1; i <= 2500; i++) log.append(event(i));
    })();
    clock.advance(185 * DAY);
    const sizes: number[] = [];
    let last = 0;
    log.purge(new Date(clock.now().getTime() - 184 * DAY), (batch) => {
      sizes.push(batch.length);
      for (const r of batch) assert.equal(r.seq, ++last);
    });
    assert.deepEqual(sizes, [1000, 1000, 500]);
    assert.ok(log.verify().ok);
  });

  it('the file archiver writes a durable, re-verifiable NDJSON file before the delete', () => {
    fill(10);
    clock.advance(200 * DAY);
    const file = join(dir, `archive-${n}.ndjson`);
    log.purge(new Date(T0.getTime() + 100 * DAY), fileArchiver(file, 'ndjson'));
    log.purge(new Date(T0.getTime() + 200 * DAY), fileArchiver(file, 'ndjson'));
    const lines = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(
      lines.map((r) => r.seq),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(lines[0]!.actor, '李四');
    for (let i = 1; i < lines.length; i++) assert.equal(lines[i]!.prevHash, lines[i - 1]!.hash, 'the archive is itself a chain');
  });

  it('refuses to purge a broken chain (the evidence would go with it)', () => {
    fill(10);
    dropGuards(db);
    db.prepare("UPDATE audit_log SET actor = '王五' WHERE seq = 2").run();
    assert.throws(() => log.purge(new Date(T0.getTime() + 100 * DAY), () => {}), /audit chain broken at seq 2; purge refused/);
  });

  describe('tampering after a purge is still detected', () => {
    beforeEach(() => {
      fill(20);
      log.purgeExpired(loadPolicy('jiyuan'), () => {}); // first retained seq 14
      dropGuards(db);
    });

    it('an edited retained row', () => {
      db.prepare("UPDATE audit_log SET resource = 'entry-x' WHERE seq = 16").run();
      assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 16, reason: 'hash-mismatch' });
    });

    it('the first retained row deleted', () => {
      db.prepare('DELETE FROM audit_log WHERE seq = 14').run();
      assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 14, reason: 'record-missing' });
    });

    it('more old rows deleted together with the anchor (as if never purged)', () => {
      db.exec('DELETE FROM audit_log WHERE seq < 16; DELETE FROM audit_meta;');
      assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 1, reason: 'record-missing' });
    });

    it('the anchor moved forward to hide deleted rows', () => {
      db.exec('DELETE FROM audit_log WHERE seq < 16; UPDATE audit_meta SET first_seq = 16;');
      assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 16, reason: 'prev-hash-mismatch' });
    });
  });

  it('with a signer, the anchor carries a signed purge record; forging the anchor breaks it', () => {
    const kp = keys();
    log = new AuditLog(db, clock, { signer: keySigner('county-410602', kp.secretKey) });
    fill(20);
    const r = log.purgeExpired(loadPolicy('jiyuan'), () => {});
    assert.equal(r.statement?.toSeq, 14);
    assert.equal(r.statement?.nodeId, 'county-410602');
    assert.ok(log.verify({ publicKey: kp.publicKey }).ok);
    // Checked with another key, the purge record's signature does not hold (issue 10: verify checks it with the node's key).
    assert.deepEqual(pick(log.verify({ publicKey: keys().publicKey })), { firstBrokenSeq: 21, reason: 'signature-invalid' }, 'the audit.purge record at 21 carries it');
    dropGuards(db);
    // Delete the first retained row too and move the anchor past it with its true prev hash: only the signed purge record catches it.
    const h14 = (db.prepare('SELECT hash FROM audit_log WHERE seq = 14').get() as { hash: Uint8Array }).hash;
    db.prepare('DELETE FROM audit_log WHERE seq = 14').run();
    db.prepare('UPDATE audit_meta SET first_seq = 15, first_prev_hash = ?').run(h14);
    assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 15, reason: 'anchor-mismatch' });
  });
});
