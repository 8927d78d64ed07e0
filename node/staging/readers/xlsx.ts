/**
 * @module Streaming XLSX reader (exceljs WorkbookReader, never the whole workbook): the first worksheet,
 * first non-empty row as header. Cell values become the text a user would type, so the same validator
 * serves CSV and XLSX: numbers as JavaScript prints them, dates as YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS when
 * they carry a time: sheets have no time zone, so the validator reads them as Beijing time), booleans as
 * true/false, rich text and hyperlinks as their text, formulas as their cached result.
 * Note: XLSX keeps one shared-string table for the whole file; exceljs must hold it in memory.
 * exceljs is loaded on first use (it weighs ~27 MB per thread, which CSV and NDJSON imports need not pay),
 * with its chunk-by-chunk UTF-8 decoding fixed (exceljs-utf8.ts).
 */
import { Readable } from 'node:stream';
import { loadExcelJs } from './exceljs-utf8.ts';
import type { FrontendItem } from '../row-validator.ts';
import { DELETE_COLUMN, deleteFlag, mapHeader, type HeaderMap } from './header.ts';
import { flatten, NO_VALUES, type SourceRow } from './source.ts';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Sheet dates are wall-clock times that exceljs decodes as UTC: read the UTC fields back. */
function dateText(d: Date): string {
  const day = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const h = d.getUTCHours();
  const m = d.getUTCMinutes();
  const s = d.getUTCSeconds();
  const ms = d.getUTCMilliseconds();
  if (h === 0 && m === 0 && s === 0 && ms === 0) return day;
  return `${day} ${pad(h)}:${pad(m)}:${pad(s)}${ms ? `.${pad(ms, 3)}` : ''}`;
}

/** A cell value as text; undefined for an empty cell. */
export function cellText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return dateText(v);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.richText)) return (o.richText as { text?: string }[]).map((r) => r.text ?? '').join('');
    if ('formula' in o || 'sharedFormula' in o) return cellText(o.result);
    if ('text' in o) return cellText(o.text);
    if ('error' in o) return String(o.error);
  }
  return String(v);
}

/** Rows of the first worksheet, one record at a time. */
export function readXlsx(input: AsyncIterable<Uint8Array> | string, items: readonly FrontendItem[]): AsyncGenerator<SourceRow> {
  return flatten(readXlsxChunks(input, items));
}

const XLSX_CHUNK = 1000;

/** Rows of the first worksheet in arrays of up to 1,000. */
export async function* readXlsxChunks(input: AsyncIterable<Uint8Array> | string, items: readonly FrontendItem[]): AsyncGenerator<SourceRow[]> {
  const ExcelJS = loadExcelJs();
  const stream = typeof input === 'string' ? undefined : Readable.from(input, { objectMode: false });
  // styles: 'cache' is what lets exceljs recognise date-formatted numbers as dates.
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(stream ?? (input as string), {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  const n = items.length;
  let out: SourceRow[] = [];
  try {
    for await (const sheet of reader) {
      let map: HeaderMap | undefined;
      for await (const row of sheet) {
        const values = row.values as unknown[];
        const cells: (string | undefined)[] = [];
        let any = false;
        for (let c = 1; c < values.length; c++) {
          const t = cellText(values[c]);
          cells[c - 1] = t;
          if (t !== undefined && t !== '') any = true;
        }
        if (!any) continue;
        if (map === undefined) {
          map = mapHeader(
            Array.from(cells, (c) => c ?? ''),
            items,
          );
          continue;
        }
        const record = new Array<unknown>(n);
        for (let i = 0; i < n; i++) {
          const p = map.positions[i]!;
          record[i] = p >= 0 ? cells[p] : undefined;
        }
        if (map.deleteColumn >= 0) {
          const flag = deleteFlag(cells[map.deleteColumn]);
          if (flag === undefined) {
            out.push({
              rowNumber: row.number,
              record: NO_VALUES,
              problem: { column: DELETE_COLUMN, reasonZh: '删除标记应为 1/0、true/false 或 是/否', reasonEn: 'delete flag must be 1/0, true/false or 是/否' },
            });
          } else if (flag) {
            out.push({ rowNumber: row.number, record, delete: true });
          } else {
            out.push({ rowNumber: row.number, record });
          }
        } else {
          out.push({ rowNumber: row.number, record });
        }
        if (out.length >= XLSX_CHUNK) {
          yield out;
          out = [];
        }
      }
      // Only the first worksheet is the data; later sheets are notes or lookups.
      break;
    }
    if (out.length > 0) yield out;
  } finally {
    stream?.destroy();
  }
}
