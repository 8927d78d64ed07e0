// Tests for citizen ID (GB 11643-1999) and unified social credit code (GB 32100-2015) validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CREDIT_CODE_CHARSET,
  citizenIdCheckChar,
  citizenIdProblem,
  citizenIdSchema,
  creditCodeCheckChar,
  creditCodeProblem,
  creditCodeSchema,
  identifierProblem,
  isValidCitizenId,
  isValidCreditCode,
  normalizeIdentifier,
  parseIdentifier,
} from './ids.ts';

test('citizen ID: GB 11643-1999 standard examples are valid', () => {
  assert.equal(isValidCitizenId('11010519491231002X'), true); // check char X
  assert.equal(isValidCitizenId('440524188001010014'), true); // born 1880
  assert.equal(citizenIdCheckChar('11010519491231002'), 'X');
  assert.equal(citizenIdCheckChar('44052418800101001'), '4');
});

test('citizen ID: computed check chars validate, every other char fails', () => {
  const seen = new Set<string>();
  for (let seq = 0; seq < 200; seq++) {
    const first17 = `140525${1950 + (seq % 60)}${String((seq % 12) + 1).padStart(2, '0')}${String((seq % 28) + 1).padStart(2, '0')}${String(seq).padStart(3, '0')}`;
    const check = citizenIdCheckChar(first17);
    seen.add(check);
    assert.equal(isValidCitizenId(first17 + check), true, first17 + check);
    for (const other of '0123456789X') if (other !== check) assert.equal(isValidCitizenId(first17 + other), false);
  }
  assert.equal(seen.size, 11, 'all 11 check characters occur');
});

test('citizen ID: rejections', () => {
  assert.equal(isValidCitizenId('110105194912310021'), false); // wrong check digit
  assert.match(citizenIdProblem('110105194912310021')!, /expected X/);
  assert.equal(isValidCitizenId('11010519491231002'), false); // 17 chars
  assert.equal(isValidCitizenId('11010519491231002X1'), false); // 19 chars
  assert.equal(isValidCitizenId(''), false);
  assert.equal(isValidCitizenId('1101051949123100AX'), false); // letter in body
  assert.equal(isValidCitizenId('11010519491231002Y'), false);
  assert.equal(isValidCitizenId('11010519491231002X '), false); // no trimming
  // region code must not start with 0 (check char made right so only the region is wrong)
  const r0 = '01010519491231002';
  assert.match(citizenIdProblem(r0 + citizenIdCheckChar(r0))!, /region/);
  // impossible birth dates, each with a correct check char
  for (const date of ['19490230', '19000229', '19491301', '19490100', '17991231', '22000101']) {
    const f = `110105${date}002`;
    assert.match(citizenIdProblem(f + citizenIdCheckChar(f))!, /birth date/, date);
  }
  const leap = '11010520000229002';
  assert.equal(isValidCitizenId(leap + citizenIdCheckChar(leap)), true); // 2000 is a leap year
});

test('citizen ID: lower-case x is rejected with a specific message (upper-case only)', () => {
  assert.equal(isValidCitizenId('11010519491231002x'), false);
  assert.match(citizenIdProblem('11010519491231002x')!, /upper-case X/);
  assert.equal(isValidCitizenId('11010519491231002x'.toUpperCase()), true);
});

test('citizen ID: check char helper rejects malformed input', () => {
  assert.throws(() => citizenIdCheckChar('1234'), RangeError);
  assert.throws(() => citizenIdCheckChar('1101051949123100A'), RangeError);
});

test('citizenIdSchema: one clear issue per problem', () => {
  assert.equal(citizenIdSchema.safeParse('11010519491231002X').success, true);
  const shape = citizenIdSchema.safeParse('12345');
  assert.equal(shape.success, false);
  assert.equal(shape.error!.issues.length, 1);
  assert.match(shape.error!.issues[0]!.message, /18 characters/);
  const check = citizenIdSchema.safeParse('110105194912310021');
  assert.equal(check.error!.issues.length, 1);
  assert.match(check.error!.issues[0]!.message, /check character/);
  assert.equal(citizenIdSchema.safeParse(42).success, false);
});

test('credit code: commonly cited example is valid', () => {
  assert.equal(isValidCreditCode('91350100M000100Y43'), true);
  assert.equal(creditCodeCheckChar('91350100M000100Y4'), '3');
});

