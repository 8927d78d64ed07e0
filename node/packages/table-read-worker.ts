/**
 * @module Reader thread of a front-end package (table-snapshot.ts): opens its own read-only connection,
 * takes one read transaction (a WAL snapshot), reads the version counter and then the rows in it, and
 * posts them as slice-sized pieces of NDJSON while the calling thread encrypts, spools and sends.
 *
 * Pieces are exactly `sliceBytes` long (the last one shorter), so the builder takes each over as a slice
 * without copying it; the buffers come back (`recycle`) once the crypto workers sealed them and are
 * filled again, so a build allocates about READ_AHEAD + the pool window of them in all.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { READ_VERSION_SQL } from '../staging/table-schema.ts';
import type { FromReader, ReaderJob, ToReader } from './table-snapshot.ts';
import { readNdjson } from './table-rows.ts';

const port = parentPort;
if (!port) throw new Error('node/packages/table-read-worker.ts runs as a worker thread only');
const job = workerData as ReaderJob;
const post = (m: FromReader, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let credit = 0;
let wake: (() => void) | undefined;
const spare: Uint8Array[] = [];
port.on('message', (m: ToReader) => {
  if (m.type === 'read') {
    credit += m.pieces;
    wake?.();
  } else if (m.buffer.length === job.sliceBytes && spare.length < 16) spare.push(m.buffer);
});

/** Wait until the calling thread wants another piece (it terminates this thread when it wants none). */
const waitForCredit = async (): Promise<void> => {
  while (credit === 0) await new Promise<void>((r) => (wake = r));
  credit--;
};

async function main(): Promise<void> {
  const db = new Database(job.file, { readonly: true, fileMustExist: true });
  try {
    db.exec('BEGIN');
    // The first read fixes the snapshot: the version and every row below come from the same one.
    const newVersion = (db.prepare(READ_VERSION_SQL).get() as { value: number }).value;
    const changed = job.kind === 'snapshot' || db.prepare(`SELECT 1 FROM "${job.table.tableName.replace(/"/g, '""')}" WHERE "_version" > ? LIMIT 1`).get(job.base) !== undefined;
    post({ type: 'snapshot', newVersion, changed });
    const size = job.sliceBytes;
    let cur: Uint8Array = new Uint8Array(size);
    let fill = 0;
    let rows = 0;
    for (const block of readNdjson(db, job.table, job.kind, job.base)) {
      const bytes = block.bytes;
      for (let at = 0; at < bytes.length; ) {
        const n = Math.min(size - fill, bytes.length - at);
        cur.set(bytes.subarray(at, at + n), fill);
        fill += n;
        at += n;
        if (at === bytes.length) rows += block.rows; // counted with the piece its last line ends in
        if (fill === size) {
          await waitForCredit();
          post({ type: 'piece', bytes: cur, rows }, [cur.buffer as ArrayBuffer]);
          cur = spare.pop() ?? new Uint8Array(size);
          fill = 0;
          rows = 0;
        }
      }
    }
    db.exec('COMMIT');
    db.close();
    if (fill > 0) {
      await waitForCredit();
      const last = cur.slice(0, fill);
      post({ type: 'piece', bytes: last, rows }, [last.buffer as ArrayBuffer]);
    }
    post({ type: 'end' });
  } finally {
    if (db.open) db.close(); // ends the read transaction
  }
}

main().then(
  () => port.close(),
  (err: unknown) => {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    port.close();
  },
);
