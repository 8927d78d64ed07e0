/**
 * @module Pre-serialised row inputs of the package builder (builder.ts), in a module of their own so that
 * a reader thread can produce them without loading the builder and libsodium.
 */

/** JSON text of one row object (no raw LF). Built by trusted code only; the builder does not re-parse it. */
export class SerializedRow {
  constructor(readonly json: string) {}
}

/**
 * A piece of the NDJSON byte stream `P` (PACKAGES.md §4), already UTF-8: consecutive bytes that may start
 * or end inside a line, and the number of rows counted with it. A producer may count a row with any piece
 * that holds part of it, as long as the counts of a stream's pieces add up to its number of lines.
 * Built by trusted code only: the builder checks the framing (a stream of pieces ends with LF, and no
 * other row kind follows a piece that ends inside a line), not the JSON.
 *
 * A piece of exactly `chunkSize` bytes that spans its whole ArrayBuffer and arrives on a slice boundary
 * becomes a slice as it is, without a copy (and is transferred to a crypto worker).
 */
export class NdjsonBlock {
  constructor(
    readonly bytes: Uint8Array,
    readonly rows: number,
  ) {
    if (!Number.isSafeInteger(rows) || rows < 0 || rows > bytes.length) throw new RangeError(`an NDJSON piece of ${bytes.length} bytes cannot hold ${rows} rows`);
  }
}
