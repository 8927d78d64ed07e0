/** `jilian audit verify|export --dir` on a real node directory: finds the first edited, deleted or reordered record. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AuditLog } from '../../engine/audit/log.ts';
import { AUDIT_TRIGGERS } from '../../engine/audit/log.ts';
import { openDatabase } from '../../engine/db.ts';
import { initNode } from '../../node/init.ts';
import { NODE_MIGRATIONS } from '../../node/storage/migrations.ts';
import { encodePublicKey, generateSigningKeyPair } from '../../protocol/keys.ts';
import { loadSodium } from '../../protocol/sodium.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/jilian.mjs', import.meta.url));

async function nodeWithLog(name: string): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'jilian-audit-cli-')), name);
  await initNode(dir, { county: '410802', countyName: '测试区', municipality: '410800', nats: ['nats://127.0.0.1:1'], httpPort: 0, hubId: 'hub-410800', hubKey: encodePublicKey(generateSigningKeyPair().publicKey) });
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
