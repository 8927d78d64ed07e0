/** @module Readers of import files: pick one by format; each yields `SourceRow`s in file order. */
import type { FrontendItem } from '../row-validator.ts';
import { readCsvChunks } from './csv.ts';
import { readNdjsonChunks } from './ndjson.ts';
import { readXlsxChunks } from './xlsx.ts';
import { flatten } from './source.ts';
import type { ImportFormat, ReaderOptions, SourceRow } from './source.ts';
import { AppError } from '../../../engine/errors.ts';

export { readCsv, readCsvChunks } from './csv.ts';
export { readNdjson, readNdjsonChunks } from './ndjson.ts';
export { readXlsx, readXlsxChunks, cellText } from './xlsx.ts';
export { decodeText, type TextEncodingName } from './decode.ts';
export { mapHeader, deleteFlag, DELETE_COLUMN, type HeaderMap } from './header.ts';
export { flatten, IMPORT_FORMATS, type ImportFormat, type ReaderOptions, type SourceRow } from './source.ts';

/** The format a file name implies (.csv, .xlsx, .ndjson / .jsonl), if any. */
export function formatFromName(name: string): ImportFormat | undefined {
  const ext = /\.([A-Za-z]+)$/.exec(name)?.[1]?.toLowerCase();
  if (ext === 'csv' || ext === 'txt') return 'csv';
  if (ext === 'xlsx') return 'xlsx';
  if (ext === 'ndjson' || ext === 'jsonl') return 'ndjson';
  return undefined;
}

/** Rows of `input` read as `format`, one at a time. */
export function openReader(format: ImportFormat, input: AsyncIterable<Uint8Array>, items: readonly FrontendItem[], opts: ReaderOptions = {}): AsyncIterable<SourceRow> {
  return flatten(openReaderChunks(format, input, items, opts));
}

/** Rows of `input` read as `format`, in arrays (fewer awaits on a million-row file). */
export function openReaderChunks(format: ImportFormat, input: AsyncIterable<Uint8Array>, items: readonly FrontendItem[], opts: ReaderOptions = {}): AsyncIterable<SourceRow[]> {
  switch (format) {
    case 'csv':
      return readCsvChunks(input, items, opts);
    case 'ndjson':
      return readNdjsonChunks(input, items, opts);
    case 'xlsx':
      return readXlsxChunks(input, items);
    default:
      throw new AppError('INVALID_REQUEST', `不支持的格式 ${String(format)}（可用 csv、xlsx、ndjson）`, `unsupported format ${String(format)} (csv, xlsx or ndjson)`);
  }
}
