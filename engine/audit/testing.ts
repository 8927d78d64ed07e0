/** @module Helpers for the audit tests: a hand-moved clock and what an attacker with the database file does. */
import type { Db, Migration } from '../storage/db.ts';
import { hashRecord } from './chain.ts';
import { AUDIT_SCHEMA_SQL, AUDIT_SEAL_MIGRATION_NAME, AUDIT_SEAL_SQL, AUDIT_SEAL_TRIGGERS, AUDIT_TRIGGERS, type VerifyResult } from './log.ts';
import { rowFields, type AuditRow } from './row.ts';

/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public t: Date) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
}

/** The audit tables as node and hub have them: the log, then the seal (a later migration there). */
export const AUDIT_TEST_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'audit', sql: AUDIT_SCHEMA_SQL },
  { version: 2, name: AUDIT_SEAL_MIGRATION_NAME, sql: AUDIT_SEAL_SQL },
];

/** Drop the append-only triggers, as an attacker with write access to the file would first. */
export function dropGuards(db: Db): void {
  for (const t of [...AUDIT_TRIGGERS, ...AUDIT_SEAL_TRIGGERS]) db.exec(`DROP TRIGGER IF EXISTS ${t}`);
}

/** The break position and reason of a verify result, or the whole result if it passed (so a failing assert shows it). */
export function pick(v: VerifyResult): unknown {
  return v.ok ? v : { firstBrokenSeq: v.firstBrokenSeq, reason: v.reason };
}

/** Rewrite every record from `seq` on and recompute all hashes, so the chain links again. */
export function rewriteFrom(db: Db, seq: number, purpose: string): void {
  const rows = db.prepare('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq').all(seq) as AuditRow[];
  let prev = (db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(seq - 1) as { hash: Uint8Array }).hash;
  for (const row of rows) {
    const hash = hashRecord(prev, { ...rowFields(row), purpose });
    db.prepare('UPDATE audit_log SET purpose = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(purpose, prev, hash, row.seq);
    prev = hash;
  }
}
