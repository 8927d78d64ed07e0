/**
 * @module Issue 10, login flood: password hashing (scrypt, on libuv's thread pool) is bounded process-wide,
 * so a flood of logins with random names neither fills the pool nor delays an acknowledged write (the
 * group commit's fsync runs on its own thread); past the bounded queue a login is refused at once with
 * 429 and Retry-After; the throttle keys on the socket peer, so a client's own `X-Forwarded-For` does
 * not reset it, and the header is believed only from a configured trusted proxy. Counts and order
 * only: no timing is asserted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { configurePasswordHashing, defaultHashConcurrency, hashGate } from '../../engine/accounts/password.ts';
import { AccountStore } from '../../engine/accounts/store.ts';
import { AuditLog } from '../../engine/audit/log.ts';
import { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import { openDatabase, type Db } from '../../engine/storage/db.ts';
import { GroupCommit } from '../../engine/storage/group-commit.ts';
import { listenHttp, type HttpListener } from '../../engine/http/listen.ts';
import { Outbox } from '../../engine/storage/outbox.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { CatalogService } from '../../node/catalog/catalog-service.ts';
import { createNodeApp } from '../../node/http/routes.ts';
import { DepartmentStore } from '../../node/storage/departments.ts';
import { NODE_MIGRATIONS } from '../../node/storage/migrations.ts';
import type { LoginConfig } from '../../engine/accounts/client-address.ts';

const PASSWORD = 'correct horse battery';

describe('login flood (issue 10)', () => {
  let dir: string;
  let db: Db;
  let accounts: AccountStore;
  const listeners: HttpListener[] = [];
  const defaults = hashGate.stats();

  const makeApp = (login?: LoginConfig) => {
    const clock = { now: () => new Date() };
    const audit = new AuditLog(db, clock);
    const service = new CatalogService({ db, store: new CatalogStore(db), outbox: new Outbox(db), clock, municipality: '410800', county: '410802', clientId: 4243, audit });
    return createNodeApp({ db, service, departments: new DepartmentStore(db), accounts, clock, status: () => ({}), log: pino({ level: 'silent' }), maxBodyBytes: 1 << 20, audit, login });
  };
  const serve = async (login?: LoginConfig) => {
    const l = await listenHttp('127.0.0.1', 0);
    l.attach(makeApp(login).fetch);
    listeners.push(l);
    return l.url;
  };
  const login = (url: string, name: string, password: string, xff?: string) =>
    fetch(`${url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...(xff ? { 'x-forwarded-for': xff } : {}) }, body: JSON.stringify({ name, password }) });
  const reader = async (name: string) => {
    const a = accounts.create({ name, role: 'dept_reader', department: 'jc-gaj' }, new Date());
    await accounts.setPassword(a.id, PASSWORD);
  };

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-login-flood-'));
    db = openDatabase(join(dir, 'node.db'), NODE_MIGRATIONS);
    accounts = new AccountStore(db);
    new DepartmentStore(db).issue('jc-gaj', '晋城市公安局', new Date());
  });
  afterEach(() => configurePasswordHashing({ concurrency: defaults.concurrency, queue: defaults.queue }));
  after(async () => {
    for (const l of listeners) await l.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('by default fewer hashes run at once than libuv has threads (1 on a 2-core box)', () => {
    const pool = Number.parseInt(process.env['UV_THREADPOOL_SIZE'] ?? '', 10) || 4;
    assert.ok(defaultHashConcurrency() >= 1 && defaultHashConcurrency() < pool);
    assert.equal(defaults.concurrency, defaultHashConcurrency());
  });

  it('50 logins with random names: at most one hash at a time, and a group-commit write and pool I/O finish while they wait', async () => {
    configurePasswordHashing({ concurrency: 1, queue: 100 });
    hashGate.resetPeak();
    const app = makeApp();
    let finished = 0;
    const statuses = Array.from({ length: 50 }, async (_, i) => {
      const r = await app.request('/api/v1/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `nobody-${i}-${Math.random()}`, password: 'x'.repeat(12) }),
      });
      finished++;
      return r.status;
    });
    // Every login is at the gate: one hashing, the rest waiting (the dummy hash of unknown names included).
    for (let turns = 0; hashGate.stats().running + hashGate.stats().waiting < 50; turns++) {
      assert.ok(turns < 100_000, `logins never reached the gate: ${JSON.stringify(hashGate.stats())}`);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(hashGate.stats().running, 1);

    const gdb = openDatabase(join(dir, 'commits.db'), [{ version: 1, name: 't', sql: 'CREATE TABLE t (v TEXT NOT NULL)' }]);
    const commits = new GroupCommit(gdb);
    await commits.run(() => void gdb.prepare('INSERT INTO t (v) VALUES (?)').run('acked'));
    const atCommit = finished;
    await stat(dir); // an ordinary libuv-pool operation
    const atStat = finished;
    assert.ok(commits.fsyncThread && commits.fsyncThread.count >= 1, 'the fsync ran on the dedicated thread');
    assert.ok(atCommit < 25, `the acknowledged write waited for ${atCommit} of 50 logins`);
    assert.ok(atStat < 25, `pool I/O waited for ${atStat} of 50 logins`);

    assert.deepEqual(new Set(await Promise.all(statuses)), new Set([401]));
    assert.equal(hashGate.peak, 1, 'never more than one scrypt at once');
    commits.close();
    gdb.close();
  });

  it('past the bounded queue a login is refused at once: 429 TOO_MANY_ATTEMPTS with Retry-After, not counted as a failure', async () => {
    await reader('busy-reader');
    configurePasswordHashing({ concurrency: 1, queue: 3 });
    hashGate.resetPeak();
    const app = makeApp();
    const res = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.request('/api/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'busy-reader', password: 'wrong password!!' }) }),
      ),
    );
    const refused = res.filter((r) => r.status === 429);
    const hashed = res.filter((r) => r.status === 401);
    assert.equal(refused.length + hashed.length, 20);
    assert.ok(hashed.length >= 4, `one running and three queued are hashed: ${hashed.length}`);
    assert.ok(refused.length > 0, 'the rest is refused');
    for (const r of refused) {
      assert.equal(r.headers.get('retry-after'), '1');
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'TOO_MANY_ATTEMPTS');
    }
    assert.equal(hashGate.peak, 1);
    assert.equal(hashGate.stats().waiting, 0);
    // Only hashed failures count towards the throttle: 4 or 5 at most, so the right password still works
    // if fewer than 5 were hashed, and otherwise the throttle (not the gate) answers.
    const ok = await app.request('/api/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'busy-reader', password: PASSWORD }) });
    assert.equal(ok.status, hashed.length >= 5 ? 429 : 201);
  });

  it('a spoofed X-Forwarded-For does not reset the throttle', async () => {
    await reader('spoof-target');
    const url = await serve();
    for (let i = 0; i < 5; i++) assert.equal((await login(url, 'spoof-target', 'wrong password!!', `198.51.100.${i + 1}`)).status, 401);
    const fresh = await login(url, 'spoof-target', PASSWORD, '198.51.100.77');
    assert.equal(fresh.status, 429, 'a new forwarded address is the same client');
    assert.equal(((await fresh.json()) as { error: { code: string } }).error.code, 'TOO_MANY_ATTEMPTS');
    assert.ok(Number(fresh.headers.get('retry-after')) > 0);
    assert.equal((await login(url, 'spoof-target', PASSWORD)).status, 429);
  });

  it('behind a configured trusted proxy the forwarded client is throttled, not the proxy', async () => {
    await reader('proxied');
    const url = await serve({ trustedProxies: ['127.0.0.0/8'] });
    for (let i = 0; i < 5; i++) assert.equal((await login(url, 'proxied', 'wrong password!!', '203.0.113.5')).status, 401);
    assert.equal((await login(url, 'proxied', PASSWORD, '203.0.113.5')).status, 429);
    // The proxy appends the address it saw: whatever the client wrote to the left of it is not the key.
    assert.equal((await login(url, 'proxied', PASSWORD, '203.0.113.99, 203.0.113.5')).status, 429);
    assert.equal((await login(url, 'proxied', PASSWORD, '203.0.113.6')).status, 201, 'another client behind the same proxy');
  });
});
