/**
 * @module Import rows into an entry's front-end table (R3: producers aggregate full data through the 前置库,
 * Jiyuan §8, Jincheng §17). Every record is validated; bad ones are recorded as rejects with zh-CN and
 * English reasons; good ones are written in transactions of `batchSize` source records. Each transaction
 * also advances `frontend_imports.committed_rows` and stores the running counts and the batch's rejects,
 * so a crash leaves the table at a batch boundary and re-running the import resumes after the last batch
 * with exactly the result of an uninterrupted run.
 *
 * Re-import is an idempotent upsert: a row is written only when a value differs (or it was a tombstone),
 * and only then gets a new `_version`; an identical re-run counts every row "unchanged" and writes none.
 * A key may occur once per import: the first good record with a key (upsert or delete) is applied, every
 * later one is a reject naming the first row (import-keys.ts), across batches and resumes, so the result
 * never depends on which of two conflicting rows came last, and re-running a file with a repeated key
 * does not flip the row between its two versions. Deletes are explicit and leave tombstones. Insert and
 * update are two statements (INSERT … ON CONFLICT DO NOTHING, then a conditional UPDATE) rather than one
 * UPSERT because the summary must tell inserted from updated rows, which an UPSERT does not report; a
 * fresh row costs one.
 */
import type { AuditLog } from '../../engine/audit/log.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import { BatchSlice, KIND_DELETE, KIND_REJECT, SourceRowBatch, type PreparedBatch } from './import-batch.ts';
import type { PreparedSource } from './parallel-source.ts';
import { compileValidator, type CellProblem, type FrontendItem, type RowValidator, type SqlValue } from './row-validator.ts';
import type { SourceRow } from './readers/source.ts';
import { ensureTable, READ_VERSION_SQL, SET_VERSION_SQL, type EnsureResult } from './table-schema.ts';
import { ImportKeys } from './import-keys.ts';
import { TableWriter } from './table-writer.ts';
import { relaxCheckpoints } from './checkpoints.ts';
import { writeRejectsReport, type RejectRow } from './rejects-report.ts';

export { REJECTS_HEADER, rejectLine, writeRejectsReport, type RejectRow } from './rejects-report.ts';
export { IMPORT_CHECKPOINT_PAGES } from './checkpoints.ts';

/** Audit actions this module records; pass them to `new AuditLog(db, clock, { actions })`. */
export const FRONTEND_AUDIT_ACTIONS = ['frontend.import'] as const;

/**
 * Source records per transaction. Small batches are cheap because checkpoints are relaxed while an import
 * runs (IMPORT_CHECKPOINT_PAGES): 5,000 and 50,000 import 1M rows equally fast, and a batch is all that a
 * crash can lose, all the memory the writer holds, and how long other writers wait for the lock.
 */
export const DEFAULT_BATCH_SIZE = 5_000;

/** One page of an import's rejects, in file order (paged by id so the report is never held whole). */
const REJECTS_PAGE_SQL = 'SELECT id, row_number, column_code, reason_zh, reason_en FROM frontend_import_rejects WHERE import_id = ? AND id > ? ORDER BY id LIMIT 5000';
const IMPORT_STATUS_SQL = 'SELECT import_id, entry_id, status, committed_rows, started_at, finished_at, counts_json FROM frontend_imports WHERE import_id = ?';
const PURGE_IMPORT_REJECTS_SQL = "DELETE FROM frontend_import_rejects WHERE import_id IN (SELECT import_id FROM frontend_imports WHERE status = 'done' AND finished_at < ?)";

/** An import's row in `frontend_imports`, as the status route shows it. */
export interface ImportStatusRow {
  import_id: string;
  entry_id: string;
  status: string;
  committed_rows: number;
  started_at: string;
  finished_at: string | null;
  counts_json: string;
}

/** Delete the rejects of imports done before `cutoff` (ISO time); running or failed imports keep theirs. Returns rows deleted. */
export function purgeImportRejects(db: Db, cutoff: string): number {
  return db.prepare(PURGE_IMPORT_REJECTS_SQL).run(cutoff).changes;
}

export interface ImportCounts {
  /** Source records read (good, bad and deletes). */
  read: number;
  inserted: number;
  updated: number;
  /** Good records identical to the stored row (including deletes of rows already deleted). */
  unchanged: number;
  deleted: number;
  /** Records refused (a record with several bad cells counts once; the report has a line per cell). */
  rejected: number;
  /** Committed transactions. */
  batches: number;
}

