/**
 * @module Application errors: a stable code, a message in zh-CN and in English, and field paths. Every
 * code is a key of one status table, so an unknown code does not compile and none lacks a status;
 * `toAppError` is the one conversion of domain errors that HTTP, wire error replies and the CLI share.
 */
import { z } from 'zod';
import { GrantError, PackageError, ProtocolError, type GrantErrorCode, type PackageErrorCode, type ProtocolErrorCode } from '../protocol/errors.ts';
import type { GrantUsabilityCode } from '../protocol/grant.ts';
import { PolicyError } from '../protocol/policy.ts';
import { formatZodIssues, type FormattedIssue } from '../protocol/validation-error.ts';
import { CalendarError, type CalendarErrorCode } from './calendar/overrides.ts';

/** One field's problem in an error body: the same row shape protocol/validation-error.ts produces. */
export type FieldIssue = FormattedIssue;

/**
 * Every error code and the HTTP status it maps to. Codes only the CLI or start-up prints carry the
 * status they would have if served (the table is total, so nothing falls back to a guess).
 */
export const ERROR_STATUS = {
  // Requests and authentication.
  INVALID_REQUEST: 400,
  INVALID_ENTRY: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  TOKEN_INVALID: 401,
  PROOF_INVALID: 401,
  TOKEN_USED: 403,
  TOKEN_EXPIRED: 403,
  TOKEN_WRONG_COUNTY: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_ATTEMPTS: 429,
  INTERNAL: 500,
  // Sharing workflow (hub/sharing/workflow.ts WORKFLOW_ERROR_CODES).
  WORKFLOW_INVALID_REQUEST: 400,
  WORKFLOW_INVALID_EVENT: 400,
  WORKFLOW_ITEMS_INVALID: 400,
  WORKFLOW_PERIOD_INVALID: 400,
  WORKFLOW_REASON_REQUIRED: 400,
  WORKFLOW_FORBIDDEN: 403,
  WORKFLOW_INVALID_TRANSITION: 409,
  WORKFLOW_GRANT_MISMATCH: 409,
  // Grant usability (protocol/grant.ts GRANT_USABILITY_CODES) and cascaded access.
  GRANT_UNKNOWN: 404,
  GRANT_NOT_YET_VALID: 403,
  GRANT_EXPIRED: 403,
  GRANT_REVOKED: 403,
  GRANT_SUSPENDED: 403,
  GRANT_METHOD_NOT_ALLOWED: 403,
  GRANT_ITEM_NOT_ALLOWED: 403,
  GRANT_WRONG_CONSUMER: 403,
  GRANT_WRONG_RESOURCE: 403,
  GRANT_NEEDS_SHAPING: 403,
  REVOCATIONS_STALE: 503,
  VERIFY_SUBJECT_INVALID: 400,
  FILTER_ITEM_MASKED: 403,
  ITEM_NOT_IN_TABLE: 409,
  RATE_LIMITED: 429,
  CONSUMER_KEY_MISSING: 409,
  ANSWER_INVALID: 502,
  PROVIDER_OFFLINE: 504,
  FALLBACK_TOO_LARGE: 413,
  HUB_UNREACHABLE: 504,
  // Signed grants and revocation lists (protocol/errors.ts GRANT_ERROR_CODES).
  GRANT_MALFORMED: 400,
  GRANT_BAD_SIGNATURE: 403,
  GRANT_WRONG_ISSUER: 403,
  HUB_KEY_MISSING: 503,
  REVOCATIONS_MALFORMED: 400,
  REVOCATIONS_BAD_SIGNATURE: 403,
  REVOCATIONS_WRONG_ISSUER: 403,
  REVOCATIONS_ROLLBACK: 409,
  REVOCATIONS_CONFLICT: 409,
  // Wire refusals (protocol/errors.ts PROTOCOL_ERROR_CODES, PROTOCOL.md §12) and RPC answers.
  ENVELOPE_TOO_LARGE: 413,
  ENVELOPE_MALFORMED: 400,
  ENVELOPE_BAD_MAGIC: 400,
  ENVELOPE_UNSUPPORTED_VERSION: 400,
  ENVELOPE_BAD_SIGNATURE: 403,
  ENVELOPE_UNKNOWN_SENDER: 403,
  MESSAGE_UNKNOWN_TYPE: 400,
  MESSAGE_INVALID: 400,
  MESSAGE_WRONG_SUBJECT: 403,
  UPDATE_FORBIDDEN: 403,
  UPDATE_INVALID: 422,
  UPDATE_MISSING_DEPENDENCIES: 409,
  MESSAGE_UNPROCESSABLE: 422,
  AUDIT_HISTORY_REWRITTEN: 409,
  SYNC_BUSY: 503,
  // Data packages (protocol/errors.ts PACKAGE_ERROR_CODES, PACKAGES.md §8).
  PACKAGE_MALFORMED: 400,
  PACKAGE_UNKNOWN_SENDER: 403,
  PACKAGE_BAD_SIGNATURE: 403,
  PACKAGE_NOT_RECIPIENT: 403,
  PACKAGE_KEY_MISMATCH: 422,
  PACKAGE_CHUNK_INVALID: 422,
  PACKAGE_TRUNCATED: 422,
  PACKAGE_HASH_MISMATCH: 422,
  PACKAGE_STALE: 409,
  PACKAGE_NOT_ALLOWED: 403,
  // Policy presets and the working-day calendar (protocol/policy.ts, engine/calendar/).
  POLICY_INVALID: 400,
  CALENDAR_OVERRIDES_INVALID: 400,
  CALENDAR_OVERRIDES_MISSING: 404,
  CALENDAR_ARGUMENT_INVALID: 400,
  // Audit log maintenance (engine/audit/).
  AUDIT_SIGNER_REQUIRED: 409,
  AUDIT_PURGE_TOO_EARLY: 409,
  // Command line and start-up (engine/cli-support.ts, config-file.ts, listen.ts, data-dir-lock.ts, node/enroll.ts).
  INVALID_OPTIONS: 400,
  URL_INVALID: 400,
  PORT_INVALID: 400,
  TOKEN_MALFORMED: 400,
  CONFIG_INVALID: 400,
  CONFIG_MISSING: 404,
  DATABASE_MISSING: 404,
  WRONG_DATA_DIR: 400,
  DIR_INITIALISED: 409,
  DATA_DIR_LOCKED: 409,
  PORT_IN_USE: 409,
  HTTP_LISTEN_FAILED: 500,
  UNREACHABLE: 502,
  HUB_ANSWER_INVALID: 502,
} as const satisfies Record<string, number>;

