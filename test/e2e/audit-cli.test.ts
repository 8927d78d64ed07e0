/** `jilian audit verify|export --dir` on a real node directory: finds the first edited, deleted or reordered record. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AuditLog } from '../../engine/audit/log.ts';
import { AUDIT_SEAL_MIGRATION_NAME, AUDIT_SEAL_SQL, AUDIT_TRIGGERS } from '../../engine/audit/log.ts';
import { CHECKPOINT_ANCHOR_SQL } from '../../engine/audit/checkpoint.ts';
import { HUB_MIGRATIONS } from '../../hub/storage/migrations.ts';
import { keySigner, signCheckpoint } from '../../engine/audit/checkpoint.ts';
import { startAuditMaintenance } from '../../engine/audit/maintenance.ts';
import { readKeyFile } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import { loadPolicy } from '../../protocol/policy.ts';
import { openDatabase } from '../../engine/storage/db.ts';
import { initNode } from '../../node/init.ts';
import { NODE_MIGRATIONS } from '../../node/storage/migrations.ts';
import { encodePublicKey, generateSigningKeyPair } from '../../protocol/keys.ts';
import { loadSodium } from '../../protocol/sodium.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/jilian.mjs', import.meta.url));

async function nodeWithLog(name: string): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'jilian-audit-cli-')), name);
  await initNode(dir, {
    county: '410802',
    countyName: '测试区',
    municipality: '410800',
    nats: ['nats://127.0.0.1:1'],
    httpPort: 0,
    hubId: 'hub-410800',
    hubKey: encodePublicKey(generateSigningKeyPair().publicKey),
  });
  const db = openDatabase(join(dir, 'jilian.db'), NODE_MIGRATIONS);
  const audit = new AuditLog(db, { now: () => new Date('2026-03-02T08:00:00Z') });
  for (const [i, action] of ['catalog.create', 'catalog.update', 'catalog.withdraw', 'catalog.update'].entries()) {
    audit.append({ actor: `张三${i}`, actorRole: 'dept_operator', department: 'GA410802', action, resource: `410802-entry-${i}`, fields: ['abstract', '摘要, "引号"'], result: 'ok' });
  }
  db.close();
  return dir;
}

/** What an attacker with the database file does: drop the guards, then change rows directly. */
function tamper(dir: string, sql: string): void {
  const db = openDatabase(join(dir, 'jilian.db'), NODE_MIGRATIONS);
  for (const t of AUDIT_TRIGGERS) db.exec(`DROP TRIGGER IF EXISTS ${t}`);
  db.exec(sql);
  db.close();
}

async function verify(dir: string): Promise<{ code: number; out: any }> {
  try {
    const { stdout } = await run(process.execPath, [BIN, 'audit', 'verify', '--dir', dir]);
    return { code: 0, out: JSON.parse(stdout) };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: JSON.parse(e.stdout) };
  }
}

before(loadSodium);

test('an intact log verifies, and exports to CSV with Chinese text and quoting', async () => {
  const dir = await nodeWithLog('intact');
  const ok = await verify(dir);
  assert.equal(ok.code, 0);
  assert.equal(ok.out.ok, true);
  const out = join(dir, 'audit.csv');
  await run(process.execPath, [BIN, 'audit', 'export', '--dir', dir, '--from', '2026-01-01', '--to', '2026-12-31', '--format', 'csv', '--out', out]);
  const csv = readFileSync(out, 'utf8');
  assert.match(csv, /张三1/);
  // The fields cell holds a JSON array; it contains a comma and quotes, so it is quoted with doubled quotes.
  assert.ok(csv.includes('"[""abstract"",""摘要, \\""引号\\""""]"'), csv);
  assert.equal(csv.trim().split('\r\n').length, 5, 'header + 4 records');
});

test('an edited, a deleted and a reordered record are each reported at the first broken seq', async () => {
  const edited = await nodeWithLog('edited');
  tamper(edited, "UPDATE audit_log SET actor = '李四' WHERE seq = 2");
  const e = await verify(edited);
  assert.equal(e.code, 1);
  assert.equal(e.out.firstBrokenSeq, 2);

  const deleted = await nodeWithLog('deleted');
  tamper(deleted, 'DELETE FROM audit_log WHERE seq = 3');
  const d = await verify(deleted);
  assert.equal(d.code, 1);
  assert.equal(d.out.firstBrokenSeq, 3);

  const reordered = await nodeWithLog('reordered');
  tamper(reordered, `UPDATE audit_log SET seq = -2 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = -2;`);
  const r = await verify(reordered);
  assert.equal(r.code, 1);
  assert.equal(r.out.firstBrokenSeq, 2);
});

