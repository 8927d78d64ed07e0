/**
 * @module Per-type cell converters of the row validator: text or JSON value in, canonical SQL value out (or
 * INVALID with the reason left in a reused `Fail` slot, so the good path allocates nothing but the value).
 *
 * Canonical stored forms (so that re-importing the same data compares equal and keeps its row version):
 *   string   the text as given ('' = missing); length counted in characters (code points), not bytes
 *   integer  INTEGER (BigInt beyond 2^53, refused beyond 64 bits)
 *   decimal  TEXT, exact: '+' and redundant zeros dropped ('007.50' → '7.5'), exponents expanded.
 *            REAL would round amounts beyond 15 significant digits and make unchanged rows look changed.
 *   date     'YYYY-MM-DD' (also accepted: YYYY/M/D, YYYYMMDD, a datetime at 00:00:00 without zone)
 *   datetime 'YYYY-MM-DDTHH:MM:SS[.fraction]+08:00'. China keeps one time zone (UTC+8): a value without a
 *            zone is Beijing time; one with another offset is converted, so equal instants store equal text.
 *   boolean  1 / 0 from 是/否, true/false (any case), 1/0
 *   binary   BLOB from base64 text; length counted in bytes
 * Identifier items are checked with their check characters (Jiyuan §20, Hebi §11; GB 11643, GB 32100) and
 * never normalised, so the stored key is exactly what was validated (see protocol/ids.ts).
 */
import { citizenIdProblem, creditCodeProblem, isRealDate } from '../../protocol/ids.ts';
import type { DataItem } from '../../protocol/catalog-entry.ts';

/** What a column conversion needs of a data item. */
export type FrontendItem = Pick<DataItem, 'name' | 'code' | 'type'> & Partial<Pick<DataItem, 'length' | 'required' | 'primaryKey' | 'identifier'>>;

/** A SQL value as bound by better-sqlite3. */
export type SqlValue = string | number | bigint | Buffer | null;

/** Zone of datetimes given without one: China Standard Time. */
export const DEFAULT_UTC_OFFSET_MINUTES = 8 * 60;

/** Returned by a converter instead of a value; the reason is left in the converter's `Fail` slot. */
export const INVALID = Symbol('invalid');
type Converted = SqlValue | typeof INVALID;
export interface Fail {
  zh: string;
  en: string;
}
export type Converter = (v: unknown, fail: Fail) => Converted;

const INT_RE = /^[+-]?\d+$/;
const CANONICAL_DECIMAL_RE = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;
const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const DATE_RE = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$/;
const DATE_COMPACT_RE = /^(\d{4})(\d{2})(\d{2})$/;
const DATETIME_RE = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const TRUE_WORDS = new Set(['是', 'true', '1', 'y', 'yes', '真']);
const FALSE_WORDS = new Set(['否', 'false', '0', 'n', 'no', '假']);

const TYPE_ZH: Record<FrontendItem['type'], string> = {
  string: '文本',
  integer: '整数',
  decimal: '小数',
  date: '日期(YYYY-MM-DD)',
  datetime: '日期时间(ISO 8601)',
  boolean: '布尔值(是/否)',
  binary: 'base64 编码的二进制',
};
const TYPE_EN: Record<FrontendItem['type'], string> = {
  string: 'text',
  integer: 'an integer',
  decimal: 'a decimal number',
  date: 'a date (YYYY-MM-DD)',
  datetime: 'a date-time (ISO 8601)',
  boolean: 'a boolean (是/否, true/false, 1/0)',
  binary: 'base64-encoded binary',
};

function bad(fail: Fail, zh: string, en: string): typeof INVALID {
  fail.zh = zh;
  fail.en = en;
  return INVALID;
}

const notA = (fail: Fail, type: FrontendItem['type']): typeof INVALID => bad(fail, `不是${TYPE_ZH[type]}`, `not ${TYPE_EN[type]}`);

/** Characters (code points) in `s`: UTF-16 length minus the low halves of surrogate pairs. */
export function charLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

