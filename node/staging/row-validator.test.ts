import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { citizenIdProblem, creditCodeProblem } from '../../protocol/ids.ts';
import { breakCheckChar, citizenIdFor, creditCodeFor } from '../../test/helpers/frontend.ts';
import { canonicalDecimal, charLength, compileValidator, type CellProblem, type FrontendItem, type SqlValue } from './row-validator.ts';

/** Convert one value through a one-item validator: the SQL value, or the problem. */
function one(item: Omit<FrontendItem, 'name' | 'code'>, value: unknown): { value: SqlValue | undefined } | { problem: CellProblem } {
  const v = compileValidator([{ name: '项', code: 'c', ...item } as FrontendItem]);
  const out: SqlValue[] = [];
  const problems = v.convert([value], out);
  return problems === null ? { value: out[0] } : { problem: problems[0]! };
}

const ok = (item: Omit<FrontendItem, 'name' | 'code'>, value: unknown, expected: SqlValue) => assert.deepEqual(one(item, value), { value: expected }, `${JSON.stringify(value)} → ${String(expected)}`);
const refused = (item: Omit<FrontendItem, 'name' | 'code'>, value: unknown, en?: RegExp) => {
  const r = one(item, value);
  assert.ok('problem' in r, `${JSON.stringify(value)} should be refused, got ${JSON.stringify(r)}`);
  assert.equal(r.problem.column, 'c');
  assert.ok(r.problem.reasonZh.length > 0 && /[\u4e00-\u9fff]/.test(r.problem.reasonZh), 'reason in Chinese');
  assert.ok(/^[ -~]*[a-z]{3}/.test(r.problem.reasonEn), 'reason in English');
  if (en) assert.match(r.problem.reasonEn, en);
};

