/**
 * @module Row filters (行级过滤): the small condition language a grant (protocol/grant.ts) or a query
 * uses to restrict which rows of a resource leave the provider — "minimum necessary, scenario-based"
 * (Jiyuan §7). Pure: schema, an in-memory matcher and a parameterised SQL fragment, no I/O.
 *
 *   filter    = { all: Condition[] }          conjunction only, at most 32 conditions; [] matches every row
 *   Condition = { item, op, value }           item: a data item code (same regex as DataItem.code)
 *     eq / ne      value string | number | boolean
 *     in           value non-empty array (≤ 1000) of string | number | boolean
 *     prefix       value non-empty string
 *     gte / lte    value string | number
 *
 * Semantics are SQLite's, so that `matchesFilter` (JS) and `filterToSql` (SQL) select the same rows.
 * A row filter is an access-control boundary: a SQL fragment that matched MORE rows than the JS
 * semantics would leak rows outside a grant, so both sides are defined exactly, not "roughly alike":
 *   - Values fall in classes: missing (absent, null, undefined, NaN), numeric (number, bigint;
 *     booleans count as the integers 1 / 0, as SQLite stores them), text (string), other (bytes,
 *     objects). Values of different classes are never equal and never ordered against each other.
 *   - A missing value satisfies no condition, `ne` included (SQL three-valued logic: NULL <> x is NULL).
 *   - `ne` is "present and not eq": a value of another class IS different (5 ne "5" holds).
 *   - Numbers compare numerically (1 eq 1.0). Text compares by Unicode code point, which is the byte
 *     order of UTF-8 (SQLite's BINARY collation on a UTF-8 database); NOT by UTF-16 unit, which
 *     orders characters outside the BMP (e.g. 𠀀 U+20000) before U+E000–U+FFFF.
 *   - `prefix` holds for text that starts with the value (code points); never for numbers.
 *   - `gte` / `lte` hold only within the class of the value: 10 gte 9 but not "10" gte 9.
 *
 * The SQL side, per condition, with X the caller's column expression:
 *   eq      (+(X) COLLATE BINARY) = ?
 *   ne      (+(X) COLLATE BINARY) <> ?
 *   in      (+(X) COLLATE BINARY) IN (?, …)
 *   gte     (typeof(X) IN ('integer','real') AND +(X) >= ?)              number value
 *           (typeof(X) = 'text' AND (+(X) COLLATE BINARY) >= ?)         string value
 *   prefix  (typeof(X) = 'text' AND substr(X, 1, ?) = ? COLLATE BINARY)  params: [code points of value, value]
 * Why: the unary + strips the column's type affinity, so SQLite never converts the bound value (a
 * TEXT column would otherwise turn the number 5 into '5', a NUMERIC one the text '5' into 5); COLLATE
 * BINARY overrides a NOCASE / RTRIM column collation; typeof() keeps ranges inside one class (SQLite
 * itself orders every number below every text). Booleans are bound as 1 / 0 (SQLite has no boolean and
 * better-sqlite3 refuses to bind one). Values are never interpolated: every one is a `?` parameter.
 * The cost: + also stops SQLite from using an index on X, so the fragment is a residual predicate — fine
 * for the provider's per-request scan of its front-end repository; add an indexable pre-filter (e.g. a
 * plain `X = ?` on a column you know the affinity of) yourself where a table is large.
 * `prefix` uses substr instead of LIKE: LIKE is case-insensitive for ASCII by default, treats % and _
 * as wildcards (so every value needs escaping plus an ESCAPE clause) and reads the pattern with
 * the connection's case_sensitive_like setting; substr compares exactly, with nothing to escape.
 * At most 32 × 1000 + 32 parameters, below SQLite's default limit of 32,766.
 *
 * A query filter written by the consumer is an oracle on the columns it names (prefix on a masked ID
 * reveals it digit by digit): callers should allow consumer filters only on granted items whose
 * desensitization profile is 'none' (`filterItems` lists the items a filter reads).
 */
