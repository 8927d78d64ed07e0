/**
 * @module Issue 10 "Holes found" in the audit log, each reproduced as an attack first: deleting the oldest
 * rows and faking `audit_meta`, a forged anchor signature, an emptied or shortened log, a purge inside the
 * retention window (Jiyuan §28: ≥ 6 months; Hebi §13: ≥ 3 years; default Cybersecurity Law §21(3)), and a
 * moved anchor the hub accepted. Then the legitimate, retention-driven purge that must still pass.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { generateSigningKeyPair, type SigningKeyPair } from '../../protocol/keys.ts';
import { loadPolicy } from '../../protocol/policy.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { openDatabase, type Db } from '../storage/db.ts';
import type { Logger } from '../log.ts';
import { CHECKPOINT_ANCHOR_SQL, CHECKPOINT_SCHEMA_SQL, CheckpointStore, signPurge, keySigner, signCheckpoint, type AuditCheckpoint, type CheckpointSigner } from './checkpoint.ts';
import { AuditLog, type AuditEventInput } from './log.ts';
import { startAuditMaintenance } from './maintenance.ts';
import { AUDIT_TEST_MIGRATIONS, dropGuards, FakeClock, pick, rewriteFrom } from './testing.ts';

const DAY = 86_400_000;
const T0 = new Date('2023-01-01T00:00:00.000Z');
const NODE = 'county-410602';
const event = (i: number): AuditEventInput => ({ actor: '李四', actorRole: 'department', department: 'hs-gaj', action: 'data.provide', resource: `entry-${i}`, result: 'ok', detail: { i } });
const hashAt = (db: Db, seq: number) => (db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(seq) as { hash: Uint8Array }).hash;
const silentLogger = { warn: () => undefined, error: () => undefined, info: () => undefined, debug: () => undefined } as unknown as Logger;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The audit tables as node and hub have them: the log and its seal, then the hub's checkpoints and their anchors. */
function migrations() {
  const v = AUDIT_TEST_MIGRATIONS.length;
  return [...AUDIT_TEST_MIGRATIONS, { version: v + 1, name: 'checkpoints', sql: CHECKPOINT_SCHEMA_SQL }, { version: v + 2, name: 'checkpoint anchors', sql: CHECKPOINT_ANCHOR_SQL }];
}

