/**
 * @module Desensitization (脱敏) profiles, applied by the provider before data leaves it (Jiyuan §39;
 * Hebi §26–27: sensitive personal data is protected; Jincheng §35). Pure functions, no I/O.
 *
 *   none        unchanged
 *   citizen_id  keep the first 6 (region) and last 4 characters: 110101********1234
 *   mobile      keep the first 3 and last 4 digits of an 11-digit number: 138****5678
 *   name        keep the first character: 张三 → 张*, 张三丰 → 张**, 欧阳娜娜 → 欧***
 *   address     keep up to the district / county level: 河南省焦作市解放区民主南路1号 → 河南省焦作市解放区***
 *   free_text   mask runs of ≥ 6 digits and citizen-ID / phone shapes inside text
 *   hide        null
 *
 * Rules common to all profiles:
 *   - Text is handled by Unicode code point (Array.from), never by UTF-16 unit, so a character outside the
 *     BMP (𠀀, 𪚥, 𠮷) is one character and is never split into a lone surrogate.
 *   - null / undefined stay null. Masked values are strings (a mobile number stored as an integer comes
 *     out as '138****5678').
 *   - Fail closed: a value a profile cannot mask (a boolean or an object under 'name', text too short to
 *     keep anything of) is masked completely or hidden, never passed through.
 */
import { z } from 'zod';
import type { DataItem } from './catalog-entry.ts';
import type { FilterOp, RowFilter } from './row-filter.ts';

export const PROFILES = ['none', 'citizen_id', 'mobile', 'name', 'address', 'free_text', 'hide'] as const;
export const DesensitizationProfile = z.enum(PROFILES).describe('脱敏规则 / desensitization profile');
export type DesensitizationProfile = z.infer<typeof DesensitizationProfile>;

export const PROFILE_LABELS: Record<DesensitizationProfile, string> = {
  none: '不脱敏',
  citizen_id: '身份证号',
  mobile: '手机号',
  name: '姓名',
  address: '地址',
  free_text: '自由文本',
  hide: '隐藏',
};

const MASK = '*';
const stars = (n: number): string => MASK.repeat(Math.max(0, n));

/** Text of a scalar a string profile can mask, or null when the value has none (fail closed: hidden). */
function asText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return String(value);
  return null;
}

// ------------------------------------------------------------------------------ citizen_id

/** Keep the region code (6) and the last 4; shorter than a 15-character old-style ID: mask all. */
export function maskCitizenId(text: string): string {
  const cps = Array.from(text.trim());
  if (cps.length < 15) return stars(cps.length);
  return cps.slice(0, 6).join('') + stars(cps.length - 10) + cps.slice(-4).join('');
}

// ------------------------------------------------------------------------------ mobile

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
/** One number of a phone field; a field may list several ("138…；0391-…") or an extension ("…转 8"). */
const PHONE_SEPARATORS = /([/,，、;；|]|或|转|分机|ext\.?)/iu;

