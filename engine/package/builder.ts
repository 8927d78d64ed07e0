/**
 * @module Building and opening data packages (PACKAGES.md) as streams: rows in, encrypted chunks out,
 * and back. Neither side holds a whole package: memory is bounded by the pool's window of chunks.
 *
 * The header's counts and hashes are known only after the last row, so `buildPackage` yields chunks
 * first and resolves the signed header when they are drained; a transport spools chunks (ciphertext
 * only) and announces the header once it exists (PACKAGES.md §Transport).
 */
import { uuidv7 } from '../../protocol/uuid7.ts';
import {
  ChunkLedger,
  chunkPlainLength,
  CONTENT_KEY_BYTES,
  DEFAULT_CHUNK_SIZE,
  expectedChunkCount,
  generateContentKey,
  generateNoncePrefix,
  hashRoot,
  keyCommitment,
  maxChunkBytes,
  NONCE_PREFIX_BYTES,
  PACKAGE_VERSION,
  PackageError,
  PackageHeader,
  recipientEntry,
  signHeader,
  unsealPackageKey,
  verifyHeader,
  type BoxKeys,
  type PackageRecipient,
  type PackageSigner,
  type SenderKeys,
  type SignedPackageHeader,
} from '../../protocol/data-package.ts';
import { toBase64 } from '../../protocol/sodium.ts';
import type { Compression } from './chunk-codec.ts';
import { defaultCryptoPool, encryptChunks, mapOrdered, type CryptoPool } from './crypto-pool.ts';
import { NdjsonBlock, SerializedRow } from './rows.ts';

export { NdjsonBlock, SerializedRow };

export interface BuildOptions {
  signer: PackageSigner;
  resource: string;
  resourceCode: string | null;
  schemaHash: string;
  kind: 'snapshot' | 'delta';
  baseVersion: number | null;
  newVersion: number;
  /** A grant package (PACKAGES.md §10a): rows shaped by the provider for this grant only. */
  grantId?: string;
  /** X25519 keys to seal the content key to; the hub first. */
  recipients: readonly { nodeId: string; publicKey: Uint8Array }[];
  /** Plaintext bytes per chunk before compression (default 256 KiB). */
  chunkSize?: number;
  compression?: Compression;
  /** zlib level (default 1: ~2.5× faster than 6 on NDJSON for ~7 % more bytes). */
  level?: number;
  pool?: CryptoPool;
  /**
   * Receives each full slice buffer (`chunkSize` bytes, owning its ArrayBuffer) once it is sealed, to be
   * filled again by whoever produces the NdjsonBlocks; its contents are plaintext of this package.
   */
  recycle?: (buffer: Uint8Array) => void;
  now?: () => Date;
  /** Test vectors only: fixed id, key and nonce prefix. Never set these in production. */
  fixed?: { packageId?: string; contentKey?: Uint8Array; noncePrefix?: Uint8Array };
}

export interface PackageChunk {
  index: number;
  isLast: boolean;
  bytes: Uint8Array;
}

export interface PackageBuild {
  packageId: string;
  /** Known up front, so a transport can announce the package before the body is done. */
  recipients: PackageRecipient[];
  /** Single use. Pull to drive the build; nothing is read ahead beyond the pool window. */
  chunks: AsyncIterable<PackageChunk>;
  /** Resolves once `chunks` is drained; rejects if the build fails or is abandoned. */
  header: Promise<SignedPackageHeader>;
}

/** Slice buffers kept for reuse. */
const SPARE_SLICES = 4;

/** Rows are serialised in batches of about this many UTF-16 units (one encode, one event-loop turn each). */
const BATCH_CHARS = 64 * 1024;

/**
 * Rows to package: objects, `SerializedRow`s — the JSON text of an object, already serialised by a
 * caller that knows its columns — or `NdjsonBlock`s of rows already serialised and UTF-8 encoded (the
 * front-end packager has SQLite write them), which saves a JSON.stringify per row and the encoding.
 */
export type PackageRows = AsyncIterable<object | SerializedRow | NdjsonBlock> | Iterable<object | SerializedRow | NdjsonBlock>;

/** A buffer the builder may take over as a slice (or recycle): it spans its whole ArrayBuffer. */
const ownsBuffer = (u: Uint8Array): boolean => u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && u.buffer instanceof ArrayBuffer;

/**
 * Cut the NDJSON stream of `rows` into exact `chunkSize` slices; the last one is flagged (and may be empty).
 * New slice buffers come from `spare` (slices the crypto workers are done with) when it has any.
 */
