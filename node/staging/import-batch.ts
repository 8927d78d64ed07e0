/**
 * @module Records on their way to the table, in two interchangeable forms the importer writes from:
 * `SourceRowBatch` validates reader rows on the calling thread; `EncodedBatch` holds rows a reader worker
 * already validated, packed so that handing them between threads is cheap.
 *
 * Why a packed form: structured-cloning a million rows as arrays costs the receiving (writing) thread about
 * a second, a third of what SQLite needs to store them. Packed, a chunk is one string holding every text
 * cell, an offsets array, a Float64Array of numeric cells and a NULL bitmap; the typed arrays are
 * transferred, the string is copied in one piece, and the writer slices cells out as it binds them.
 */
import type { SourceRow } from './readers/source.ts';
import type { CellProblem, FrontendItem, RowValidator, SqlValue } from './row-validator.ts';

export const KIND_UPSERT = 0;
export const KIND_DELETE = 1;
export const KIND_REJECT = 2;
export type RowKind = typeof KIND_UPSERT | typeof KIND_DELETE | typeof KIND_REJECT;

/** A run of source records the importer can write. */
export interface PreparedBatch {
  readonly length: number;
  rowNumber(i: number): number;
  /**
   * Put record `i`'s SQL values into `out` (every column for an upsert, the key columns for a delete) and
   * say which it is. For KIND_REJECT, `problems(i)` then says why.
   */
  prepare(i: number, out: SqlValue[]): RowKind;
  problems(i: number): readonly CellProblem[];
}

/** Records [start, end) of another batch, so that transactions hold exactly `batchSize` records. */
export class BatchSlice implements PreparedBatch {
  constructor(
    private readonly b: PreparedBatch,
    private readonly start: number,
    private readonly end: number,
  ) {}

  get length(): number {
    return this.end - this.start;
  }

  rowNumber(i: number): number {
    return this.b.rowNumber(this.start + i);
  }

  prepare(i: number, out: SqlValue[]): RowKind {
    return this.b.prepare(this.start + i, out);
  }

  problems(i: number): readonly CellProblem[] {
    return this.b.problems(this.start + i);
  }
}

/** Reader rows validated as they are prepared (single-threaded path). */
export class SourceRowBatch implements PreparedBatch {
  private last: readonly CellProblem[] = [];
  constructor(
    private readonly rows: readonly SourceRow[],
    private readonly validator: RowValidator,
  ) {}

  get length(): number {
    return this.rows.length;
  }

  rowNumber(i: number): number {
    return this.rows[i]!.rowNumber;
  }

  prepare(i: number, out: SqlValue[]): RowKind {
    const r = this.rows[i]!;
    if (r.problem !== undefined) {
      this.last = [r.problem];
      return KIND_REJECT;
    }
    const problems = r.delete === true ? this.validator.convertKey(r.record, out) : this.validator.convert(r.record, out);
    if (problems !== null) {
      this.last = problems;
      return KIND_REJECT;
    }
    return r.delete === true ? KIND_DELETE : KIND_UPSERT;
  }

  problems(): readonly CellProblem[] {
    return this.last;
  }
}

/** Integer and boolean cells travel as numbers; every other type as text (binary as base64). */
const isNumeric = (item: FrontendItem): boolean => item.type === 'integer' || item.type === 'boolean';

/** The packed chunk as posted between threads. */
export interface EncodedChunk {
  n: number;
  rowNumbers: Float64Array;
  kinds: Uint8Array;
  /** 1 where the cell is NULL (n × columns). */
  nulls: Uint8Array;
  /** Numeric cells (n × numeric columns); NaN with an entry in `bigs` for integers beyond 2^53. */
  nums: Float64Array;
  bigs: [number, string][];
  /** Every non-NULL text cell, row by row, concatenated; `ends` holds each cell's end offset (n × text columns). */
  text: string;
  ends: Uint32Array;
  problems: [number, CellProblem[]][];
}

interface Layout {
  n: number;
  numeric: boolean[];
  /** Position of each column among the numeric or the text columns. */
  slot: number[];
  numCount: number;
  textCount: number;
  binary: boolean[];
}

function layout(items: readonly FrontendItem[]): Layout {
  let numCount = 0;
  let textCount = 0;
  const numeric = items.map(isNumeric);
  const slot = numeric.map((num) => (num ? numCount++ : textCount++));
  return { n: items.length, numeric, slot, numCount, textCount, binary: items.map((i) => i.type === 'binary') };
}

/** Packs validated records into an EncodedChunk (reader worker side). */
export class ChunkEncoder {
  private readonly l: Layout;
  private count = 0;
  private rowNumbers: Float64Array;
  private kinds: Uint8Array;
  private nulls: Uint8Array;
  private nums: Float64Array;
  private ends: Uint32Array;
  private bigs: [number, string][] = [];
  private parts: string[] = [];
  private textLength = 0;
  private problems: [number, CellProblem[]][] = [];

