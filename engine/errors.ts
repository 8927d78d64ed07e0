/** @module Application errors: a stable code, a message in zh-CN and in English, and field paths. */
import { ProtocolError } from '../protocol/errors.ts';

export interface FieldIssue {
  path: string;
  code: string;
  message: string;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: string,
    readonly zh: string,
    readonly en: string,
    readonly fields: FieldIssue[] = [],
  ) {
    super(en);
  }
}

/** The common error codes and the HTTP status each maps to (one table, used by `engine/http.ts`). */
export const ERROR_STATUS: Record<string, number> = {
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
  TOO_MANY_ATTEMPTS: 429,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
  // Sharing workflow and cascaded access (hub/sharing, node/sharing).
  WORKFLOW_INVALID_REQUEST: 400,
  WORKFLOW_INVALID_EVENT: 400,
  WORKFLOW_ITEMS_INVALID: 400,
  WORKFLOW_PERIOD_INVALID: 400,
  WORKFLOW_REASON_REQUIRED: 400,
  WORKFLOW_FORBIDDEN: 403,
  WORKFLOW_INVALID_TRANSITION: 409,
  WORKFLOW_GRANT_MISMATCH: 409,
  GRANT_UNKNOWN: 404,
  GRANT_NOT_YET_VALID: 403,
  GRANT_EXPIRED: 403,
  GRANT_REVOKED: 403,
  GRANT_SUSPENDED: 403,
  GRANT_METHOD_NOT_ALLOWED: 403,
  GRANT_ITEM_NOT_ALLOWED: 403,
  GRANT_WRONG_CONSUMER: 403,
  GRANT_WRONG_RESOURCE: 403,
  REVOCATIONS_STALE: 503,
  VERIFY_SUBJECT_INVALID: 400,
  FILTER_ITEM_MASKED: 403,
  ITEM_NOT_IN_TABLE: 409,
  RATE_LIMITED: 429,
  PROVIDER_OFFLINE: 504,
  ANSWER_INVALID: 502,
  FALLBACK_TOO_LARGE: 413,
  HUB_UNREACHABLE: 504,
};

/** An error as the `error` wire payload (code, "zh / en" message): what request/reply answers carry. */
export function errorReply(err: unknown): { code: string; message: string } {
  if (err instanceof AppError) return { code: err.code.slice(0, 64), message: `${err.zh} / ${err.en}`.slice(0, 1000) };
  if (err instanceof ProtocolError) return { code: err.code, message: err.message.slice(0, 1000) };
  return { code: 'INTERNAL', message: '内部错误 / internal error' };
}
