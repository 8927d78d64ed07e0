/**
 * The running process's log (issue 10): JSON lines only, with one access line per HTTP request that
 * names the route pattern, never the token, a cookie, the query or a raw path with an ID number in it.
 * Runs the real `jilian node start`, once logging to a file and once to stdout.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { readConfig, writeConfig } from '../../engine/cli/config-file.ts';
import { openDatabase } from '../../engine/storage/db.ts';
import { initHub } from '../../hub/init.ts';
import { NodeConfig } from '../../node/config.ts';
import { initNode } from '../../node/init.ts';
import { DepartmentStore } from '../../node/storage/departments.ts';
import { NODE_MIGRATIONS } from '../../node/storage/migrations.ts';
import { waitFor } from '../helpers/cluster.ts';

const BIN = fileURLToPath(new URL('../../bin/jilian.mjs', import.meta.url));
const ID_NUMBER = '11010519491231002X';
const BOGUS_TOKEN = 'jlt_bogus-token-that-must-not-be-logged-0123456789';

interface Proc {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function start(dir: string): Proc {
  const child = spawn(process.execPath, [BIN, 'node', 'start', '--dir', dir, '--http-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

/** The requests of the test: with a valid token, a bogus one, a cookie, ID numbers in query, path and body. */
async function traffic(url: string, token: string): Promise<{ route: string | null; status: number }[]> {
  const auth = { authorization: `Bearer ${token}` };
  const calls: { path: string; init?: RequestInit; route: string | null; status: number }[] = [
    { path: '/api/v1/health', route: '/api/v1/health', status: 200 },
    { path: `/api/v1/catalog/entries?q=${ID_NUMBER}`, init: { headers: { ...auth, cookie: `session=${token}` } }, route: '/api/v1/catalog/entries', status: 200 },
    { path: `/api/v1/catalog/entries/${ID_NUMBER}`, init: { headers: auth }, route: '/api/v1/catalog/entries/:id', status: 404 },
    { path: '/api/v1/catalog/entries', init: { headers: { authorization: `Bearer ${BOGUS_TOKEN}` } }, route: '/api/v1/catalog/entries', status: 401 },
    { path: `/api/v1/no-such/${ID_NUMBER}?sfzh=${ID_NUMBER}`, init: { headers: auth }, route: null, status: 404 },
    {
      path: '/api/v1/catalog/entries',
      init: { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: ID_NUMBER, idNumber: ID_NUMBER }) },
      route: '/api/v1/catalog/entries',
      status: 400,
    },
  ];
  for (const call of calls) {
    const res = await fetch(url + call.path, call.init);
    await res.arrayBuffer();
    assert.equal(res.status, call.status, call.path);
  }
  return calls.map(({ route, status }) => ({ route, status }));
}

function checkLog(text: string, expected: { route: string | null; status: number }[], secrets: string[]): void {
  const lines = text.split('\n').filter((l) => l.length > 0);
  assert.ok(lines.length > 0);
  const records = lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      assert.fail(`not a JSON line: ${l}`);
    }
  });
  const access = records.filter((r) => r['event'] === 'http.access');
  assert.equal(access.length, expected.length, JSON.stringify(access));
  expected.forEach((e, i) => {
    const a = access[i]!;
    assert.equal(a['route'], e.route);
    assert.equal(a['status'], e.status);
    assert.equal(typeof a['method'], 'string');
    assert.equal(typeof a['ms'], 'number');
    assert.ok(typeof a['bytes'] === 'number' && a['bytes'] > 0, JSON.stringify(a));
  });
  for (const s of secrets) assert.ok(!text.includes(s), `the log contains ${s}`);
  assert.ok(!text.includes('Bearer'), 'no authorization header in the log');
}

describe('process log: JSON lines and an access log without tokens or personal data', () => {
  const root = mkdtempSync(join(tmpdir(), 'jilian-log-'));
  const dir = join(root, 'node');
  let token = '';
  before(async () => {
    const hub = await initHub(join(root, 'hub'), { municipality: '410800', municipalityName: '测试市', nats: ['nats://127.0.0.1:1'], httpPort: 0 });
    await initNode(dir, {
      county: '410802',
      countyName: '测试县',
      municipality: '410800',
      nats: ['nats://127.0.0.1:1'],
      httpPort: 0,
      hubId: hub.config.nodeId,
      hubKey: hub.publicKey,
      hubEncryptionKey: hub.encryptionKey,
    });
    const db = openDatabase(join(dir, readConfig(dir, NodeConfig).database), NODE_MIGRATIONS);
    token = new DepartmentStore(db).issue('GA410802', '测试县公安局', new Date());
    db.close();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('to a log file: every line JSON, one access line per request, no token or ID number; nothing plain on stdout/stderr', async () => {
    writeConfig(dir, { ...readConfig(dir, NodeConfig), logFile: 'logs/node.log' });
    const logFile = join(dir, 'logs/node.log');
    const p = start(dir);
    try {
      const url = await waitFor('node started', () => (existsSync(logFile) ? /"event":"node\.started".*?"url":"(http:\/\/[^"]+)"/.exec(readFileSync(logFile, 'utf8'))?.[1] : undefined), 30_000);
      const expected = await traffic(url, token);
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0, p.out());
      checkLog(readFileSync(logFile, 'utf8'), expected, [token, BOGUS_TOKEN, ID_NUMBER]);
      assert.equal(p.out().trim(), '', 'the process wrote nothing besides its log file');
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('to stdout: stdout and stderr together are JSON lines only', async () => {
    const { logFile: _, ...config } = readConfig(dir, NodeConfig);
    writeConfig(dir, config);
    const p = start(dir);
    try {
      const url = await waitFor('node started', () => /"event":"node\.started".*?"url":"(http:\/\/[^"]+)"/.exec(p.out())?.[1], 30_000);
      const expected = await traffic(url, token);
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0, p.out());
      checkLog(p.out(), expected, [token, BOGUS_TOKEN, ID_NUMBER]);
    } finally {
      p.child.kill('SIGKILL');
    }
  });
});
