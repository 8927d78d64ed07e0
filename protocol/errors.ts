/**
 * @module Typed protocol errors: every rejection carries a stable code that logs, replies and tests use.
 * Wire (`ProtocolError`), grant and revocation list (`GrantError`) and data package (`PackageError`)
 * refusals, each with its code union; `engine/errors.ts` gives every code an HTTP status.
 */

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

export const GRANT_ERROR_CODES = [
  'GRANT_MALFORMED',
  'GRANT_BAD_SIGNATURE',
  'GRANT_WRONG_ISSUER',
  'HUB_KEY_MISSING',
  'REVOCATIONS_MALFORMED',
  'REVOCATIONS_BAD_SIGNATURE',
  'REVOCATIONS_WRONG_ISSUER',
  'REVOCATIONS_ROLLBACK',
  'REVOCATIONS_CONFLICT',
] as const;
export type GrantErrorCode = (typeof GRANT_ERROR_CODES)[number];

/** A grant or revocation list was refused; zh and en messages, `detail` carries safe context (never key material). */
export class GrantError extends Error {
  override readonly name = 'GrantError';
  constructor(
    readonly code: GrantErrorCode,
    readonly zh: string,
    readonly en: string,
    readonly detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(`${zh} / ${en}`, options);
  }
}

export const PACKAGE_ERROR_CODES = [
  'PACKAGE_MALFORMED',
  'PACKAGE_UNKNOWN_SENDER',
  'PACKAGE_BAD_SIGNATURE',
  'PACKAGE_NOT_RECIPIENT',
  'PACKAGE_KEY_MISMATCH',
  'PACKAGE_CHUNK_INVALID',
  'PACKAGE_TRUNCATED',
  'PACKAGE_HASH_MISMATCH',
  // Refusals of an offer by policy rather than by the format (PACKAGES.md §8, table):
  'PACKAGE_STALE',
  'PACKAGE_NOT_ALLOWED',
] as const;
export type PackageErrorCode = (typeof PACKAGE_ERROR_CODES)[number];

/** A package, recipient entry or chunk was refused; `detail` carries safe context (never key material). */
export class PackageError extends Error {
  override readonly name = 'PackageError';
  constructor(
    readonly code: PackageErrorCode,
    message: string,
    readonly detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
