/** @module Every refused wire message is logged (one JSON line) and kept in the `rejections` table for operators. */
import { ProtocolError } from '../../protocol/errors.ts';
import type { Db } from '../../engine/storage/db.ts';
import type { Logger } from '../../engine/log.ts';
import type { AuditLog } from '../../engine/audit/log.ts';

export interface Rejection {
  id: number;
  at: string;
  sender: string | null;
  subject: string;
  code: string;
  message: string;
}

export class RejectionLog {
  private readonly insert;
  counts: Record<string, number> = {};

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly audit?: AuditLog,
  ) {
    this.insert = db.prepare('INSERT INTO rejections (at, sender, subject, code, message) VALUES (?, ?, ?, ?, ?)');
  }

  record(err: ProtocolError, subject: string, sender: string | null, now: Date): void {
    this.counts[err.code] = (this.counts[err.code] ?? 0) + 1;
    this.insert.run(now.toISOString(), sender, subject.slice(0, 200), err.code, err.message.slice(0, 500));
    this.log.warn({ event: 'wire.rejected', code: err.code, subject, sender, detail: err.detail }, err.message);
    this.audit?.append({ actor: sender ?? 'unknown', actorRole: 'node', action: 'wire.rejected', resource: subject.slice(0, 500), result: 'rejected', detail: { code: err.code } });
  }

  recent(limit: number): Rejection[] {
    return this.db.prepare('SELECT id, at, sender, subject, code, message FROM rejections ORDER BY id DESC LIMIT ?').all(limit) as Rejection[];
  }
}

/** How many refused messages of each code are kept: `jilian hub status`. */
export function rejectionsByCode(db: Db): { code: string; n: number }[] {
  return db.prepare('SELECT code, COUNT(*) AS n FROM rejections GROUP BY code').all() as { code: string; n: number }[];
}

/** The sender id of a message that failed verification, if its body could be read (for the log only). */
export function claimedSender(err: unknown): string | null {
  return err instanceof ProtocolError && typeof err.detail.from === 'string' ? err.detail.from : null;
}
