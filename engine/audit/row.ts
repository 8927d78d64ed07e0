/** @module The `audit_log` row as SQLite returns it, and its decoding into an `AuditRecord`. */
import type { AuditRecord, ChainedFields } from './chain.ts';

/** Column list in the order every statement of the log uses. */
export const AUDIT_COLUMNS = 'seq, at, actor, actor_role, department, action, resource, fields, purpose, result, detail, prev_hash, hash';

/** A raw row; typed loosely because `verify` must survive rows an attacker wrote by hand. */
export interface AuditRow {
  seq: number;
  at: unknown;
  actor: unknown;
  actor_role: unknown;
  department: unknown;
  action: unknown;
  resource: unknown;
  fields: unknown;
  purpose: unknown;
  result: unknown;
  detail: unknown;
  prev_hash: unknown;
  hash: unknown;
}

/** A BLOB column as bytes; anything else (a hand-written TEXT, NULL) as no bytes, which never matches a hash. */
export function blob(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}

const hex = (v: unknown) => Buffer.from(blob(v)).toString('hex');

/** The hashed members of a row; throws if `fields`/`detail` are not JSON (only a tampered row). */
export function rowFields(r: AuditRow): ChainedFields {
  return {
    seq: r.seq,
    at: r.at as string,
    actor: r.actor as string,
    actorRole: r.actor_role as string,
    department: r.department as string | null,
    action: r.action as string,
    resource: r.resource as string | null,
    fields: JSON.parse(r.fields as string) as string[],
    purpose: r.purpose as string | null,
    result: r.result as string,
    detail: JSON.parse(r.detail as string) as Record<string, unknown>,
  };
}

/** Decode a row written by `AuditLog.append`. */
export function rowToRecord(r: AuditRow): AuditRecord {
  return { ...rowFields(r), prevHash: hex(r.prev_hash), hash: hex(r.hash) };
}
