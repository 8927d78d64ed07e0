/**
 * @module Group commit: writes from concurrent requests (audit records of data access, a grant's last
 * use) are run together in one SQLite transaction on the next turn of the event loop, and each caller's
 * promise resolves only after that transaction committed. With synchronous=FULL one fsync then serves
 * every request in flight instead of one each, and still nothing a caller was answered about is lost in
 * a crash: callers reply after `await`. Each write runs in its own savepoint, so one failing write
 * rejects only its own caller.
 */
import type { Db } from './db.ts';

interface Pending {
  write: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly maxBatch = 512,
  ) {}

  /** Run `write` in the next group transaction; resolves once it is durable. */
  run(write: () => void): Promise<void> {
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
    const failed = new Map<Pending, unknown>();
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
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    for (const p of batch) {
      if (failed.has(p)) p.reject(failed.get(p));
      else p.resolve();
    }
  }
}
