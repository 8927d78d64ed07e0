/**
 * @module The keys one import has already accepted, so that a key given twice in one import is a reject
 * naming both rows rather than a silent merge (which also made re-running the same file flip the row
 * between its two versions, counting "updated" and sending a package every time).
 *
 * Per key in memory: a 32-bit fingerprint of its encoded bytes (UTF-8 text, decimal integers, raw
 * binary; composite keys length-prefixed) and an open-addressing slot, in typed arrays: ~12 MB for 1M
 * keys, where a `Map` of strings takes ~80 MB and fingerprints with the key bytes and rows in memory
 * ~40 MB (a 1M-row import's 300 MB budget had ~40 MB left). A table in SQLite was measured first: a
 * second randomly ordered B-tree made imports ~30% slower (each 5,000-row commit rewrote thousands of
 * its pages into the WAL).
 *
 * Durable and exact: each batch's transaction also stores the keys it claimed, bytes and rows, as one
 * BLOB in `frontend_import_keys`. A fingerprint match is confirmed against the key's bytes, which also
 * gives the first row (the current batch's are in memory, older ones in their BLOB, a few kept
 * decoded), so different keys are never taken for duplicates; after a crash (even kill -9) the BLOBs of exactly the committed batches
 * are read back, so a resumed import still finds duplicates of rows committed before the crash. They
 * are deleted in the transaction that finishes the import.
 */
import type { Db } from '../../engine/storage/db.ts';
import type { SqlValue } from './row-validator.ts';

/** Created on first use (IF NOT EXISTS), so databases migrated before this table existed get it too. */
export const IMPORT_KEYS_SQL = `
CREATE TABLE IF NOT EXISTS frontend_import_keys (
  id INTEGER PRIMARY KEY,
  import_id TEXT NOT NULL,
  -- n (u32), then n row numbers (f64), n key end offsets (u32), the encoded keys
  claims BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS frontend_import_keys_import ON frontend_import_keys (import_id, id);
`;

const EMPTY = -1;

/** 32-bit FNV-1a over bytes, finished with murmur3's mixer (linear probing wants well-spread low bits). */
function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Blobs of committed batches kept decoded for confirming matches. */
const BLOB_CACHE = 8;

/**
 * The keys claimed so far in one import, with the row that claimed each. In memory per key: a 32-bit
 * fingerprint and an open-addressing slot (~12 bytes a key, 12 MB for 1M keys). Key bytes and row numbers
 * are held only for the batch being written; those of committed batches are in their packed BLOBs,
 * fetched through `fetch` when a fingerprint matches, so the set is exact (a fingerprint match of
 * different keys, about one in 10⁹ probes, costs one look at a BLOB and is not taken for a duplicate).
 */
export class KeySet {
  private fps = new Int32Array(1 << 12);
  private count = 0;
  private slots = new Int32Array(1 << 13).fill(EMPTY);
  private mask = (1 << 13) - 1;
  /** The batch being written: its first entry, its keys' bytes (entry e ends at ends[e - batchStart]) and rows. */
  private batchStart = 0;
  private arena = new Uint8Array(1 << 16);
  private used = 0;
  private ends = new Uint32Array(1 << 10);
  private batchRows = new Float64Array(1 << 10);
  /** Committed batches: first entry and handle (for `fetch`) of each, in order. */
  private readonly starts: number[] = [];
  private readonly handles: number[] = [];
  private readonly cache = new Map<number, Buffer>();
  /** Reused by `pack`: a fresh 150 KB buffer per batch is garbage the writer's peak RSS would carry. */
  private packBuf = Buffer.alloc(0);
  /** The last `find`: the scratch key at arena[used, scratchEnd), its fingerprint, the empty slot it ended on. */
  private scratchEnd = 0;
  private fp = 0;
  private probeSlot = 0;

