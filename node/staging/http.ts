/**
 * @module HTTP transport of front-end imports: a department operator streams a file into one of the
 * department's own entries; the body is read and validated on a worker thread as it arrives (never held
 * whole) and written in batches like the CLI's import. Routes translate; importer.ts decides.
 *
 *   POST /api/v1/frontend/{entryId}/import?format=csv|xlsx|ndjson&importId=…  body: the file
 *        Content-Type text/csv, application/x-ndjson (or application/jsonl) or the XLSX type picks the
 *        format when `format` is absent. Resuming an interrupted upload: send the same `importId` and the
 *        file's SHA-256 in `X-Content-SHA256`; committed records are skipped.
 *   GET  /api/v1/frontend/imports/{importId}          progress and counts
 *   GET  /api/v1/frontend/imports/{importId}/rejects  the rejects report (CSV, UTF-8 with BOM)
 *
 * The node's global body limit (engine/http.ts) must not apply to the import route: see the report.
 */
import type { AuditLog } from '../../engine/audit/log.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import type { RouteBook } from '../../engine/http/auth.ts';
import { uuidv7 } from '../../protocol/uuid7.ts';
import { assertProvider, frontendItems, type EntryContentLike } from './entry-items.ts';
import { FrontendImporter, REJECTS_HEADER, rejectLine, type ImportCounts, type ImportStatusRow } from './importer.ts';
import { parallelSource } from './parallel-source.ts';
import { IMPORT_FORMATS, type ImportFormat } from './readers/index.ts';

export interface FrontendRouteDeps {
  db: Db;
  clock: Clock;
  /** Constructed with FRONTEND_AUDIT_ACTIONS among its actions. */
  audit?: AuditLog;
  /** The entry's content (an EntryView's `content`); throws AppError NOT_FOUND for an unknown entry. */
  entryContent(entryId: string): EntryContentLike;
  /** Records per transaction; smaller than the CLI's default keeps other requests' latency low. */
  batchSize?: number;
}

const OPERATORS = ['dept_operator'] as const;
const IMPORT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;

const MEDIA_FORMATS: Record<string, ImportFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
};

function formatOf(query: string | undefined, contentType: string | undefined): ImportFormat {
  if (query !== undefined) {
    if (!IMPORT_FORMATS.includes(query as ImportFormat)) throw new AppError('INVALID_REQUEST', `未知格式 ${query}（可用 csv、xlsx、ndjson）`, `unknown format ${query} (csv, xlsx or ndjson)`);
    return query as ImportFormat;
  }
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const f = MEDIA_FORMATS[media];
  if (f === undefined) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      '请用 ?format= 或 Content-Type 指明格式（text/csv、application/x-ndjson、XLSX）',
      'give the format with ?format= or Content-Type (text/csv, application/x-ndjson, XLSX)',
    );
  }
  return f;
}

export function registerFrontendRoutes(book: RouteBook, d: FrontendRouteDeps): void {
  const importer = new FrontendImporter(d.db, d.clock, d.audit);

  /** The import, if it belongs to an entry of the caller's department. */
  const ownImport = (importId: string, department: string | null): ImportStatusRow => {
    const row = importer.status(importId);
    if (!row) throw new AppError('NOT_FOUND', `没有导入 ${importId}`, `no import ${importId}`);
    assertProvider(row.entry_id, d.entryContent(row.entry_id), department);
    return row;
  };

  book.add({ method: 'POST', path: '/api/v1/frontend/:entryId/import', roles: OPERATORS, summary: 'Stream a CSV, XLSX or NDJSON file into an own entry’s front-end table' }, async (c) => {
    const account = c.get('account');
    const entryId = c.req.param('entryId')!;
    const content = d.entryContent(entryId);
    assertProvider(entryId, content, account.department);
    const items = frontendItems(entryId, content);
    const format = formatOf(c.req.query('format'), c.req.header('content-type'));
    const importId = c.req.query('importId') ?? `imp-${uuidv7(d.clock.now().getTime())}`;
    if (!IMPORT_ID_RE.test(importId)) throw new AppError('INVALID_REQUEST', 'importId 格式错误', 'importId must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$');
    const sha = c.req.header('x-content-sha256')?.toLowerCase();
    if (sha !== undefined && !SHA256_RE.test(sha)) throw new AppError('INVALID_REQUEST', 'X-Content-SHA256 应为64位十六进制', 'X-Content-SHA256 must be 64 hex digits');
    const body = c.req.raw.body;
    if (body === null) throw new AppError('INVALID_REQUEST', '请求体为空', 'empty request body');
    const summary = await importer.run({
      entryId,
      items,
      importId,
      fileSha256: sha ?? null,
      source: parallelSource({ format, items, input: body as unknown as AsyncIterable<Uint8Array> }),
      ...(d.batchSize !== undefined ? { batchSize: d.batchSize } : {}),
      actor: { name: account.name, role: account.role, department: account.department },
    });
    return c.json({ ...summary, rejectsUrl: `/api/v1/frontend/imports/${encodeURIComponent(importId)}/rejects` });
  });

  book.add({ method: 'GET', path: '/api/v1/frontend/imports/:importId', roles: OPERATORS, summary: 'Progress and counts of an import into an own entry' }, (c) => {
    const row = ownImport(c.req.param('importId')!, c.get('account').department);
    return c.json({
      importId: row.import_id,
      entryId: row.entry_id,
      status: row.status,
      committedRows: row.committed_rows,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      counts: JSON.parse(row.counts_json) as ImportCounts,
    });
  });

  book.add({ method: 'GET', path: '/api/v1/frontend/imports/:importId/rejects', roles: OPERATORS, summary: 'Rejects report of an import (CSV)' }, (c) => {
    const row = ownImport(c.req.param('importId')!, c.get('account').department);
    const enc = new TextEncoder();
    let after = 0;
    let started = false;
    // Paged by id, one page per pull: the report is never held whole and no cursor stays open between pulls.
    const stream = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (!started) {
          started = true;
          ctrl.enqueue(enc.encode(REJECTS_HEADER));
          return;
        }
        const rows = importer.rejectsPage(row.import_id, after);
        if (rows.length === 0) {
          ctrl.close();
          return;
        }
        after = rows[rows.length - 1]!.id;
        ctrl.enqueue(enc.encode(rows.map(rejectLine).join('')));
      },
    });
    return new Response(stream, { headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${row.import_id}.rejects.csv"` } });
  });
}
