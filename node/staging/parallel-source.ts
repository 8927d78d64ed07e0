/**
 * @module Read and validate an import on a worker thread while the calling thread writes (importer.ts).
 * On two cores the import then costs about what SQLite needs to store the rows, not that plus parsing:
 * csv-parse and the validators alone take about as long as the inserts.
 *
 * The worker is started from a tiny bootstrap that registers tsx (as engine/package/crypto-pool.ts does):
 * inheriting `--import tsx` is not enough on Node 20, and `jilian` registers tsx with `register()`.
 */
import { Worker } from 'node:worker_threads';
import { AppError, isErrorCode } from '../../engine/errors.ts';
import { EncodedBatch, type PreparedBatch } from './import-batch.ts';
import type { ImportFormat } from './readers/source.ts';
import type { FromWorker, ReaderWorkerData, ToWorker } from './reader-worker.ts';
import { schemaItemsOf } from '../../protocol/data-package.ts';
import type { FrontendItem } from './row-validator.ts';

/** A source the importer opens itself, so that a resumed import skips committed rows inside the worker. */
export interface PreparedSource {
  readonly prepared: true;
  /** Batches after the first `skip` records, sized for transactions of about `batchRows` records. Once. */
  open(skip: number, batchRows: number): AsyncIterable<PreparedBatch>;
  /** Stop the worker (the importer calls it when done, also when it never opened the source). */
  close(): Promise<void>;
}

export interface ParallelSourceOptions {
  format: ImportFormat;
  items: readonly FrontendItem[];
  /** A file the worker reads itself… */
  file?: string;
  /** …or bytes forwarded to it (an HTTP body). */
  input?: AsyncIterable<Uint8Array>;
  onBytes?: (read: number) => void;
  onEncoding?: (encoding: 'utf8' | 'gb18030') => void;
  /** Chunks allowed to wait for the writer (default: a transaction's worth and one more). */
  maxInFlight?: number;
}

const WORKER_URL = new URL('./reader-worker.ts', import.meta.url);

function bootstrap(): string {
  const api = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
}

/**
 * Records per posted chunk: small enough that a chunk's strings die young in both threads (at 2,048 the
 * import's peak RSS was ~100 MB higher), large enough to amortise a message (~2,000 per million rows).
 */
export const MAX_CHUNK_ROWS = 512;

const WORKER_YOUNG_GENERATION_MB = 16;

/**
 * Start a reader worker for `o` now (it loads its modules while the caller hashes the file and looks for an
 * import to resume); it reads once the importer opens the source.
 */
export function parallelSource(o: ParallelSourceOptions): PreparedSource {
  if ((o.file === undefined) === (o.input === undefined)) throw new TypeError('parallelSource: give exactly one of file and input');
  const items = schemaItemsOf(o.items);
  const workerData: ReaderWorkerData = { format: o.format, items, ...(o.file !== undefined ? { file: o.file } : {}) };
  // A small young generation: the worker's garbage dies young anyway, and V8's default lets it grow to
  // ~50 MB of RSS for nothing (the old generation is left unlimited: an XLSX shared-string table lives there).
  const worker = new Worker(bootstrap(), { eval: true, workerData, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
  const queue: FromWorker[] = [];
  let wake: (() => void) | undefined;
  const push = (m: FromWorker): void => {
    queue.push(m);
    wake?.();
  };
  const input = o.input?.[Symbol.asyncIterator]();
  const send = (m: ToWorker, transfer: ArrayBuffer[] = []): void => worker.postMessage(m, transfer);
  // Input is forwarded as the worker asks for it, one chunk at a time.
  const pull = async (): Promise<void> => {
    try {
      const r = await input!.next();
      if (r.done) send({ type: 'input-end' });
      else {
        const copy = new Uint8Array(r.value); // own buffer, safe to transfer
        send({ type: 'input', chunk: copy }, [copy.buffer as ArrayBuffer]);
      }
    } catch (err) {
      send({ type: 'input-error', message: err instanceof Error ? err.message : String(err) });
    }
  };
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'pull') void pull();
    else if (m.type === 'bytes') o.onBytes?.(m.read);
    else if (m.type === 'encoding') o.onEncoding?.(m.encoding);
    else push(m);
  });
  worker.on('error', (err) => push({ type: 'error', message: err.message }));
  worker.on('exit', (code) => push({ type: 'error', message: `reader worker exited with code ${code}` }));
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    worker.removeAllListeners('exit');
    await worker.terminate();
    await input?.return?.();
  };
  let opened = false;

  async function* read(skip: number, batchRows: number): AsyncGenerator<PreparedBatch> {
    const chunkRows = Math.max(1, Math.min(batchRows, MAX_CHUNK_ROWS));
    // While the writer commits one transaction, the worker can prepare the whole next one.
    const maxInFlight = o.maxInFlight ?? Math.ceil(batchRows / chunkRows) + 1;
    send({ type: 'start', skip, chunkRows, maxInFlight });
    try {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        const m = queue.shift()!;
        if (m.type === 'done') return;
        if (m.type === 'error') {
          throw m.code !== undefined ? new AppError(isErrorCode(m.code) ? m.code : 'INTERNAL', m.zh ?? m.message, m.en ?? m.message, m.fields ?? []) : new Error(m.message);
        }
        if (m.type === 'chunk') {
          send({ type: 'credit' });
          yield new EncodedBatch(m.chunk, items);
        }
      }
    } finally {
      await close();
    }
  }

  return {
    prepared: true,
    open(skip, batchRows) {
      if (opened) throw new Error('parallelSource: already opened');
      opened = true;
      return read(skip, batchRows);
    },
    close,
  };
}
