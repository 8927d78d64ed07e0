/**
 * @module Reader worker: decodes, parses and validates an import file off the writing thread and posts
 * packed chunks (batch.ts) back. Input is a file path (read here) or bytes pulled from the parent one chunk
 * at a time (HTTP bodies). Flow control both ways keeps memory flat: at most `maxInFlight` chunks wait in
 * the parent, and input is requested only when the parser needs more.
 */
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { AppError } from '../../engine/errors.ts';
import { ChunkEncoder, KIND_DELETE, KIND_REJECT, KIND_UPSERT } from './import-batch.ts';
import { openReaderChunks, type ImportFormat } from './readers/index.ts';
import { compileValidator, type FrontendItem, type SqlValue } from './row-validator.ts';

export interface ReaderWorkerData {
  format: ImportFormat;
  items: FrontendItem[];
  /** Read this file; without it, bytes come from the parent (`pull` / `input`). */
  file?: string;
}

/** Sent once the importer knows where to start: the worker loads its modules before that, in parallel. */
export interface StartReading {
  type: 'start';
  /** Records an interrupted import already committed: counted, not validated, not sent. */
  skip: number;
  chunkRows: number;
  maxInFlight: number;
}

/** Parent → worker. */
export type ToWorker = StartReading | { type: 'credit' } | { type: 'input'; chunk: Uint8Array } | { type: 'input-end' } | { type: 'input-error'; message: string };

/** Worker → parent. */
export type FromWorker =
  | { type: 'chunk'; chunk: import('./import-batch.ts').EncodedChunk }
  | { type: 'pull' }
  | { type: 'bytes'; read: number }
  | { type: 'encoding'; encoding: 'utf8' | 'gb18030' }
  | { type: 'done'; seen: number }
  | { type: 'error'; code?: string; zh?: string; en?: string; fields?: AppError['fields']; message: string };

const port = parentPort!;
const data = workerData as ReaderWorkerData;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

let credits = 0;
let onCredit: (() => void) | undefined;
let onInput: ((m: ToWorker) => void) | undefined;
port.on('message', (m: ToWorker) => {
  if (m.type === 'start') {
    credits = m.maxInFlight;
    main(m).catch(report);
  } else if (m.type === 'credit') {
    credits++;
    onCredit?.();
  } else {
    onInput?.(m);
  }
});

async function* fromFile(file: string): AsyncGenerator<Buffer> {
  let read = 0;
  // 64 KiB reads: each read's text and rows are consumed before the next, so this bounds what is live.
  for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) {
    read += (chunk as Buffer).length;
    post({ type: 'bytes', read });
    yield chunk as Buffer;
  }
}

async function* fromParent(): AsyncGenerator<Uint8Array> {
  for (;;) {
    const m = await new Promise<ToWorker>((resolve) => {
      onInput = resolve;
      post({ type: 'pull' });
    });
    if (m.type === 'input-end') return;
    if (m.type === 'input-error') throw new Error(m.message);
    if (m.type === 'input') yield m.chunk;
  }
}

async function main(start: StartReading): Promise<void> {
  const items = data.items;
  const validator = compileValidator(items);
  const keyMask = items.map((i) => i.primaryKey === true);
  const encoder = new ChunkEncoder(items, start.chunkRows);
  const out: SqlValue[] = new Array(items.length);
  const input = data.file !== undefined ? fromFile(data.file) : fromParent();
  const send = async (): Promise<void> => {
    while (credits === 0) await new Promise<void>((resolve) => (onCredit = resolve));
    credits--;
    const { chunk, transfer } = encoder.finish();
    post({ type: 'chunk', chunk }, transfer);
  };
  let seen = 0;
  for await (const rows of openReaderChunks(data.format, input, items, { onEncoding: (encoding) => post({ type: 'encoding', encoding }) })) {
    for (const row of rows) {
      seen++;
      if (seen <= start.skip) continue;
      if (row.problem !== undefined) {
        encoder.add(row.rowNumber, KIND_REJECT, null, null, [row.problem]);
      } else if (row.delete === true) {
        const problems = validator.convertKey(row.record, out);
        if (problems !== null) encoder.add(row.rowNumber, KIND_REJECT, null, null, problems);
        else encoder.add(row.rowNumber, KIND_DELETE, out, keyMask, null);
      } else {
        const problems = validator.convert(row.record, out);
        if (problems !== null) encoder.add(row.rowNumber, KIND_REJECT, null, null, problems);
        else encoder.add(row.rowNumber, KIND_UPSERT, out, null, null);
      }
      if (encoder.full) await send();
    }
  }
  if (encoder.length > 0) await send();
  post({ type: 'done', seen });
}

function report(err: unknown): void {
  if (err instanceof AppError) post({ type: 'error', code: err.code, zh: err.zh, en: err.en, fields: err.fields, message: err.message });
  else post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