export interface ImportSummary extends ImportCounts {
  importId: string;
  entryId: string;
  tableName: string;
  /** Source records skipped because an earlier, interrupted run had committed them (0 for a fresh run). */
  resumedFrom: number;
  /** What `ensureTable` had to do before the import. */
  schema: EnsureResult['action'];
  rejectsPath?: string;
}

export interface ImportProgress extends ImportCounts {
  /** Source records consumed so far in this run, committed or buffered. */
  seen: number;
}

export interface ImportActor {
  name: string;
  role: string;
  department?: string | null;
}

export interface ImportOptions {
  entryId: string;
  items: readonly FrontendItem[];
  /** Reader rows (validated here), or a `parallelSource` (read and validated on a worker thread). */
  source: AsyncIterable<SourceRow> | PreparedSource;
  /** Same id + an interrupted run → resume. Use `findResumable` to find one for a file. */
  importId: string;
  batchSize?: number;
  /** SHA-256 of the file, recorded and checked on resume (a different file must not resume). */
  fileSha256?: string | null;
  /** Where to write the rejects report (CSV, UTF-8 with BOM) when the import finishes. */
  rejectsPath?: string;
  actor?: ImportActor;
  onProgress?: (p: ImportProgress) => void;
}

interface ImportRow {
  entry_id: string;
  file_sha256: string | null;
  committed_rows: number;
  status: 'running' | 'failed' | 'done';
  counts_json: string;
}

const ZERO: ImportCounts = { read: 0, inserted: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0, batches: 0 };

const NO_SUCH_ROW: Omit<CellProblem, 'column'> = { reasonZh: '要删除的记录不存在', reasonEn: 'no row with this key to delete' };

/** A later record with a key an earlier record of the same import already used (that one is kept). */
export function duplicateKeyProblem(column: string, firstRow: number): CellProblem {
  return {
    column,
    reasonZh: `主键与第 ${firstRow} 行重复：保留第 ${firstRow} 行，本行未导入`,
    reasonEn: `duplicate key: same as row ${firstRow} (row ${firstRow} is kept; this row is not imported)`,
  };
}