/** Split a protocol/ids.ts problem "中文 / English" into its two languages. */
function splitProblem(p: string): [string, string] {
  const at = p.indexOf(' / ');
  return at < 0 ? [p, p] : [p.slice(0, at), p.slice(at + 3)];
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

function stringConverter(item: FrontendItem): Converter {
  const max = item.length;
  const idProblem = item.identifier === 'citizen_id' ? citizenIdProblem : item.identifier === 'credit_code' ? creditCodeProblem : null;
  return (v, fail) => {
    let s: string;
    if (typeof v === 'string') s = v;
    else if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
    else if (typeof v === 'bigint') s = v.toString();
    else return notA(fail, 'string');
    // UTF-16 length is an upper bound of the character count: count only when it could matter.
    if (max !== undefined && s.length > max && charLength(s) > max) return bad(fail, `超过 ${max} 个字符`, `longer than ${max} characters`);
    if (idProblem !== null) {
      const p = idProblem(s);
      if (p !== null) {
        const [zh, en] = splitProblem(p);
        return bad(fail, zh, en);
      }
    }
    return s;
  };
}

function integerConverter(item: FrontendItem): Converter {
  const max = item.length;
  return (v, fail) => {
    let n: number | bigint;
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) return notA(fail, 'integer');
      n = v;
    } else if (typeof v === 'bigint') {
      n = v;
    } else if (typeof v === 'string') {
      const s = v.trim();
      if (!INT_RE.test(s)) return notA(fail, 'integer');
      n = Number(s);
      if (!Number.isSafeInteger(n)) n = BigInt(s);
    } else {
      return notA(fail, 'integer');
    }
    if (typeof n === 'bigint') {
      if (n < INT64_MIN || n > INT64_MAX) return bad(fail, '整数超出64位范围', 'integer out of the 64-bit range');
      if (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)) n = Number(n);
    }
    if (max !== undefined) {
      const digits = (n < 0 ? -n : n).toString().length;
      if (digits > max) return bad(fail, `超过 ${max} 位数字`, `more than ${max} digits`);
    }
    return n;
  };
}

/** Canonical text of a decimal matched by DECIMAL_RE, or null when it has no digits at all. */
export function canonicalDecimal(sign: string, intPart: string, fracPart: string, exp: string | undefined): string | null {
  if (intPart === '' && fracPart === '') return null;
  let digits = intPart + fracPart;
  let point = intPart.length + (exp === undefined ? 0 : Number(exp));
  // Strip leading zeros (moving the point with them) and trailing zeros after the point.
  let lead = 0;
  while (lead < digits.length - 1 && digits[lead] === '0' && lead < point - 1) lead++;
  digits = digits.slice(lead);
  point -= lead;
  if (point <= 0) {
    digits = '0'.repeat(1 - point) + digits;
    point = 1;
  } else if (point > digits.length) {
    digits += '0'.repeat(point - digits.length);
  }
  let int = digits.slice(0, point);
  let frac = digits.slice(point);
  let end = frac.length;
  while (end > 0 && frac[end - 1] === '0') end--;
  frac = frac.slice(0, end);
  int = int.replace(/^0+(?=\d)/, '');
  const body = frac === '' ? int : `${int}.${frac}`;
  return sign === '-' && body !== '0' ? `-${body}` : body;
}

function decimalConverter(item: FrontendItem): Converter {
  const max = item.length;
  return (v, fail) => {
    let s: string;
    if (typeof v === 'string') s = v.trim();
    else if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
    else if (typeof v === 'bigint') s = v.toString();
    else return notA(fail, 'decimal');
    // Already canonical (no '+', no redundant zeros, no exponent): keep the string itself.
    const c0 = s !== '-0' && CANONICAL_DECIMAL_RE.test(s) ? s : null;
    if (c0 !== null && max === undefined) return c0;
    const m = c0 === null ? DECIMAL_RE.exec(s) : null;
    if (c0 === null && m === null) return notA(fail, 'decimal');
    if (m && m[4] !== undefined && Math.abs(Number(m[4])) > 400) return bad(fail, '指数过大', 'exponent too large');
    const c = c0 ?? canonicalDecimal(m![1]!, m![2]!, m![3] ?? '', m![4]);
    if (c === null) return notA(fail, 'decimal');
    if (max !== undefined) {
      // Significant digits: everything but sign, point and the single zero of "0.x".
      let digits = c.length - (c[0] === '-' ? 1 : 0) - (c.includes('.') ? 1 : 0);
      if (c.startsWith('0.') || c.startsWith('-0.')) digits--;
      if (digits > max) return bad(fail, `超过 ${max} 位数字`, `more than ${max} digits`);
    }
    return c;
  };
}

/** Digit value of s[i], or -1. */
const digit = (s: string, i: number): number => {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
};

