/**
 * @module The signed envelope every NATS message travels in (PROTOCOL.md §Envelope).
 *
 * Wire layout, version 1:
 *   0..1   magic "JL" (0x4A 0x4C)
 *   2      version = 0x01
 *   3..66  Ed25519 signature (64 bytes) over  "jilian/envelope/v1\0" ‖ body
 *   67..   body: UTF-8 JSON {"type","from","seq","ts","payload"}
 * The signature covers the exact body bytes, so no JSON canonicalisation is needed to verify.
 */
import { z } from 'zod';
import { ProtocolError } from './errors.ts';
import { MESSAGE_TYPES, type MessageType, type PayloadOf } from './messages.ts';
import { sodium } from './sodium.ts';
import { formatZodIssues } from './validation-error.ts';
import { NODE_ID_RE } from './subjects.ts';

export const ENVELOPE_VERSION = 1;
export const ENVELOPE_MAGIC = [0x4a, 0x4c] as const;
export const ENVELOPE_HEADER_BYTES = 3 + 64;
/** Default NATS max_payload is 1 MiB; the envelope must fit in it. */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;
const SIGNING_CONTEXT = new TextEncoder().encode('jilian/envelope/v1\0');

export { NODE_ID_RE } from './subjects.ts';

/** The signed body of an envelope. `seq` increases per sender; `ts` is the sender's clock (RFC 3339, UTC). */
export const EnvelopeBody = z
  .object({
    type: z.string().min(1).max(64),
    from: z.string().regex(NODE_ID_RE),
    seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    ts: z.iso.datetime(),
    payload: z.unknown(),
  })
  .strict();

/** One envelope of exactly one type: `type` and `payload` belong together. */
export interface EnvelopeOf<T extends MessageType> {
  type: T;
  from: string;
  seq: number;
  ts: string;
  payload: PayloadOf<T>;
}

/**
 * An envelope of one of the types `T` (default: any type), as a union discriminated by `type`, so
 * `if (env.type === 'catalog.update') env.payload` is a `CatalogUpdate`. For a generic `T` it
 * simplifies to `EnvelopeOf<T>`, which typed handler maps rely on (see `dispatch.ts`).
 */
export type Envelope<T extends MessageType = MessageType> = { [K in T]: EnvelopeOf<K> }[T];
/** Any verified envelope: the union over every message type. */
export type AnyEnvelope = Envelope<MessageType>;

const encoder = new TextEncoder();
// ignoreBOM keeps a byte-order mark in the text, so JSON.parse rejects it as other parsers would.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function signedBytes(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNING_CONTEXT.length + body.length);
  out.set(SIGNING_CONTEXT, 0);
  out.set(body, SIGNING_CONTEXT.length);
  return out;
}

/** Validate the payload against its type's schema, serialise, sign. Throws ProtocolError if it would not verify. */
export function encodeEnvelope<T extends MessageType>(env: Envelope<T>, secretKey: Uint8Array): Uint8Array {
  const schema = MESSAGE_TYPES[env.type];
  const parsed = schema.safeParse(env.payload);
  if (!parsed.success) {
    throw new ProtocolError('MESSAGE_INVALID', `payload of ${env.type} is invalid`, { issues: formatZodIssues(parsed.error) });
  }
  const body = encoder.encode(JSON.stringify({ type: env.type, from: env.from, seq: env.seq, ts: env.ts, payload: parsed.data }));
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + body.length);
  if (out.length > MAX_ENVELOPE_BYTES) {
    throw new ProtocolError('ENVELOPE_TOO_LARGE', `envelope of ${out.length} bytes exceeds ${MAX_ENVELOPE_BYTES}`, { size: out.length });
  }
  out[0] = ENVELOPE_MAGIC[0];
  out[1] = ENVELOPE_MAGIC[1];
  out[2] = ENVELOPE_VERSION;
  out.set(sodium().crypto_sign_detached(signedBytes(body), secretKey), 3);
  out.set(body, ENVELOPE_HEADER_BYTES);
  return out;
}

/** An envelope whose frame and body parsed but whose signature is not yet checked. */
export interface OpenedEnvelope {
  body: z.infer<typeof EnvelopeBody>;
  signature: Uint8Array;
  bodyBytes: Uint8Array;
}