export class FrontendImporter {
  private readonly getVersion;
  private readonly setVersion;
  private readonly getImport;
  private readonly addImport;
  private readonly progress;
  private readonly finish;
  private readonly fail;
  private readonly addReject;
  private readonly getStatus;
  private readonly rejectsPageStmt;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly audit?: AuditLog,
  ) {
    this.getVersion = db.prepare(READ_VERSION_SQL).pluck();
    this.setVersion = db.prepare(SET_VERSION_SQL);
    this.getImport = db.prepare('SELECT entry_id, file_sha256, committed_rows, status, counts_json FROM frontend_imports WHERE import_id = ?');
    this.addImport = db.prepare("INSERT INTO frontend_imports (import_id, entry_id, file_sha256, committed_rows, status, started_at, counts_json) VALUES (?, ?, ?, 0, 'running', ?, ?)");
    this.progress = db.prepare("UPDATE frontend_imports SET committed_rows = ?, counts_json = ?, status = 'running' WHERE import_id = ?");
    this.finish = db.prepare("UPDATE frontend_imports SET status = 'done', finished_at = ?, counts_json = ? WHERE import_id = ?");
    this.fail = db.prepare("UPDATE frontend_imports SET status = 'failed', counts_json = ? WHERE import_id = ?");
    this.addReject = db.prepare('INSERT INTO frontend_import_rejects (import_id, row_number, column_code, reason_zh, reason_en) VALUES (?, ?, ?, ?, ?)');
    this.getStatus = db.prepare(IMPORT_STATUS_SQL);
    this.rejectsPageStmt = db.prepare(REJECTS_PAGE_SQL);
  }

  /** The import's stored progress and counts, if there is such an import. */
  status(importId: string): ImportStatusRow | undefined {
    return this.getStatus.get(importId) as ImportStatusRow | undefined;
  }

  /** Up to 5,000 rejects of the import with an id above `after`, in id (file) order. */
  rejectsPage(importId: string, after: number): RejectRow[] {
    return this.rejectsPageStmt.all(importId, after) as RejectRow[];
  }

  /** An unfinished import of this file into this entry, to resume, if there is one. */
  findResumable(entryId: string, fileSha256: string): string | undefined {
    return this.db
      .prepare("SELECT import_id FROM frontend_imports WHERE entry_id = ? AND file_sha256 = ? AND status IN ('running', 'failed') ORDER BY started_at DESC LIMIT 1")
      .pluck()
      .get(entryId, fileSha256) as string | undefined;
  }

  async run(o: ImportOptions): Promise<ImportSummary> {
    try {
      return await this.runOpen(o);
    } finally {
      if (isPrepared(o.source)) await o.source.close();
    }
  }

  private async runOpen(o: ImportOptions): Promise<ImportSummary> {
    const batchSize = o.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new AppError('INVALID_REQUEST', '批量大小须为正整数', 'batch size must be a positive integer');
    const ensured = ensureTable(this.db, o.entryId, o.items, this.clock.now());
    const table = ensured.table;
    const { counts, resumedFrom } = this.begin(o);
    const writer = new TableWriter(this.db, table);
    const keys = new ImportKeys(this.db, o.importId, writer.keys.length);
    const validator = compileValidator(table.items);
    const apply = this.batchTransaction(o.importId, writer, keys);

    let pending: PreparedBatch[] = [];
    let pendingRows = 0;
    let state = counts;
    const commit = (): void => {
      if (pendingRows === 0) return;
      try {
        state = apply.immediate(pending, state);
      } catch (err) {
        keys.abort();
        throw err;
      }
      keys.committed();
      pending = [];
      pendingRows = 0;
    };
    const report = (): void => o.onProgress?.({ ...state, seen: state.read + pendingRows });
    // Transactions hold exactly `batchSize` records (the last one fewer), whatever the sources' chunking.
    const add = (b: PreparedBatch): void => {
      for (let at = 0; at < b.length; ) {
        const take = Math.min(b.length - at, batchSize - pendingRows);
        pending.push(at === 0 && take === b.length ? b : new BatchSlice(b, at, at + take));
        pendingRows += take;
        at += take;
        if (pendingRows >= batchSize) {
          commit();
          report();
        }
      }
    };
    const batches = isPrepared(o.source) ? o.source.open(resumedFrom, batchSize) : sourceRowBatches(o.source, validator, resumedFrom, Math.min(batchSize, 8192));
    const it = batches[Symbol.asyncIterator]();
    const restoreCheckpoints = relaxCheckpoints(this.db);
    try {
      for (;;) {
        let r: IteratorResult<PreparedBatch>;
        try {
          r = await it.next();
        } catch (err) {
          // The file is unreadable from here on: keep what was read before the fault, then report it.
          commit();
          throw err;
        }
        if (r.done) break;
        add(r.value);
      }
      commit();
    } catch (err) {
      await it.return?.();
      this.fail.run(JSON.stringify({ ...state, error: err instanceof AppError ? err.en : String(err) }), o.importId);
      throw err;
    } finally {
      restoreCheckpoints();
    }
    this.db
      .transaction(() => {
        this.finish.run(this.clock.now().toISOString(), JSON.stringify(state), o.importId);
        keys.forget();
        this.audit?.append({
          actor: o.actor?.name ?? 'system',
          actorRole: o.actor?.role ?? 'system',
          department: o.actor?.department ?? null,
          action: 'frontend.import',
          resource: o.entryId,
          fields: table.items.map((i) => i.code),
          result: 'ok',
          detail: { importId: o.importId, table: table.tableName, fileSha256: o.fileSha256 ?? null, resumedFrom, schema: ensured.action, ...state },
        });
      })
      .immediate();
    report();
    if (o.rejectsPath !== undefined) await writeRejectsReport((after) => this.rejectsPage(o.importId, after), o.rejectsPath);
    return {
      importId: o.importId,
      entryId: o.entryId,
      tableName: table.tableName,
      resumedFrom,
      schema: ensured.action,
      ...state,
      ...(o.rejectsPath !== undefined ? { rejectsPath: o.rejectsPath } : {}),
    };
  }

  /** Register a new import, or pick up an interrupted one (same entry, same file). */
  private begin(o: ImportOptions): { counts: ImportCounts; resumedFrom: number } {
    return this.db
      .transaction(() => {
        const row = this.getImport.get(o.importId) as ImportRow | undefined;
        if (!row) {
          this.addImport.run(o.importId, o.entryId, o.fileSha256 ?? null, this.clock.now().toISOString(), JSON.stringify(ZERO));
          return { counts: { ...ZERO }, resumedFrom: 0 };
        }
        if (row.entry_id !== o.entryId) throw new AppError('CONFLICT', `导入 ${o.importId} 属于另一个目录条目`, `import ${o.importId} belongs to another entry`);
        if (row.status === 'done') throw new AppError('CONFLICT', `导入 ${o.importId} 已完成`, `import ${o.importId} has already finished`);
        if (o.fileSha256 && row.file_sha256 && o.fileSha256 !== row.file_sha256) {
          throw new AppError('CONFLICT', `导入 ${o.importId} 中断前读取的是另一个文件，不能续传`, `import ${o.importId} was reading a different file; it cannot be resumed with this one`);
        }
        const counts = { ...ZERO, ...(JSON.parse(row.counts_json) as Partial<ImportCounts>) };
        delete (counts as { error?: unknown }).error;
        return { counts, resumedFrom: row.committed_rows };
      })
      .immediate();
  }

  /**
   * One batch in one transaction: rows, rejects, the version counter and the import's progress row
   * together. Returns the new counts (the caller's copy is only replaced after the commit).
   */
  private batchTransaction(importId: string, w: TableWriter, seen: ImportKeys) {
    const n = w.n;
    const values: SqlValue[] = new Array(n + 2);
    const upd: SqlValue[] = new Array(n + 2 + w.keys.length + w.others.length);
    const del: SqlValue[] = new Array(2 + w.keys.length);
    const keyVals: SqlValue[] = new Array(w.keys.length);
    const keyColumns = w.keys.map((k) => w.codes[k]!).join(',');
    return this.db.transaction((batches: readonly PreparedBatch[], before: ImportCounts): ImportCounts => {
      const c = { ...before };
      let version = this.getVersion.get() as number;
      const now = this.clock.now().toISOString();
      const reject = (rowNumber: number, problems: readonly CellProblem[]): void => {
        c.rejected++;
        for (const p of problems) this.addReject.run(importId, rowNumber, p.column, p.reasonZh, p.reasonEn);
      };
      for (const b of batches) {
        for (let i = 0; i < b.length; i++) {
          c.read++;
          const kind = b.prepare(i, values);
          if (kind === KIND_REJECT) {
            reject(b.rowNumber(i), b.problems(i));
            continue;
          }
          for (let k = 0; k < w.keys.length; k++) keyVals[k] = values[w.keys[k]!]!;
          const firstRow = seen.set.find(keyVals);
          if (firstRow !== undefined) {
            reject(b.rowNumber(i), [duplicateKeyProblem(keyColumns, firstRow)]);
            continue;
          }
          if (kind === KIND_DELETE) {
            del[0] = version + 1;
            del[1] = now;
            for (let k = 0; k < w.keys.length; k++) del[2 + k] = keyVals[k]!;
            if (w.remove.run(del).changes === 1) {
              version++;
              c.deleted++;
              seen.set.add(b.rowNumber(i));
            } else if (w.exists.get(keyVals) !== undefined) {
              c.unchanged++; // already a tombstone: deleting again changes nothing
              seen.set.add(b.rowNumber(i));
            } else {
              reject(b.rowNumber(i), [{ column: keyColumns, ...NO_SUCH_ROW }]); // a refused delete does not use up its key
            }
            continue;
          }
          seen.set.add(b.rowNumber(i));
          values[n] = version + 1;
          values[n + 1] = now;
          if (w.insert.run(values).changes === 1) {
            version++;
            c.inserted++;
            continue;
          }
          // The key exists: write only if something differs, so an unchanged row keeps its version.
          let j = 0;
          for (; j < n + 2; j++) upd[j] = values[j]!;
          for (const k of w.keys) upd[j++] = values[k]!;
          for (const k of w.others) upd[j++] = values[k]!;
          if (w.update.run(upd).changes === 1) {
            version++;
            c.updated++;
          } else {
            c.unchanged++;
          }
        }
      }
      c.batches++;
      seen.persist();
      this.setVersion.run(version);
      this.progress.run(c.read, JSON.stringify(c), importId);
      return c;
    });
  }
}

/** Group reader rows into batches (validated when written), skipping the `skip` records already committed. */
async function* sourceRowBatches(source: AsyncIterable<SourceRow>, validator: RowValidator, skip: number, size: number): AsyncGenerator<PreparedBatch> {
  let seen = 0;
  let rows: SourceRow[] = [];
  try {
    for await (const row of source) {
      if (++seen <= skip) continue; // committed by the interrupted run; not validated again
      rows.push(row);
      if (rows.length >= size) {
        yield new SourceRowBatch(rows, validator);
        rows = [];
      }
    }
  } catch (err) {
    // Hand over what was read before the fault (the importer commits it), then fail.
    if (rows.length > 0) yield new SourceRowBatch(rows, validator);
    throw err;
  }
  if (rows.length > 0) yield new SourceRowBatch(rows, validator);
}

function isPrepared(s: ImportOptions['source']): s is PreparedSource {
  return (s as PreparedSource).prepared === true;
}
