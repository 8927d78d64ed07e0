/**
 * @module Append-only, hash-chained audit log (R7: every provision, use and change of data or access is
 * logged and traceable; R9, Jincheng §38: log audit at every party). One `audit_log` row per event, chained
 * as documented in `chain.ts`; triggers refuse UPDATE and DELETE except inside a retention purge, and a
 * DB owner who drops them is caught by `verify` (and, for rewrites of the whole tail, by the hub's checkpoints).
 * Without the node's key nobody can move the purge anchor (a signed purge record vouches for it, within the
 * policy's retention) or lower the seal (the last signed head), so deleting the oldest records behind a faked
 * anchor, or emptying or cutting the log below its seal, fails `verify` too (issue 10). What `verify` cannot
 * see locally: records after the last seal, and a log reset to an older signed state as a whole; the hub's
 * checkpoints catch the latter.
 */
import type Database from 'better-sqlite3';
import type { Writable } from 'node:stream';
import { formatZodIssues } from '../../protocol/validation-error.ts';
import type { Clock } from '../clock.ts';
import { migrationApplied, type Db } from '../storage/db.ts';
import { AppError } from '../errors.ts';
import { SIX_MONTHS_MIN_DAYS } from '../../protocol/policy.ts';
import { GENESIS_HASH, hashRecord, type AuditRecord, type ChainedFields } from './chain.ts';
import { AuditCheckpoint, AuditPurge, purgeKeepsRetention, signCheckpoint, signPurge, verifyCheckpoint, verifyPurge, type CheckpointSigner } from './checkpoint.ts';
import { exportLine, exportPreamble, type ExportFormat } from './format.ts';
import { AUDIT_COLUMNS, rowToRecord, type AuditRow } from './row.ts';
import { AUDIT_ACTIONS, AuditEvent, AuditQuery, type AuditEventInput } from './event.ts';
import { brokenAt, verifyRows, type BreakReason, type VerifyResult } from './verify.ts';

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

/**
 * The seal: the latest signed head checkpoint of this log (the one also sent to the hub), a local
 * high-water mark, so an emptied or shortened log fails `verify`. One later migration on node and hub
 * (their migration lists hold this text as a frozen literal, under `AUDIT_SEAL_MIGRATION_NAME`).
 */
export const AUDIT_SEAL_SQL = `
CREATE TABLE audit_seal (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  checkpoint TEXT NOT NULL
);
CREATE TRIGGER audit_seal_no_delete BEFORE DELETE ON audit_seal BEGIN SELECT RAISE(ABORT, '审计封记不可删除 / audit seal cannot be deleted'); END;
CREATE TRIGGER audit_seal_no_rewind BEFORE UPDATE ON audit_seal WHEN NEW.seq < OLD.seq BEGIN SELECT RAISE(ABORT, '审计封记不可回退 / audit seal cannot go back'); END;
`;
export const AUDIT_SEAL_MIGRATION_NAME = 'audit seal: the last signed head of the audit log';
export const AUDIT_SEAL_TRIGGERS = ['audit_seal_no_delete', 'audit_seal_no_rewind'] as const;

export interface AuditLogOptions {
  /** Actions beyond `AUDIT_ACTIONS` this instance accepts. */
  actions?: Iterable<string>;
  /** The node's (or hub's) key: signs purge records and seals; purges are refused without it. */
  signer?: CheckpointSigner;
  /**
   * Public keys whose signatures `verify` accepts, besides the signer's own (e.g. the previous key after a
   * rotation, `dataDirPublicKeys`). Read on every verify.
   */
  verifyKeys?: () => readonly Uint8Array[];
  /**
   * The policy's audit retention, days (R7): purges may not cut later and `verify` refuses anchors that did.
   * Default 184, the 6-month floor (Cybersecurity Law §21(3); Jiyuan §28) that no preset goes below.
   */
  retentionDays?: number;
}

export interface VerifyOptions {
  /** Check signatures with this key (or these keys) instead of the log's own. */
  publicKey?: Uint8Array;
  publicKeys?: readonly Uint8Array[];
  /** A head checkpoint kept elsewhere (the hub's latest): the chain must reach it with its hash. */
  checkpoint?: Pick<AuditCheckpoint, 'seq' | 'hash'>;
  /** Minimum retention the purges must have kept, days (the policy's `auditRetentionDays`). */
  retentionDays?: number;
}

export interface PurgeResult {
  purged: number;
  /** First seq still in the table (the anchor), or undefined when nothing was purged. */
  firstRetainedSeq?: number;
  /** The signed purge record that vouches for the new anchor. */
  statement?: AuditPurge;
}

/** Records older than `retentionDays` days before `now` may be purged. */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  return new Date(now.getTime() - retentionDays * 86_400_000);
}

