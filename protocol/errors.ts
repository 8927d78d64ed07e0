/** @module Typed protocol errors: every rejection carries a stable code that logs, replies and tests use. */

/** Stable error codes for wire-level failures (see PROTOCOL.md §Errors). */
export const PROTOCOL_ERROR_CODES = [
  'ENVELOPE_TOO_LARGE',
  'ENVELOPE_MALFORMED',
  'ENVELOPE_BAD_MAGIC',
  'ENVELOPE_UNSUPPORTED_VERSION',
  'ENVELOPE_BAD_SIGNATURE',
  'ENVELOPE_UNKNOWN_SENDER',
  'MESSAGE_UNKNOWN_TYPE',
  'MESSAGE_INVALID',
  'MESSAGE_WRONG_SUBJECT',
  'UPDATE_FORBIDDEN',
  'UPDATE_INVALID',
  'UPDATE_MISSING_DEPENDENCIES',
  'MESSAGE_UNPROCESSABLE',
  'AUDIT_HISTORY_REWRITTEN',
] as const;
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

/** A wire message was rejected; `code` says why, `detail` carries safe context (never key material). */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
