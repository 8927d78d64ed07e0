/**
 * @module Import one file (CLI, test helpers, benchmark): hash it, pick the reader by format, resume an
 * interrupted import of the same file into the same entry, and count bytes for a progress bar.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import { uuidv7 } from '../../protocol/uuid7.ts';
import { FrontendImporter, type ImportActor, type ImportProgress, type ImportSummary } from './importer.ts';
import { parallelSource } from './parallel-source.ts';
import { formatFromName, openReader, type ImportFormat } from './readers/index.ts';
import type { FrontendItem } from './row-validator.ts';

export interface ImportFileOptions {
  entryId: string;
  items: readonly FrontendItem[];
  file: string;
  /** Default: from the file name's extension. */
  format?: ImportFormat;
  /** Default: resume the latest unfinished import of this file into this entry, else a new id. */
  importId?: string;
  batchSize?: number;
  rejectsPath?: string;
  actor?: ImportActor;
  onProgress?: (p: ImportProgress) => void;
  /** Bytes of the file read so far, and its size. */
  onBytes?: (read: number, total: number) => void;
  onEncoding?: (encoding: 'utf8' | 'gb18030') => void;
  /** Read and validate on a worker thread (default true); false keeps everything on this thread. */
  parallel?: boolean;
}

const READ_CHUNK = 256 * 1024;

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function* counted(file: string, total: number, onBytes?: (read: number, total: number) => void): AsyncGenerator<Buffer> {
  let read = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK })) {
    read += (chunk as Buffer).length;
    onBytes?.(read, total);
    yield chunk as Buffer;
  }
}

export async function importFile(db: Db, clock: Clock, o: ImportFileOptions, audit?: AuditLog): Promise<ImportSummary> {
  const format = o.format ?? formatFromName(o.file);
  if (format === undefined) {
    throw new AppError('INVALID_REQUEST', `无法从文件名判断格式：${o.file}（请用 --format csv|xlsx|ndjson）`, `cannot tell the format from the file name ${o.file} (use --format csv|xlsx|ndjson)`);
  }
  const size = (await stat(o.file)).size;
  // Started first: the reader worker loads its modules while this thread hashes the file.
  const source =
    o.parallel === false ? undefined : parallelSource({ format, items: o.items, file: o.file, onBytes: (read) => o.onBytes?.(read, size), ...(o.onEncoding ? { onEncoding: o.onEncoding } : {}) });
  let fileSha256: string;
  try {
    fileSha256 = await sha256File(o.file);
  } catch (err) {
    await source?.close();
    throw err;
  }
  const importer = new FrontendImporter(db, clock, audit);
  const importId = o.importId ?? importer.findResumable(o.entryId, fileSha256) ?? `imp-${uuidv7(clock.now().getTime())}`;
  return importer.run({
    entryId: o.entryId,
    items: o.items,
    source: source ?? openReader(format, counted(o.file, size, o.onBytes), o.items, { onEncoding: o.onEncoding }),
    importId,
    fileSha256,
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(o.rejectsPath !== undefined ? { rejectsPath: o.rejectsPath } : {}),
    ...(o.actor !== undefined ? { actor: o.actor } : {}),
    ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}),
  });
}