const COLUMNS = AUDIT_COLUMNS;
const PAGE = 1000;
const DAY_MS = 86_400_000;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface MetaRow {
  first_seq: number;
  first_prev_hash: Uint8Array;
  checkpoint: string | null;
}

/** JSON text parsed by a schema; undefined when either fails (a tampered row). */
function parseJson<T>(schema: { safeParse(v: unknown): { success: boolean; data?: T } }, text: unknown): T | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export class AuditLog {
  private readonly actions: Set<string>;
  private readonly insert;
  private readonly last;
  private readonly meta;
  private readonly range;
  private readonly searches = new Map<string, { page: Database.Statement<unknown[]>; count: Database.Statement<unknown[]> }>();
  /** Keys this instance's signer has had (a rotation replaces the key in place), so older signatures still verify. */
  private readonly signerKeys = new Map<string, Uint8Array>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly options: AuditLogOptions = {},
  ) {
    this.actions = new Set([...AUDIT_ACTIONS, ...(options.actions ?? [])]);
    this.rememberSignerKey();
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
        fields.seq,
        fields.at,
        fields.actor,
        fields.actorRole,
        fields.department,
        fields.action,
        fields.resource,
        JSON.stringify(fields.fields),
        fields.purpose,
        fields.result,
        detailText,
        head.hash,
        hash,
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
   * Re-hash the whole chain from the genesis or purge anchor and check every signature with the node's key:
   * the purge anchor's signed purge record (which must name the anchor and have kept the retention), each
   * `audit.purge` record's, and the seal's. Finds edited, deleted, renumbered and swapped rows; rows deleted
   * from the start with a faked anchor; and a tail emptied or cut below the seal, a purge record's head or
   * `opts.checkpoint` (the hub's). Signatures need a key: `opts.publicKey(s)`, else the signer's and `verifyKeys`.
   */
  verify(opts: VerifyOptions = {}): VerifyResult {
    const run = (): VerifyResult => {
      const meta = this.meta.get() as MetaRow | undefined;
      const anchor = meta ? { seq: meta.first_seq, prevHash: new Uint8Array(meta.first_prev_hash) } : { seq: 1, prevHash: GENESIS_HASH };
      const triggers = new Set((this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as { name: string }[]).map((r) => r.name));
      const sealTable = this.hasSealTable();
      // A row left in the guard table would silently disable the DELETE triggers; a dropped seal table the truncation check.
      const guardOpen = this.db.prepare('SELECT 1 FROM audit_purge_guard LIMIT 1').get() !== undefined;
      const expected = sealTable ? [...AUDIT_TRIGGERS, ...AUDIT_SEAL_TRIGGERS] : AUDIT_TRIGGERS;
      const guardsIntact = expected.every((t) => triggers.has(t)) && !guardOpen && (sealTable || !this.sealMigrated());
      const keys = opts.publicKeys ?? (opts.publicKey ? [opts.publicKey] : this.trustedKeys());
      const minDays = opts.retentionDays ?? this.options.retentionDays ?? SIX_MONTHS_MIN_DAYS;
      const anchorStatement = meta ? parseJson(AuditPurge, meta.checkpoint) : undefined;
      const sealRow = sealTable ? (this.db.prepare('SELECT seq, hash, checkpoint FROM audit_seal WHERE id = 1').get() as { seq: number; hash: string; checkpoint: string } | undefined) : undefined;
      const seal = sealRow && parseJson(AuditCheckpoint, sealRow.checkpoint);
      // Signed heads the chain must reach: the seal, the head the last purge left, the caller's checkpoint.
      const points = [
        ...(sealRow ? [{ seq: sealRow.seq, hash: sealRow.hash }] : []),
        ...(anchorStatement ? [{ seq: anchorStatement.headSeq, hash: anchorStatement.headHash }] : []),
        ...(opts.checkpoint ? [opts.checkpoint] : []),
      ];
      let firstAt: unknown;
      const inspect = (row: AuditRow): BreakReason | undefined => {
        if (row.seq === anchor.seq) firstAt = row.at;
        return row.action === 'audit.purge' ? this.purgeRecordIssue(row, keys, minDays) : undefined;
      };
      const rows = this.db.prepare(`SELECT ${COLUMNS} FROM audit_log ORDER BY seq`).iterate() as IterableIterator<AuditRow>;
      const walked = verifyRows(rows, anchor, guardsIntact, points, inspect);
      if (!walked.ok) return walked;
      if (meta) {
        const at = anchor.seq;
        if (keys.length === 0) return brokenAt(at, 'key-missing', guardsIntact);
        if (!anchorStatement || !keys.some((k) => verifyPurge(anchorStatement, k))) return brokenAt(at, 'anchor-unsigned', guardsIntact);
        if (anchorStatement.toSeq !== at || anchorStatement.toPrevHash !== hex(anchor.prevHash)) return brokenAt(at, 'anchor-mismatch', guardsIntact);
        // R7 retention (policy `auditRetentionDays`: Jiyuan §28 ≥ 6 months, Hebi §13 ≥ 3 years).
        if (!purgeKeepsRetention(anchorStatement, minDays)) return brokenAt(at, 'purge-too-early', guardsIntact);
        // A purge stops at the first record at or after its cutoff, so the first retained one is never older.
        if (typeof firstAt === 'string' && firstAt < anchorStatement.before) return brokenAt(at, 'anchor-mismatch', guardsIntact);
      }
      if (sealRow) {
        if (keys.length === 0) return brokenAt(sealRow.seq, 'key-missing', guardsIntact);
        if (!seal || seal.seq !== sealRow.seq || seal.hash !== sealRow.hash || !keys.some((k) => verifyCheckpoint(seal, k))) return brokenAt(sealRow.seq, 'signature-invalid', guardsIntact);
        // The anchor only moves forward: one behind the sealed anchor was put back by hand.
        if (seal.firstSeq !== undefined && (seal.firstSeq > anchor.seq || (seal.firstSeq === anchor.seq && seal.firstPrevHash !== hex(anchor.prevHash)))) {
          return brokenAt(anchor.seq, 'anchor-mismatch', guardsIntact);
        }
      }
      return walked;
    };
    return this.db.inTransaction ? run() : this.db.transaction(run)();
  }

  /** What is wrong with an `audit.purge` record's signed purge record, if it carries one (older ones do not). */
  private purgeRecordIssue(row: AuditRow, keys: readonly Uint8Array[], minDays: number): BreakReason | undefined {
    let detail: { statement?: unknown };
    try {
      detail = JSON.parse(row.detail as string) as { statement?: unknown };
    } catch {
      return undefined;
    }
    if (detail.statement === undefined) return undefined;
    if (keys.length === 0) return 'key-missing';
    const p = AuditPurge.safeParse(detail.statement).data;
    if (!p || !keys.some((k) => verifyPurge(p, k))) return 'signature-invalid';
    // Bound to its place: the record chains from the head the purge signed.
    if (p.headSeq !== row.seq - 1 || p.headHash !== hex(row.prev_hash as Uint8Array)) return 'checkpoint-mismatch';
    if (!purgeKeepsRetention(p, minDays)) return 'purge-too-early';
    return undefined;
  }

  /** The signer's key(s) seen by this instance, then `verifyKeys`. */
  private trustedKeys(): Uint8Array[] {
    this.rememberSignerKey();
    const all = new Map(this.signerKeys);
    for (const k of this.options.verifyKeys?.() ?? []) all.set(hex(k), k);
    return [...all.values()];
  }

  private rememberSignerKey(): void {
    const k = this.options.signer?.publicKeyBytes;
    if (k && k.length === 32) this.signerKeys.set(hex(k), new Uint8Array(k));
  }

  private hasSealTable(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_seal'").get() !== undefined;
  }

  /** Whether the seal migration ran here (then a missing seal table was dropped by hand). */
  private sealMigrated(): boolean {
    return migrationApplied(this.db, AUDIT_SEAL_MIGRATION_NAME);
  }

  /**
   * Sign the head with the purge anchor (and the latest signed purge record) as a checkpoint, keep it as
   * the seal, and hand it to `deliver` (e.g. the outbox to the hub) in the same transaction.
   */
  seal(deliver?: (cp: AuditCheckpoint) => void, signer: CheckpointSigner | undefined = this.options.signer): AuditCheckpoint {
    if (!signer) throw signerRequired();
    const run = (): AuditCheckpoint => {
      const cp = this.signHead(signer);
      if (this.hasSealTable()) {
        this.db
          .prepare('INSERT INTO audit_seal (id, seq, hash, checkpoint) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, checkpoint = excluded.checkpoint')
          .run(cp.seq, cp.hash, JSON.stringify(cp));
      }
      deliver?.(cp);
      return cp;
    };
    return this.db.inTransaction ? run() : this.db.transaction(run).immediate();
  }

  private signHead(signer: CheckpointSigner): AuditCheckpoint {
    if (signer === this.options.signer) this.rememberSignerKey();
    const head = this.head();
    const meta = this.meta.get() as MetaRow | undefined;
    const anchor = meta ? { firstSeq: meta.first_seq, firstPrevHash: hex(meta.first_prev_hash) } : { firstSeq: 1, firstPrevHash: hex(GENESIS_HASH) };
    const purge = meta ? parseJson(AuditPurge, meta.checkpoint) : undefined;
    return signCheckpoint({ ...head, ...anchor }, signer, this.clock.now(), purge);
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
   * to abort), delete them, move the anchor with a purge record signed by the node's key (old → new anchor,
   * the cutoff and the retention kept), append an `audit.purge` record carrying it, and seal the new head.
   * Only a prefix is purged (a record at or after `before` keeps every later one), so the rest still chains
   * from the anchor. Refuses (AppError) without a signer (AUDIT_SIGNER_REQUIRED), a cutoff inside the
   * retention (AUDIT_PURGE_TOO_EARLY: `before` later than now − `retentionDays`, default the log's policy,
   * R7), and a chain that does not verify (CONFLICT: the evidence would go with it).
   */
  purge(before: Date, exportTo: (records: AuditRecord[]) => void, opts: { retentionDays?: number } = {}): PurgeResult {
    const signer = this.options.signer;
    if (!signer) throw signerRequired();
    return this.db
      .transaction((): PurgeResult => {
        const check = this.verify();
        if (!check.ok) {
          throw new AppError('CONFLICT', `审计链在序号 ${check.firstBrokenSeq} 处损坏，拒绝清理`, `audit chain broken at seq ${check.firstBrokenSeq}; purge refused`);
        }
        const now = this.clock.now();
        const floor = this.options.retentionDays ?? SIX_MONTHS_MIN_DAYS;
        const retentionDays = Math.max(opts.retentionDays ?? floor, floor);
        if (before.getTime() > now.getTime() - retentionDays * DAY_MS) {
          throw new AppError(
            'AUDIT_PURGE_TOO_EARLY',
            `清理截止时间 ${before.toISOString()} 晚于保存期（${retentionDays} 天）允许的 ${new Date(now.getTime() - retentionDays * DAY_MS).toISOString()}，拒绝清理`,
            `purge cutoff ${before.toISOString()} is inside the ${retentionDays}-day retention (at most ${new Date(now.getTime() - retentionDays * DAY_MS).toISOString()}); purge refused`,
          );
        }
        const cutoff = before.toISOString();
        const keep = this.db.prepare('SELECT MIN(seq) AS s FROM audit_log WHERE at >= ?').get(cutoff) as { s: number | null };
        const head = this.headBytes();
        const end = keep.s ?? head.seq + 1;
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
        const meta = this.meta.get() as MetaRow | undefined;
        const statement = signPurge(
          {
            fromSeq: meta?.first_seq ?? 1,
            fromPrevHash: hex(meta ? meta.first_prev_hash : GENESIS_HASH),
            toSeq: end,
            toPrevHash: hex(lastHash),
            headSeq: head.seq,
            headHash: hex(head.hash),
            before: cutoff,
            retentionDays,
          },
          signer,
          now,
        );
        this.db.prepare('INSERT INTO audit_purge_guard (active) VALUES (1)').run();
        this.db.prepare('DELETE FROM audit_log WHERE seq < ?').run(end);
        this.db
          .prepare(
            `INSERT INTO audit_meta (id, first_seq, first_prev_hash, purged_count, purged_before, purged_at, checkpoint) VALUES (1, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET first_seq = excluded.first_seq, first_prev_hash = excluded.first_prev_hash,
             purged_count = purged_count + excluded.purged_count, purged_before = excluded.purged_before,
             purged_at = excluded.purged_at, checkpoint = excluded.checkpoint`,
          )
          .run(end, lastHash, purged, cutoff, now.toISOString(), JSON.stringify(statement));
        this.db.prepare('DELETE FROM audit_purge_guard').run();
        this.append({
          actor: signer.nodeId,
          actorRole: 'system',
          action: 'audit.purge',
          result: 'ok',
          purpose: '保存期满清理 / retention purge',
          detail: { before: cutoff, purged, firstRetainedSeq: end, lastPurgedHash: hex(lastHash), statement },
        });
        this.seal(undefined, signer);
        return { purged, firstRetainedSeq: end, statement };
      })
      .immediate();
  }

  /** `purge` at the policy's cutoff (now − retention days, by the injected clock). */
  purgeExpired(policy: { auditRetentionDays: number }, exportTo: (records: AuditRecord[]) => void): PurgeResult {
    return this.purge(retentionCutoff(this.clock.now(), policy.auditRetentionDays), exportTo, { retentionDays: policy.auditRetentionDays });
  }
}

function signerRequired(): AppError {
  return new AppError('AUDIT_SIGNER_REQUIRED', '审计清理与封记须用本节点密钥签名，但未配置签名者', "audit purges and seals are signed with the node's key, but no signer is configured");
}
