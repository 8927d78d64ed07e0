/** @module The status table, the one conversion of domain errors (`toAppError`) and its uses: HTTP, wire replies, the CLI. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import pino from 'pino';
import { z } from 'zod';
import { GRANT_ERROR_CODES, GrantError, PACKAGE_ERROR_CODES, PackageError, PROTOCOL_ERROR_CODES, ProtocolError } from '../protocol/errors.ts';
import { GRANT_USABILITY_CODES } from '../protocol/grant.ts';
import { PolicyError } from '../protocol/policy.ts';
import { CalendarError } from './calendar/overrides.ts';
import { CliError, formatCliError } from './cli/support.ts';
import { StartupError } from './storage/data-dir-lock.ts';
import { AppError, ERROR_STATUS, errorReply, fromErrorReply, isDomainError, isErrorCode, toAppError, type ErrorCode } from './errors.ts';
import { installErrorHandling } from './http/app.ts';
import { validate } from './validate.ts';

const HAN = /\p{Script=Han}/u;
const SECRET = 'SQLITE_CORRUPT at /var/lib/jilian/secret.db row 42';

describe('ERROR_STATUS', () => {
  it('gives every code a status in 400..599', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      assert.match(code, /^[A-Z][A-Z0-9_]*$/, code);
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: ${status}`);
    }
  });

  it('covers every protocol, grant, package and usability code', () => {
    for (const code of [...PROTOCOL_ERROR_CODES, ...GRANT_ERROR_CODES, ...PACKAGE_ERROR_CODES, ...GRANT_USABILITY_CODES]) assert.ok(isErrorCode(code), code);
  });

  it('isErrorCode refuses unknown strings, inherited keys and non-strings', () => {
    assert.equal(isErrorCode('CONSUMER_KEY_MISSING'), true);
    for (const x of ['NOPE', 'toString', '__proto__', 'internal', 404, null, undefined]) assert.equal(isErrorCode(x), false, String(x));
  });
});

describe('toAppError', () => {
  const bilingual = (e: AppError, code: ErrorCode) => {
    assert.equal(e.code, code);
    assert.match(e.zh, HAN, e.zh);
    assert.ok(e.en.length > 0 && !HAN.test(e.en), e.en);
  };

  it('keeps an AppError (and its subclasses) as it is', () => {
    for (const err of [new AppError('CONFLICT', '冲突', 'conflict'), new CliError('URL_INVALID', '地址无效', 'invalid address'), new StartupError('PORT_IN_USE', '端口已被占用', 'port in use')]) {
      assert.equal(toAppError(err), err);
    }
  });

  it('converts a ProtocolError with its code, a Chinese summary and its English detail', () => {
    const e = toAppError(new ProtocolError('ENVELOPE_BAD_SIGNATURE', 'signature does not verify', { from: 'x' }));
    bilingual(e, 'ENVELOPE_BAD_SIGNATURE');
    assert.match(e.zh, /签名无效/);
    assert.equal(e.en, 'signature does not verify');
  });

  it('converts a GrantError with its own zh and en', () => {
    const e = toAppError(new GrantError('REVOCATIONS_ROLLBACK', '撤销清单版本回退', 'revocation list went back'));
    bilingual(e, 'REVOCATIONS_ROLLBACK');
    assert.equal(e.zh, '撤销清单版本回退');
  });

  it('converts a PackageError with its code and both languages', () => {
    bilingual(toAppError(new PackageError('PACKAGE_HASH_MISMATCH', 'chunk 3 hash differs')), 'PACKAGE_HASH_MISMATCH');
  });

  it('converts calendar and policy errors', () => {
    const cal = toAppError(new CalendarError('CALENDAR_OVERRIDES_INVALID', '日历覆盖文件无效', 'invalid calendar overrides', [{ path: 'days', code: 'x', message: 'm' }]));
    bilingual(cal, 'CALENDAR_OVERRIDES_INVALID');
    assert.equal(cal.fields.length, 1);
    bilingual(toAppError(new PolicyError('未知的政策预设 x', 'unknown policy preset x')), 'POLICY_INVALID');
  });

  it('converts a ZodError to INVALID_REQUEST with bilingual field messages, like validate', () => {
    const schema = z.strictObject({ n: z.number() });
    const parsed = schema.safeParse({ n: 'x' });
    assert.ok(!parsed.success);
    const e = toAppError(parsed.error);
    bilingual(e, 'INVALID_REQUEST');
    assert.equal(e.fields[0]!.path, 'n');
    assert.match(e.fields[0]!.message, / \/ /);
    assert.throws(
      () => validate(schema, { n: 'x' }, 'INVALID_ENTRY'),
      (err: AppError) => err.code === 'INVALID_ENTRY' && err.fields[0]!.path === 'n',
    );
  });

  it('turns anything else into INTERNAL without its message', () => {
    for (const err of [new Error(SECRET), new TypeError(SECRET), SECRET, { code: 'NOT_FOUND', message: SECRET }, undefined]) {
      const e = toAppError(err);
      bilingual(e, 'INTERNAL');
      assert.doesNotMatch(`${e.zh} ${e.en} ${e.message}`, /secret|SQLITE/);
      assert.equal(isDomainError(err), false);
    }
  });
});

describe('errorReply / fromErrorReply', () => {
  it('puts code and "zh / en" on the wire, and reads it back', () => {
    const reply = errorReply(new GrantError('GRANT_BAD_SIGNATURE', '授权签名无效', 'grant signature invalid'));
    assert.deepEqual(reply, { code: 'GRANT_BAD_SIGNATURE', message: '授权签名无效 / grant signature invalid' });
    const back = fromErrorReply(reply);
    assert.deepEqual([back.code, back.zh, back.en], ['GRANT_BAD_SIGNATURE', '授权签名无效', 'grant signature invalid']);
  });

  it('answers an unknown error as INTERNAL and reads an unknown code as INTERNAL', () => {
    assert.deepEqual(errorReply(new Error(SECRET)), { code: 'INTERNAL', message: '内部错误 / internal error' });
    const e = fromErrorReply({ code: 'FROM_A_NEWER_VERSION', message: '新 / new / newer' });
    assert.deepEqual([e.code, e.zh, e.en], ['INTERNAL', '新', 'new / newer']);
  });
});

describe('HTTP onError', () => {
  const app = new Hono();
  installErrorHandling(app, pino({ level: 'silent' }), 1024);
  app.get('/grant', () => {
    throw new GrantError('GRANT_WRONG_ISSUER', '授权不是本市枢纽签发', 'grant not issued by this hub');
  });
  app.get('/protocol', () => {
    throw new ProtocolError('MESSAGE_INVALID', 'payload does not match');
  });
  app.get('/app', () => {
    throw new AppError('CONSUMER_KEY_MISSING', '没有加密公钥', 'no encryption key');
  });
  app.get('/bug', () => {
    throw new Error(SECRET);
  });
  // A zod parse of server-side data failing is a bug, not the client's input (that goes through validate).
  app.get('/internal-parse', (c) => c.json(z.strictObject({ n: z.number() }).parse({ n: SECRET })));

  for (const [path, status, code] of [
    ['/grant', 403, 'GRANT_WRONG_ISSUER'],
    ['/protocol', 400, 'MESSAGE_INVALID'],
    ['/app', 409, 'CONSUMER_KEY_MISSING'],
    ['/bug', 500, 'INTERNAL'],
    ['/internal-parse', 500, 'INTERNAL'],
  ] as const) {
    it(`${path} → ${status} ${code}`, async () => {
      const res = await app.request(path);
      assert.equal(res.status, status);
      assert.equal(res.status, ERROR_STATUS[code]);
      const text = await res.text();
      const body = JSON.parse(text) as { error: { code: string; message: { 'zh-CN': string; en: string } } };
      assert.equal(body.error.code, code);
      assert.match(body.error.message['zh-CN'], HAN);
      assert.ok(body.error.message.en);
      assert.doesNotMatch(text, /secret|SQLITE/);
    });
  }
});

describe('formatCliError', () => {
  it('prints domain errors through the same conversion', () => {
    const out = formatCliError(new PackageError('PACKAGE_STALE', 'version 3 is older than 5'), false);
    assert.match(out, /^错误 \/ error: PACKAGE_STALE: 数据包版本过旧（version 3 is older than 5） \/ version 3 is older than 5$/);
  });

  it('prints a zod failure as INVALID_REQUEST with one line per field', () => {
    const parsed = z.strictObject({ port: z.number() }).safeParse({ port: 'x' });
    assert.ok(!parsed.success);
    const out = formatCliError(parsed.error, false);
    assert.match(out, /^错误 \/ error: INVALID_REQUEST: 输入不合法：port \/ invalid input: port\n {2}port: .+ \/ /);
  });

  it('prints anything else as INTERNAL followed by its message for the operator', () => {
    assert.equal(formatCliError(new Error('disk full'), false), '错误 / error: INTERNAL: 内部错误 / internal error (disk full)');
  });
});
