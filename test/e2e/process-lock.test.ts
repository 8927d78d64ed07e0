/**
 * One process per data directory (issue 10): a second `start` on a directory in use fails at once
 * naming the holder; after kill -9 of the holder a new start succeeds; a busy HTTP port is a clear
 * PORT_IN_USE error that leaves the database untouched.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { initHub } from '../../hub/init.ts';
import { initNode } from '../../node/init.ts';
import { spawnService, type ChildService } from '../helpers/process.ts';

const BIN = fileURLToPath(new URL('../../bin/jilian.mjs', import.meta.url));
const DEAD_NATS = 'nats://127.0.0.1:1';

/** Run `jilian <args>` to its exit (bounded); returns exit code, combined output and how long it took. */
function run(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`jilian ${args.join(' ')} still running after ${timeoutMs} ms:\n${out}`))), timeoutMs);
    child.once('exit', (code) => (clearTimeout(timer), resolve({ code, out, ms: Date.now() - t0 })));
  });
}

/** sha256 of every SQLite file (main, -wal, -shm, journal) of a directory, by name. */
function dbFiles(dir: string, db: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir))
    if (f.startsWith(db))
      out[f] = createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex');
  return out;
}

function count(file: string, table: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function busyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

function assertNoStack(out: string): void {
  assert.doesNotMatch(out, /^\s+at .+[:(]/m, `a stack trace was printed:\n${out}`);
}

describe('one process per data directory; busy port', () => {
  const root = mkdtempSync(join(tmpdir(), 'jilian-lock-'));
  const hubDir = join(root, 'hub');
  const nodeDir = join(root, 'node');
  const running: ChildService[] = [];
  before(async () => {
    const hub = await initHub(hubDir, { municipality: '410800', municipalityName: '测试市', nats: [DEAD_NATS], httpPort: 0 });
    await initNode(nodeDir, {
      county: '410802',
      countyName: '测试县',
      municipality: '410800',
      nats: [DEAD_NATS],
      httpPort: 0,
      hubId: hub.config.nodeId,
      hubKey: hub.publicKey,
      hubEncryptionKey: hub.encryptionKey,
    });
  });
  after(async () => {
    for (const p of running) await p.kill9();
    rmSync(root, { recursive: true, force: true });
  });

  for (const role of ['node', 'hub'] as const) {
    it(`${role}: a second start on the same directory fails at once naming the holder; after kill -9 a new start succeeds`, async () => {
      const dir = role === 'node' ? nodeDir : hubDir;
      const first = await spawnService(role, dir);
      running.push(first);
      const second = await run([role, 'start', '--dir', dir, '--http-port', '0']);
      assert.notEqual(second.code, 0, second.out);
      assert.match(second.out, /DATA_DIR_LOCKED/);
      assert.match(second.out, new RegExp(`\\b${first.child.pid}\\b`), 'names the holder pid');
      assert.match(second.out, /数据目录/);
      assert.match(second.out, /in use by process/);
      assert.doesNotMatch(second.out, /running: http/);
      assertNoStack(second.out);
      assert.ok(second.ms < 10_000, `took ${second.ms} ms`);
      // The holder is unaffected.
      assert.equal((await fetch(`${first.url}/api/v1/health`)).status, 200);

      await first.kill9();
      running.splice(running.indexOf(first), 1);
      const next = await spawnService(role, dir);
      running.push(next);
      assert.equal((await fetch(`${next.url}/api/v1/health`)).status, 200);
      await next.term();
      running.splice(running.indexOf(next), 1);
    });

    it(`${role}: a busy HTTP port is PORT_IN_USE with the address, no stack trace, non-zero exit and no database write`, async () => {
      const dir = role === 'node' ? nodeDir : hubDir;
      const db = role === 'node' ? 'jilian.db' : 'hub.db';
      const { server, port } = await busyPort();
      try {
        const outbox = count(join(dir, db), 'outbox');
        const audit = count(join(dir, db), 'audit_log');
        const files = dbFiles(dir, db);
        const r = await run([role, 'start', '--dir', dir, '--http-port', String(port)]);
        assert.notEqual(r.code, 0, r.out);
        assert.match(r.out, /PORT_IN_USE/);
        assert.match(r.out, new RegExp(`127\\.0\\.0\\.1:${port}`));
        assert.match(r.out, /已被占用/);
        assert.match(r.out, /already in use/);
        assertNoStack(r.out);
        assert.deepEqual(dbFiles(dir, db), files, 'database files unchanged');
        assert.equal(count(join(dir, db), 'outbox'), outbox);
        assert.equal(count(join(dir, db), 'audit_log'), audit);
      } finally {
        server.close();
      }
      // The lock was released with the failed start: a start on a free port works.
      const ok = await spawnService(role, dir);
      running.push(ok);
      await ok.term();
      running.splice(running.indexOf(ok), 1);
    });
  }
});
