/**
 * @module A small worker_threads pool (min(2, cpus) workers) for package chunk work, so compressing,
 * encrypting and hashing hundreds of megabytes never blocks a node's event loop.
 *
 * Workers run TypeScript: each starts from a tiny bootstrap that registers tsx (resolved from this file,
 * so it works whatever the cwd) and imports worker.ts. Inheriting `--import tsx` alone is not enough on
 * Node 20 (the worker's entry is resolved before the loader is active), and `jilian` registers tsx with
 * `register()`, which leaves no execArgv to inherit. Idle workers are unref'd: a pool never keeps a process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PackageError, type PackageErrorCode } from '../../protocol/data-package.ts';
import type { OpenedChunk, OpenTask, SealedChunk, SealTask } from './chunk-codec.ts';
import type { WorkerReply, WorkerRequest } from './worker.ts';

type Op = WorkerRequest['op'];
type Task = WorkerRequest['task'];

interface Job {
  op: Op;
  task: Task;
  transfer: ArrayBuffer[];
  resolve: (v: any) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  job: (Job & { id: number }) | undefined;
}

const WORKER_URL = new URL('./worker.ts', import.meta.url);

function bootstrap(): string {
  const api = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
}

export class CryptoPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(size = Math.min(2, availableParallelism())) {
    this.size = Math.max(1, size);
  }

  /** Compress, MAC, encrypt and hash one slice. `task.plain` is transferred (unusable afterwards) when it owns its buffer. */
  seal(task: SealTask): Promise<SealedChunk> {
    return this.submit('seal', task, ownBuffer(task.plain));
  }

  /** Authenticate one chunk; resolves to its chunkHash. */
  verify(task: OpenTask): Promise<Uint8Array> {
    return this.submit('verify', task, []);
  }

  /** Authenticate, decrypt and decompress one chunk. */
  open(task: OpenTask): Promise<OpenedChunk> {
    return this.submit('open', task, []);
  }

  /**
   * Start every worker now instead of on the first tasks: each loads tsx, the protocol modules and libsodium
   * (~0.5 s, ~0.3 s of CPU), which a caller can overlap with its own preparation.
   */
  warm(): void {
    while (!this.closed && this.slots.length < this.size) this.spawn();
  }

  /** Terminate the workers; pending work is rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('crypto pool closed'));
    await Promise.all(this.slots.splice(0).map((s) => (s.job?.reject(new Error('crypto pool closed')), s.worker.terminate())));
  }

  private submit<R>(op: Op, task: Task, transfer: ArrayBuffer[]): Promise<R> {
    if (this.closed) return Promise.reject(new Error('crypto pool closed'));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ op, task, transfer, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.job === undefined);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const job = { ...this.queue.shift()!, id: this.nextId++ };
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, op: job.op, task: job.task } as WorkerRequest, job.transfer);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(bootstrap(), { eval: true });
    worker.unref();
    const slot: Slot = { worker, job: undefined };
    worker.on('message', (reply: WorkerReply) => {
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      slot.job = undefined;
      worker.unref();
      if (reply.ok) job.resolve(reply.result);
      else job.reject(reply.error.code ? new PackageError(reply.error.code as PackageErrorCode, reply.error.message, reply.error.detail) : new Error(reply.error.message));
      this.pump();
    });
    const fail = (err: unknown) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      slot.job?.reject(err instanceof Error ? err : new Error(String(err)));
      slot.job = undefined;
      if (!this.closed) this.pump();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`crypto worker exited with code ${code}`)));
    // Adding the first 'message' listener refs the worker's port again (node: setupPortReferencing), so
    // unref only now: an idle worker (e.g. started by warm()) must not keep the process alive.
    worker.unref();
    this.slots.push(slot);
    return slot;
  }
}

function ownBuffer(u: Uint8Array): ArrayBuffer[] {
  return u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && u.buffer instanceof ArrayBuffer ? [u.buffer] : [];
}

let shared: CryptoPool | undefined;

/** The process-wide pool (created on first use; its idle workers do not keep the process alive). */
export function defaultCryptoPool(): CryptoPool {
  shared ??= new CryptoPool();
  return shared;
}

/**
 * Map `source` through `fn` with at most `window` calls in flight, yielding results in source order.
 * Pulls ahead only while the window has room, so memory stays bounded by the window.
 */
export async function* mapOrdered<T, R>(source: AsyncIterable<T> | Iterable<T>, fn: (item: T) => Promise<R>, window: number): AsyncGenerator<R> {
  const it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<T>)[Symbol.iterator]();
  const inFlight: Promise<R>[] = [];
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && inFlight.length < window) {
        const next = await it.next();
        if (next.done) exhausted = true;
        else {
          const p = fn(next.value);
          p.catch(() => {}); // surfaced when its turn comes; not an unhandled rejection meanwhile
          inFlight.push(p);
        }
      }
      const head = inFlight.shift();
      if (head === undefined) return;
      yield await head;
    }
  } finally {
    if (!exhausted) await it.return?.();
  }
}

/**
 * Seal slices in order through the pool (the brief's `encryptChunks`): at most `window` slices are in
 * the workers at once, so a large input streams through in bounded memory.
 */
export function encryptChunks(
  pool: CryptoPool,
  base: Omit<SealTask, 'index' | 'isLast' | 'plain'>,
  slices: AsyncIterable<{ index: number; isLast: boolean; plain: Uint8Array }>,
  window = 2 * pool.size,
): AsyncGenerator<SealedChunk> {
  return mapOrdered(slices, (s) => pool.seal({ ...base, ...s }), window);
}

/** Decrypt one chunk off the main thread (the brief's `decryptChunk`). */
export function decryptChunkInPool(pool: CryptoPool, task: OpenTask): Promise<OpenedChunk> {
  return pool.open(task);
}
