/**
 * @module Group commit: writes from concurrent requests (audit records of data access, a grant's last
 * use) are run together in one SQLite transaction on the next turn of the event loop, and each caller's
 * promise resolves only after that transaction is durable. Callers reply after `await`, so nothing a
 * caller was answered about is lost in a crash or a power cut. Each write runs in its own savepoint, so
 * one failing write rejects only its own caller.
 *
 * Why the fsync is ours: with `synchronous = FULL` SQLite fsyncs the WAL inside COMMIT, blocking the
 * event loop (~0.2–0.6 ms a commit under load, a fifth of a cascaded query's budget). For these batches
 * the connection commits at `synchronous = NORMAL` (frames written to the WAL, no fsync) and we then
 * `fdatasync` the WAL file on a dedicated worker thread, resolving the batch's callers only when it returns.
 * Not on libuv's thread pool (`fs.fdatasync`): that pool is shared with scrypt and file I/O, and a
 * login flood there once put 20 s of hashing in front of every acknowledged write.
 * That is the same durability FULL gives (the committed frames are on disk before anyone is told), with
 * the wait off the main thread; while one fsync runs, later batches commit and share the next one.
 * A checkpoint that moves frames into the database file fsyncs the WAL first and the database after
 * (SQLite does so at NORMAL), so frames never leave the WAL undurably. If an fsync fails, its callers
 * are rejected (their writes may not survive a power cut) and so is every later write: after a failed
 * fsync a later one may report success over lost pages.
 */
import { fstatSync, openSync, closeSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Db } from './db.ts';

type Datasync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

/** The worker's whole program (CommonJS, evaluated; no loader needed): fdatasync each descriptor it is sent. */
const FSYNC_WORKER = `
const { parentPort } = require('node:worker_threads');
const { fdatasyncSync } = require('node:fs');
parentPort.on('message', ({ id, fd }) => {
  let error = null;
  try { fdatasyncSync(fd); } catch (e) { error = { message: String((e && e.message) || e), code: e && e.code }; }
  parentPort.postMessage({ id, error });
});
`;

/**
 * fdatasync on a thread of its own, so durability latency does not depend on libuv's pool. Descriptors
 * are process-wide, so the worker syncs the very fd the main thread opened. The worker holds the
 * process open only while an fsync is outstanding. If it dies, outstanding fsyncs fail (and so poison
 * the group commit: whether their frames reached the disk is unknown).
 */