/** A stable error code: exactly the keys of {@link ERROR_STATUS}. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** Whether `x` (a code read from a wire reply, a worker message, an HTTP answer) is a known code. */
export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && Object.hasOwn(ERROR_STATUS, x);
}

// The domain error codes are error codes too: a code added to one of these unions without a status fails here.
type Covered<T extends ErrorCode> = T;
export type DomainErrorCode = Covered<ProtocolErrorCode | GrantErrorCode | PackageErrorCode | GrantUsabilityCode | CalendarErrorCode>;

export class AppError extends Error {
  override readonly name: string = 'AppError';
  constructor(
    readonly code: ErrorCode,
    readonly zh: string,
    readonly en: string,
    readonly fields: FieldIssue[] = [],
  ) {
    super(en);
  }
}

/** A zod failure as AppError `code` with zod's field paths and bilingual messages (request validation, configs, options). */
export function invalidInput(error: z.ZodError, code: ErrorCode = 'INVALID_REQUEST'): AppError {
  const fields = formatZodIssues(error);
  const where = fields
    .map((f) => f.path || '(root)')
    .slice(0, 5)
    .join(', ');
  return new AppError(code, `输入不合法：${where}`, `invalid input: ${where}`, fields);
}

/** What a wire or package refusal means in Chinese; its English detail is the error's own message. */
const REFUSAL_ZH: Record<ProtocolErrorCode | PackageErrorCode, string> = {
  ENVELOPE_TOO_LARGE: '消息超过 1 MiB 上限',
  ENVELOPE_MALFORMED: '消息格式不正确',
  ENVELOPE_BAD_MAGIC: '不是 jilian 消息（标识不符）',
  ENVELOPE_UNSUPPORTED_VERSION: '不支持的消息版本',
  ENVELOPE_BAD_SIGNATURE: '消息签名无效',
  ENVELOPE_UNKNOWN_SENDER: '消息发送方未登记或已吊销',
  MESSAGE_UNKNOWN_TYPE: '消息类型未知或不应在此出现',
  MESSAGE_INVALID: '消息内容不合法',
  MESSAGE_WRONG_SUBJECT: '消息使用了其他区县的主题',
  UPDATE_FORBIDDEN: '变更违反归属规则',
  UPDATE_INVALID: '变更无效',
  UPDATE_MISSING_DEPENDENCIES: '变更依赖尚未收到的变更',
  MESSAGE_UNPROCESSABLE: '消息多次处理失败',
  AUDIT_HISTORY_REWRITTEN: '审计链被改写',
  PACKAGE_MALFORMED: '数据包格式不正确',
  PACKAGE_UNKNOWN_SENDER: '数据包发送方未知',
  PACKAGE_BAD_SIGNATURE: '数据包签名无效',
  PACKAGE_NOT_RECIPIENT: '数据包的接收方不含本方',
  PACKAGE_KEY_MISMATCH: '数据包密钥不符',
  PACKAGE_CHUNK_INVALID: '数据包分片无效',
  PACKAGE_TRUNCATED: '数据包不完整',
  PACKAGE_HASH_MISMATCH: '数据包哈希不符',
  PACKAGE_STALE: '数据包版本过旧',
  PACKAGE_NOT_ALLOWED: '不接受该数据包',
};

