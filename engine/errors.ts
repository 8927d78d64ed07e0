/** @module Application errors: a stable code, a message in zh-CN and in English, and field paths. */

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
};