export class FsyncThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, (err: NodeJS.ErrnoException | null) => void>();
  private nextId = 1;
  /** fsyncs run so far (tests). */
  count = 0;

  readonly datasync: Datasync = (fd, done) => {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    this.pending.set(id, done);
    this.count++;
    if (this.pending.size === 1) worker.ref();
    worker.postMessage({ id, fd });
  };

  private start(): Worker {
    const worker = new Worker(FSYNC_WORKER, { eval: true, execArgv: [], env: {}, stdout: false, stderr: false });
    worker.unref();
    worker.on('message', (m: { id: number; error: { message: string; code?: string } | null }) => {
      const done = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      done?.(m.error ? Object.assign(new Error(m.error.message), { code: m.error.code }) : null);
    });
    const lost = (why: string) => {
      if (this.worker === worker) this.worker = null;
      const err = new Error(`fsync worker ${why}`);
      for (const [id, done] of [...this.pending]) {
        this.pending.delete(id);
        done(err);
      }
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited (${code})`));
    return worker;
  }

  /** Stop the worker (nothing may be outstanding). */
  close(): void {
    const worker = this.worker;
    this.worker = null;
    if (worker) void worker.terminate();
  }
}

interface Pending {
  write: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** SQLite's numeric value of `PRAGMA synchronous` for FULL (EXTRA is 3, and also fsyncs). */
const SYNC_FULL = 2;

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  /** Committed at NORMAL, waiting for a WAL fsync. */
  private unsynced: Pending[] = [];
  private syncing = false;
  private closed = false;
  private wal: { fd: number; ino: number } | null = null;
  private readonly deferSync: boolean;
  private readonly syncLevel: number;
  /** Set by the first failed fsync: after one, later fsyncs may "succeed" over lost frames (fsyncgate). */
  private broken: Error | null = null;
  /** `PRAGMA synchronous` in force for the last batch's commit (tests). */
  lastCommitSync = 0;

  private readonly maxBatch: number;
  private readonly datasync: Datasync;
  /** The dedicated fsync thread, unless a datasync was injected. */
  readonly fsyncThread: FsyncThread | null;

  constructor(
    private readonly db: Db,
    opts: { maxBatch?: number /** Default: fdatasync on a dedicated worker thread; injectable so tests can hold or fail it. */; datasync?: Datasync } = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 512;
    this.fsyncThread = opts.datasync ? null : new FsyncThread();
    this.datasync = opts.datasync ?? this.fsyncThread!.datasync;
    // Only a file database in WAL mode at FULL (or EXTRA) needs the deferred fsync; at NORMAL or OFF
    // the operator chose weaker durability and a commit is final when it returns.
    const journal = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
    const sync = Number(db.pragma('synchronous', { simple: true }));
    this.deferSync = !db.memory && journal === 'wal' && sync >= SYNC_FULL;
    this.syncLevel = sync;
  }

  /** Run `write` in the next group transaction; resolves once it is durable. */
  run(write: () => void): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    if (this.broken) {
      for (const p of batch) p.reject(this.broken); // queued before the failure: not committed either
      return;
    }
    const failed = new Map<Pending, unknown>();
    try {
      // db.pragma, not a prepared statement: SQLite applies PRAGMA synchronous when it is prepared.
      if (this.deferSync) this.db.pragma('synchronous = NORMAL');
      this.lastCommitSync = Number(this.db.pragma('synchronous', { simple: true }));
      try {
        this.db.transaction(() => {
          for (const p of batch) {
            try {
              this.db.transaction(p.write)(); // a savepoint: a failure undoes only this write
            } catch (err) {
              failed.set(p, err);
            }
          }
        })();
      } finally {
        if (this.deferSync) this.db.pragma(`synchronous = ${this.syncLevel}`);
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    for (const p of batch) {
      if (failed.has(p)) p.reject(failed.get(p));
      else if (this.deferSync) this.unsynced.push(p);
      else p.resolve();
    }
    this.sync();
  }

  /** One WAL fsync at a time, covering every batch committed before it started. */
  private sync(): void {
    if (this.syncing || this.unsynced.length === 0) return;
    const group = this.unsynced;
    this.unsynced = [];
    let fd: number;
    try {
      fd = this.walFd();
    } catch (err) {
      for (const p of group) p.reject(err);
      return;
    }
    this.syncing = true;
    const done = (err: Error | null) => {
      this.syncing = false;
      if (this.closed) this.releaseWal();
      if (err && !this.broken) {
        // Not retried: after a failed fsync the kernel may have dropped the dirty pages, and a later
        // fsync would report success over them. Every later write is refused until a restart.
        this.broken = new Error(`WAL fsync failed; refusing further acknowledged writes until restart: ${err.message}`, { cause: err });
      }
      for (const p of group) {
        if (this.broken) p.reject(this.broken);
        else p.resolve();
      }
      if (this.broken) for (const p of this.unsynced.splice(0)) p.reject(this.broken);
      this.sync();
    };
    try {
      this.datasync(fd, done);
    } catch (err) {
      done(err as Error);
    }
  }

  /** The WAL file's descriptor, reopened if the file was replaced (it is recreated after the last connection closes). */
  private walFd(): number {
    const path = `${this.db.name}-wal`;
    const ino = statSync(path).ino;
    if (this.wal && this.wal.ino === ino) return this.wal.fd;
    if (this.wal) closeSync(this.wal.fd);
    const fd = openSync(path, 'r+');
    this.wal = { fd, ino: fstatSync(fd).ino };
    return fd;
  }

  /** Release the WAL descriptor (once a running fsync has returned). */
  close(): void {
    this.closed = true;
    if (!this.syncing) this.releaseWal();
  }

  private releaseWal(): void {
    if (this.wal) closeSync(this.wal.fd);
    this.wal = null;
    this.fsyncThread?.close();
  }
}