  constructor(
    private readonly keyCount: number,
    /** The packed BLOB of a committed batch, by the handle it was sealed with. */
    private readonly fetch: (handle: number) => Buffer,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Row of `key` if claimed; else undefined, and `add` may claim it. `key` holds the key values in key order. */
  find(key: readonly SqlValue[]): number | undefined {
    let p = this.used;
    for (let k = 0; k < this.keyCount; k++) p = this.encode(key[k]!, p, k < this.keyCount - 1);
    this.scratchEnd = p;
    this.fp = hashBytes(this.arena, this.used, p);
    return this.probe();
  }

  /** Claim the key of the last `find` (which returned undefined) for `rowNumber`. */
  add(rowNumber: number): void {
    const e = this.count;
    if (e === this.fps.length) {
      const fps = new Int32Array(e * 2);
      fps.set(this.fps);
      this.fps = fps;
    }
    this.fps[e] = this.fp;
    const b = e - this.batchStart;
    if (b === this.ends.length) {
      const ends = new Uint32Array(b * 2);
      ends.set(this.ends);
      this.ends = ends;
      const rows = new Float64Array(b * 2);
      rows.set(this.batchRows);
      this.batchRows = rows;
    }
    this.batchRows[b] = rowNumber;
    this.used = this.scratchEnd;
    this.ends[b] = this.used;
    this.slots[this.probeSlot] = e;
    this.count++;
    if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
  }

  /** Keys claimed in the batch being written. */
  get pending(): number {
    return this.count - this.batchStart;
  }

  /** The batch's claims, packed for `frontend_import_keys.claims` (valid until the next `pack`: bound, SQLite copies it). */
  pack(): Buffer {
    const n = this.pending;
    const size = 4 + n * 12 + this.used;
    if (this.packBuf.length < size) this.packBuf = Buffer.allocUnsafe(Math.max(size, this.packBuf.length * 2));
    const out = this.packBuf.subarray(0, size);
    out.writeUInt32LE(n, 0);
    for (let i = 0; i < n; i++) {
      out.writeDoubleLE(this.batchRows[i]!, 4 + i * 8);
      out.writeUInt32LE(this.ends[i]!, 4 + n * 8 + i * 4);
    }
    out.set(this.arena.subarray(0, this.used), 4 + n * 12);
    return out;
  }

  /** The batch is committed, its packed claims reachable as `handle`: start the next one. */
  seal(handle: number): void {
    if (this.pending > 0) {
      this.starts.push(this.batchStart);
      this.handles.push(handle);
    }
    this.batchStart = this.count;
    this.used = 0;
  }

  /** The batch's transaction failed: forget its claims. Older keys never probe past newer ones, so clearing their slots is enough. */
  rollback(): void {
    for (let e = this.count - 1; e >= this.batchStart; e--) {
      let s = this.fps[e]! & this.mask;
      while (this.slots[s] !== e) s = (s + 1) & this.mask;
      this.slots[s] = EMPTY;
    }
    this.count = this.batchStart;
    this.used = 0;
  }

  /** Claim every key of a committed batch's packed claims (resume), reachable later as `handle`. */
  load(handle: number, blob: Buffer): void {
    const n = blob.readUInt32LE(0);
    const keysAt = 4 + n * 12;
    this.starts.push(this.count);
    this.handles.push(handle);
    let start = 0;
    for (let i = 0; i < n; i++) {
      const end = blob.readUInt32LE(4 + n * 8 + i * 4);
      // Each key in turn is the scratch key; the ones before it are confirmed from the blob.
      this.batchStart = this.count;
      this.used = 0;
      this.reserve(end - start);
      this.arena.set(blob.subarray(keysAt + start, keysAt + end), 0);
      this.scratchEnd = end - start;
      this.fp = hashBytes(this.arena, 0, this.scratchEnd);
      if (this.probe() !== undefined) throw new Error(`import keys: batch ${handle} claims a key twice`);
      this.add(blob.readDoubleLE(4 + i * 8));
      start = end;
    }
    this.batchStart = this.count;
    this.used = 0;
  }

  /** Look the scratch key up; leaves `probeSlot` at the empty slot where it would go. */
  private probe(): number | undefined {
    let s = this.fp & this.mask;
    for (;;) {
      const e = this.slots[s]!;
      if (e === EMPTY) {
        this.probeSlot = s;
        return undefined;
      }
      if (this.fps[e] === this.fp) {
        const row = this.rowIfSame(e);
        if (row !== undefined) return row;
      }
      s = (s + 1) & this.mask;
    }
  }

  /** Entry `e`'s row if its key bytes equal the scratch key's. */
  private rowIfSame(e: number): number | undefined {
    let bytes: Uint8Array;
    let from: number;
    let to: number;
    let blob: Buffer | undefined;
    let i: number;
    if (e >= this.batchStart) {
      i = e - this.batchStart;
      bytes = this.arena;
      from = i === 0 ? 0 : this.ends[i - 1]!;
      to = this.ends[i]!;
    } else {
      // The committed batch holding e: the last one starting at or before it.
      let lo = 0;
      let hi = this.starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.starts[mid]! <= e) lo = mid;
        else hi = mid - 1;
      }
      blob = this.blob(this.handles[lo]!);
      const n = blob.readUInt32LE(0);
      i = e - this.starts[lo]!;
      const keysAt = 4 + n * 12;
      from = keysAt + (i === 0 ? 0 : blob.readUInt32LE(4 + n * 8 + (i - 1) * 4));
      to = keysAt + blob.readUInt32LE(4 + n * 8 + i * 4);
      bytes = blob;
    }
    const len = this.scratchEnd - this.used;
    if (to - from !== len) return undefined;
    const a = this.arena;
    for (let k = 0; k < len; k++) if (bytes[from + k] !== a[this.used + k]) return undefined;
    return blob === undefined ? this.batchRows[i]! : blob.readDoubleLE(4 + i * 8);
  }

  private blob(handle: number): Buffer {
    let b = this.cache.get(handle);
    if (b !== undefined) {
      this.cache.delete(handle);
    } else {
      b = this.fetch(handle);
      if (this.cache.size >= BLOB_CACHE) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(handle, b);
    return b;
  }

  /** Append `v`'s encoding at `p`; `prefixed`: a length first (every component of a composite key but the last). */
  private encode(v: SqlValue, p: number, prefixed: boolean): number {
    if (typeof v === 'string') {
      this.reserve(p - this.used + 4 + v.length * 3);
      const at = prefixed ? p + 4 : p;
      const end = this.utf8(v, at);
      if (prefixed) this.u32(p, end - at);
      return end;
    }
    if (Buffer.isBuffer(v)) {
      this.reserve(p - this.used + 4 + v.length);
      if (prefixed) this.u32(p, v.length);
      const at = prefixed ? p + 4 : p;
      this.arena.set(v, at);
      return at + v.length;
    }
    // Integers and booleans: the decimal text (numbers and BigInts of one value print alike).
    return this.encode(String(v), p, prefixed);
  }

  private u32(p: number, v: number): void {
    const a = this.arena;
    a[p] = v & 0xff;
    a[p + 1] = (v >>> 8) & 0xff;
    a[p + 2] = (v >>> 16) & 0xff;
    a[p + 3] = v >>> 24;
  }

  /** UTF-8, with lone surrogates encoded as themselves (WTF-8), so distinct strings never encode alike. */
  private utf8(s: string, p: number): number {
    const a = this.arena;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) a[p++] = c;
      else if (c < 0x800) {
        a[p++] = 0xc0 | (c >> 6);
        a[p++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
            a[p++] = 0xf0 | (c >> 18);
            a[p++] = 0x80 | ((c >> 12) & 0x3f);
            a[p++] = 0x80 | ((c >> 6) & 0x3f);
            a[p++] = 0x80 | (c & 0x3f);
            continue;
          }
        }
        a[p++] = 0xe0 | (c >> 12);
        a[p++] = 0x80 | ((c >> 6) & 0x3f);
        a[p++] = 0x80 | (c & 0x3f);
      }
    }
    return p;
  }

  /** Room for `extra` more bytes after the batch's keys (`used`). */
  private reserve(extra: number): void {
    const need = this.used + extra;
    if (need <= this.arena.length) return;
    let cap = this.arena.length;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.arena);
    this.arena = next;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
    for (let e = 0; e < this.count; e++) {
      let s = this.fps[e]! & this.mask;
      while (this.slots[s] !== EMPTY) s = (s + 1) & this.mask;
      this.slots[s] = e;
    }
  }
}