/** Y, M, D of a canonical 'YYYY-MM-DD' (any digits), or null: the common case, checked without a regex. */
function canonicalDateParts(s: string): [number, number, number] | null {
  if (s.length !== 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return null;
  const d = [digit(s, 0), digit(s, 1), digit(s, 2), digit(s, 3), digit(s, 5), digit(s, 6), digit(s, 8), digit(s, 9)];
  if (d.some((x) => x < 0)) return null;
  return [d[0]! * 1000 + d[1]! * 100 + d[2]! * 10 + d[3]!, d[4]! * 10 + d[5]!, d[6]! * 10 + d[7]!];
}

function dateConverter(): Converter {
  return (v, fail) => {
    if (typeof v !== 'string') return notA(fail, 'date');
    const fast = canonicalDateParts(v);
    if (fast !== null) return isRealDate(fast[0], fast[1], fast[2]) ? v : bad(fail, '日期不存在', 'not a real calendar date');
    const s = v.trim();
    let m = DATE_RE.exec(s) ?? DATE_COMPACT_RE.exec(s);
    if (m === null) {
      // Spreadsheets often write dates as midnight datetimes; anything else would lose the time.
      const dt = DATETIME_RE.exec(s);
      if (dt === null || dt[8] !== undefined || Number(dt[4] ?? 0) !== 0 || Number(dt[5] ?? 0) !== 0 || Number(dt[6] ?? 0) !== 0 || Number(dt[7] ?? 0) !== 0) return notA(fail, 'date');
      m = dt;
    }
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    if (!isRealDate(y, mo, d)) return bad(fail, '日期不存在', 'not a real calendar date');
    return `${m[1]}-${pad2(mo)}-${pad2(d)}`;
  };
}

function offsetMinutes(zone: string): number | null {
  if (zone === 'Z' || zone === 'z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const h = Number(digits.slice(0, 2));
  const mi = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (h > 14 || mi > 59) return null;
  return sign * (h * 60 + mi);
}

function datetimeConverter(): Converter {
  const suffix = `+${pad2(DEFAULT_UTC_OFFSET_MINUTES / 60)}:${pad2(DEFAULT_UTC_OFFSET_MINUTES % 60)}`;
  return (v, fail) => {
    if (typeof v !== 'string') return notA(fail, 'datetime');
    const m = DATETIME_RE.exec(v.trim());
    if (m === null) return notA(fail, 'datetime');
    let y = Number(m[1]);
    let mo = Number(m[2]);
    let d = Number(m[3]);
    let h = Number(m[4] ?? 0);
    let mi = Number(m[5] ?? 0);
    const sec = Number(m[6] ?? 0);
    if (!isRealDate(y, mo, d)) return bad(fail, '日期不存在', 'not a real calendar date');
    if (h > 23 || mi > 59 || sec > 59) return bad(fail, '时间无效', 'not a valid time of day');
    let frac = m[7] ?? '';
    let end = frac.length;
    while (end > 0 && frac[end - 1] === '0') end--;
    frac = frac.slice(0, end);
    if (m[8] !== undefined) {
      const off = offsetMinutes(m[8]);
      if (off === null) return bad(fail, '时区偏移无效', 'invalid UTC offset');
      if (off !== DEFAULT_UTC_OFFSET_MINUTES) {
        // Whole-minute shift: the fraction is unaffected, so only the fields above the seconds move.
        const t = new Date(Date.UTC(y, mo - 1, d, h, mi) + (DEFAULT_UTC_OFFSET_MINUTES - off) * 60_000);
        y = t.getUTCFullYear();
        mo = t.getUTCMonth() + 1;
        d = t.getUTCDate();
        h = t.getUTCHours();
        mi = t.getUTCMinutes();
        if (y < 1000 || y > 9999) return bad(fail, '年份超出范围', 'year out of range');
      }
    }
    return `${y}-${pad2(mo)}-${pad2(d)}T${pad2(h)}:${pad2(mi)}:${pad2(sec)}${frac === '' ? '' : `.${frac}`}${suffix}`;
  };
}

function booleanConverter(): Converter {
  return (v, fail) => {
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (v === 1 || v === 0) return v;
    if (typeof v !== 'string') return notA(fail, 'boolean');
    if (TRUE_WORDS.has(v)) return 1;
    if (FALSE_WORDS.has(v)) return 0;
    const s = v.trim().toLowerCase();
    if (TRUE_WORDS.has(s)) return 1;
    if (FALSE_WORDS.has(s)) return 0;
    return notA(fail, 'boolean');
  };
}

function binaryConverter(item: FrontendItem): Converter {
  const max = item.length;
  return (v, fail) => {
    if (Buffer.isBuffer(v)) return max !== undefined && v.length > max ? bad(fail, `超过 ${max} 字节`, `longer than ${max} bytes`) : v;
    if (typeof v !== 'string') return notA(fail, 'binary');
    const s = v.trim();
    if (!BASE64_RE.test(s)) return notA(fail, 'binary');
    const buf = Buffer.from(s, 'base64');
    if (max !== undefined && buf.length > max) return bad(fail, `超过 ${max} 字节`, `longer than ${max} bytes`);
    return buf;
  };
}

/** The converter for an item's type, parameterised by its length and identifier kind. */
export function converterFor(item: FrontendItem): Converter {
  switch (item.type) {
    case 'string':
      return stringConverter(item);
    case 'integer':
      return integerConverter(item);
    case 'decimal':
      return decimalConverter(item);
    case 'date':
      return dateConverter();
    case 'datetime':
      return datetimeConverter();
    case 'boolean':
      return booleanConverter();
    case 'binary':
      return binaryConverter(item);
  }
}