describe('audit holes (issue 10)', () => {
  let dir: string;
  let db: Db;
  let clock: FakeClock;
  let kp: SigningKeyPair;
  let signer: CheckpointSigner;
  let log: AuditLog;
  let n = 0;

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-audit-holes-'));
  });
  beforeEach(() => {
    db?.close();
    db = openDatabase(join(dir, `h-${n++}.db`), migrations());
    clock = new FakeClock(T0);
    kp = generateSigningKeyPair();
    signer = keySigner(NODE, kp.secretKey);
    log = new AuditLog(db, clock, { signer });
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One record every 30 days from T0; the clock ends on the last. */
  const fill = (count: number) => {
    for (let i = 1; i <= count; i++) {
      if (i > 1) clock.advance(30 * DAY);
      log.append(event(i));
    }
  };
  /** What the node's maintenance does every few minutes: sign the head (and, after this fix, seal it locally). */
  const checkpoint = (): AuditCheckpoint => {
    let sent: AuditCheckpoint | undefined;
    const duties = startAuditMaintenance({
      audit: log,
      retentionDays: 100_000,
      archiveDir: join(dir, `archive-${n}`),
      clock,
      log: silentLogger,
      signer,
      checkpointMs: 3_600_000,
      onCheckpoint: (cp) => (sent = cp),
    });
    duties.checkpointNow();
    duties.stop();
    assert.ok(sent, 'a checkpoint was signed');
    return sent;
  };
  const verify = (opts: Record<string, unknown> = {}) => log.verify({ publicKey: kp.publicKey, ...opts });

  describe('(a) deleting the oldest rows and rewriting audit_meta', () => {
    it('without any purge: rows 1..5 deleted, an anchor at 6 that chains correctly but is unsigned', () => {
      fill(10);
      dropGuards(db);
      const h5 = hashAt(db, 5);
      db.prepare('DELETE FROM audit_log WHERE seq <= 5').run();
      db.prepare("INSERT INTO audit_meta VALUES (1, 6, ?, 5, '2023-06-01T00:00:00.000Z', '2023-06-01T00:00:00.000Z', NULL)").run(h5);
      const v = verify();
      assert.equal(v.ok, false, 'an unsigned anchor is not a purge');
      assert.deepEqual(pick(v), { firstBrokenSeq: 6, reason: 'anchor-unsigned' });
    });

    it('after a legitimate purge: more rows deleted and the anchor moved on with its checkpoint cleared', () => {
      fill(20);
      log.purgeExpired(loadPolicy('jiyuan'), () => {}); // first retained 14 (Jiyuan §28: 184 days)
      dropGuards(db);
      const h16 = hashAt(db, 16);
      db.prepare('DELETE FROM audit_log WHERE seq <= 16').run();
      db.prepare('UPDATE audit_meta SET first_seq = 17, first_prev_hash = ?, checkpoint = NULL').run(h16);
      assert.deepEqual(pick(verify()), { firstBrokenSeq: 17, reason: 'anchor-unsigned' });
      assert.equal(log.verify().ok, false, 'also without an explicit key: the log checks with its signer’s key');
    });

    it('a genuine head checkpoint (the kind sent to the hub every 10 minutes) replayed as the anchor', () => {
      fill(10);
      const h5 = hashAt(db, 5);
      const replayed = signCheckpoint({ seq: 5, hash: hex(h5) }, signer, clock.now()); // genuinely signed by the node
      dropGuards(db);
      db.prepare('DELETE FROM audit_log WHERE seq <= 5').run();
      db.prepare("INSERT INTO audit_meta VALUES (1, 6, ?, 5, '2023-06-01T00:00:00.000Z', '2023-06-01T00:00:00.000Z', ?)").run(h5, JSON.stringify(replayed));
      assert.deepEqual(pick(verify()), { firstBrokenSeq: 6, reason: 'anchor-unsigned' }, 'a head checkpoint is not a signed purge record');
    });
  });

  describe('(b) a forged anchor signature', () => {
    it('an anchor "signed" with another key fails, with or without an explicit key', () => {
      fill(10);
      const h5 = hashAt(db, 5);
      const forger = keySigner(NODE, generateSigningKeyPair().secretKey);
      const forged = signCheckpoint({ seq: 5, hash: hex(h5) }, forger, clock.now());
      dropGuards(db);
      db.prepare('DELETE FROM audit_log WHERE seq <= 5').run();
      db.prepare("INSERT INTO audit_meta VALUES (1, 6, ?, 5, '2023-06-01T00:00:00.000Z', '2023-06-01T00:00:00.000Z', ?)").run(h5, JSON.stringify(forged));
      assert.deepEqual(pick(log.verify()), { firstBrokenSeq: 6, reason: 'anchor-unsigned' });
      assert.deepEqual(pick(verify()), { firstBrokenSeq: 6, reason: 'anchor-unsigned' });
    });

    it('a log with something to check but no key to check it with does not pass', () => {
      fill(20);
      log.purgeExpired(loadPolicy('jiyuan'), () => {});
      const keyless = new AuditLog(db, clock);
      const v = keyless.verify();
      assert.ok(!v.ok && v.reason === ('key-missing' as string) && /公钥/.test(v.message['zh-CN']) && /public key/.test(v.message.en), JSON.stringify(v));
      assert.ok(keyless.verify({ publicKey: kp.publicKey }).ok);
    });
  });

  describe('(c) an emptied or shortened log', () => {
    it('emptied after a checkpoint: fails locally against the signed seal', () => {
      fill(8);
      checkpoint();
      dropGuards(db);
      db.exec('DELETE FROM audit_log');
      const v = verify();
      assert.equal(v.ok, false);
      assert.deepEqual(pick(v), { firstBrokenSeq: 1, reason: 'truncated' });
    });

    it('shortened after a checkpoint: fails at the first missing seq', () => {
      fill(8);
      checkpoint();
      dropGuards(db);
      db.exec('DELETE FROM audit_log WHERE seq > 4');
      assert.deepEqual(pick(verify()), { firstBrokenSeq: 5, reason: 'truncated' });
    });

    it('shortened and re-grown (tail rewritten) after a checkpoint: the seal’s hash no longer matches', () => {
      fill(8);
      checkpoint();
      dropGuards(db);
      rewriteFrom(db, 6, '掩盖');
      assert.deepEqual(pick(verify()), { firstBrokenSeq: 8, reason: 'checkpoint-mismatch' });
    });

    it('a forged seal (another key) is refused', () => {
      fill(4);
      checkpoint();
      const other = signCheckpoint({ seq: 2, hash: hex(hashAt(db, 2)) }, keySigner(NODE, generateSigningKeyPair().secretKey), clock.now());
      dropGuards(db);
      db.exec('DELETE FROM audit_log WHERE seq > 2');
      db.prepare('UPDATE audit_seal SET seq = ?, hash = ?, checkpoint = ?').run(other.seq, other.hash, JSON.stringify(other));
      assert.deepEqual(pick(verify()), { firstBrokenSeq: 2, reason: 'signature-invalid' });
    });

    it('after a purge, deleting the tail including the audit.purge record fails (the purge sealed the head)', () => {
      fill(20);
      log.purgeExpired(loadPolicy('jiyuan'), () => {}); // purge record at 21
      dropGuards(db);
      db.exec('DELETE FROM audit_log WHERE seq >= 19');
      assert.deepEqual(pick(verify()), { firstBrokenSeq: 19, reason: 'truncated' });
    });
  });

  describe('(d) the purge anchor against the retention policy', () => {
    it('a purge of records still inside the retention window is refused', () => {
      fill(20); // now = T0 + 570 days
      const early = new Date(clock.now().getTime() - 30 * DAY); // only 30 days kept: Jiyuan §28 wants ≥ 184
      assert.throws(
        () => log.purge(early, () => {}, { retentionDays: loadPolicy('jiyuan').auditRetentionDays }),
        (e: unknown) => (e as { code?: string }).code === 'AUDIT_PURGE_TOO_EARLY',
      );
      assert.throws(
        () => log.purge(early, () => {}),
        (e: unknown) => (e as { code?: string }).code === 'AUDIT_PURGE_TOO_EARLY',
        'the legal floor applies without a policy (Cybersecurity Law §21(3))',
      );
      assert.equal(db.prepare('SELECT * FROM audit_meta').get(), undefined);
    });

    it('an anchor signed by the node but cutting inside the window fails verify (and under a longer policy)', () => {
      fill(20);
      // The key holder signs a purge that keeps only 30 days, bypassing purge(): verify still refuses it.
      const before = new Date(clock.now().getTime() - 30 * DAY).toISOString();
      const keep = db.prepare('SELECT MIN(seq) AS s FROM audit_log WHERE at >= ?').get(before) as { s: number };
      const prev = hashAt(db, keep.s - 1);
      const head = log.head();
      const statement = signPurge(
        { fromSeq: 1, fromPrevHash: '0'.repeat(64), toSeq: keep.s, toPrevHash: hex(prev), headSeq: head.seq, headHash: head.hash, before, retentionDays: 30 },
        signer,
        clock.now(),
      );
      dropGuards(db);
      db.prepare('DELETE FROM audit_log WHERE seq < ?').run(keep.s);
      db.prepare("INSERT INTO audit_meta VALUES (1, ?, ?, ?, ?, '2023-06-01T00:00:00.000Z', ?)").run(keep.s, prev, keep.s - 1, before, JSON.stringify(statement));
      assert.deepEqual(pick(verify()), { firstBrokenSeq: keep.s, reason: 'purge-too-early' });
    });

    it('a legitimate Jiyuan purge fails verify under Hebi’s 3 years (§13): retention is checked against the policy given', () => {
      fill(40); // 1170 days
      log.purgeExpired(loadPolicy('jiyuan'), () => {});
      assert.ok(verify({ retentionDays: loadPolicy('jiyuan').auditRetentionDays }).ok);
      const hebi = verify({ retentionDays: loadPolicy('hebi').auditRetentionDays });
      assert.ok(!hebi.ok && hebi.reason === ('purge-too-early' as string), JSON.stringify(hebi));
    });
  });

  describe('(e) the hub refuses a moved anchor without a signed purge record', () => {
    let store: CheckpointStore;
    beforeEach(() => {
      store = new CheckpointStore(db);
    });

    it('deleting the oldest rows and faking audit_meta is caught at the next checkpoint', () => {
      fill(10);
      assert.deepEqual(store.record(checkpoint(), kp.publicKey, clock.now()), { ok: true, status: 'new' });
      dropGuards(db);
      const h5 = hashAt(db, 5);
      db.prepare('DELETE FROM audit_log WHERE seq <= 5').run();
      db.prepare("INSERT INTO audit_meta VALUES (1, 6, ?, 5, '2023-06-01T00:00:00.000Z', '2023-06-01T00:00:00.000Z', NULL)").run(h5);
      clock.advance(60_000);
      log.append(event(11)); // the head moves on, so the node sends a new checkpoint
      const outcome = store.record(checkpoint(), kp.publicKey, clock.now());
      assert.equal(outcome.ok, false, 'the anchor moved without a signed purge record');
      assert.ok(!outcome.ok && (outcome.code as string) === 'PURGE_UNSIGNED', JSON.stringify(outcome));
      assert.ok(!outcome.ok && /清理/.test(outcome.message['zh-CN']) && /purge/.test(outcome.message.en));
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM audit_checkpoints WHERE accepted = 0').get() as { n: number }).n, 1, 'kept as evidence');
    });

    it('a legitimate retention purge is accepted, and the next checkpoint too', () => {
      fill(20);
      assert.deepEqual(store.record(checkpoint(), kp.publicKey, clock.now()), { ok: true, status: 'new' });
      clock.advance(DAY);
      log.purgeExpired(loadPolicy('jiyuan'), () => {});
      assert.deepEqual(store.record(checkpoint(), kp.publicKey, clock.now()), { ok: true, status: 'new' });
      clock.advance(60_000);
      log.append(event(21));
      assert.deepEqual(store.record(checkpoint(), kp.publicKey, clock.now()), { ok: true, status: 'new' });
      assert.ok(verify().ok);
    });

    it('a purge statement signed by another key, or one the node signed inside the window, is refused', () => {
      fill(20);
      store.record(checkpoint(), kp.publicKey, clock.now());
      clock.advance(DAY);
      log.purgeExpired(loadPolicy('jiyuan'), () => {});
      const good = checkpoint() as AuditCheckpoint & { purge?: Record<string, unknown> };
      assert.ok(good.purge, 'a checkpoint after a purge carries the signed purge record');
      const { signature: _s, nodeId: _n, at: _a, ...fields } = good.purge;
      const foreign = { ...good, purge: signPurge(fields as Parameters<typeof signPurge>[0], keySigner(NODE, generateSigningKeyPair().secretKey), clock.now()) };
      const r1 = store.record(foreign as AuditCheckpoint, kp.publicKey, clock.now());
      assert.ok(!r1.ok && (r1.code as string) === 'PURGE_UNSIGNED', JSON.stringify(r1));
      const early = { ...good, purge: signPurge({ ...fields, retentionDays: 30 }, signer, clock.now()) };
      const r2 = store.record(early as AuditCheckpoint, kp.publicKey, clock.now());
      assert.ok(!r2.ok && (r2.code as string) === 'PURGE_TOO_EARLY', JSON.stringify(r2));
      assert.deepEqual(store.record(good, kp.publicKey, clock.now()), { ok: true, status: 'new' });
    });

    it('a purge of records the hub saw recently (its own checkpoints date them) is refused', () => {
      fill(10); // record 10 at day 270
      assert.deepEqual(store.record(checkpoint(), kp.publicKey, clock.now()), { ok: true, status: 'new' });
      for (let i = 11; i <= 20; i++) {
        clock.advance(30 * DAY);
        log.append(event(i));
      }
      assert.deepEqual(store.record(checkpoint(), kp.publicKey, clock.now()), { ok: true, status: 'new' });
      // The node claims (signed, 371 days after the cutoff, so retention looks kept) that records 1..20 all
      // predate day 200; but the hub holds its checkpoint of seq 10 signed at day 270, so record 11 is younger.
      clock.advance(DAY);
      const head = log.head();
      const before = new Date(T0.getTime() + 200 * DAY).toISOString();
      const statement = signPurge(
        { fromSeq: 1, fromPrevHash: '0'.repeat(64), toSeq: 21, toPrevHash: head.hash, headSeq: head.seq, headHash: head.hash, before, retentionDays: 184 },
        signer,
        clock.now(),
      );
      const cp = signCheckpoint({ seq: 21, hash: 'c'.repeat(64), firstSeq: 21, firstPrevHash: head.hash } as never, signer, clock.now());
      const r = store.record({ ...cp, purge: statement } as AuditCheckpoint, kp.publicKey, clock.now());
      assert.ok(!r.ok && (r.code as string) === 'PURGE_TOO_EARLY', JSON.stringify(r));
    });
  });
});