import { z } from 'zod';
import { DataItem } from './catalog-entry.ts';

export const FILTER_OPS = ['eq', 'ne', 'in', 'prefix', 'gte', 'lte'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];
export const MAX_FILTER_CONDITIONS = 32;
export const MAX_IN_VALUES = 1000;
export const MAX_FILTER_STRING = 1000;

/** The data item code regex of DataItem.code, reused so a filter can only name a valid column identifier. */
export const itemCode = DataItem.shape.code;

// Lone surrogates (not valid Unicode, turned into U+FFFD when bound) and NUL (truncates text in some
// SQLite functions) would make the SQL and JS sides disagree, so filter text cannot contain them.
const filterString = z
  .string()
  .max(MAX_FILTER_STRING)
  .refine((s) => !/[\uD800-\uDFFF\u0000]/u.test(s), '不得含孤立代理项或NUL字符 / must not contain lone surrogates or NUL');
const scalar = z.union([filterString, z.number(), z.boolean()]);
const ordered = z.union([filterString, z.number()]);

export const Condition = z.discriminatedUnion('op', [
  z.strictObject({ item: itemCode, op: z.literal('eq'), value: scalar }),
  z.strictObject({ item: itemCode, op: z.literal('ne'), value: scalar }),
  z.strictObject({ item: itemCode, op: z.literal('in'), value: z.array(scalar).min(1).max(MAX_IN_VALUES) }),
  z.strictObject({ item: itemCode, op: z.literal('prefix'), value: filterString.min(1) }),
  z.strictObject({ item: itemCode, op: z.literal('gte'), value: ordered }),
  z.strictObject({ item: itemCode, op: z.literal('lte'), value: ordered }),
]);
export type Condition = z.infer<typeof Condition>;

/** A conjunction of at most 32 conditions; `{ all: [] }` matches every row. */
export const RowFilter = z.strictObject({ all: z.array(Condition).max(MAX_FILTER_CONDITIONS) }).describe('行级过滤条件(仅合取) / row filter, conjunction of conditions');
export type RowFilter = z.infer<typeof RowFilter>;

/**
 * The filter for "item ∈ listed values, for every listed item" (the allowed-values map of an application's
 * terms, protocol/application.ts): one `in` condition per item. Validated; throws ZodError if it does not fit.
 */
export function rowFilterFromAllowedValues(allowed: Readonly<Record<string, readonly (string | number | boolean)[]>>): RowFilter {
  return RowFilter.parse({ all: Object.entries(allowed).map(([item, value]) => ({ item, op: 'in', value: [...value] })) });
}

/** The distinct item codes a filter reads, in first-use order. */
export function filterItems(filter: RowFilter): string[] {
  return [...new Set(filter.all.map((c) => c.item))];
}

// ------------------------------------------------------------------------------ JS semantics

type Scalar = string | number | boolean;
type Norm = { k: 'missing' } | { k: 'num'; v: number | bigint } | { k: 'text'; v: string } | { k: 'other' };

function norm(v: unknown): Norm {
  if (v === null || v === undefined) return { k: 'missing' };
  if (typeof v === 'boolean') return { k: 'num', v: v ? 1 : 0 };
  if (typeof v === 'number') return Number.isNaN(v) ? { k: 'missing' } : { k: 'num', v };
  if (typeof v === 'bigint') return { k: 'num', v };
  if (typeof v === 'string') return { k: 'text', v };
  return { k: 'other' };
}

