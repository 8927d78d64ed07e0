/** @module Group commit: callers are answered only once their write is durable, failures stay their own, and kill -9 loses no acknowledged write. */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, open, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase, type Db } from './db.ts';
import { GroupCommit } from './group-commit.ts';

const root = mkdtempSync(join(tmpdir(), 'jilian-group-commit-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function freshDb(synchronous: 'full' | 'normal' = 'full'): Db {
  return openDatabase(join(root, `g${++n}.db`), [{ version: 1, name: 't', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)' }], { synchronous });
}

describe('GroupCommit', () => {
  it('resolves concurrent writes only after the WAL fsync returned, sharing one fsync; the connection stays at FULL', async () => {
    const db = freshDb();
    const held: (() => void)[] = [];
    const commits = new GroupCommit(db, { datasync: (_fd, done) => held.push(() => done(null)) });
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const resolved: number[] = [];
    const all = Array.from({ length: 20 }, (_, i) => commits.run(() => void insert.run(`v${i}`)).then(() => resolved.push(i)));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(held.length, 1, 'one fsync for the batch');
    assert.equal((db.prepare('SELECT COUNT(*) AS c FROM t').get() as { c: number }).c, 20, 'committed');
    assert.deepEqual(resolved, [], 'nobody is answered before the fsync returned');
    assert.equal(db.pragma('synchronous', { simple: true }), 2, 'back to FULL for every other write');
    assert.equal(commits.lastCommitSync, 1, 'the batch itself committed at NORMAL (the fsync is ours)');
    held.shift()!();
    await Promise.all(all);
    assert.equal(resolved.length, 20);
    commits.close();
    db.close();
  });

  it('a batch committed while an fsync runs waits for the next one', async () => {
    const db = freshDb();
    const held: (() => void)[] = [];
    const commits = new GroupCommit(db, { datasync: (_fd, done) => held.push(() => done(null)) });
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    let firstDone = false;
    let secondDone = false;
    const first = commits.run(() => void insert.run('a')).then(() => (firstDone = true));
    await new Promise((r) => setImmediate(r));
    const second = commits.run(() => void insert.run('b')).then(() => (secondDone = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(held.length, 1, 'one fsync at a time');
    held.shift()!();
    await first;
    assert.equal(secondDone, false, 'b was committed after that fsync began');
    await new Promise((r) => setImmediate(r));
    assert.equal(held.length, 1, 'b gets its own fsync');
    held.shift()!();
    await second;
    assert.ok(firstDone && secondDone);
    commits.close();
    db.close();
  });

  it('a failing write rejects only its caller; a failed fsync rejects the batch', async () => {
    const db = freshDb();
    let failSync = false;
    const commits = new GroupCommit(db, { datasync: (_fd, done) => done(failSync ? Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }) : null) });
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const results = await Promise.allSettled([commits.run(() => void insert.run('x')), commits.run(() => void insert.run('x')), commits.run(() => void insert.run('y'))]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((results[1] as PromiseRejectedResult).reason), /UNIQUE/);
    assert.deepEqual(db.prepare('SELECT v FROM t ORDER BY id').all(), [{ v: 'x' }, { v: 'y' }]);
    failSync = true;
    await assert.rejects(
      commits.run(() => void insert.run('z')),
      /EIO/,
      'a write that may not survive a power cut is not acknowledged',
    );
    failSync = false;
    await assert.rejects(
      commits.run(() => void insert.run('w')),
      /refusing further acknowledged writes until restart/,
      'no later fsync is trusted over lost pages',
    );
    commits.close();
    db.close();
  });

  it('at synchronous=NORMAL (operator choice) a commit is final at once and nothing is fsynced by us', async () => {
    const db = freshDb('normal');
    let syncs = 0;
    const commits = new GroupCommit(db, { datasync: (_fd, done) => (syncs++, done(null)) });
    await commits.run(() => void db.prepare('INSERT INTO t (v) VALUES (?)').run('n'));
    assert.equal(syncs, 0);
    assert.equal(db.pragma('synchronous', { simple: true }), 1);
    commits.close();
    db.close();
  });

  it('by default the fsync has its own thread: a write is acknowledged while every libuv pool thread is busy', async () => {
    // Block every pool thread deterministically: opening a FIFO for reading waits for a writer.
    const threads = Number.parseInt(process.env['UV_THREADPOOL_SIZE'] ?? '', 10) || 4;
    const fifos = Array.from({ length: threads }, (_, i) => join(root, `pool-${n}-${i}.fifo`));
    for (const f of fifos) execFileSync('mkfifo', [f]);
    const order: string[] = [];
    const blocked = fifos.map((f) => new Promise<void>((resolve) => open(f, 'r', (err, fd) => (order.push('pool'), err || closeSync(fd), resolve()))));
    const release = () => {
      for (const f of fifos) {
        try {
          closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK)); // succeeds once a reader waits
        } catch {
          /* reader not there yet or gone */
        }
      }
    };
    const db = freshDb();
    const commits = new GroupCommit(db);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const acked = commits.run(() => void insert.run('while-pool-busy')).then(() => order.push('commit'));
    // Only a deadlock breaker (never reached with the fix): on the shared pool the fsync would wait for these.
    const breaker = setTimeout(function unblock() {
      release();
      if (order.filter((o) => o === 'pool').length < threads) breaker.refresh();
    }, 10_000);
    await acked;
    assert.deepEqual(order, ['commit'], 'acknowledged before any pool thread came free');
    assert.equal(commits.fsyncThread!.count, 1);
    // Now let the pool go (retrying until every blocked open has its writer).
    clearTimeout(breaker);
    while (order.length < threads + 1) {
      release();
      await Promise.race([Promise.all(blocked), new Promise((r) => setTimeout(r, 20))]);
    }
    assert.deepEqual(db.prepare('SELECT v FROM t').all(), [{ v: 'while-pool-busy' }]);
    commits.close();
    db.close();
  });

  it('a failed fsync on the dedicated thread poisons the instance too', async () => {
    const db = freshDb();
    const commits = new GroupCommit(db);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    await commits.run(() => void insert.run('ok'));
    // The worker reports an fdatasync error (EBADF for a descriptor nobody opened stands in for EIO).
    (commits as unknown as { walFd: () => number }).walFd = () => 1 << 30;
    await assert.rejects(
      commits.run(() => void insert.run('x')),
      /WAL fsync failed/,
    );
    await assert.rejects(
      commits.run(() => void insert.run('y')),
      /refusing further acknowledged writes until restart/,
    );
    commits.close();
    db.close();
  });

  it('kill -9 while writes stream: every acknowledged write is in the database', async () => {
    const file = join(root, 'crash.db');
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../test/helpers/group-commits.ts'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`too few acknowledgements within 30 s: ${out.split('\n').length}`)), 30_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 3_000) clearTimeout(timer), resolve();
      });
    });
    child.kill('SIGKILL');
    await exited;
    const acked = out
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
    const db = new Database(file); // recovery replays the WAL as any restart would
    const stored = new Set((db.prepare('SELECT n FROM acked').all() as { n: number }[]).map((r) => r.n));
    db.close();
    const lost = acked.filter((a) => !stored.has(a));
    assert.ok(acked.length >= 3_000);
    assert.deepEqual(lost, [], 'acknowledged writes lost');
  });
});