// ---- Issue 10 "Holes found": the CLI checks every signature with the node's key from its data directory,
// the purge anchor against the policy's retention (Jincheng/default: 184 days, Cybersecurity Law §21(3);
// Hebi §13: 1096), and the signed seal against an emptied or shortened log.

const DAY = 86_400_000;
const T0 = new Date('2024-01-01T00:00:00.000Z');
const NODE_ID = 'county-410802';

/** A node directory whose log was written by the node itself (signed purges and seals), one record every 30 days. */
async function signedNode(name: string, count: number, opts: { purge?: boolean; seal?: boolean } = {}): Promise<{ dir: string; secretKey: Uint8Array }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'jilian-audit-cli-')), name);
  await initNode(dir, {
    county: '410802',
    countyName: '测试区',
    municipality: '410800',
    nats: ['nats://127.0.0.1:1'],
    httpPort: 0,
    hubId: 'hub-410800',
    hubKey: encodePublicKey(generateSigningKeyPair().publicKey),
  });
  const { secretKey } = readKeyFile(join(dir, 'keys/signing.json'));
  const db = openDatabase(join(dir, 'jilian.db'), NODE_MIGRATIONS);
  let t = T0.getTime();
  const clock = { now: () => new Date(t) };
  const signer = keySigner(NODE_ID, secretKey);
  const audit = new AuditLog(db, clock, { signer });
  for (let i = 1; i <= count; i++) {
    if (i > 1) t += 30 * DAY;
    audit.append({ actor: `张三${i}`, actorRole: 'dept_operator', department: 'GA410802', action: 'catalog.update', resource: `410802-entry-${i}`, result: 'ok' });
  }
  if (opts.purge) audit.purgeExpired(loadPolicy('jincheng'), () => {}); // 184 days (Cybersecurity Law §21(3), the default)
  if (opts.seal) {
    // What the running node does every few minutes (and, after this fix, keeps as its local seal).
    const duties = startAuditMaintenance({ audit, retentionDays: 100_000, archiveDir: join(dir, 'audit-archive'), clock, log: quiet, signer, checkpointMs: 3_600_000, onCheckpoint: () => {} });
    duties.checkpointNow();
    duties.stop();
  }
  db.close();
  return { dir, secretKey };
}

const quiet = { warn: () => undefined, error: () => undefined, info: () => undefined, debug: () => undefined } as unknown as Logger;
const hashAt = (db: ReturnType<typeof openDatabase>, seq: number) => (db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(seq) as { hash: Uint8Array }).hash;

async function verifyWith(dir: string, extra: string[]): Promise<{ code: number; out: any; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'audit', 'verify', '--dir', dir, ...extra]);
    return { code: 0, out: JSON.parse(stdout), err: stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: JSON.parse(e.stdout), err: e.stderr };
  }
}

test('issue 10: a log with a legitimate, retention-driven purge and a seal verifies with the key from the data directory', async () => {
  const { dir } = await signedNode('legit', 20, { purge: true, seal: true });
  const v = await verify(dir);
  assert.equal(v.code, 0, JSON.stringify(v.out));
  assert.equal(v.out.ok, true);
});

test('issue 10 (a): deleting the oldest rows and writing a matching audit_meta fails verify', async () => {
  const { dir } = await signedNode('oldest-deleted', 10);
  const db = openDatabase(join(dir, 'jilian.db'), NODE_MIGRATIONS);
  const h4 = hashAt(db, 4);
  db.close();
  tamper(dir, 'DELETE FROM audit_log WHERE seq <= 4');
  const db2 = openDatabase(join(dir, 'jilian.db'), NODE_MIGRATIONS);
  db2.prepare("INSERT INTO audit_meta VALUES (1, 5, ?, 4, '2024-06-01T00:00:00.000Z', '2024-06-01T00:00:00.000Z', NULL)").run(h4);
  db2.close();
  const v = await verify(dir);
  assert.equal(v.code, 1);
  assert.equal(v.out.ok, false);
  assert.equal(v.out.firstBrokenSeq, 5);
  assert.equal(v.out.reason, 'anchor-unsigned');
});

