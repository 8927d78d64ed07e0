/** @module Tests of signed audit checkpoints and the hub's store that detects rewritten history. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { generateSigningKeyPair, type SigningKeyPair } from '../../protocol/keys.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { openDatabase, type Db } from '../storage/db.ts';
import { CHECKPOINT_ANCHOR_SQL, CHECKPOINT_SCHEMA_SQL, CheckpointStore, checkpointSignedBytes, keySigner, signCheckpoint, verifyCheckpoint, type CheckpointSigner } from './checkpoint.ts';
import { AUDIT_SCHEMA_SQL, AuditLog } from './log.ts';
import { dropGuards, FakeClock, rewriteFrom } from './testing.ts';

const T0 = new Date('2024-05-01T08:00:00.000Z');
const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);

describe('audit checkpoints', () => {
  let dir: string;
  let db: Db;
  let kp: SigningKeyPair;
  let signer: CheckpointSigner;
  let store: CheckpointStore;
  let n = 0;

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-audit-cp-'));
  });
  beforeEach(() => {
    db?.close();
    db = openDatabase(join(dir, `cp-${n++}.db`), [
      { version: 1, name: 'audit', sql: AUDIT_SCHEMA_SQL },
      { version: 2, name: 'checkpoints', sql: CHECKPOINT_SCHEMA_SQL },
      { version: 3, name: 'checkpoint anchors', sql: CHECKPOINT_ANCHOR_SQL },
    ]);
    kp = generateSigningKeyPair();
    signer = keySigner('county-410602', kp.secretKey);
    store = new CheckpointStore(db);
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs {nodeId, seq, hash, at} under a domain-separated context and verifies with the public key', () => {
    const cp = signCheckpoint({ seq: 7, hash: H1 }, signer, T0);
    assert.deepEqual({ ...cp, signature: typeof cp.signature }, { nodeId: 'county-410602', seq: 7, hash: H1, at: T0.toISOString(), signature: 'string' });
    assert.ok(verifyCheckpoint(cp, kp.publicKey));
    const bytes = new TextDecoder().decode(checkpointSignedBytes(cp));
    assert.equal(bytes, `jilian/audit-checkpoint/v1\0{"at":"2024-05-01T08:00:00.000Z","hash":"${H1}","nodeId":"county-410602","seq":7}`);
  });

  it('refuses altered fields, another key, a bare-body signature and malformed input', () => {
    const cp = signCheckpoint({ seq: 7, hash: H1 }, signer, T0);
    assert.equal(verifyCheckpoint({ ...cp, seq: 8 }, kp.publicKey), false);
    assert.equal(verifyCheckpoint({ ...cp, hash: H2 }, kp.publicKey), false);
    assert.equal(verifyCheckpoint({ ...cp, nodeId: 'county-410603' }, kp.publicKey), false);
    assert.equal(verifyCheckpoint(cp, generateSigningKeyPair().publicKey), false);
    const body = checkpointSignedBytes(cp).slice('jilian/audit-checkpoint/v1\0'.length);
    const bare = { ...cp, signature: Buffer.from(signer.signDetached(body)).toString('base64') };
    assert.equal(verifyCheckpoint(bare, kp.publicKey), false, 'a signature without the context string is not a checkpoint signature');
    assert.equal(verifyCheckpoint({ ...cp, signature: '!!' }, kp.publicKey), false);
    assert.equal(verifyCheckpoint(null, kp.publicKey), false);
    assert.throws(() => signCheckpoint({ seq: 1, hash: 'xyz' }, signer, T0));
  });

  it('the store accepts increasing seqs and repeats, and keeps the latest per node', () => {
    assert.equal(store.latest('county-410602'), undefined);
    assert.deepEqual(store.record(signCheckpoint({ seq: 5, hash: H1 }, signer, T0), kp.publicKey, T0), { ok: true, status: 'new' });
    assert.deepEqual(store.record(signCheckpoint({ seq: 5, hash: H1 }, signer, T0), kp.publicKey, T0), { ok: true, status: 'same' });
    const later = signCheckpoint({ seq: 9, hash: H2 }, signer, T0);
    assert.deepEqual(store.record(later, kp.publicKey, T0), { ok: true, status: 'new' });
    assert.deepEqual(store.latest('county-410602'), later);
    assert.equal(store.vouched('county-410602', 5, H1), true);
    assert.equal(store.vouched('county-410602', 5, H2), false);
  });

  it('a lower seq or the same seq with another hash is "history rewritten", kept as evidence, latest unchanged', () => {
    const first = signCheckpoint({ seq: 9, hash: H1 }, signer, T0);
    store.record(first, kp.publicKey, T0);
    const lower = store.record(signCheckpoint({ seq: 8, hash: H1 }, signer, T0), kp.publicKey, T0);
    assert.equal(lower.ok, false);
    assert.ok(!lower.ok && lower.code === 'HISTORY_REWRITTEN' && /history rewritten/.test(lower.message.en) && /历史记录被改写/.test(lower.message['zh-CN']));
    const forked = store.record(signCheckpoint({ seq: 9, hash: H2 }, signer, T0), kp.publicKey, T0);
    assert.ok(!forked.ok && forked.code === 'HISTORY_REWRITTEN');
    assert.deepEqual(!forked.ok && forked.last, first);
    assert.deepEqual(store.latest('county-410602'), first);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM audit_checkpoints WHERE accepted = 0').get() as { n: number }).n, 2);
  });

  it('a checkpoint signed before the latest one that arrives late (a publisher retry) is stale, not evidence', () => {
    const later = new Date(T0.getTime() + 60_000);
    store.record(signCheckpoint({ seq: 9, hash: H1 }, signer, later), kp.publicKey, later);
    const late = store.record(signCheckpoint({ seq: 8, hash: H2 }, signer, T0), kp.publicKey, later);
    assert.deepEqual(late, { ok: true, status: 'stale' });
    assert.equal(store.latest('county-410602')?.seq, 9);
    // Signed after the latest one but going back: that is a rewind.
    const rewind = store.record(signCheckpoint({ seq: 8, hash: H1 }, signer, new Date(later.getTime() + 1)), kp.publicKey, later);
    assert.ok(!rewind.ok && rewind.code === 'HISTORY_REWRITTEN');
  });

  it('a checkpoint with a bad signature is refused and not stored', () => {
    const cp = signCheckpoint({ seq: 1, hash: H1 }, keySigner('county-410602', generateSigningKeyPair().secretKey), T0);
    assert.deepEqual(store.record(cp, kp.publicKey, T0).ok, false);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM audit_checkpoints').get() as { n: number }).n, 0);
  });

  it('end to end: a node that rewrites its tail and re-signs the head is caught by the hub', () => {
    const clock = new FakeClock(T0);
    const log = new AuditLog(db, clock);
    for (let i = 0; i < 6; i++) log.append({ actor: '张三', actorRole: 'department', action: 'data.use', result: 'ok', detail: { i } });
    assert.deepEqual(store.record(signCheckpoint(log.head(), signer, clock.now()), kp.publicKey, clock.now()), { ok: true, status: 'new' });
    dropGuards(db);
    rewriteFrom(db, 3, '掩盖');
    assert.equal(log.verify().ok, true, 'locally consistent after the rewrite');
    const outcome = store.record(signCheckpoint(log.head(), signer, clock.now()), kp.publicKey, clock.now());
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok && outcome.code === 'HISTORY_REWRITTEN');
    assert.equal(log.verify({ checkpoint: store.latest('county-410602') }).ok, false);
  });
});
