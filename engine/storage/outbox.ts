/**
 * @module Durable outbox: a message is written in the same SQLite transaction as the change it
 * announces, and deleted only after JetStream acknowledged it. Rows are published in seq order;
 * the seq is the envelope seq and part of the JetStream message id, so a re-send is de-duplicated.
 */
import type { Db } from './db.ts';

export interface OutboxRow {
  seq: number;
  subject: string;
  type: string;
  payload: unknown;
  createdAt: string;
}

export class Outbox {
  private readonly insert;
  private readonly page;
  private readonly del;
  private readonly stat;
  private readonly queuedIds;
  private readonly listeners = new Set<() => void>();

  constructor(db: Db) {
    this.insert = db.prepare('INSERT INTO outbox (subject, type, payload, created_at) VALUES (?, ?, ?, ?)');
    this.page = db.prepare('SELECT seq, subject, type, payload, created_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?');
    this.del = db.prepare('DELETE FROM outbox WHERE seq = ?');
    this.stat = db.prepare('SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox');
    this.queuedIds = db.prepare("SELECT DISTINCT json_extract(u.value, '$.entryId') AS id FROM outbox, json_each(outbox.payload, '$.updates') AS u WHERE outbox.type = ?").pluck();
  }

  /** Queue a message; call inside the transaction that makes the change. Returns its seq. */
  add(subject: string, type: string, payload: unknown, now: Date): number {
    const seq = Number(this.insert.run(subject, type, JSON.stringify(payload), now.toISOString()).lastInsertRowid);
    queueMicrotask(() => this.listeners.forEach((l) => l()));
    return seq;
  }

  /** Up to `limit` rows after `afterSeq`, oldest first. */
  peek(afterSeq: number, limit: number): OutboxRow[] {
    return (this.page.all(afterSeq, limit) as { seq: number; subject: string; type: string; payload: string; created_at: string }[]).map((r) => ({
      seq: r.seq,
      subject: r.subject,
      type: r.type,
      payload: JSON.parse(r.payload),
      createdAt: r.created_at,
    }));
  }

  remove(seq: number): void {
    this.del.run(seq);
  }

  /**
   * Entry ids carried by queued rows of `type` whose payload lists `{ entryId, … }` under `updates`
   * (`catalog.update`): anti-entropy need not queue those entries again while they wait.
   */
  queuedEntryIds(type = 'catalog.update'): Set<string> {
    return new Set((this.queuedIds.all(type) as unknown[]).filter((id): id is string => typeof id === 'string'));
  }

  depth(): { depth: number; oldest: string | null } {
    const r = this.stat.get() as { n: number; oldest: string | null };
    return { depth: r.n, oldest: r.oldest };
  }

  /** Called (asynchronously) after every add, so the publisher wakes without polling. */
  onAdd(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
