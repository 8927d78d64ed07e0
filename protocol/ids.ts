// Identifier check digits: PRC citizen ID (GB 11643-1999) and unified social credit code (GB 32100-2015).
//
// Natural persons are keyed by citizen ID number, legal persons and other organisations by unified
// social credit code (Jiyuan §20, Hebi §11, Jiaozuo §12), so both are validated with their check
// characters wherever they enter the system.
//
// Case: only the canonical upper-case form is accepted (check char "X", USCC letters). Lower-case
// input is rejected with a message saying so, rather than silently normalised, so that the stored
// key is always byte-identical to what was validated. Where a value is looked up rather than stored
// (a verification subject), `parseIdentifier` normalises typed input (trim, ASCII upper case) first
// and then applies the very checks the front-end import applies (`identifierProblem`).
import { z } from 'zod';

// ---------------------------------------------------------------- citizen ID (GB 11643-1999)

/** ISO 7064 MOD 11-2 weights for positions 1..17 (2^(18-i) mod 11). */
export const CITIZEN_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
/** Check character indexed by (weighted sum mod 11). */
export const CITIZEN_ID_CHECK_MAP = '10X98765432';
/** Birth years accepted; wide on purpose so validation never depends on the clock. */
export const CITIZEN_ID_MIN_YEAR = 1800;
export const CITIZEN_ID_MAX_YEAR = 2199;

const CITIZEN_ID_SHAPE = /^[1-9]\d{16}[0-9X]$/;

/** Check character (0-9 or X) for the first 17 digits. Throws RangeError on malformed input. */
export function citizenIdCheckChar(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError('citizenIdCheckChar: expected 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * CITIZEN_ID_WEIGHTS[i]!;
  return CITIZEN_ID_CHECK_MAP[sum % 11]!;
}

/** True if y-m-d is a real Gregorian calendar date. */
export function isRealDate(y: number, m: number, d: number): boolean {
  if (!Number.isInteger(y) || !Number.isInteger(m) || !Number.isInteger(d)) return false;
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  return d <= days;
}

/** Why `s` is not a valid citizen ID number, or null if it is valid. */
export function citizenIdProblem(s: string): string | null {
  if (s.length !== 18) return `公民身份号码应为18位 / citizen ID must have 18 characters (got ${s.length})`;
  if (/^\d{17}x$/.test(s)) return '校验码须为大写X / check character must be upper-case X';
  if (!/^\d{17}[0-9X]$/.test(s)) return '公民身份号码应为17位数字加校验码(0-9或X) / citizen ID must be 17 digits plus a check character 0-9 or X';
  if (s[0] === '0') return '行政区划代码首位不能为0 / region code must not start with 0';
  const y = Number(s.slice(6, 10));
  const m = Number(s.slice(10, 12));
  const d = Number(s.slice(12, 14));
  if (y < CITIZEN_ID_MIN_YEAR || y > CITIZEN_ID_MAX_YEAR || !isRealDate(y, m, d)) {
    return `出生日期无效 / birth date ${s.slice(6, 14)} is not a real calendar date`;
  }
  const expected = citizenIdCheckChar(s.slice(0, 17));
  if (s[17] !== expected) return `校验码错误 / wrong check character (expected ${expected})`;
  return null;
}

/** 18-character PRC resident ID number: shape, region, birth date and MOD 11-2 check character. */
export function isValidCitizenId(s: string): boolean {
  return citizenIdProblem(s) === null;
}

// ------------------------------------------------- unified social credit code (GB 32100-2015)

/** The 31 characters of the code (digits and upper-case letters without I, O, S, V, Z). */
export const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
/** Weights for positions 1..17 (3^(i-1) mod 31). */
export const CREDIT_CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;

const CREDIT_CODE_BODY = /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/;

/** Check character for the first 17 characters. Throws RangeError on malformed input. */
export function creditCodeCheckChar(first17: string): string {
  if (first17.length !== 17) throw new RangeError('creditCodeCheckChar: expected 17 characters');
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = CREDIT_CODE_CHARSET.indexOf(first17[i]!);
    if (v < 0) throw new RangeError(`creditCodeCheckChar: invalid character ${JSON.stringify(first17[i])}`);
    sum += v * CREDIT_CODE_WEIGHTS[i]!;
  }
  return CREDIT_CODE_CHARSET[(31 - (sum % 31)) % 31]!;
}