function maskOnePhone(part: string): string {
  const cps = Array.from(part).map((c) => {
    const code = c.codePointAt(0)!;
    return code >= 0xff10 && code <= 0xff19 ? String.fromCodePoint(code - 0xff10 + 0x30) : c; // full-width digits
  });
  const digitAt = cps.flatMap((c, i) => (isDigit(c) ? [i] : []));
  // A leading country code (+86, 0086, 86) before a mobile number stays visible and is not counted.
  let skip = 0;
  const digits = digitAt.map((i) => cps[i]).join('');
  if (digits.length === 13 && digits.startsWith('861')) skip = 2;
  else if (digits.length === 15 && digits.startsWith('00861')) skip = 4;
  const n = digitAt.length - skip;
  let keepHead: number;
  let keepTail: number;
  if (n >= 11)
    [keepHead, keepTail] = [3, 4]; // 138****5678; 0391****567 style for 11+-digit landlines
  else if (n >= 7)
    [keepHead, keepTail] = [0, 2]; // local numbers: too short to keep 7 of their digits
  else [keepHead, keepTail] = [0, 0];
  digitAt.forEach((i, j) => {
    const k = j - skip;
    if (k >= 0 && k >= keepHead && k < n - keepTail) cps[i] = MASK;
  });
  // Letters could carry a number too (e.g. "ext. one-two-three"); keep only digits, separators and +()#.
  return cps.map((c) => (isDigit(c) || c === MASK || /[\s+\-()#（）]/u.test(c) ? c : MASK)).join('');
}

/** Mask each phone number of the text: 13812345678 → 138****5678, +86 138-1234-5678 → +86 138-****-5678. */
export function maskMobile(text: string): string {
  return text
    .split(PHONE_SEPARATORS)
    .map((part, i) => (i % 2 === 1 ? part : maskOnePhone(part)))
    .join('');
}

// ------------------------------------------------------------------------------ name

/** Keep the first character of the trimmed name: 张三 → 张*, 𠀀明 → 𠀀*; a one-character value is masked completely. */
export function maskName(text: string): string {
  const cps = Array.from(text.trim());
  if (cps.length <= 1) return stars(cps.length);
  return cps[0] + stars(cps.length - 1);
}

// ------------------------------------------------------------------------------ address

/**
 * Characters that never occur in the province / prefecture part, and that inside a district candidate
 * (after its first character) mean we have run into a street, town, village or building instead.
 * 路南区, 道里区, 镇平县, 乡宁县 begin with such a character, hence "after the first".
 * Over-masking is the safe failure: 郑州市上街区 keeps only 河南省郑州市.
 */
const NOT_ADMIN = /[街道路镇乡村号巷弄楼室栋幢座院组社0-9A-Za-z０-９\-—]/u;
const PROVINCE_SUFFIXES = ['特别行政区', '自治区', '省'];
const CITY_SUFFIXES = ['自治州', '地区', '市', '盟'];
const COUNTY_ENDS = new Set(['区', '县', '旗', '市']);
const MAX_PROVINCE_NAME = 8;
const MAX_CITY_NAME = 12;
/** The longest county names have 15 characters (双江拉祜族佤族布朗族傣族自治县). */
const MAX_COUNTY = 20;

/** Length (code points) of a leading `<name><suffix>` whose name has 1..max characters free of `forbidden`, or 0. */
function leadingUnit(cps: string[], at: number, suffixes: string[], minName: number, maxName: number, forbidden: RegExp): number {
  for (let len = 1; len <= maxName && at + len < cps.length; len++) {
    if (forbidden.test(cps[at + len - 1]!)) return 0;
    if (len < minName) continue;
    const rest = cps.slice(at + len).join('');
    const suffix = suffixes.find((s) => rest.startsWith(s));
    if (suffix !== undefined) return len + Array.from(suffix).length;
  }
  return 0;
}

/** No province or prefecture name contains these (郑州, 杭州 do contain 州, so 州 is allowed). */
const PROVINCE_FORBIDDEN = new RegExp(`${NOT_ADMIN.source}|[区县市旗]`, 'u');
const CITY_FORBIDDEN = PROVINCE_FORBIDDEN;
/** A county name may begin with 路 / 道 / 镇 / 乡 (路南区, 道县), never with a digit or a Latin letter. */
const NOT_COUNTY_START = /[0-9A-Za-z０-９\-—]/u;

/** Length of the county-level unit starting at `at` (ends in 区/县/旗/市), or 0 if there is none. */
function countyUnit(cps: string[], at: number): number {
  if (at >= cps.length || NOT_COUNTY_START.test(cps[at]!)) return 0;
  for (let i = at + 1; i < cps.length && i - at < MAX_COUNTY; i++) {
    const c = cps[i]!;
    if (NOT_ADMIN.test(c)) return 0;
    if (!COUNTY_ENDS.has(c)) continue;
    // 市 inside a district name (沙市区, 新市区) is followed by 区; 市中区 begins with 市 and is skipped by i > at.
    if (c === '市' && cps[i + 1] === '区') continue;
    return i - at + 1;
  }
  return 0;
}

/**
 * Keep the administrative prefix down to the county level (省 / 自治区, then 市 / 自治州 / 地区 / 盟,
 * then the first 区 / 县 / 旗 / county-level 市), and replace the rest with '***'. Whitespace is
 * removed first, a leading 中国 / 中华人民共和国 dropped. Without a county-level unit the prefix down to
 * the city is kept; without any recognisable unit everything is masked ('***').
 */
export function maskAddress(text: string): string {
  let s = text.replace(/\s+/gu, '');
  s = s.replace(/^(中华人民共和国|中国)/u, '');
  const cps = Array.from(s);
  if (cps.length === 0) return '';
  let at = 0;
  at += leadingUnit(cps, at, PROVINCE_SUFFIXES, 2, MAX_PROVINCE_NAME, PROVINCE_FORBIDDEN);
  at += leadingUnit(cps, at, CITY_SUFFIXES, 1, MAX_CITY_NAME, CITY_FORBIDDEN);
  at += countyUnit(cps, at);
  if (at === 0) return '***';
  return at >= cps.length ? cps.join('') : cps.slice(0, at).join('') + '***';
}

// ------------------------------------------------------------------------------ free_text

const D = '\\p{Nd}';
const FREE_TEXT_PATTERNS = new RegExp(
  [
    `${D}{6}[\\s-]${D}{8}[\\s-]${D}{3}[${D}XxＸｘ]`, // citizen ID written in groups
    `${D}{3}[\\s-]${D}{4}[\\s-]${D}{4}`, // phone number written in groups: 138 1234 5678
    `${D}{6,}[XxＸｘ]?`, // any run of ≥ 6 digits (phone, account, card and ID numbers), with an ID's check character X
  ].join('|'),
  'gu',
);

/** Replace every character of digit runs (≥ 6), citizen IDs and grouped phone numbers with '*'; separators stay. */
export function maskFreeText(text: string): string {
  return text.replace(FREE_TEXT_PATTERNS, (m) =>
    Array.from(m)
      .map((c) => (/[\s-]/u.test(c) ? c : MASK))
      .join(''),
  );
}

// ------------------------------------------------------------------------------ apply

/** Apply one profile to one value. Throws RangeError for an unknown profile name (a typo must not leak data). */
export function applyProfile(profile: DesensitizationProfile, value: unknown): unknown {
  if (!PROFILES.includes(profile)) throw new RangeError(`unknown desensitization profile ${JSON.stringify(profile)}`);
  if (profile === 'none') return value;
  if (value === null || value === undefined || profile === 'hide') return null;
  const text = asText(value);
  if (text === null) return null;
  switch (profile) {
    case 'citizen_id':
      return maskCitizenId(text);
    case 'mobile':
      return maskMobile(text);
    case 'name':
      return maskName(text);
    case 'address':
      return maskAddress(text);
    case 'free_text':
      return maskFreeText(text);
    default:
      throw new RangeError(`unknown desensitization profile ${JSON.stringify(profile)}`);
  }
}

export interface DesensitizeOptions {
  /** Columns without a profile: 'drop' (default, fail closed: only listed columns leave) or 'keep' unchanged. */
  unlisted?: 'drop' | 'keep';
}

/** A new row with every listed column masked by its profile. Own properties only, so "constructor" is a column like any other. */
export function desensitizeRow(row: Record<string, unknown>, profiles: Readonly<Record<string, DesensitizationProfile>>, options: DesensitizeOptions = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [code, value] of Object.entries(row)) {
    if (Object.hasOwn(profiles, code)) define(out, code, applyProfile(profiles[code]!, value));
    else if (options.unlisted === 'keep') define(out, code, value);
  }
  return out;
}

/** Plain assignment of "__proto__" would set the prototype; define an own data property instead. */
function define(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

// ------------------------------------------------------------------------------ defaults

const ZH_CITIZEN_ID = /身份证|公民身份号码|身份号码|证件号/u;
const ZH_MOBILE = /手机|电话|移动号码|联系号码|联系方式|传真/u;
const ZH_ADDRESS = /地址|住址|住所|居住地|户籍地|所在地|通讯地/u;
const ZH_NAME = /姓名|名字|(联系人|法定代表人|法人代表|户主|负责人|监护人|申请人|经办人)$/u;
const CODE_CITIZEN_ID = /(^|_)(sfz|sfzh|sfzhm|idcard|id_card|id_no|id_number|citizen_id|cert_no)(_|$)/;
const CODE_MOBILE = /(^|_)(mobile|phone|tel|telephone|cellphone|fax|sjh|sjhm|lxdh|yddh)(_|$)/;
const CODE_ADDRESS = /(^|_)(address|addr|dz|zz|jtzz|hjdz|zsdz|xzz|jzdz)(_|$)/;
const CODE_NAME = /(^|_)(name|xm|fullname|full_name)(_|$)/;

/**
 * The profile a data item gets unless the grant says otherwise:
 *   identifier citizen_id → citizen_id (whatever `sensitive` says: an ID number is always personal);
 *   not sensitive → none;
 *   sensitive, by the item's Chinese name first, then its code (English or pinyin initials such as
 *   sjhm 手机号码, xm 姓名, jtzz 家庭住址): ID number → citizen_id, 手机/电话/mobile/phone → mobile,
 *   地址/住址/address → address, 姓名/name → name;
 *   other sensitive strings → free_text; sensitive non-strings (dates of birth, amounts, photos) → hide,
 *   since there is no partial mask for them.
 */
export function defaultProfileFor(item: Pick<DataItem, 'name' | 'code' | 'type' | 'sensitive' | 'identifier'>): DesensitizationProfile {
  if (item.identifier === 'citizen_id') return 'citizen_id';
  if (item.sensitive !== true) return 'none';
  const { name, code } = item;
  const numberLike = item.type === 'string' || item.type === 'integer';
  if (numberLike && (ZH_CITIZEN_ID.test(name) || CODE_CITIZEN_ID.test(code))) return 'citizen_id';
  if (numberLike && (ZH_MOBILE.test(name) || CODE_MOBILE.test(code))) return 'mobile';
  if (item.type !== 'string') return 'hide';
  if (ZH_ADDRESS.test(name)) return 'address';
  if (ZH_NAME.test(name)) return 'name';
  if (CODE_ADDRESS.test(code)) return 'address';
  if (CODE_NAME.test(code)) return 'name';
  return 'free_text';
}

/**
 * Conditions a filter may not put on a desensitized item: a prefix or range search recovers the masked
 * value a character at a time, so only eq / ne / in may name such an item. Enforced wherever a grant's
 * rows are filtered (the provider, and the hub answering from packages).
 */
export const MASKED_FILTER_OPS: readonly FilterOp[] = ['prefix', 'gte', 'lte'];

/** Items `where` searches by prefix or range although their profile (missing = hidden) is not `none`. */
export function maskedFilterItems(where: RowFilter | null | undefined, profiles: Readonly<Record<string, DesensitizationProfile>>): string[] {
  const masked = (where?.all ?? []).filter((c) => MASKED_FILTER_OPS.includes(c.op) && (Object.hasOwn(profiles, c.item) ? profiles[c.item] : 'hide') !== 'none');
  return [...new Set(masked.map((c) => c.item))];
}