async function* slices(rows: PackageRows, chunkSize: number, stats: { rows: number; bytes: number }, spare: Uint8Array[]) {
  const encoder = new TextEncoder();
  const fresh = () => spare.pop() ?? new Uint8Array(chunkSize);
  const full: Uint8Array[] = [];
  let cur = fresh();
  let fill = 0;
  let index = 0;
  let batch: string[] = [];
  let batchChars = 0;
  /** The last NdjsonBlock ended inside a line: only more pieces may follow. */
  let midLine = false;
  const append = (bytes: Uint8Array) => {
    stats.bytes += bytes.length;
    if (fill === 0 && bytes.length === chunkSize && ownsBuffer(bytes)) {
      full.push(bytes); // a whole slice already: take it over
      return;
    }
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(chunkSize - fill, bytes.length - at);
      cur.set(bytes.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === chunkSize) {
        full.push(cur);
        cur = fresh();
        fill = 0;
      }
    }
  };
  const absorb = () => {
    append(encoder.encode(batch.join('\n') + '\n'));
    batch = [];
    batchChars = 0;
  };
  for await (const row of rows) {
    if (row instanceof NdjsonBlock) {
      if (batch.length) absorb();
      if (row.bytes.length > 0) midLine = row.bytes[row.bytes.length - 1] !== 0x0a;
      append(row.bytes);
      stats.rows += row.rows;
      await new Promise<void>((r) => setImmediate(r));
    } else {
      if (midLine) throw new TypeError(`row ${stats.rows} follows an NDJSON piece that ends inside a line`);
      if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new TypeError(`row ${stats.rows} is not a JSON object`);
      const line = row instanceof SerializedRow ? row.json : JSON.stringify(row);
      batch.push(line);
      batchChars += line.length;
      stats.rows++;
      if (batchChars >= BATCH_CHARS) {
        absorb();
        // Rows from an async generator arrive as microtasks; let timers and I/O run between batches.
        await new Promise<void>((r) => setImmediate(r));
      }
    }
    // A full slice is known not to be last once any byte follows it.
    while (full.length > 1 || (full.length === 1 && fill > 0)) yield { index: index++, isLast: false, plain: full.shift()! };
  }
  if (midLine) throw new TypeError('the NDJSON pieces end inside a line');
  if (batch.length) absorb();
  while (full.length > 1 || (full.length === 1 && fill > 0)) yield { index: index++, isLast: false, plain: full.shift()! };
  yield { index, isLast: true, plain: full.length ? full.shift()! : cur.slice(0, fill) };
}

/** Stream `rows` into a signed, encrypted package. */
export function buildPackage(rows: PackageRows, opts: BuildOptions): PackageBuild {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const compression = opts.compression ?? 'deflate-raw';
  const packageId = opts.fixed?.packageId ?? uuidv7();
  const contentKey = opts.fixed?.contentKey ?? generateContentKey();
  const noncePrefix = toBase64(opts.fixed?.noncePrefix ?? generateNoncePrefix());
  if (contentKey.length !== CONTENT_KEY_BYTES || (opts.fixed?.noncePrefix && opts.fixed.noncePrefix.length !== NONCE_PREFIX_BYTES)) throw new RangeError('bad fixed key or nonce prefix');
  const createdAt = (opts.now?.() ?? new Date()).toISOString();
  const base = {
    v: PACKAGE_VERSION,
    packageId,
    sender: opts.signer.nodeId,
    resource: opts.resource,
    resourceCode: opts.resourceCode,
    schemaHash: opts.schemaHash,
    kind: opts.kind,
    baseVersion: opts.baseVersion,
    newVersion: opts.newVersion,
    createdAt,
    chunkSize,
    compression,
    noncePrefix,
    keyCommitment: keyCommitment(contentKey),
    ...(opts.grantId !== undefined ? { grantId: opts.grantId } : {}),
  } as const;
  // Refuse bad options now rather than after the whole input was encrypted.
  PackageHeader.parse({ ...base, rowCount: 0, plainBytes: 0, chunkCount: 1, cipherBytes: 16, contentHash: '0'.repeat(64), cipherHash: '0'.repeat(64) });
  if (opts.recipients.length === 0) throw new RangeError('a package needs at least one recipient (the hub)');
  const recipients = opts.recipients.map((r) => recipientEntry(contentKey, r));
  const pool = opts.pool ?? defaultCryptoPool();

  let resolve!: (h: SignedPackageHeader) => void;
  let reject!: (e: unknown) => void;
  const header = new Promise<SignedPackageHeader>((res, rej) => ((resolve = res), (reject = rej)));
  header.catch(() => {}); // the same error reaches whoever iterates `chunks`

  async function* chunks(): AsyncGenerator<PackageChunk> {
    const stats = { rows: 0, bytes: 0 };
    const cipherLeaves: Uint8Array[] = [];
    const plainLeaves: Uint8Array[] = [];
    let cipherBytes = 0;
    let settled = false;
    try {
      // Slice buffers come back from the workers once sealed: they go to `opts.recycle` (a reader that
      // fills them again) or are kept for the slicer, so a build allocates a handful of them, not one per slice.
      const spare: Uint8Array[] = [];
      const sealed = encryptChunks(pool, { contentKey, ctx: { packageId, noncePrefix }, compression, level: opts.level ?? 1 }, slices(rows, chunkSize, stats, spare));
      for await (const c of sealed) {
        if (c.plain && c.plain.length === chunkSize && ownsBuffer(c.plain)) {
          if (opts.recycle) opts.recycle(c.plain);
          else if (spare.length < SPARE_SLICES) spare.push(c.plain);
        }
        cipherLeaves.push(c.chunkHash);
        plainLeaves.push(c.plainMac);
        cipherBytes += c.bytes.length;
        yield { index: c.index, isLast: c.isLast, bytes: c.bytes };
      }
      const h = PackageHeader.parse({
        ...base,
        rowCount: stats.rows,
        plainBytes: stats.bytes,
        chunkCount: expectedChunkCount(stats.bytes, chunkSize),
        cipherBytes,
        contentHash: hashRoot(concat(plainLeaves)),
        cipherHash: hashRoot(concat(cipherLeaves)),
      });
      if (h.chunkCount !== cipherLeaves.length) throw new Error(`internal: ${cipherLeaves.length} chunks for chunkCount ${h.chunkCount}`);
      settled = true;
      resolve({ header: h, signature: signHeader(h, opts.signer), recipients });
    } catch (err) {
      settled = true;
      reject(err);
      throw err;
    } finally {
      if (!settled) reject(new Error(`package ${packageId} abandoned before its last chunk`));
    }
  }

  return { packageId, recipients, chunks: chunks(), header };
}

