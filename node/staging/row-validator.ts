import { converterFor, INVALID, type Fail, type FrontendItem, type SqlValue } from './converters.ts';

export { canonicalDecimal, charLength, DEFAULT_UTC_OFFSET_MINUTES } from './converters.ts';

/** Why one cell (or, with column '', the whole record) was refused. */
export interface CellProblem {
  column: string;
  reasonZh: string;
  reasonEn: string;
}

/** The data item fields that decide storage and validation (name only maps headers). */
export type { FrontendItem, SqlValue } from './converters.ts';

export interface RowValidator {
  readonly items: readonly FrontendItem[];
  /** Positions (in `items`) of the primary key columns, in item order. */
  readonly keyIndexes: readonly number[];
  /** Convert `raw[i]` for every item into `out[i]`. Null when the record is good, else every problem found. */
  convert(raw: ArrayLike<unknown>, out: SqlValue[]): CellProblem[] | null;
  /** Convert the key columns only (explicit deletes); other positions of `out` are left alone. */
  convertKey(raw: ArrayLike<unknown>, out: SqlValue[]): CellProblem[] | null;
  /** Convert one cell of item `index`, for schema migrations. `required` is not applied to held rows. */
  convertCell(index: number, raw: unknown): { value: SqlValue } | CellProblem;
}

/** Missing: absent, null, or empty text. Whitespace-only counts as missing for every type but string. */
function isMissing(v: unknown, type: FrontendItem['type']): boolean {
  if (v === undefined || v === null || v === '') return true;
  return type !== 'string' && typeof v === 'string' && v.trim() === '';
}

/** Compile the converters of `items` once; the returned validator is reused for every record. */
export function compileValidator(items: readonly FrontendItem[]): RowValidator {
  const n = items.length;
  const converters = items.map(converterFor);
  const codes = items.map((i) => i.code);
  const types = items.map((i) => i.type);
  const required = items.map((i) => i.required === true || i.primaryKey === true);
  const keyIndexes = items.flatMap((it, i) => (it.primaryKey === true ? [i] : []));
  const fail: Fail = { zh: '', en: '' };

  const cell = (i: number, v: unknown, enforceRequired: boolean): SqlValue | CellProblem => {
    if (isMissing(v, types[i]!)) {
      return enforceRequired && required[i] ? { column: codes[i]!, reasonZh: '必填项为空', reasonEn: 'required value is missing' } : null;
    }
    const c = converters[i]!(v, fail);
    return c === INVALID ? { column: codes[i]!, reasonZh: fail.zh, reasonEn: fail.en } : c;
  };

  return {
    items,
    keyIndexes,
    convert(raw, out) {
      let problems: CellProblem[] | null = null;
      for (let i = 0; i < n; i++) {
        const v = raw[i];
        if (isMissing(v, types[i]!)) {
          if (required[i]) (problems ??= []).push({ column: codes[i]!, reasonZh: '必填项为空', reasonEn: 'required value is missing' });
          out[i] = null;
          continue;
        }
        const c = converters[i]!(v, fail);
        if (c === INVALID) (problems ??= []).push({ column: codes[i]!, reasonZh: fail.zh, reasonEn: fail.en });
        else out[i] = c;
      }
      return problems;
    },
    convertKey(raw, out) {
      let problems: CellProblem[] | null = null;
      for (const i of keyIndexes) {
        const c = cell(i, raw[i], true);
        if (c !== null && typeof c === 'object' && 'reasonZh' in c) (problems ??= []).push(c);
        else out[i] = c;
      }
      return problems;
    },
    convertCell(index, raw) {
      const c = cell(index, raw, items[index]!.primaryKey === true);
      return c !== null && typeof c === 'object' && 'reasonZh' in c ? c : { value: c };
    },
  };
}
