/**
 * @module Canonical base64 on the wire (RFC 4648 §4 with padding, and §3.5: the bits after the last
 * whole byte are zero). Strict, so that text which libsodium would refuse to decode never gets
 * past validation, and every value has exactly one spelling.
 */
import { z } from 'zod';

/** Any length. */
export const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$/;
/** Exactly 32 bytes (Ed25519 / X25519 public keys). */
export const KEY32_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
/** Exactly 64 bytes (Ed25519 signatures). */
export const SIG64_RE = /^[A-Za-z0-9+/]{85}[AQgw]==$/;

export const base64 = z.string().regex(BASE64_RE, 'canonical base64');
export const key32 = z.string().regex(KEY32_RE, '32-byte key, canonical base64');
export const sig64 = z.string().regex(SIG64_RE, '64-byte signature, canonical base64');
