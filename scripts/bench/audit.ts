/**
 * @module Audit figure (issue 3): `audit.append.per_s`, hash-chained appends per second against bare
 * better-sqlite3 prepared inserts of the same rows into the same table and indexes (no triggers, no
 * validation, no hashing). Both sides: a fresh file opened by `openDatabase` (WAL, synchronous=FULL),
 * transactions of 100 records, as a busy node writes audit rows together with the changes they describe.
 * Rounds alternate between the two sides; the median of each is reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../engine/storage/db.ts';
import { systemClock } from '../../engine/clock.ts';
import type { AuditRecord } from '../../engine/audit/chain.ts';
import { AUDIT_SCHEMA_SQL, AUDIT_TABLE_SQL, AuditLog, type AuditEventInput } from '../../engine/audit/log.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { report, type Figure } from './harness.ts';

const TX = 100;

/** A realistic mix: data use with Chinese field names and purpose, catalog edits, denials. */
function events(n: number): AuditEventInput[] {
  const out: AuditEventInput[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 10;
    out.push(
      kind < 7
        ? {
            actor: `user-${i % 97}`,
            actorRole: 'department',
            department: `410602-dept-${i % 13}`,
            action: 'data.use',
            resource: `019a${(i % 500).toString(16).padStart(4, '0')}-entry`,
            fields: ['姓名', '公民身份号码', '户籍地址'],
            purpose: '不动产登记户籍核验',
            result: 'ok',
            detail: { via: 'api', rows: i % 50 },
          }
        : kind < 9
          ? { actor: `user-${i % 97}`, actorRole: 'department', department: `410602-dept-${i % 13}`, action: 'catalog.update', resource: `entry-${i % 300}`, fields: ['abstract'], result: 'ok' }
          : { actor: 'unknown', actorRole: 'anonymous', action: 'access.denied', result: 'denied', detail: { reason: 'bad token', ip: '10.0.0.7' } },
    );
  }
  return out;
}

function rate(n: number, ms: number): number {
  return n / (ms / 1000);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchAudit(opts: { n?: number; rounds?: number } = {}): Promise<Figure[]> {
  await loadSodium();
  const n = opts.n ?? Number(process.env.BENCH_AUDIT_N ?? 50_000);
  const rounds = opts.rounds ?? Number(process.env.BENCH_AUDIT_ROUNDS ?? 3);
  const root = mkdtempSync(join(tmpdir(), 'jilian-bench-audit-'));
  const input = events(n);
  const chained: number[] = [];
  const bare: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // 1. Chained appends through AuditLog (validation, canonical JSON, BLAKE2b, head lookup, triggers).
      const db = openDatabase(join(root, `audit-${round}.db`), [{ version: 1, name: 'audit', sql: AUDIT_SCHEMA_SQL }]);
      const log = new AuditLog(db, systemClock);
      const records: AuditRecord[] = new Array(n);
      const batch = db.transaction((from: number) => {
        for (let i = from; i < Math.min(from + TX, n); i++) records[i] = log.append(input[i]!);
      });
      let t0 = performance.now();
      for (let i = 0; i < n; i += TX) batch(i);
      chained.push(rate(n, performance.now() - t0));
      if (!log.verify().ok) throw new Error('benchmark chain does not verify');
      db.close();

      // 2. Bare inserts of the same rows (same bytes, hashes included) into the same table and indexes.
      const bdb = openDatabase(join(root, `bare-${round}.db`), [{ version: 1, name: 'bare', sql: AUDIT_TABLE_SQL }]);
      const insert = bdb.prepare(
        'INSERT INTO audit_log (seq, at, actor, actor_role, department, action, resource, fields, purpose, result, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      const rows = records.map((r) => [
        r.seq,
        r.at,
        r.actor,
        r.actorRole,
        r.department,
        r.action,
        r.resource,
        JSON.stringify(r.fields),
        r.purpose,
        r.result,
        JSON.stringify(r.detail),
        Buffer.from(r.prevHash, 'hex'),
        Buffer.from(r.hash, 'hex'),
      ]);
      const bareBatch = bdb.transaction((from: number) => {
        for (let i = from; i < Math.min(from + TX, n); i++) insert.run(...rows[i]!);
      });
      t0 = performance.now();
      for (let i = 0; i < n; i += TX) bareBatch(i);
      bare.push(rate(n, performance.now() - t0));
      bdb.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const value = median(chained);
  const baseline = median(bare);
  return [
    report({
      name: 'audit.append.per_s',
      value,
      unit: 'records/s',
      baseline,
      ratio: value / baseline,
      goal: '≥ 0.5',
      n,
      txSize: TX,
      rounds,
      synchronous: 'full',
    }),
  ];
}
