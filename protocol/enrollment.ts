/**
 * @module Enrollment (PROTOCOL.md §Enrollment): a county node proves it holds a one-time join token
 * issued by the hub operator, and exchanges public keys with the hub over HTTPS/HTTP.
 *
 * The request carries a proof: the node's Ed25519 signature over
 *   "jilian/enroll/v1\0" ‖ UTF-8(token ‖ 0x00 ‖ nodeId ‖ 0x00 ‖ county ‖ 0x00 ‖ encryptionKey ‖ 0x00 ‖ natsNkey)
 * showing it holds the signing key it registers, and binding that key, the node id, the county and
 * its other two public keys to this token (nobody in between can swap them).
 */
import { z } from 'zod';
import { key32, sig64 } from './base64-schemas.ts';
import { NODE_ID_RE } from './envelope.ts';
import { countyCode } from './messages.ts';
import { fromBase64, sodium } from './sodium.ts';

export const EnrollRequest = z
  .object({
    // Tokens are base64url text (`jlj_…`); no zero byte, so the proof's field separator is unambiguous.
    token: z.string().regex(/^[A-Za-z0-9_-]{16,200}$/),
    nodeId: z.string().regex(NODE_ID_RE),
    county: countyCode,
    countyName: z.string().min(1).max(100),
    /** Ed25519 public key the node signs envelopes with. */
    signingKey: key32,
    /** X25519 public key data packages are sealed to (issue 4). */
    encryptionKey: key32,
    /** NATS user nkey (public, starts with U) the hub puts in the nats-server configuration. */
    natsNkey: z.string().regex(/^U[A-Z2-7]{55}$/, 'NATS user public nkey'),
    proof: sig64,
  })
  .strict();
export type EnrollRequest = z.infer<typeof EnrollRequest>;

export const EnrollResponse = z
  .object({
    municipality: countyCode,
    municipalityName: z.string(),
    hub: z.object({ nodeId: z.string().regex(NODE_ID_RE), signingKey: key32, encryptionKey: key32 }).strict(),
    nats: z.array(z.string().min(1)).min(1),
  })
  .strict();
export type EnrollResponse = z.infer<typeof EnrollResponse>;

const CONTEXT = new TextEncoder().encode('jilian/enroll/v1\0');

/** What the proof binds together. */
export type ProofFields = Pick<EnrollRequest, 'token' | 'nodeId' | 'county' | 'encryptionKey' | 'natsNkey'>;

function proofBytes(f: ProofFields): Uint8Array {
  const body = new TextEncoder().encode([f.token, f.nodeId, f.county, f.encryptionKey, f.natsNkey].join('\0'));
  const out = new Uint8Array(CONTEXT.length + body.length);
  out.set(CONTEXT);
  out.set(body, CONTEXT.length);
  return out;
}

export function signEnrollProof(fields: ProofFields, secretKey: Uint8Array): Uint8Array {
  return sodium().crypto_sign_detached(proofBytes(fields), secretKey);
}

export function verifyEnrollProof(req: EnrollRequest): boolean {
  return sodium().crypto_sign_verify_detached(fromBase64(req.proof), proofBytes(req), fromBase64(req.signingKey));
}