  constructor(
    items: readonly FrontendItem[],
    private readonly capacity: number,
  ) {
    this.l = layout(items);
    this.rowNumbers = new Float64Array(capacity);
    this.kinds = new Uint8Array(capacity);
    this.nulls = new Uint8Array(capacity * this.l.n);
    this.nums = new Float64Array(capacity * this.l.numCount);
    this.ends = new Uint32Array(capacity * this.l.textCount);
  }

  get length(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Add one record: `values` as the validator produced them (only key positions matter for deletes). */
  add(rowNumber: number, kind: RowKind, values: readonly SqlValue[] | null, keyOnly: readonly boolean[] | null, problems: CellProblem[] | null): void {
    const r = this.count++;
    const { n, numeric, slot, numCount, textCount } = this.l;
    this.rowNumbers[r] = rowNumber;
    this.kinds[r] = kind;
    if (problems !== null) this.problems.push([r, problems]);
    for (let c = 0; c < n; c++) {
      const v = kind === KIND_REJECT || values === null || (keyOnly !== null && !keyOnly[c]) ? null : values[c]!;
      if (v === null || v === undefined) {
        this.nulls[r * n + c] = 1;
        if (!numeric[c]) this.ends[r * textCount + slot[c]!] = this.textLength;
        continue;
      }
      if (numeric[c]) {
        if (typeof v === 'bigint') {
          this.nums[r * numCount + slot[c]!] = NaN;
          this.bigs.push([r * n + c, v.toString()]);
        } else {
          this.nums[r * numCount + slot[c]!] = v as number;
        }
      } else {
        const s = Buffer.isBuffer(v) ? v.toString('base64') : (v as string);
        this.parts.push(s);
        this.textLength += s.length;
        this.ends[r * textCount + slot[c]!] = this.textLength;
      }
    }
  }

  /** The packed chunk and the buffers to transfer with it; the encoder starts over empty. */
  finish(): { chunk: EncodedChunk; transfer: ArrayBuffer[] } {
    const r = this.count;
    const { n, numCount, textCount } = this.l;
    const chunk: EncodedChunk = {
      n: r,
      rowNumbers: this.rowNumbers.slice(0, r),
      kinds: this.kinds.slice(0, r),
      nulls: this.nulls.slice(0, r * n),
      nums: this.nums.slice(0, r * numCount),
      bigs: this.bigs,
      text: this.parts.join(''),
      ends: this.ends.slice(0, r * textCount),
      problems: this.problems,
    };
    this.count = 0;
    this.nulls.fill(0);
    this.bigs = [];
    this.parts = [];
    this.textLength = 0;
    this.problems = [];
    return { chunk, transfer: [chunk.rowNumbers.buffer, chunk.kinds.buffer, chunk.nulls.buffer, chunk.nums.buffer, chunk.ends.buffer] as ArrayBuffer[] };
  }
}

/** A received chunk, unpacked cell by cell as the importer binds it (writer side). */
export class EncodedBatch implements PreparedBatch {
  private readonly l: Layout;
  private readonly bigs: Map<number, string> | undefined;
  private readonly problemsByRow: Map<number, CellProblem[]>;

  constructor(
    private readonly c: EncodedChunk,
    items: readonly FrontendItem[],
  ) {
    this.l = layout(items);
    this.bigs = c.bigs.length > 0 ? new Map(c.bigs) : undefined;
    this.problemsByRow = new Map(c.problems);
  }

  get length(): number {
    return this.c.n;
  }

  rowNumber(i: number): number {
    return this.c.rowNumbers[i]!;
  }

  prepare(i: number, out: SqlValue[]): RowKind {
    const kind = this.c.kinds[i] as RowKind;
    if (kind === KIND_REJECT) return kind;
    const { n, numeric, slot, numCount, textCount, binary } = this.l;
    const { nulls, nums, ends, text } = this.c;
    const textBase = i * textCount;
    // Text cells are contiguous per row: a cell starts where the previous text cell (of any row) ended.
    let start = textBase === 0 ? 0 : ends[textBase - 1]!;
    for (let col = 0; col < n; col++) {
      const isNull = nulls[i * n + col] === 1;
      if (numeric[col]) {
        if (isNull) out[col] = null;
        else {
          const v = nums[i * numCount + slot[col]!]!;
          out[col] = Number.isNaN(v) && this.bigs !== undefined ? BigInt(this.bigs.get(i * n + col)!) : v;
        }
      } else {
        const end = ends[textBase + slot[col]!]!;
        if (isNull) out[col] = null;
        else {
          const s = text.slice(start, end);
          out[col] = binary[col] ? Buffer.from(s, 'base64') : s;
        }
        start = end;
      }
    }
    return kind;
  }

  problems(i: number): readonly CellProblem[] {
    return this.problemsByRow.get(i) ?? [];
  }
}