/** Where `openPackage` reads chunk bytes by index (a Map, or a spool / database lookup). */
export type ChunkSource = ReadonlyMap<number, Uint8Array> | ((index: number) => Uint8Array | undefined | Promise<Uint8Array | undefined>);

export interface OpenOptions {
  senderKeys: SenderKeys;
  pool?: CryptoPool;
}

/**
 * Verify and decrypt a package, yielding its rows. Order (PACKAGES.md §Receiver checks): header schema and
 * signature, recipient key and keyCommitment, then every chunk authenticated and hashed (pass 1) so that
 * the body is exactly what the sender signed before the first row is released, then decompression and
 * parsing (pass 2) with contentHash and rowCount checked at the end. Only normal completion means success.
 */
export async function* openPackage(signed: unknown, chunks: ChunkSource, me: BoxKeys, opts: OpenOptions): AsyncGenerator<Record<string, unknown>> {
  const s = verifyHeader(signed, opts.senderKeys);
  const h = s.header;
  const contentKey = unsealPackageKey(s, me);
  const pool = opts.pool ?? defaultCryptoPool();
  const get = typeof chunks === 'function' ? chunks : (i: number) => chunks.get(i);
  const ctx = { packageId: h.packageId, noncePrefix: h.noncePrefix };
  const task = (i: number, bytes: Uint8Array) => ({ contentKey, ctx, index: i, isLast: i === h.chunkCount - 1, bytes, compression: h.compression, plainLength: chunkPlainLength(h, i) });
  const fetch = async (i: number): Promise<Uint8Array | undefined> => {
    const bytes = await get(i);
    if (bytes && bytes.length > maxChunkBytes(h.chunkSize)) throw new PackageError('PACKAGE_CHUNK_INVALID', `chunk ${i} is too large`, { index: i });
    return bytes;
  };
  const indices = () => Array.from({ length: h.chunkCount }, (_, i) => i);
  const window = 2 * pool.size;

  const ledger = new ChunkLedger(h);
  const verified = mapOrdered(
    indices(),
    async (i) => {
      const bytes = await fetch(i);
      return bytes && { i, length: bytes.length, hash: await pool.verify(task(i, bytes)) };
    },
    window,
  );
  for await (const v of verified) if (v) ledger.record(v.i, v.length, v.hash);
  ledger.finish();

  const macs = new Uint8Array(32 * h.chunkCount);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const malformed = (message: string, cause?: unknown) => new PackageError('PACKAGE_MALFORMED', `package ${h.packageId}: ${message}`, { packageId: h.packageId }, { cause });
  let carry = '';
  let rows = 0;
  const opened = mapOrdered(
    indices(),
    async (i) => {
      const bytes = await fetch(i);
      if (!bytes) throw new PackageError('PACKAGE_TRUNCATED', `chunk ${i} disappeared`, { index: i });
      return { i, ...(await pool.open(task(i, bytes))) };
    },
    window,
  );
  for await (const c of opened) {
    macs.set(c.plainMac, 32 * c.i);
    let text: string;
    try {
      text = carry + decoder.decode(c.plain, { stream: true });
    } catch (cause) {
      throw malformed('rows are not UTF-8', cause);
    }
    const lines = text.split('\n');
    carry = lines.pop()!;
    for (const line of lines) {
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (cause) {
        throw malformed(`row ${rows} is not JSON`, cause);
      }
      if (typeof row !== 'object' || row === null || Array.isArray(row)) throw malformed(`row ${rows} is not a JSON object`);
      rows++;
      yield row as Record<string, unknown>;
    }
  }
  if (carry !== '' || decoder.decode() !== '') throw malformed('the last row is not terminated by a line feed');
  if (hashRoot(macs) !== h.contentHash) throw new PackageError('PACKAGE_HASH_MISMATCH', `rows of package ${h.packageId} do not match contentHash`, { packageId: h.packageId });
  if (rows !== h.rowCount) throw malformed(`${rows} rows, header says ${h.rowCount}`);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32 * parts.length);
  parts.forEach((p, i) => out.set(p, 32 * i));
  return out;
}