/** Order of two strings by Unicode code point (= UTF-8 byte order), not by UTF-16 unit. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++; // both are the same astral character: skip its low surrogate
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function eq(row: Norm, value: Scalar): boolean {
  const c = norm(value);
  // biome-ignore lint/suspicious/noDoubleEquals: loose only to compare bigint with number exactly
  if (row.k === 'num' && c.k === 'num') return row.v == c.v; // loose only to compare bigint with number exactly
  if (row.k === 'text' && c.k === 'text') return row.v === c.v;
  return false;
}

/** Sign of row − value within one class, or null if they are not comparable. */
function cmp(row: Norm, value: string | number): number | null {
  if (row.k === 'num' && typeof value === 'number') return row.v < value ? -1 : row.v > value ? 1 : 0;
  if (row.k === 'text' && typeof value === 'string') return compareCodePoints(row.v, value);
  return null;
}

function matchesCondition(row: Record<string, unknown>, c: Condition): boolean {
  // Own properties only: a row without the column must not read Object.prototype (item "constructor").
  const v = norm(Object.hasOwn(row, c.item) ? row[c.item] : undefined);
  if (v.k === 'missing') return false;
  switch (c.op) {
    case 'eq':
      return eq(v, c.value);
    case 'ne':
      return !eq(v, c.value);
    case 'in':
      return c.value.some((x) => eq(v, x));
    case 'prefix':
      return v.k === 'text' && v.v.startsWith(c.value); // equal code units ⇔ equal code points for well-formed text
    case 'gte': {
      const s = cmp(v, c.value);
      return s !== null && s >= 0;
    }
    case 'lte': {
      const s = cmp(v, c.value);
      return s !== null && s <= 0;
    }
  }
}

/** Whether `row` (column code → value) satisfies every condition of `filter`. */
export function matchesFilter(row: Record<string, unknown>, filter: RowFilter): boolean {
  return filter.all.every((c) => matchesCondition(row, c));
}

// ------------------------------------------------------------------------------ SQL

export interface SqlFragment {
  /** A WHERE fragment; `1 = 1` for an empty filter. Contains only `?` placeholders, never values. */
  sql: string;
  params: (string | number)[];
}

/** Double-quoted SQL identifier for an item code (codes match ^[a-z][a-z0-9_]*$, so nothing needs escaping). */
export function quoteItem(code: string): string {
  if (!itemCode.safeParse(code).success) throw new RangeError(`not a data item code: ${JSON.stringify(code)}`);
  return `"${code}"`;
}

const bindable = (v: Scalar): string | number => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

/**
 * A parameterised WHERE fragment equivalent to `matchesFilter` (see the module comment). `column` maps
 * an item code to a trusted SQL expression (a quoted column, `json_extract(doc, '$.code')`, …); it is
 * inserted as is, so it must never come from the request. The filter is validated first.
 */
export function filterToSql(filter: RowFilter, column: (code: string) => string = quoteItem): SqlFragment {
  const parsed = RowFilter.parse(filter);
  const parts: string[] = [];
  const params: (string | number)[] = [];
  for (const c of parsed.all) {
    const x = `(${column(c.item)})`;
    const bare = `(+${x} COLLATE BINARY)`;
    switch (c.op) {
      case 'eq':
        parts.push(`${bare} = ?`);
        params.push(bindable(c.value));
        break;
      case 'ne':
        parts.push(`${bare} <> ?`);
        params.push(bindable(c.value));
        break;
      case 'in':
        parts.push(`${bare} IN (${c.value.map(() => '?').join(', ')})`);
        params.push(...c.value.map(bindable));
        break;
      case 'prefix':
        parts.push(`(typeof${x} = 'text' AND substr(${x}, 1, ?) = ? COLLATE BINARY)`);
        params.push(Array.from(c.value).length, c.value);
        break;
      case 'gte':
      case 'lte': {
        const op = c.op === 'gte' ? '>=' : '<=';
        parts.push(typeof c.value === 'number' ? `(typeof${x} IN ('integer', 'real') AND +${x} ${op} ?)` : `(typeof${x} = 'text' AND ${bare} ${op} ?)`);
        params.push(c.value);
        break;
      }
    }
  }
  return { sql: parts.length === 0 ? '1 = 1' : parts.map((p) => `(${p})`).join(' AND '), params };
}
