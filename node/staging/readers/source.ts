/** @module What every reader yields: one source record, its row number, and its values in item order. */
import type { CellProblem } from '../row-validator.ts';

export interface SourceRow {
  /**
   * Where the record is in the file, for the rejects report. CSV: counting the header as row 1, as a
   * spreadsheet shows it (equal to the line number unless a quoted value spans lines); XLSX: the sheet row;
   * NDJSON: the line.
   */
  rowNumber: number;
  /** Values aligned with the data items; undefined where the file has no such column (stored as NULL). */
  record: unknown[];
  /** An explicit delete (`_delete` column or key): only the key values are read. */
  delete?: boolean;
  /** Set by the reader when the record as a whole is unusable; the importer rejects it unvalidated. */
  problem?: CellProblem;
}

export type ImportFormat = 'csv' | 'xlsx' | 'ndjson';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['csv', 'xlsx', 'ndjson'];

export interface ReaderOptions {
  /** Told the detected text encoding (CSV, NDJSON). */
  onEncoding?: (encoding: 'utf8' | 'gb18030') => void;
}

/** Record used for rows that carry only a problem. */
export const NO_VALUES: unknown[] = [];

/** One row at a time from a reader's arrays of rows. */
export async function* flatten(chunks: AsyncIterable<SourceRow[]>): AsyncGenerator<SourceRow> {
  for await (const rows of chunks) yield* rows;
}