describe('row validator', () => {
  it('strings: kept as given, length in characters not bytes or UTF-16 units', () => {
    const s = { type: 'string', length: 4 } as const;
    ok(s, '鹤壁淇滨', '鹤壁淇滨'); // 4 characters, 12 UTF-8 bytes
    ok(s, '𠀀𠀁𠀂𠀃', '𠀀𠀁𠀂𠀃'); // 4 characters outside the BMP, 8 UTF-16 units
    ok(s, ' a b', ' a b');
    refused(s, '鹤壁淇滨区', /longer than 4 characters/);
    ok({ type: 'string' }, 13800000000, '13800000000'); // NDJSON numbers for text items
    refused({ type: 'string' }, { a: 1 }, /not text/);
    assert.equal(charLength('a𠀀b'), 3);
  });

  it('missing values: empty is NULL unless required; whitespace-only is missing for typed items', () => {
    ok({ type: 'string' }, '', null);
    ok({ type: 'integer' }, '  ', null);
    ok({ type: 'date' }, undefined, null);
    ok({ type: 'decimal' }, null, null);
    refused({ type: 'string', required: true }, '', /required value is missing/);
    refused({ type: 'integer', primaryKey: true }, undefined, /required/);
  });

  it('integers', () => {
    const t = { type: 'integer' } as const;
    ok(t, '42', 42);
    ok(t, ' -7 ', -7);
    ok(t, '+0012', 12);
    ok(t, 42, 42);
    ok(t, '9007199254740993', 9007199254740993n);
    ok(t, '-9223372036854775808', -9223372036854775808n);
    refused(t, '9223372036854775808', /64-bit/);
    refused(t, '1.5', /not an integer/);
    refused(t, 1.5, /not an integer/);
    refused(t, '1,000', /not an integer/);
    refused(t, 'abc');
    refused({ type: 'integer', length: 3 }, '1234', /more than 3 digits/);
    ok({ type: 'integer', length: 3 }, '-999', -999);
  });

  it('decimals are exact canonical text', () => {
    const t = { type: 'decimal' } as const;
    ok(t, '007.50', '7.5');
    ok(t, '+1.000', '1');
    ok(t, '-0.0', '0');
    ok(t, '-0', '0');
    ok(t, '.5', '0.5');
    ok(t, '5.', '5');
    ok(t, '1.5e3', '1500');
    ok(t, '1.5E-3', '0.0015');
    ok(t, 0.1, '0.1');
    ok(t, '12345678901234567890.123456789', '12345678901234567890.123456789');
    refused(t, '1.2.3', /not a decimal/);
    refused(t, '.', /not a decimal/);
    refused(t, 'e5');
    refused({ type: 'decimal', length: 4 }, '123.45', /more than 4 digits/);
    ok({ type: 'decimal', length: 4 }, '0.0012', '0.0012');
    assert.equal(canonicalDecimal('', '000', '', undefined), '0');
  });

  it('dates: YYYY-MM-DD, also YYYY/M/D, YYYYMMDD and midnight datetimes; real calendar days only', () => {
    const t = { type: 'date' } as const;
    ok(t, '2024-02-29', '2024-02-29');
    ok(t, '2024/2/9', '2024-02-09');
    ok(t, '20240209', '2024-02-09');
    ok(t, '2024-02-09 00:00:00', '2024-02-09');
    refused(t, '2023-02-29', /not a real calendar date/);
    refused(t, '2024-13-01');
    refused(t, '2024-02-09 12:00:00', /not a date/);
    refused(t, '2024-02-09T00:00:00+08:00', /not a date/);
    refused(t, 20240209, /not a date/);
  });

  it('datetimes: stored as Beijing time with an explicit +08:00, other offsets converted', () => {
    const t = { type: 'datetime' } as const;
    ok(t, '2024-01-02 03:04:05', '2024-01-02T03:04:05+08:00');
    ok(t, '2024-01-02T03:04', '2024-01-02T03:04:00+08:00');
    ok(t, '2024-01-02', '2024-01-02T00:00:00+08:00');
    ok(t, '2024-01-01T19:04:05Z', '2024-01-02T03:04:05+08:00');
    ok(t, '2024-12-31T20:30:00.250Z', '2025-01-01T04:30:00.25+08:00');
    ok(t, '2024-01-02T03:04:05.123456+08:00', '2024-01-02T03:04:05.123456+08:00');
    ok(t, '2024-01-02T03:04:05-0500', '2024-01-02T16:04:05+08:00');
    refused(t, '2024-01-02T24:00:00', /not a valid time/);
    refused(t, '2024-02-30T01:00:00', /not a real calendar date/);
    refused(t, 'yesterday', /not a date-time/);
  });

  it('booleans: 是/否, true/false in any case, 1/0', () => {
    const t = { type: 'boolean' } as const;
    for (const v of ['是', 'true', 'TRUE', ' True ', '1', 1, true]) ok(t, v, 1);
    for (const v of ['否', 'false', 'False', '0', 0, false]) ok(t, v, 0);
    refused(t, '也许', /not a boolean/);
    refused(t, 2, /not a boolean/);
  });

  it('binary: base64 text, length in bytes', () => {
    const t = { type: 'binary', length: 3 } as const;
    ok(t, 'AQID', Buffer.from([1, 2, 3]));
    refused(t, 'AQIDBA==', /longer than 3 bytes/);
    refused(t, 'not base64!', /not base64/);
  });

  it('citizen IDs: check character verified, reasons from protocol/ids.ts in both languages', () => {
    const t = { type: 'string', length: 18, identifier: 'citizen_id' } as const;
    const good = citizenIdFor(12345);
    assert.equal(citizenIdProblem(good), null);
    ok(t, good, good);
    refused(t, breakCheckChar(good), /wrong check character/);
    refused(t, good.slice(0, 17), /18 characters/);
    refused(t, `${good.slice(0, 17)}x`.replace(/.$/, 'x'), /upper-case X|wrong check/);
    refused(t, '410602199902300012', /birth date/);
    const r = one(t, breakCheckChar(good));
    assert.ok('problem' in r && r.problem.reasonZh.startsWith('校验码错误'));
  });

  it('credit codes: check character verified', () => {
    const t = { type: 'string', length: 18, identifier: 'credit_code' } as const;
    const good = creditCodeFor(77);
    assert.equal(creditCodeProblem(good), null);
    ok(t, good, good);
    refused(t, breakCheckChar(good), /wrong check character/);
    refused(t, good.toLowerCase(), /upper-case|invalid character/);
    refused(t, 'I1410602MA0000000', /18 characters/);
  });

  it('reports every bad cell of a record, by item code', () => {
    const v = compileValidator([
      { name: '编号', code: 'id', type: 'integer', primaryKey: true },
      { name: '日期', code: 'day', type: 'date' },
      { name: '名称', code: 'label', type: 'string', required: true },
    ]);
    const out: SqlValue[] = [];
    const problems = v.convert(['x', '2024-02-30', ''], out);
    assert.deepEqual(
      problems?.map((p) => p.column),
      ['id', 'day', 'label'],
    );
    assert.equal(v.convert(['7', '2024-02-03', '甲'], out), null);
    assert.deepEqual(out.slice(0, 3), [7, '2024-02-03', '甲']);
    // Deletes read the key only.
    const key: SqlValue[] = [];
    assert.equal(v.convertKey(['8', 'garbage', ''], key), null);
    assert.equal(key[0], 8);
    assert.deepEqual(v.keyIndexes, [0]);
  });
});
