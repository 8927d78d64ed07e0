/**
 * @module SQLite storage of catalog entry documents and their searchable read model.
 *
 * `entry_docs` holds each entry's full Yjs state (re-encoded on every change, so the stored size is
 * the compacted document, never a growing update log) and its canonical state vector for digests.
 * `entries` + `entries_fts` are the read model, rewritten in the same transaction.
 */
import type * as Y from 'yjs';
import { z } from 'zod';
import { CONTENT_ROOT, docStateVector, encodeEntryState, readRoot, REVIEW_ROOT } from '../../protocol/catalog-doc.ts';
import { ENTRY_STATUSES, entryView, type EntryView } from '../../protocol/catalog-view.ts';
import { AppError } from '../errors.ts';
import type Database from 'better-sqlite3';
import type { Db } from '../storage/db.ts';
import { indexTokens, matchExpression } from './search-text.ts';

/** Query string of the catalog list/search routes (node and hub). */
export const CatalogListQuery = z
  .object({
    q: z.string().max(200).optional(),
    county: z
      .string()
      .regex(/^[0-9]{6}$/)
      .optional(),
    dept: z.string().max(32).optional(),
    status: z.enum(ENTRY_STATUSES).optional(),
    /** 主题/领域 (Jincheng §27 政务主题栏目, Hebi §19 数据领域): entries listing this theme. */
    theme: z.string().min(1).max(50).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(20),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

export interface StoredDoc {
  state: Uint8Array;
  sv: string;
}

export interface SearchQuery {
  q?: string;
  county?: string;
  dept?: string;
  status?: string;
  theme?: string;
  limit: number;
  offset: number;
}

export interface SearchResult {
  total: number;
  items: (EntryView & { updatedAt: string })[];
}

const SQL = {
  getDoc: 'SELECT state, sv FROM entry_docs WHERE id = ?',
  putDoc: `INSERT INTO entry_docs (id, county, state, sv, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET state = excluded.state, sv = excluded.sv, updated_at = excluded.updated_at`,
  putEntry: `INSERT INTO entries (id, county, dept_code, name, status, code, view, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET dept_code = excluded.dept_code, name = excluded.name, status = excluded.status,
               code = excluded.code, view = excluded.view, updated_at = excluded.updated_at
             RETURNING rowid`,
  delFts: 'DELETE FROM entries_fts WHERE rowid = ?',
  putFts: 'INSERT INTO entries_fts (rowid, bi, uni) VALUES (?, ?, ?)',
  getView: 'SELECT view, updated_at FROM entries WHERE id = ?',
  vectorsInRange: 'SELECT id, sv FROM entry_docs WHERE id >= ? AND (? IS NULL OR id < ?) ORDER BY id',
  idsFrom: 'SELECT id FROM entry_docs ORDER BY id',
  count: 'SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(state)), 0) AS bytes FROM entry_docs',
  countOwn: 'SELECT COUNT(*) AS total, SUM(county = ?) AS own FROM entries',
  countByStatus: 'SELECT status, COUNT(*) AS n FROM entries GROUP BY status',
} as const;

/** Text that search covers: name, abstract, provider, item names, code. */
function searchableText(view: EntryView): string {
  const c = view.content as { name?: string; abstract?: string; provider?: { name?: string }; dataItems?: { name?: string }[] };
  return [c.name, c.abstract, c.provider?.name, ...(c.dataItems ?? []).map((i) => i.name), view.code].filter(Boolean).join(' ');
}

export class CatalogStore {
  private readonly stmts: { [K in keyof typeof SQL]: Database.Statement<unknown[]> };

  constructor(private readonly db: Db) {
    this.stmts = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)])) as never;
  }

  getDoc(id: string): StoredDoc | undefined {
    const row = this.stmts.getDoc.get(id) as { state: Buffer; sv: string } | undefined;
    return row ? { state: new Uint8Array(row.state.buffer, row.state.byteOffset, row.state.byteLength), sv: row.sv } : undefined;
  }

  /** Store a document and its view. Call inside the caller's transaction with the outbox write, if any. */
  put(view: EntryView, doc: StoredDoc, updatedAt: string): void {
    this.stmts.putDoc.run(view.id, view.county, doc.state, doc.sv, updatedAt);
    const provider = view.content.provider as { code?: string } | undefined;
    const name = typeof view.content.name === 'string' ? view.content.name : null;
    const { rowid } = this.stmts.putEntry.get(view.id, view.county, provider?.code ?? null, name, view.status, view.code, JSON.stringify(view), updatedAt) as {
      rowid: number;
    };
    const tokens = indexTokens(searchableText(view));
    this.stmts.delFts.run(rowid);
    this.stmts.putFts.run(rowid, tokens.bi, tokens.uni);
  }

  /** Store an entry document with its view (read model and search tokens derived from it). Call inside the change's transaction. */
  saveDoc(id: string, doc: Y.Doc, now: Date): EntryView & { updatedAt: string } {
    const view = entryView(id, readRoot(doc, CONTENT_ROOT), readRoot(doc, REVIEW_ROOT));
    this.put(view, { state: encodeEntryState(doc), sv: docStateVector(doc) }, now.toISOString());
    return { ...view, updatedAt: now.toISOString() };
  }

  /** The view of an entry, or a NOT_FOUND error. */
  requireView(id: string): EntryView & { updatedAt: string } {
    const view = this.getView(id);
    if (!view) throw new AppError('NOT_FOUND', `目录条目 ${id} 不存在`, `catalog entry ${id} not found`);
    return view;
  }

  getView(id: string): (EntryView & { updatedAt: string }) | undefined {
    const row = this.stmts.getView.get(id) as { view: string; updated_at: string } | undefined;
    return row ? { ...(JSON.parse(row.view) as EntryView), updatedAt: row.updated_at } : undefined;
  }

  /** Filtered, full-text searched page of views, newest first (rank first when searching). */
  search(query: SearchQuery): SearchResult {
    const where: string[] = [];
    const args: unknown[] = [];
    let from = 'entries e';
    let order = 'e.updated_at DESC, e.id';
    const match = query.q ? matchExpression(query.q) : null;
    if (query.q && !match) return { total: 0, items: [] };
    if (match) {
      from = 'entries_fts f JOIN entries e ON e.rowid = f.rowid';
      where.push('entries_fts MATCH ?');
      args.push(match);
      order = 'f.rank, e.id';
    }
    if (query.county) where.push('e.county = ?'), args.push(query.county);
    if (query.dept) where.push('e.dept_code = ?'), args.push(query.dept);
    if (query.status) where.push('e.status = ?'), args.push(query.status);
    if (query.theme) where.push("EXISTS (SELECT 1 FROM json_each(e.view, '$.content.themes') t WHERE t.value = ?)"), args.push(query.theme);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM ${from} ${clause}`).get(...args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT e.view, e.updated_at FROM ${from} ${clause} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...args, query.limit, query.offset) as {
      view: string;
      updated_at: string;
    }[];
    return { total, items: rows.map((r) => ({ ...(JSON.parse(r.view) as EntryView), updatedAt: r.updated_at })) };
  }

  /** (id, sv) of every entry with from ≤ id < to (to null = no upper bound), sorted by id. */
  vectorsInRange(from: string, to: string | null): { id: string; sv: string }[] {
    return this.stmts.vectorsInRange.all(from, to, to) as { id: string; sv: string }[];
  }

  /** Range boundaries that cut the id space into pages of `pageSize` entries: ['', id_k, id_2k, …]. */
  pageStarts(pageSize: number): string[] {
    const starts = [''];
    let i = 0;
    for (const row of this.stmts.idsFrom.iterate() as Iterable<{ id: string }>) {
      if (i > 0 && i % pageSize === 0) starts.push(row.id);
      i++;
    }
    return starts;
  }

  stats(): { entries: number; stateBytes: number } {
    const row = this.stmts.count.get() as { n: number; bytes: number };
    return { entries: row.n, stateBytes: row.bytes };
  }

  /** Entries held, and how many of them are `county`'s own (null when there are none): `jilian node status`. */
  countOwn(county: string): { total: number; own: number | null } {
    return this.stmts.countOwn.get(county) as { total: number; own: number | null };
  }

  /** Entries per review status: `jilian hub status`. */
  countByStatus(): { status: string; n: number }[] {
    return this.stmts.countByStatus.all() as { status: string; n: number }[];
  }
}
