/**
 * @module The rows of a front-end package, read on a worker thread (table-read-worker.ts) at one
 * consistent version: the worker's read transaction covers the version counter and every row, so the
 * version the package claims is exactly the state its rows show (packager.ts). The calling thread only
 * receives finished NDJSON (SQLite serialises the rows, table-rows.ts) cut into slice-sized pieces,
 * which the builder hands to the crypto workers as they are and gives back once sealed (`recycle`), and
 * keeps its event loop for encryption results, the spool and JetStream. At most READ_AHEAD pieces wait
 * for it. Closing terminates the thread (its connection is read-only; ending it ends the transaction).
 *
 * The worker is started from a tiny bootstrap that registers tsx (as engine/package/crypto-pool.ts does):
 * inheriting `--import tsx` is not enough on Node 20, and `jilian` registers tsx with `register()`.
 */
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { NdjsonBlock } from '../../engine/package/rows.ts';
import { DEFAULT_CHUNK_SIZE } from '../../protocol/data-package.ts';
import { readVersion, type FrontendTable } from '../staging/table-schema.ts';
import { readNdjson } from './table-rows.ts';

export interface ReaderJob {
  file: string;
  /** The package's chunkSize: the reader cuts the NDJSON into pieces of exactly this many bytes. */
  sliceBytes: number;
  table: FrontendTable;
  kind: 'snapshot' | 'delta';
  base: number | null;
}

export type FromReader = { type: 'snapshot'; newVersion: number; changed: boolean } | { type: 'piece'; bytes: Uint8Array; rows: number } | { type: 'end' } | { type: 'error'; message: string };

export type ToReader = { type: 'read'; pieces: number } | { type: 'recycle'; buffer: Uint8Array };

/** Pieces (one slice each) the reader may be ahead of the builder. */
const READ_AHEAD = 8;

const WORKER_URL = new URL('./table-read-worker.ts', import.meta.url);

function bootstrap(): string {
  const api = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
}

export interface TableSnapshot {
  /** `frontend_versions.value` in the reader's snapshot. */
  readonly newVersion: number;
  /** For a delta: whether any row changed after the base (always true for a snapshot). */
  readonly changed: boolean;
  /** The rows, once, as slice-sized NDJSON pieces; ends the read transaction when done. */
  blocks(): AsyncGenerator<NdjsonBlock>;
  /** Give a sealed slice buffer back to the reader to fill again (BuildOptions.recycle). */
  recycle(buffer: Uint8Array): void;
  /** Stop the reader (also after `blocks` finished; idempotent). */
  close(): Promise<void>;
}

export interface SnapshotOptions {
  /** Bytes per piece: the package's chunkSize (default DEFAULT_CHUNK_SIZE). */
  sliceBytes?: number;
  /**
   * Read on the calling thread instead (a small delta: starting a thread costs ~0.1 s and more CPU than
   * a few thousand rows). The pieces are then SQLite's blocks as they come, not exact slices.
   */
  inline?: boolean;
}

/** Start a reader on `file` and wait until its snapshot is taken (version read, delta checked). */
export async function openTableSnapshot(file: string, table: FrontendTable, kind: 'snapshot' | 'delta', base: number | null, opts: SnapshotOptions = {}): Promise<TableSnapshot> {
  if (opts.inline) return inlineSnapshot(file, table, kind, base);
  const sliceBytes = opts.sliceBytes ?? DEFAULT_CHUNK_SIZE;
  const job: ReaderJob = { file, sliceBytes, table: { entryId: table.entryId, tableName: table.tableName, items: table.items, keyCodes: table.keyCodes }, kind, base };
  const worker = new Worker(bootstrap(), { eval: true, workerData: job, resourceLimits: { maxYoungGenerationSizeMb: 16 } });
  const queue: (FromReader | { type: 'exit'; error: Error })[] = [];
  let wake: (() => void) | undefined;
  const push = (m: (typeof queue)[number]) => {
    queue.push(m);
    wake?.();
  };
  let exited = false;
  worker.on('message', push);
  worker.on('error', (err) => push({ type: 'exit', error: err }));
  worker.on('exit', (code) => {
    exited = true;
    push({ type: 'exit', error: new Error(`package reader exited with code ${code}`) });
  });
  const next = async () => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    return queue.shift()!;
  };
  const close = async () => {
    if (!exited) await worker.terminate();
  };
  const first = await next();
  if (first.type !== 'snapshot') {
    await close();
    throw first.type === 'error' || first.type === 'exit'
      ? new Error(`package reader failed: ${first.type === 'error' ? first.message : first.error.message}`)
      : new Error('package reader: unexpected message');
  }
  let used = false;
  async function* blocks(): AsyncGenerator<NdjsonBlock> {
    if (used) throw new Error('the rows of a table snapshot can be read once');
    used = true;
    try {
      worker.postMessage({ type: 'read', pieces: READ_AHEAD } satisfies ToReader);
      for (;;) {
        const m = await next();
        if (m.type === 'piece') {
          worker.postMessage({ type: 'read', pieces: 1 } satisfies ToReader);
          yield new NdjsonBlock(m.bytes, m.rows);
        } else if (m.type === 'end') return;
        else if (m.type === 'error') throw new Error(`package reader failed: ${m.message}`);
        else if (m.type === 'exit') throw m.error;
      }
    } finally {
      await close();
    }
  }
  const recycle = (buffer: Uint8Array) => {
    if (!exited && buffer.length === sliceBytes && buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength) {
      worker.postMessage({ type: 'recycle', buffer } satisfies ToReader, [buffer.buffer as ArrayBuffer]);
    }
  };
  return { newVersion: first.newVersion, changed: first.changed, blocks, recycle, close };
}

/** The same snapshot read on this thread, on its own read-only connection. */
function inlineSnapshot(file: string, table: FrontendTable, kind: 'snapshot' | 'delta', base: number | null): TableSnapshot {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const close = async () => {
    if (db.open) db.close(); // ends the read transaction
  };
  try {
    db.exec('BEGIN');
    const newVersion = readVersion(db);
    const changed = kind === 'snapshot' || db.prepare(`SELECT 1 FROM "${table.tableName.replace(/"/g, '""')}" WHERE "_version" > ? LIMIT 1`).get(base) !== undefined;
    let used = false;
    async function* blocks(): AsyncGenerator<NdjsonBlock> {
      if (used) throw new Error('the rows of a table snapshot can be read once');
      used = true;
      try {
        yield* readNdjson(db, table, kind, base);
      } finally {
        await close();
      }
    }
    return { newVersion, changed, blocks, recycle: () => {}, close };
  } catch (err) {
    db.close();
    throw err;
  }
}