/** An import's key set with its durable copy in `frontend_import_keys`. */
export class ImportKeys {
  readonly set: KeySet;
  private readonly save;
  private saved = 0;

  /** Reads back the keys of an interrupted run's committed batches (none for a fresh import). */
  constructor(
    private readonly db: Db,
    private readonly importId: string,
    keyCount: number,
  ) {
    db.exec(IMPORT_KEYS_SQL);
    const get = db.prepare('SELECT claims FROM frontend_import_keys WHERE id = ?').pluck();
    this.set = new KeySet(keyCount, (id) => get.get(id) as Buffer);
    for (const r of db.prepare('SELECT id, claims FROM frontend_import_keys WHERE import_id = ? ORDER BY id').iterate(importId) as Iterable<{ id: number; claims: Buffer }>) {
      this.set.load(r.id, r.claims);
    }
    this.save = db.prepare('INSERT INTO frontend_import_keys (import_id, claims) VALUES (?, ?)');
  }

  /** Inside the batch's transaction: store the keys it claimed. */
  persist(): void {
    this.saved = this.set.pending > 0 ? Number(this.save.run(this.importId, this.set.pack()).lastInsertRowid) : 0;
  }

  /** The batch's transaction committed. */
  committed(): void {
    this.set.seal(this.saved);
  }

  /** The batch's transaction failed: its claims are void. */
  abort(): void {
    this.set.rollback();
  }

  /** Inside the finishing transaction: the keys are no longer needed. */
  forget(): void {
    this.db.prepare('DELETE FROM frontend_import_keys WHERE import_id = ?').run(this.importId);
  }
}
