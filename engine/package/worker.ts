/**
 * @module Crypto pool worker: loads libsodium itself, then runs chunk tasks (chunk-codec.ts) posted by
 * crypto-pool.ts. Buffers travel as transfers; a PackageError crosses back as { code, message, detail }.
 */
import { parentPort } from 'node:worker_threads';
import { PackageError } from '../../protocol/data-package.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { openChunk, sealChunk, verifyChunk, type OpenTask, type SealTask } from './chunk-codec.ts';

export type WorkerRequest = { id: number; op: 'seal'; task: SealTask } | { id: number; op: 'verify'; task: OpenTask } | { id: number; op: 'open'; task: OpenTask };

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { name: string; message: string; code?: string; detail?: Record<string, unknown> } };

const port = parentPort;
if (!port) throw new Error('engine/package/worker.ts runs as a worker thread only');
const ready = loadSodium();

/** The buffer of `u` can move without copying only if `u` spans all of it. */
function movable(u: Uint8Array): ArrayBuffer[] {
  return u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && u.buffer instanceof ArrayBuffer ? [u.buffer] : [];
}

function run(req: WorkerRequest): { result: unknown; transfer: ArrayBuffer[] } {
  switch (req.op) {
    case 'seal': {
      const r = sealChunk(req.task);
      // The slice goes back too, so that the builder can fill it again instead of allocating another.
      const plain = movable(req.task.plain);
      return { result: plain.length ? { ...r, plain: req.task.plain } : r, transfer: [...movable(r.bytes), ...plain] };
    }
    case 'verify':
      return { result: verifyChunk(req.task), transfer: [] };
    case 'open': {
      const r = openChunk(req.task);
      // zlib may return a view into a shared pool; copy then so the transfer cannot detach others' bytes.
      const plain = movable(r.plain).length ? r.plain : r.plain.slice();
      return { result: { ...r, plain }, transfer: movable(plain) };
    }
  }
}

// Listen at once (messages are not lost while libsodium compiles); each task waits for it.
port.on('message', (req: WorkerRequest) => {
  ready.then(
    () => {
      try {
        const { result, transfer } = run(req);
        port.postMessage({ id: req.id, ok: true, result } satisfies WorkerReply, transfer);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        const error = err instanceof PackageError ? { name: e.name, message: e.message, code: err.code, detail: err.detail } : { name: e.name, message: e.message };
        port.postMessage({ id: req.id, ok: false, error } satisfies WorkerReply);
      }
    },
    (err: unknown) => port.postMessage({ id: req.id, ok: false, error: { name: 'Error', message: `libsodium failed to load: ${String(err)}` } } satisfies WorkerReply),
  );
});
