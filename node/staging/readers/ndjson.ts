/**
 * @module Streaming NDJSON reader: one JSON object per line, keys are item codes or Chinese names,
 * `{"_delete": true, <key items>}` deletes. A bad line (not JSON, not an object, unknown keys) is rejected
 * on its own. UTF-8 only (RFC 8259 §8.1), BOM tolerated.
 */
import type { FrontendItem } from '../row-validator.ts';
import { decodeText } from './decode.ts';
import { DELETE_COLUMN, deleteFlag, itemLookup } from './header.ts';
import { flatten, NO_VALUES, type ReaderOptions, type SourceRow } from './source.ts';

/** Rows of an NDJSON file, one record at a time. */
export function readNdjson(input: AsyncIterable<Uint8Array>, items: readonly FrontendItem[], opts: ReaderOptions = {}): AsyncGenerator<SourceRow> {
  return flatten(readNdjsonChunks(input, items, opts));
}

/** Rows of an NDJSON file in arrays, one per decoded chunk of text. */
export async function* readNdjsonChunks(input: AsyncIterable<Uint8Array>, items: readonly FrontendItem[], opts: ReaderOptions = {}): AsyncGenerator<SourceRow[]> {
  const lookup = itemLookup(items);
  const n = items.length;
  let rest = '';
  let lineNumber = 0;
  const parseLine = (line: string): SourceRow | undefined => {
    lineNumber++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') return undefined;
    const problem = (reasonZh: string, reasonEn: string, column = ''): SourceRow => ({ rowNumber: lineNumber, record: NO_VALUES, problem: { column, reasonZh, reasonEn } });
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      return problem('不是有效的 JSON', 'not valid JSON');
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return problem('每行应为一个 JSON 对象', 'each line must be a JSON object');
    const record = new Array<unknown>(n).fill(undefined);
    let del = false;
    const unknown: string[] = [];
    for (const key in obj) {
      const v = (obj as Record<string, unknown>)[key];
      if (key === DELETE_COLUMN) {
        const flag = deleteFlag(v);
        if (flag === undefined) return problem('删除标记应为 true/false', '_delete must be true or false', DELETE_COLUMN);
        del = flag;
        continue;
      }
      const i = lookup.get(key.trim());
      if (i === undefined) unknown.push(key);
      else if (record[i] !== undefined) return problem(`信息项 ${items[i]!.code} 出现两次`, `item ${items[i]!.code} given twice`, items[i]!.code);
      else record[i] = v;
    }
    if (unknown.length > 0) return problem(`未知字段：${unknown.join('、')}`, `unknown keys: ${unknown.join(', ')}`);
    return del ? { rowNumber: lineNumber, record, delete: true } : { rowNumber: lineNumber, record };
  };
  for await (const text of decodeText(input, { utf8Only: true, onEncoding: opts.onEncoding })) {
    let start = 0;
    let nl = text.indexOf('\n');
    if (nl < 0) {
      rest += text;
      continue;
    }
    const out: SourceRow[] = [];
    // The first line of this chunk completes the carried-over part.
    const first = parseLine(rest + text.slice(0, nl));
    rest = '';
    if (first) out.push(first);
    start = nl + 1;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      const row = parseLine(text.slice(start, nl));
      if (row) out.push(row);
      start = nl + 1;
    }
    rest = text.slice(start);
    if (out.length > 0) yield out;
  }
  if (rest !== '') {
    const row = parseLine(rest);
    if (row) yield [row];
  }
}
