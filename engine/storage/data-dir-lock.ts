/**
 * @module One process per data directory. The lock is a SQLite file held with an exclusive lock
 * (`locking_mode=EXCLUSIVE` after a write): the operating system drops it when the process ends in
 * any way, `kill -9` included, so a crash never leaves a stale lock behind. A lock database cannot be
 * read while held, so the holder also writes who it is (pid, host, start time) to a small JSON file
 * beside it, which a refused second start names in its error.
 */
import Database from 'better-sqlite3';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { AppError, type ErrorCode } from '../errors.ts';

export const LOCK_FILE = 'jilian.lock';
export const HOLDER_FILE = 'jilian.lock.json';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  role?: string;
  nodeId?: string;
  /** Filled in once the holder's HTTP listener is bound. */
  url?: string;
}

export interface DataDirLock {
  readonly holder: LockHolder;
  /** Record more about the holder (its URL once listening). */
  update(extra: Partial<LockHolder>): void;
  /** Release the lock (idempotent). Process exit releases it too. */
  release(): void;
}

/**
 * An error whose message carries both languages and the code, so any printer (one reading `message`
 * or one reading `code`/`zh`/`en`) shows the whole of it. Used for start-up refusals the CLI prints.
 */
export class StartupError extends AppError {
  constructor(code: ErrorCode, zh: string, en: string) {
    super(code, zh, en);
    this.message = `${zh} / ${en} (${code})`;
  }
}

/** Take the data directory's lock or fail at once with DATA_DIR_LOCKED naming the holder. */
export function lockDataDir(dir: string, who: { role?: string; nodeId?: string } = {}): DataDirLock {
  const file = join(dir, LOCK_FILE);
  const holderFile = join(dir, HOLDER_FILE);
  const db = new Database(file, { timeout: 0 });
  const holder: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), ...who };
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = MEMORY'); // no journal file beside the lock (its content is disposable)
    db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), info TEXT NOT NULL)');
    // The first write takes the EXCLUSIVE lock; in exclusive locking mode it is kept until close.
    db.prepare('INSERT OR REPLACE INTO holder (id, info) VALUES (1, ?)').run(JSON.stringify(holder));
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY' || (err as { code?: string }).code === 'SQLITE_LOCKED') throw lockedError(dir, readHolder(holderFile));
    throw err;
  }
  const write = () => {
    const tmp = `${holderFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(holder) + '\n', { mode: 0o600 });
    renameSync(tmp, holderFile);
  };
  write();
  let released = false;
  return {
    holder,
    update(extra) {
      if (released) return;
      Object.assign(holder, extra);
      write();
    },
    release() {
      if (released) return;
      released = true;
      // Remove the holder file first, while still holding the lock, so a next holder's file is never removed.
      if (readHolder(holderFile)?.pid === process.pid) rmSync(holderFile, { force: true });
      db.close();
    },
  };
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' ? h : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

function lockedError(dir: string, h: LockHolder | null): StartupError {
  const where = resolve(dir);
  // A holder file of a dead process on this host means the lock's holder is still writing its own.
  const known = h && (h.host !== hostname() || alive(h.pid)) ? h : null;
  const zhWho = known ? `进程 ${known.pid}（主机 ${known.host}，${known.startedAt} 启动${known.url ? `，${known.url}` : ''}）` : '另一个正在启动的进程';
  const enWho = known ? `process ${known.pid} on ${known.host}, started ${known.startedAt}${known.url ? `, serving ${known.url}` : ''}` : 'another process that is starting';
  return new StartupError(
    'DATA_DIR_LOCKED',
    `数据目录 ${where} 正由${zhWho}使用；一个数据目录同时只能运行一个进程，请先停止它`,
    `data directory ${where} is in use by ${enWho}; only one process may run on a data directory, stop it first`,
  );
}
