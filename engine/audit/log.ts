/**
 * @module Append-only, hash-chained audit log (R7: every provision, use and change of data or access is
 * logged and traceable; R9, Jincheng §38: log audit at every party). One `audit_log` row per event, chained
 * as documented in `chain.ts`; triggers refuse UPDATE and DELETE except inside a retention purge, and a
 * DB owner who drops them is caught by `verify` (and, for rewrites of the whole tail, by the hub's checkpoints).
 */
import type Database from 'better-sqlite3';
import type { Writable } from 'node:stream';
import { formatZodIssues } from '../../protocol/validation-error.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db.ts';
import { AppError } from '../errors.ts';
import { GENESIS_HASH, hashRecord, type AuditRecord, type ChainedFields } from './chain.ts';
import { signCheckpoint, verifyCheckpoint, type AuditCheckpoint, type CheckpointSigner } from './checkpoint.ts';
import { exportLine, exportPreamble, type ExportFormat } from './format.ts';
import { AUDIT_COLUMNS, rowToRecord, type AuditRow } from './row.ts';
import { AUDIT_ACTIONS, AuditEvent, AuditQuery, type AuditEventInput } from './event.ts';
import { brokenAt, verifyRows, type VerifyResult } from './verify.ts';

export type { AuditRecord } from './chain.ts';
export type { VerifyResult } from './verify.ts';
export { AUDIT_ACTIONS, AUDIT_RESULTS, AuditEvent, AuditQuery, type AuditAction, type AuditEventInput } from './event.ts';

const REFUSE_UPDATE = "SELECT RAISE(ABORT, '审计日志只能追加，不可修改 / audit log is append-only: UPDATE refused')";
const REFUSE_DELETE = "SELECT RAISE(ABORT, '审计日志只能追加，仅可按保存期清理 / audit log is append-only: DELETE only by retention purge')";
const REFUSE_OVERWRITE = "SELECT RAISE(ABORT, '审计日志只能追加，序号须大于现有记录 / audit log is append-only: seq must follow the head')";
const REFUSE_META = "SELECT RAISE(ABORT, '清理锚点只能在保存期清理中修改 / audit log is append-only: the purge anchor changes only during a retention purge')";
const IN_PURGE = 'EXISTS (SELECT 1 FROM audit_purge_guard)';

/** The log table and its search indexes alone (the benchmark's bare baseline uses it too). */
export const AUDIT_TABLE_SQL = `
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  actor_role TEXT NOT NULL,
  department TEXT,
  action TEXT NOT NULL,
  resource TEXT,
  fields TEXT NOT NULL,
  purpose TEXT,
  result TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);
CREATE INDEX audit_log_department ON audit_log (department, at);
CREATE INDEX audit_log_resource ON audit_log (resource, at);
`;

/** Schema of the log, its purge anchor and guard; one migration on node and hub. */
export const AUDIT_SCHEMA_SQL = `${AUDIT_TABLE_SQL}-- After a purge: the first retained seq, the hash it chains from, and the signed checkpoint of the purged tail.
CREATE TABLE audit_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  first_seq INTEGER NOT NULL,
  first_prev_hash BLOB NOT NULL,
  purged_count INTEGER NOT NULL,
  purged_before TEXT NOT NULL,
  purged_at TEXT NOT NULL,
  checkpoint TEXT
);
-- Holds a row only inside a purge transaction; the triggers below let DELETE through only then.
CREATE TABLE audit_purge_guard (active INTEGER NOT NULL);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN ${REFUSE_UPDATE}; END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log WHEN NOT ${IN_PURGE} BEGIN ${REFUSE_DELETE}; END;
-- INSERT OR REPLACE deletes without firing DELETE triggers: refuse any seq that is not past the head.
CREATE TRIGGER audit_log_append_only BEFORE INSERT ON audit_log
  WHEN NEW.seq <= COALESCE((SELECT MAX(seq) FROM audit_log), 0) BEGIN ${REFUSE_OVERWRITE}; END;
CREATE TRIGGER audit_meta_no_insert BEFORE INSERT ON audit_meta WHEN NOT ${IN_PURGE} BEGIN ${REFUSE_META}; END;
CREATE TRIGGER audit_meta_no_update BEFORE UPDATE ON audit_meta WHEN NOT ${IN_PURGE} BEGIN ${REFUSE_META}; END;
CREATE TRIGGER audit_meta_no_delete BEFORE DELETE ON audit_meta WHEN NOT ${IN_PURGE} BEGIN ${REFUSE_META}; END;
`;