/** Why `s` is not a valid unified social credit code, or null if it is valid. */
export function creditCodeProblem(s: string): string | null {
  if (s.length !== 18) return `统一社会信用代码应为18位 / credit code must have 18 characters (got ${s.length})`;
  if (s !== s.toUpperCase() && CREDIT_CODE_BODY.test(s.toUpperCase())) {
    return '统一社会信用代码须为大写 / credit code must be upper-case';
  }
  const bad = [...s].find((c) => !CREDIT_CODE_CHARSET.includes(c));
  if (bad !== undefined) {
    return `含非法字符 ${JSON.stringify(bad)} / invalid character (I, O, S, V, Z and lower case are not used)`;
  }
  if (!/^\d{6}$/.test(s.slice(2, 8))) return '第3-8位应为行政区划代码(数字) / characters 3-8 must be a numeric region code';
  const expected = creditCodeCheckChar(s.slice(0, 17));
  if (s[17] !== expected) return `校验码错误 / wrong check character (expected ${expected})`;
  return null;
}

/**
 * 18-character unified social credit code: registration authority code (1), organisation type (1),
 * administrative region code (6 digits), entity identifier (9), check character (1).
 * Only the charset and the GB 32100 check character are verified; the registration authority /
 * type tables and the embedded GB 11714 organisation-code check are not, because the tables grow
 * over time and codes issued without an old organisation code need not carry one.
 */
export function isValidCreditCode(s: string): boolean {
  return creditCodeProblem(s) === null;
}

// ------------------------------------------------------------------------------ by identifier kind

/** The identifier kinds of data items (catalog-entry.ts IDENTIFIER_KINDS; not imported here to keep this module leaf). */
export type IdentifierKindName = 'citizen_id' | 'credit_code';

const KIND_ZH: Record<IdentifierKindName, string> = { citizen_id: '公民身份号码', credit_code: '统一社会信用代码' };
const KIND_EN: Record<IdentifierKindName, string> = { citizen_id: 'citizen ID number', credit_code: 'unified social credit code' };

/**
 * Why `s` is not a valid identifier of `kind` ("中文 / English"), or null: the check the front-end
 * import applies to identifier columns (node/frontend/converters.ts), with no normalisation.
 */
export function identifierProblem(kind: IdentifierKindName, s: string): string | null {
  return kind === 'citizen_id' ? citizenIdProblem(s) : creditCodeProblem(s);
}

/**
 * The canonical form of typed input: surrounding white space (also U+3000 and BOM) removed and ASCII
 * letters upper-cased ("x" check character, lower-case credit codes). Nothing else is changed, so a
 * value that is invalid stays invalid.
 */
export function normalizeIdentifier(s: string): string {
  return s.trim().replace(/[a-z]+/g, (m) => m.toUpperCase());
}

export type ParsedIdentifier = { ok: true; value: string } | { ok: false; zh: string; en: string };

/**
 * Normalise (`normalizeIdentifier`) and validate (`identifierProblem`) a value of `kind` that will be
 * compared with stored identifiers: the stored form when valid, else the problem in zh and en.
 */
export function parseIdentifier(kind: IdentifierKindName, raw: string): ParsedIdentifier {
  const value = normalizeIdentifier(raw);
  const problem = identifierProblem(kind, value);
  if (problem === null) return { ok: true, value };
  const at = problem.indexOf(' / ');
  const [zh, en] = at < 0 ? [problem, problem] : [problem.slice(0, at), problem.slice(at + 3)];
  return { ok: false, zh: `不是有效的${KIND_ZH[kind]}：${zh}`, en: `not a valid ${KIND_EN[kind]}: ${en}` };
}

// ------------------------------------------------------------------------------ zod schemas

/** 公民身份号码 (GB 11643-1999), upper-case X only. */
export const citizenIdSchema = z
  .string()
  .regex(CITIZEN_ID_SHAPE, '公民身份号码格式错误 / citizen ID must be 18 characters: 17 digits and a check character 0-9 or upper-case X')
  .superRefine((s, ctx) => {
    if (!CITIZEN_ID_SHAPE.test(s)) return; // reported by the regex already
    const problem = citizenIdProblem(s);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('公民身份号码 (GB 11643-1999) / PRC citizen ID number, 18 characters, check character 0-9 or X');

/** 统一社会信用代码 (GB 32100-2015), upper case only. */
export const creditCodeSchema = z
  .string()
  .regex(CREDIT_CODE_BODY, '统一社会信用代码格式错误 / credit code must be 18 upper-case characters from 0-9 A-H J-N P-R T U W-Y, characters 3-8 digits')
  .superRefine((s, ctx) => {
    if (!CREDIT_CODE_BODY.test(s)) return; // reported by the regex already
    const problem = creditCodeProblem(s);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('统一社会信用代码 (GB 32100-2015) / unified social credit code, 18 characters with check character');