/** Parse the frame and the body JSON. Does NOT verify the signature: use `verifyEnvelope`. */
export function openEnvelope(bytes: Uint8Array): OpenedEnvelope {
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    throw new ProtocolError('ENVELOPE_TOO_LARGE', `envelope of ${bytes.length} bytes exceeds ${MAX_ENVELOPE_BYTES}`, { size: bytes.length });
  }
  if (bytes.length < ENVELOPE_HEADER_BYTES + 2) throw new ProtocolError('ENVELOPE_MALFORMED', 'envelope is truncated', { size: bytes.length });
  if (bytes[0] !== ENVELOPE_MAGIC[0] || bytes[1] !== ENVELOPE_MAGIC[1]) throw new ProtocolError('ENVELOPE_BAD_MAGIC', 'not a Jilian envelope');
  if (bytes[2] !== ENVELOPE_VERSION) {
    throw new ProtocolError('ENVELOPE_UNSUPPORTED_VERSION', `envelope version ${bytes[2]} is not supported`, { version: bytes[2] });
  }
  const bodyBytes = bytes.subarray(ENVELOPE_HEADER_BYTES);
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bodyBytes));
  } catch (cause) {
    throw new ProtocolError('ENVELOPE_MALFORMED', 'envelope body is not UTF-8 JSON', {}, { cause });
  }
  const body = EnvelopeBody.safeParse(json);
  if (!body.success) throw new ProtocolError('ENVELOPE_MALFORMED', 'envelope body is invalid', { issues: formatZodIssues(body.error) });
  return { body: body.data, signature: bytes.subarray(3, ENVELOPE_HEADER_BYTES), bodyBytes };
}

/**
 * Looks up the registered Ed25519 public key(s) of a sender; undefined if unknown or revoked. During
 * a key rotation's grace period a sender has two valid keys (PROTOCOL.md §Key rotation).
 */
export type { KeyLookup } from './keys.ts';
import type { KeyLookup } from './keys.ts';

/**
 * Open, authenticate and validate an envelope. Order matters: the signature is checked before the
 * payload schema, so unauthenticated input never reaches payload validation.
 */
export function verifyEnvelope(bytes: Uint8Array, lookup: KeyLookup): AnyEnvelope {
  const opened = openEnvelope(bytes);
  const found = lookup(opened.body.from);
  const keys = found === undefined ? [] : found instanceof Uint8Array ? [found] : found;
  if (keys.length === 0) throw new ProtocolError('ENVELOPE_UNKNOWN_SENDER', `sender ${opened.body.from} is not registered`, { from: opened.body.from });
  const message = signedBytes(opened.bodyBytes);
  if (!keys.some((key) => sodium().crypto_sign_verify_detached(opened.signature, message, key))) {
    throw new ProtocolError('ENVELOPE_BAD_SIGNATURE', `signature of ${opened.body.from} does not verify`, { from: opened.body.from });
  }
  const type = opened.body.type;
  if (!Object.hasOwn(MESSAGE_TYPES, type)) {
    throw new ProtocolError('MESSAGE_UNKNOWN_TYPE', `unknown message type ${type}`, { type: type.slice(0, 64) });
  }
  const schema = MESSAGE_TYPES[type as MessageType];
  const payload = schema.safeParse(opened.body.payload);
  if (!payload.success) {
    throw new ProtocolError('MESSAGE_INVALID', `payload of ${type} is invalid`, { type, issues: formatZodIssues(payload.error) });
  }
  // The one place a payload meets its type: the schema of `type` just parsed it.
  return { ...opened.body, type: type as MessageType, payload: payload.data } as AnyEnvelope;
}

/** Whether a verified envelope has the given type (a type guard that also works for a generic `T`). */
export function isType<T extends MessageType>(env: AnyEnvelope, type: T): env is AnyEnvelope & Envelope<T> {
  return env.type === type;
}

/** Narrow a verified envelope to one type, or throw MESSAGE_UNKNOWN_TYPE. */
export function expectType<T extends MessageType>(env: AnyEnvelope, type: T): AnyEnvelope & Envelope<T> {
  if (!isType(env, type)) throw new ProtocolError('MESSAGE_UNKNOWN_TYPE', `expected ${type}, got ${env.type}`, { type: env.type });
  return env;
}
