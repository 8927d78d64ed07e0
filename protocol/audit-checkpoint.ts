/**
 * @module Signed audit checkpoints (PROTOCOL.md §Audit checkpoints): a node signs its audit chain
 * head and sends it to the hub (`audit.checkpoint`), so it cannot later rewrite history unnoticed.
 *
 * Signed bytes, version 1:  UTF-8("jilian/audit-checkpoint/v1\0") ‖ UTF-8(canonicalJson({"at","hash","nodeId","seq"}))
 * with `hash` lower-case hex of the 32-byte chain hash of record `seq` (seq 0 = empty log, hash all zeros)
 * and `at` the signer's clock (RFC 3339 UTC). Signature: Ed25519 detached (crypto_sign_detached), base64.
 */
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { sig64 } from './base64-schemas.ts';
import { NODE_ID_RE } from './subjects.ts';
import { fromBase64, sodium, toBase64 } from './sodium.ts';

const CONTEXT = new TextEncoder().encode('jilian/audit-checkpoint/v1\0');

export const AuditCheckpoint = z
  .object({
    nodeId: z.string().regex(NODE_ID_RE),
    seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    at: z.iso.datetime(),
    signature: sig64,
  })
  .strict();
export type AuditCheckpoint = z.infer<typeof AuditCheckpoint>;

/** What signs a checkpoint: the node id and a detached Ed25519 signature over given bytes. */
export interface CheckpointSigner {
  readonly nodeId: string;
  signDetached(message: Uint8Array): Uint8Array;
}

/** A signer over a libsodium secret key (64-byte seed ‖ public key), e.g. from `readKeyFile`. */
export function keySigner(nodeId: string, secretKey: Uint8Array): CheckpointSigner {
  return { nodeId, signDetached: (m) => sodium().crypto_sign_detached(m, secretKey) };
}

/** The exact bytes a checkpoint signature covers. */
export function checkpointSignedBytes(cp: Pick<AuditCheckpoint, 'nodeId' | 'seq' | 'hash' | 'at'>): Uint8Array {
  const body = new TextEncoder().encode(canonicalJson({ nodeId: cp.nodeId, seq: cp.seq, hash: cp.hash, at: cp.at }));
  const out = new Uint8Array(CONTEXT.length + body.length);
  out.set(CONTEXT, 0);
  out.set(body, CONTEXT.length);
  return out;
}

/** Sign a chain head ({seq, hash hex}) as of `now`. */
export function signCheckpoint(head: { seq: number; hash: string }, signer: CheckpointSigner, now: Date): AuditCheckpoint {
  const unsigned = { nodeId: signer.nodeId, seq: head.seq, hash: head.hash, at: now.toISOString() };
  return AuditCheckpoint.parse({ ...unsigned, signature: toBase64(signer.signDetached(checkpointSignedBytes(unsigned))) });
}

/** True when `cp` is well-formed and signed by `publicKey`. Never throws on bad input. */
export function verifyCheckpoint(cp: unknown, publicKey: Uint8Array): boolean {
  const parsed = AuditCheckpoint.safeParse(cp);
  if (!parsed.success) return false;
  try {
    const sig = fromBase64(parsed.data.signature);
    return sig.length === 64 && sodium().crypto_sign_verify_detached(sig, checkpointSignedBytes(parsed.data), publicKey);
  } catch {
    return false;
  }
}