test('issue 10 (b): a forged anchor signature fails, because the CLI checks it with the node’s public key', async () => {
  const { dir } = await signedNode('forged-anchor', 10);
  const db = openDatabase(join(dir, 'jilian.db'), NODE_MIGRATIONS);
  const h4 = hashAt(db, 4);
  db.close();
  const forger = keySigner(NODE_ID, generateSigningKeyPair().secretKey);
  const forged = signCheckpoint({ seq: 4, hash: Buffer.from(h4).toString('hex') }, forger, new Date());
  tamper(dir, 'DELETE FROM audit_log WHERE seq <= 4');
  const db2 = openDatabase(join(dir, 'jilian.db'), NODE_MIGRATIONS);
  db2.prepare("INSERT INTO audit_meta VALUES (1, 5, ?, 4, '2024-06-01T00:00:00.000Z', '2024-06-01T00:00:00.000Z', ?)").run(h4, JSON.stringify(forged));
  db2.close();
  const v = await verifyWith(dir, []);
  assert.equal(v.code, 1);
  assert.equal(v.out.reason, 'anchor-unsigned');
  assert.match(v.err, /没有用本节点密钥签名的清理记录.* \/ .*no purge record signed with the node's key/);
});

test('issue 10 (c): an emptied and a shortened log fail against the seal', async () => {
  const emptied = await signedNode('emptied', 6, { seal: true });
  tamper(emptied.dir, 'DELETE FROM audit_log');
  const e = await verify(emptied.dir);
  assert.equal(e.code, 1);
  assert.deepEqual([e.out.reason, e.out.firstBrokenSeq], ['truncated', 1]);

  const shortened = await signedNode('shortened', 6, { seal: true });
  tamper(shortened.dir, 'DELETE FROM audit_log WHERE seq > 3');
  const s = await verify(shortened.dir);
  assert.equal(s.code, 1);
  assert.deepEqual([s.out.reason, s.out.firstBrokenSeq], ['truncated', 4]);
});

test('issue 10 (d): the anchor is checked against the data directory’s policy (Hebi §13: 3 years)', async () => {
  const { dir } = await signedNode('policy', 20, { purge: true });
  assert.equal((await verify(dir)).code, 0);
  const file = join(dir, 'jilian.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), policy: 'hebi' }, null, 2));
  const v = await verify(dir);
  assert.equal(v.code, 1);
  assert.equal(v.out.reason, 'purge-too-early');
});

test('issue 10: a purge signed by a key older than the previous one needs --public-key', async () => {
  const { dir, secretKey } = await signedNode('rotated', 20, { purge: true });
  // Two rotations later neither key file holds the key that signed the purge.
  const other = generateSigningKeyPair();
  const keyFile = join(dir, 'keys/signing.json');
  writeFileSync(keyFile, JSON.stringify({ ...JSON.parse(readFileSync(keyFile, 'utf8')), publicKey: encodePublicKey(other.publicKey) }));
  const v = await verify(dir);
  assert.equal(v.code, 1);
  assert.equal(v.out.reason, 'signature-invalid');
  const old = encodePublicKey(secretKey.slice(32));
  assert.equal((await verifyWith(dir, ['--public-key', old])).code, 0);
  await assert.rejects(run(process.execPath, [BIN, 'audit', 'verify', '--dir', dir, '--public-key', 'nope']), /--public-key/);
});

test('issue 10: node and hub migrations hold frozen copies of the seal and checkpoint-anchor SQL', () => {
  for (const list of [NODE_MIGRATIONS, HUB_MIGRATIONS]) {
    const seal = list.find((m) => m.name === AUDIT_SEAL_MIGRATION_NAME);
    assert.equal(seal?.sql, AUDIT_SEAL_SQL);
  }
  assert.ok(HUB_MIGRATIONS.some((m) => m.sql === CHECKPOINT_ANCHOR_SQL));
});