/** Names of the guard triggers; `verify` reports when one is missing. */
export const AUDIT_TRIGGERS = ['audit_log_no_update', 'audit_log_no_delete', 'audit_log_append_only', 'audit_meta_no_insert', 'audit_meta_no_update', 'audit_meta_no_delete'] as const;

export interface AuditLogOptions {
  /** Actions beyond `AUDIT_ACTIONS` this instance accepts. */
  actions?: Iterable<string>;
  /** Signs the purged tail's head so the anchor left behind is vouched for. */
  signer?: CheckpointSigner;
}

export interface PurgeResult {
  purged: number;
  /** First seq still in the table (the anchor), or undefined when nothing was purged. */
  firstRetainedSeq?: number;
  checkpoint?: AuditCheckpoint;
}

/** Records older than `retentionDays` days before `now` may be purged. */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  return new Date(now.getTime() - retentionDays * 86_400_000);
}

const COLUMNS = AUDIT_COLUMNS;
const PAGE = 1000;

interface MetaRow {
  first_seq: number;
  first_prev_hash: Uint8Array;
  checkpoint: string | null;
}

export class AuditLog {
  private readonly actions: Set<string>;
  private readonly insert;
  private readonly last;
  private readonly meta;
  private readonly range;
  private readonly searches = new Map<string, { page: Database.Statement<unknown[]>; count: Database.Statement<unknown[]> }>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly options: AuditLogOptions = {},
  ) {
    this.actions = new Set([...AUDIT_ACTIONS, ...(options.actions ?? [])]);
    this.insert = db.prepare(`INSERT INTO audit_log (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.meta = db.prepare('SELECT first_seq, first_prev_hash, checkpoint FROM audit_meta WHERE id = 1');
    this.range = db.prepare(`SELECT ${COLUMNS} FROM audit_log WHERE seq > ? AND at >= ? AND at < ? ORDER BY seq LIMIT ${PAGE}`);
  }

  /**
   * Validate and chain one event. Call inside the transaction that makes the change it describes, so both
   * commit or neither does; outside one it opens its own. Throws AppError INVALID_REQUEST on a bad event.
   */
  append(event: AuditEventInput): AuditRecord {
    const parsed = AuditEvent.safeParse(event);
    if (!parsed.success) throw new AppError('INVALID_REQUEST', '审计事件无效', 'invalid audit event', formatZodIssues(parsed.error));
    const e = parsed.data;
    if (!this.actions.has(e.action)) {
      throw new AppError('INVALID_REQUEST', `未登记的审计动作 ${e.action}`, `unregistered audit action ${e.action}`, [{ path: 'action', code: 'invalid_value', message: e.action }]);
    }
    // zod has already dropped any "__proto__" key, so what is stored is exactly what is hashed.
    const detailText = JSON.stringify(e.detail);
    const write = (): AuditRecord => {
      const head = this.headBytes();
      const fields: ChainedFields = {
        seq: head.seq + 1,
        at: this.clock.now().toISOString(),
        actor: e.actor,
        actorRole: e.actorRole,
        department: e.department ?? null,
        action: e.action,
        resource: e.resource ?? null,
        fields: e.fields,
        purpose: e.purpose ?? null,
        result: e.result,
        detail: e.detail as Record<string, unknown>,
      };
      const hash = hashRecord(head.hash, fields);
      this.insert.run(
        fields.seq, fields.at, fields.actor, fields.actorRole, fields.department, fields.action, fields.resource,
        JSON.stringify(fields.fields), fields.purpose, fields.result, detailText, head.hash, hash,
      );
      return { ...fields, prevHash: Buffer.from(head.hash).toString('hex'), hash: Buffer.from(hash).toString('hex') };
    };
    return this.db.inTransaction ? write() : this.db.transaction(write).immediate();
  }

  /** Last seq and its hash (hex); seq 0 and 32 zero bytes for an empty log, the purge anchor after a full purge. */
  head(): { seq: number; hash: string } {
    const h = this.headBytes();
    return { seq: h.seq, hash: Buffer.from(h.hash).toString('hex') };
  }

  private headBytes(): { seq: number; hash: Uint8Array } {
    const row = this.last.get() as { seq: number; hash: Uint8Array } | undefined;
    if (row) return row;
    const meta = this.meta.get() as MetaRow | undefined;
    return meta ? { seq: meta.first_seq - 1, hash: meta.first_prev_hash } : { seq: 0, hash: GENESIS_HASH };
  }

  /**
   * Re-hash the whole chain from the genesis or purge anchor. Finds edited, deleted, renumbered and swapped
   * rows, a broken anchor, and (given the last checkpoint sent to the hub) a truncated tail.
   */
  verify(opts: { publicKey?: Uint8Array; checkpoint?: AuditCheckpoint } = {}): VerifyResult {
    const run = (): VerifyResult => {
      const meta = this.meta.get() as MetaRow | undefined;
      const anchor = meta ? { seq: meta.first_seq, prevHash: new Uint8Array(meta.first_prev_hash) } : { seq: 1, prevHash: GENESIS_HASH };
      const triggers = new Set((this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as { name: string }[]).map((r) => r.name));
      // A row left in the guard table would silently disable the DELETE triggers.
      const guardOpen = this.db.prepare('SELECT 1 FROM audit_purge_guard LIMIT 1').get() !== undefined;
      const guardsIntact = AUDIT_TRIGGERS.every((t) => triggers.has(t)) && !guardOpen;
      if (meta?.checkpoint != null && !this.anchorVouched(meta.checkpoint, anchor, opts.publicKey)) return brokenAt(anchor.seq, 'anchor-mismatch', guardsIntact);
      const rows = this.db.prepare(`SELECT ${COLUMNS} FROM audit_log ORDER BY seq`).iterate() as IterableIterator<AuditRow>;
      return verifyRows(rows, anchor, guardsIntact, opts.checkpoint);
    };
    return this.db.inTransaction ? run() : this.db.transaction(run)();
  }

  /** Whether the stored checkpoint of the purged tail names exactly the anchor (and, given the key, is signed by it). */
  private anchorVouched(stored: string, anchor: { seq: number; prevHash: Uint8Array }, publicKey?: Uint8Array): boolean {
    let cp: AuditCheckpoint;
    try {
      cp = JSON.parse(stored) as AuditCheckpoint;
    } catch {
      return false;
    }
    const names = cp.seq === anchor.seq - 1 && cp.hash === Buffer.from(anchor.prevHash).toString('hex');
    return names && (publicKey === undefined || verifyCheckpoint(cp, publicKey));
  }

  /** Records matching every given filter, newest first, with the total for paging. */
  search(query: AuditQuery): { total: number; records: AuditRecord[] } {
    const q = AuditQuery.parse(query);
    const conds: [string, unknown][] = [];
    if (q.actor !== undefined) conds.push(['actor = ?', q.actor]);
    if (q.department !== undefined) conds.push(['department = ?', q.department]);
    if (q.resource !== undefined) conds.push(['resource = ?', q.resource]);
    if (q.action !== undefined) conds.push(['action = ?', q.action]);
    if (q.from !== undefined) conds.push(['at >= ?', q.from.toISOString()]);
    if (q.to !== undefined) conds.push(['at < ?', q.to.toISOString()]);
    const where = conds.length ? `WHERE ${conds.map((c) => c[0]).join(' AND ')}` : '';
    let stmts = this.searches.get(where);
    if (!stmts) {
      stmts = {
        page: this.db.prepare(`SELECT ${COLUMNS} FROM audit_log ${where} ORDER BY seq DESC LIMIT ? OFFSET ?`),
        count: this.db.prepare(`SELECT COUNT(*) AS n FROM audit_log ${where}`),
      };
      this.searches.set(where, stmts);
    }
    const params = conds.map((c) => c[1]);
    const total = (stmts.count.get(...params) as { n: number }).n;
    const records = (stmts.page.all(...params, q.limit, q.offset) as AuditRow[]).map(rowToRecord);
    return { total, records };
  }

  /**
   * Stream records with `from` ≤ at < `to` in seq order to `out` (formats in `format.ts`), honouring
   * back-pressure. Reads in pages by seq so the connection is never held by an open cursor between awaits.
   * Does not end `out`. Returns the number of records written.
   */
  async export(from: Date, to: Date, format: ExportFormat, out: Writable): Promise<number> {
    const write = (chunk: string) => (out.write(chunk) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', resolve)));
    await write(exportPreamble(format));
    let after = 0;
    let n = 0;
    for (;;) {
      const page = (this.range.all(after, from.toISOString(), to.toISOString()) as AuditRow[]).map(rowToRecord);
      if (page.length === 0) return n;
      await write(page.map((r) => exportLine(format, r)).join(''));
      n += page.length;
      after = page[page.length - 1]!.seq;
    }
  }

  /**
   * Retention purge: in one transaction, hand every record of the chain's prefix older than `before` to
   * `exportTo` (in seq order, batches of ≤ 1000; it must persist them durably, e.g. write + fsync, or throw
   * to abort), delete them, move the anchor, and append an `audit.purge` record. Only a prefix is purged
   * (a record at or after `before` keeps every later one), so the rest still chains from the anchor.
   * Refuses to purge a chain that does not verify: the evidence would go with it.
   */
  purge(before: Date, exportTo: (records: AuditRecord[]) => void): PurgeResult {
    return this.db.transaction((): PurgeResult => {
      const check = this.verify();
      if (!check.ok) {
        throw new AppError('CONFLICT', `审计链在序号 ${check.firstBrokenSeq} 处损坏，拒绝清理`, `audit chain broken at seq ${check.firstBrokenSeq}; purge refused`);
      }
      const cutoff = before.toISOString();
      const keep = this.db.prepare('SELECT MIN(seq) AS s FROM audit_log WHERE at >= ?').get(cutoff) as { s: number | null };
      const end = keep.s ?? this.headBytes().seq + 1;
      const rangeAll = this.db.prepare(`SELECT ${COLUMNS} FROM audit_log WHERE seq > ? AND seq < ? ORDER BY seq LIMIT ${PAGE}`);
      let after = 0;
      let purged = 0;
      let lastHash: Uint8Array | undefined;
      for (;;) {
        const rows = rangeAll.all(after, end) as AuditRow[];
        if (rows.length === 0) break;
        exportTo(rows.map(rowToRecord));
        purged += rows.length;
        after = rows[rows.length - 1]!.seq;
        lastHash = rows[rows.length - 1]!.hash as Uint8Array;
      }
      if (purged === 0 || !lastHash) return { purged: 0 };
      const checkpoint = this.options.signer && signCheckpoint({ seq: end - 1, hash: Buffer.from(lastHash).toString('hex') }, this.options.signer, this.clock.now());
      this.db.prepare('INSERT INTO audit_purge_guard (active) VALUES (1)').run();
      this.db.prepare('DELETE FROM audit_log WHERE seq < ?').run(end);
      this.db
        .prepare(
          `INSERT INTO audit_meta (id, first_seq, first_prev_hash, purged_count, purged_before, purged_at, checkpoint) VALUES (1, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET first_seq = excluded.first_seq, first_prev_hash = excluded.first_prev_hash,
             purged_count = purged_count + excluded.purged_count, purged_before = excluded.purged_before,
             purged_at = excluded.purged_at, checkpoint = excluded.checkpoint`,
        )
        .run(end, lastHash, purged, cutoff, this.clock.now().toISOString(), checkpoint ? JSON.stringify(checkpoint) : null);
      this.db.prepare('DELETE FROM audit_purge_guard').run();
      this.append({
        actor: this.options.signer?.nodeId ?? 'system',
        actorRole: 'system',
        action: 'audit.purge',
        result: 'ok',
        purpose: '保存期满清理 / retention purge',
        detail: { before: cutoff, purged, firstRetainedSeq: end, lastPurgedHash: Buffer.from(lastHash).toString('hex') },
      });
      return { purged, firstRetainedSeq: end, ...(checkpoint ? { checkpoint } : {}) };
    }).immediate();
  }

  /** `purge` at the policy's cutoff (now − retention days, by the injected clock). */
  purgeExpired(policy: { auditRetentionDays: number }, exportTo: (records: AuditRecord[]) => void): PurgeResult {
    return this.purge(retentionCutoff(this.clock.now(), policy.auditRetentionDays), exportTo);
  }
}