test('credit code: computed codes validate, including check value 31 -> "0"', () => {
  let zero = 0;
  for (let n = 0; n < 2000; n++) {
    const body = `91140525${String(n).padStart(9, '0')}`;
    const check = creditCodeCheckChar(body);
    if (check === '0') zero++;
    assert.equal(isValidCreditCode(body + check), true);
    const wrong = CREDIT_CODE_CHARSET[(CREDIT_CODE_CHARSET.indexOf(check) + 1) % 31]!;
    assert.equal(isValidCreditCode(body + wrong), false);
  }
  assert.ok(zero > 0, 'some sums are multiples of 31 and map to "0"');
});

test('credit code: rejections', () => {
  assert.equal(isValidCreditCode('91350100M000100Y44'), false); // wrong check char
  assert.match(creditCodeProblem('91350100M000100Y44')!, /expected 3/);
  assert.equal(isValidCreditCode('91350100M000100Y4'), false); // 17 chars
  assert.equal(isValidCreditCode('91350100M000100Y433'), false); // 19 chars
  for (const bad of 'IOZSV') {
    const s = `91350100M000100${bad}4`;
    assert.equal(isValidCreditCode(s + '3'), false, bad);
    assert.match(creditCodeProblem(s + '3')!, /invalid character/);
    assert.throws(() => creditCodeCheckChar(s), RangeError);
  }
  // letters in the region code (positions 3-8), with a correct check char
  const f = '91AB0100M000100Y4';
  assert.match(creditCodeProblem(f + creditCodeCheckChar(f))!, /region code/);
});

test('credit code: lower case is rejected (upper-case only)', () => {
  assert.equal(isValidCreditCode('91350100m000100y43'), false);
  assert.match(creditCodeProblem('91350100m000100y43')!, /upper-case/);
  assert.equal(isValidCreditCode('91350100m000100y43'.toUpperCase()), true);
});

test('creditCodeSchema: one clear issue per problem', () => {
  assert.equal(creditCodeSchema.safeParse('91350100M000100Y43').success, true);
  const shape = creditCodeSchema.safeParse('91350100M000100I43');
  assert.equal(shape.error!.issues.length, 1);
  assert.match(shape.error!.issues[0]!.message, /upper-case characters/);
  const check = creditCodeSchema.safeParse('91350100M000100Y44');
  assert.equal(check.error!.issues.length, 1);
  assert.match(check.error!.issues[0]!.message, /check character/);
});

test('parseIdentifier: trims and upper-cases typed input, then applies the import check (issue 10)', () => {
  assert.deepEqual(parseIdentifier('citizen_id', '11010519491231002x'), { ok: true, value: '11010519491231002X' });
  assert.deepEqual(parseIdentifier('citizen_id', ' \t11010519491231002X\u3000\uFEFF'), { ok: true, value: '11010519491231002X' });
  assert.deepEqual(parseIdentifier('credit_code', ' 91350100m000100y43 '), { ok: true, value: '91350100M000100Y43' });
  const wrong = parseIdentifier('citizen_id', '110105194912310021');
  assert.equal(wrong.ok, false);
  if (!wrong.ok) {
    assert.match(wrong.zh, /^不是有效的公民身份号码：校验码错误/);
    assert.match(wrong.en, /^not a valid citizen ID number: wrong check character/);
  }
  for (const bad of ['', '   ', '1101051949123100', '11010519491331002X', '01010519491231002X', '11010519491231002Y']) {
    assert.equal(parseIdentifier('citizen_id', bad).ok, false, bad);
  }
  assert.equal(parseIdentifier('credit_code', '91350100M000100Y4I').ok, false);
  // Only white space at the ends and ASCII case: an inner space or a non-ASCII look-alike stays invalid.
  assert.equal(parseIdentifier('citizen_id', '110105 19491231002X').ok, false);
  assert.equal(normalizeIdentifier('ｘ'), 'ｘ');
  // The check itself is the import's (no normalisation): identifierProblem is citizenIdProblem / creditCodeProblem.
  for (const v of ['11010519491231002X', '11010519491231002x', '91350100M000100Y43', 'nonsense']) {
    assert.equal(identifierProblem('citizen_id', v), citizenIdProblem(v));
    assert.equal(identifierProblem('credit_code', v), creditCodeProblem(v));
  }
});
