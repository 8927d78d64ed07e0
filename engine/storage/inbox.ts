/**
 * @module Receive-side de-duplication that outlives JetStream's duplicate window: every applied
 * (sender, seq) is recorded; a message seen before is acknowledged and dropped. Old records are
 * pruned after `retentionDays`, and the highest pruned seq per sender becomes a floor below which
 * everything counts as seen.
 */
import type { Db } from './db.ts';

/** How long applied (sender, seq) pairs are remembered individually (PROTOCOL.md §Idempotency). */
export const INBOX_RETENTION_DAYS = 30;

export class Inbox {
  private readonly seenStmt;
  private readonly floorStmt;
  private readonly recordStmt;

  constructor(private readonly db: Db) {
    this.seenStmt = db.prepare('SELECT 1 FROM inbox_seen WHERE sender = ? AND seq = ?');
    this.floorStmt = db.prepare('SELECT seq FROM inbox_floor WHERE sender = ?');
    this.recordStmt = db.prepare('INSERT OR IGNORE INTO inbox_seen (sender, seq, seen_at) VALUES (?, ?, ?)');
  }

  seen(sender: string, seq: number): boolean {
    const floor = (this.floorStmt.get(sender) as { seq: number } | undefined)?.seq ?? 0;
    return seq <= floor || this.seenStmt.get(sender, seq) !== undefined;
  }

  /** Record inside the transaction that applies the message. */
  record(sender: string, seq: number, now: Date): void {
    this.recordStmt.run(sender, seq, now.toISOString());
  }

  /** Drop records older than the retention, raising each sender's floor to the highest dropped seq. */
  prune(now: Date, retentionDays: number): number {
    const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString();
    return this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO inbox_floor (sender, seq) SELECT sender, MAX(seq) FROM inbox_seen WHERE seen_at < ? GROUP BY sender
           ON CONFLICT(sender) DO UPDATE SET seq = MAX(seq, excluded.seq)`,
        )
        .run(cutoff);
      return this.db.prepare('DELETE FROM inbox_seen WHERE seen_at < ?').run(cutoff).changes;
    })();
  }
}