/**
 * Any thrown value as an AppError: AppErrors as they are; protocol, grant, package, policy and calendar
 * errors and zod failures with their code and both languages; anything else INTERNAL, without its
 * message (a bug's text or a driver's error says nothing to a client and may say too much).
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof GrantError) return new AppError(err.code, err.zh, err.en);
  if (err instanceof CalendarError) return new AppError(err.code, err.zh, err.en, err.fields);
  if (err instanceof ProtocolError || err instanceof PackageError) return new AppError(err.code, `${REFUSAL_ZH[err.code]}（${err.message}）`, err.message);
  if (err instanceof PolicyError) return new AppError('POLICY_INVALID', err.zh, err.en);
  if (err instanceof z.ZodError) return invalidInput(err);
  return new AppError('INTERNAL', '内部错误', 'internal error');
}

/** Whether `toAppError` knows `err` (false: a bug or an I/O failure, worth logging with its stack). */
export function isDomainError(err: unknown): boolean {
  return (
    err instanceof AppError ||
    err instanceof GrantError ||
    err instanceof CalendarError ||
    err instanceof ProtocolError ||
    err instanceof PackageError ||
    err instanceof PolicyError ||
    err instanceof z.ZodError
  );
}

/** An error as the `error` wire payload (code, "zh / en" message): what request/reply answers carry. */
export function errorReply(err: unknown): { code: ErrorCode; message: string } {
  const e = toAppError(err);
  return { code: e.code, message: `${e.zh} / ${e.en}`.slice(0, 1000) };
}

/** An `error` wire payload (code and "zh / en" message) back as an AppError; a code this side does not know becomes INTERNAL. */
export function fromErrorReply(e: { code: string; message: string }): AppError {
  const at = e.message.indexOf(' / ');
  const [zh, en] = at >= 0 ? [e.message.slice(0, at), e.message.slice(at + 3)] : [e.message, e.message];
  return new AppError(isErrorCode(e.code) ? e.code : 'INTERNAL', zh, en);
}
