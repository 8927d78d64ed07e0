/**
 * @module Streaming CSV reader: detected encoding (decode.ts) → text → records (csv-tokenizer.ts) → records
 * in item order. The first record is the header (codes or Chinese names); a record whose width differs
 * from the header's is rejected on its own instead of failing the file.
 */
import iconv from 'iconv-lite';
import type { FrontendItem } from '../row-validator.ts';
import { CsvTokenizer } from './csv-tokenizer.ts';
import { detectEncoding } from './decode.ts';
import { DELETE_COLUMN, deleteFlag, mapHeader, type HeaderMap } from './header.ts';
import { flatten, NO_VALUES, type ReaderOptions, type SourceRow } from './source.ts';

const WIDTH_ZH = (got: number, want: number): string => `列数 ${got} 与表头的 ${want} 列不符`;
const WIDTH_EN = (got: number, want: number): string => `${got} columns where the header has ${want}`;

/** Decoded text chunks of `input` in its detected encoding. */
async function* text(input: AsyncIterable<Uint8Array>, opts: ReaderOptions): AsyncGenerator<string> {
  const { encoding, bytes } = await detectEncoding(input, { onEncoding: opts.onEncoding });
  if (encoding === 'utf8') {
    const d = new TextDecoder('utf-8');
    for await (const chunk of bytes) yield d.decode(chunk, { stream: true });
    yield d.decode();
  } else {
    const d = iconv.getDecoder('gb18030');
    for await (const chunk of bytes) yield d.write(chunk);
    yield d.end() ?? '';
  }
}

/** Rows of a CSV file, one record at a time. */
export function readCsv(input: AsyncIterable<Uint8Array>, items: readonly FrontendItem[], opts: ReaderOptions = {}): AsyncGenerator<SourceRow> {
  return flatten(readCsvChunks(input, items, opts));
}

/** Rows of a CSV file in arrays, one per decoded chunk of text (the worker's path: no per-row await). */
export async function* readCsvChunks(input: AsyncIterable<Uint8Array>, items: readonly FrontendItem[], opts: ReaderOptions = {}): AsyncGenerator<SourceRow[]> {
  const n = items.length;
  const tokenizer = new CsvTokenizer();
  let map: HeaderMap | undefined;
  let positions: number[] = [];
  // Columns already in item order (the usual case): the parsed record is used as is, no copy per row.
  let identity = false;
  let rowNumber = 0;
  let out: SourceRow[] = [];

  const onRecord = (fields: string[]): void => {
    rowNumber++;
    if (map === undefined) {
      map = mapHeader(fields, items);
      positions = map.positions;
      identity = map.width === n && positions.every((p, i) => p === i);
      return;
    }
    if (fields.length === 1 && fields[0] === '' && map.width !== 1) return; // blank line
    if (fields.length !== map.width) {
      out.push({ rowNumber, record: NO_VALUES, problem: { column: '', reasonZh: WIDTH_ZH(fields.length, map.width), reasonEn: WIDTH_EN(fields.length, map.width) } });
      return;
    }
    let record: unknown[] = fields;
    if (!identity) {
      record = new Array<unknown>(n);
      for (let i = 0; i < n; i++) {
        const p = positions[i]!;
        record[i] = p >= 0 ? fields[p] : undefined;
      }
    }
    if (map.deleteColumn >= 0) {
      const flag = deleteFlag(fields[map.deleteColumn]);
      if (flag === undefined) {
        out.push({ rowNumber, record: NO_VALUES, problem: { column: DELETE_COLUMN, reasonZh: '删除标记应为 1/0、true/false 或 是/否', reasonEn: 'delete flag must be 1/0, true/false or 是/否' } });
        return;
      }
      if (flag) {
        out.push({ rowNumber, record, delete: true });
        return;
      }
    }
    out.push({ rowNumber, record });
  };

  for await (const chunk of text(input, opts)) {
    if (chunk === '') continue;
    tokenizer.push(chunk, onRecord);
    // Records of one chunk are handed on together; the next chunk is read only when they are consumed.
    if (out.length > 0) {
      yield out;
      out = [];
    }
  }
  tokenizer.end(onRecord);
  if (out.length > 0) yield out;
}
