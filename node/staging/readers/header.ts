/**
 * @module Map a file's column names onto data items: by item code or by the item's Chinese name (trimmed),
 * plus the optional `_delete` column. Refuses unknown and duplicate columns and missing required ones, so a
 * mislabelled file fails before a single row is written rather than importing NULLs.
 */
import { AppError } from '../../../engine/errors.ts';
import type { FrontendItem } from '../row-validator.ts';

/** Name of the column (or NDJSON key) that marks a record as an explicit delete. */
export const DELETE_COLUMN = '_delete';

export interface HeaderMap {
  /** For each item, the index of its source column, or -1 when the file does not have it (stored as NULL). */
  positions: number[];
  /** Index of the `_delete` column, or -1. */
  deleteColumn: number;
  /** Number of columns in the header (records of another width are rejected). */
  width: number;
}

/** Lookup from a code or Chinese name to the item's index. */
export function itemLookup(items: readonly FrontendItem[]): Map<string, number> {
  const byKey = new Map<string, number>();
  items.forEach((it, i) => {
    byKey.set(it.code, i);
    byKey.set(it.name.trim(), i);
  });
  return byKey;
}

const clean = (h: string): string => h.replace(/^\uFEFF/, '').trim();

/** Map header cells to items. Empty header cells (trailing separators from spreadsheets) are ignored. */
export function mapHeader(header: readonly string[], items: readonly FrontendItem[]): HeaderMap {
  const lookup = itemLookup(items);
  const positions = items.map(() => -1);
  let deleteColumn = -1;
  const unknown: string[] = [];
  const duplicate: string[] = [];
  header.forEach((raw, col) => {
    const h = clean(raw);
    if (h === '') return;
    if (h === DELETE_COLUMN) {
      if (deleteColumn >= 0) duplicate.push(h);
      deleteColumn = col;
      return;
    }
    const i = lookup.get(h);
    if (i === undefined) unknown.push(h);
    else if (positions[i]! >= 0) duplicate.push(h);
    else positions[i] = col;
  });
  if (unknown.length > 0) {
    throw new AppError(
      'INVALID_REQUEST',
      `表头含未知列：${unknown.join('、')}（列名须为信息项代码或中文名称）`,
      `unknown columns in the header: ${unknown.join(', ')} (use data item codes or Chinese names)`,
      unknown.map((h) => ({ path: 'header', code: 'unknown_column', message: h })),
    );
  }
  if (duplicate.length > 0) {
    throw new AppError(
      'INVALID_REQUEST',
      `表头列重复：${duplicate.join('、')}`,
      `columns appear twice in the header: ${duplicate.join(', ')}`,
      duplicate.map((h) => ({ path: 'header', code: 'duplicate_column', message: h })),
    );
  }
  const missing = items.filter((it, i) => (it.required === true || it.primaryKey === true) && positions[i]! < 0);
  if (missing.length > 0) {
    throw new AppError(
      'INVALID_REQUEST',
      `缺少必填列：${missing.map((m) => `${m.name}(${m.code})`).join('、')}`,
      `required columns are missing: ${missing.map((m) => `${m.code} (${m.name})`).join(', ')}`,
      missing.map((m) => ({ path: 'header', code: 'missing_column', message: m.code })),
    );
  }
  return { positions, deleteColumn, width: header.length };
}

const DELETE_YES = new Set(['1', 'true', '是', 'y', 'yes']);
const DELETE_NO = new Set(['', '0', 'false', '否', 'n', 'no']);

/** The `_delete` cell as a flag; undefined when the value is not a recognisable yes/no. */
export function deleteFlag(v: unknown): boolean | undefined {
  if (v === undefined || v === null || v === false || v === 0) return false;
  if (v === true || v === 1) return true;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  return DELETE_YES.has(s) ? true : DELETE_NO.has(s) ? false : undefined;
}
