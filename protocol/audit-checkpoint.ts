/**
 * @module Signed audit checkpoints and purge records (PROTOCOL.md §8.9): a node signs its audit chain
 * head and sends it to the hub (`audit.checkpoint`), so it cannot later rewrite history unnoticed; a
 * retention purge is vouched for by a signed purge record (`AuditPurge`), without which the hub refuses
 * a checkpoint whose purge anchor moved and the node's own `audit verify` refuses the anchor.
 *
 * Checkpoint signed bytes, version 1 (no anchor):
 *   UTF-8("jilian/audit-checkpoint/v1\0") ‖ UTF-8(canonicalJson({"at","hash","nodeId","seq"}))
 * version 2 (with the purge anchor: the first retained seq and the hash it chains from):
 *   UTF-8("jilian/audit-checkpoint/v2\0") ‖ UTF-8(canonicalJson({"at","firstPrevHash","firstSeq","hash","nodeId","seq"}))
 * with `hash` lower-case hex of the 32-byte chain hash of record `seq` (seq 0 = empty log, hash all zeros)
 * and `at` the signer's clock (RFC 3339 UTC). Signature: Ed25519 detached (crypto_sign_detached), base64.
 *
 * Purge record signed bytes, version 1:
 *   UTF-8("jilian/audit-purge/v1\0") ‖ UTF-8(canonicalJson({"at","before","fromPrevHash","fromSeq","headHash",
 *                                       "headSeq","nodeId","retentionDays","toPrevHash","toSeq"}))
 */
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { sig64 } from './base64-schemas.ts';
import { NODE_ID_RE } from './subjects.ts';
import { fromBase64, sodium, toBase64 } from './sodium.ts';

const encoder = new TextEncoder();
const CONTEXT_V1 = encoder.encode('jilian/audit-checkpoint/v1\0');
const CONTEXT_V2 = encoder.encode('jilian/audit-checkpoint/v2\0');
const PURGE_CONTEXT = encoder.encode('jilian/audit-purge/v1\0');
const DAY_MS = 86_400_000;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const seqNo = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const nodeId = () => z.string().regex(NODE_ID_RE);

/**
 * A retention purge as the node signed it: the purge anchor (first retained seq and the hash it chains
 * from) moved from `from…` to `to…`; every record from `fromSeq` to `toSeq − 1` was written before
 * `before`, which is at least `retentionDays` before `at` (the policy's audit retention, R7; e.g.
 * Jiyuan §28 ≥ 6 months, Hebi §13 ≥ 3 years). `head…` is the chain head the purge left, i.e. what the
 * `audit.purge` record appended right after it chains from, which binds the record to its place in the chain.
 */
export const AuditPurge = z
  .object({
    nodeId: nodeId(),
    fromSeq: seqNo().min(1),
    fromPrevHash: hex64,
    toSeq: seqNo().min(2),
    toPrevHash: hex64,
    headSeq: seqNo().min(1),
    headHash: hex64,
    before: z.iso.datetime(),
    retentionDays: z.number().int().min(1).max(36_600),
    at: z.iso.datetime(),
    signature: sig64,
  })
  .strict()
  .refine((p) => p.toSeq > p.fromSeq && p.headSeq >= p.toSeq - 1, { message: 'fromSeq < toSeq ≤ headSeq + 1' });
export type AuditPurge = z.infer<typeof AuditPurge>;
export type AuditPurgeFields = Omit<AuditPurge, 'nodeId' | 'at' | 'signature'>;

export const AuditCheckpoint = z
  .object({
    nodeId: nodeId(),
    seq: seqNo(),
    hash: hex64,
    at: z.iso.datetime(),
    signature: sig64,
    /** Purge anchor (signed, version 2): first retained seq (1 = never purged) and the hash it chains from. */
    firstSeq: seqNo().min(1).optional(),
    firstPrevHash: hex64.optional(),
    /** The node's latest signed purge record; required by the hub whenever the anchor is not the genesis (1, zeros). Not covered by `signature` (it carries its own). */
    purge: AuditPurge.optional(),
  })
  .strict()
  .refine((c) => (c.firstSeq === undefined) === (c.firstPrevHash === undefined), { message: 'firstSeq and firstPrevHash come together' })
  .refine((c) => c.firstSeq === undefined || c.firstSeq <= c.seq + 1, { message: 'firstSeq is at most seq + 1' })
  .refine((c) => c.purge === undefined || c.firstSeq !== undefined, { message: 'purge only with the anchor' });
export type AuditCheckpoint = z.infer<typeof AuditCheckpoint>;

/** What signs a checkpoint: the node id and a detached Ed25519 signature over given bytes. */
export interface CheckpointSigner {
  readonly nodeId: string;
  signDetached(message: Uint8Array): Uint8Array;
  /** The matching public key, when known (lets the audit log check its own signatures). */
  readonly publicKeyBytes?: Uint8Array;
}

/** A signer over a libsodium secret key (64-byte seed ‖ public key), e.g. from `readKeyFile`. */
export function keySigner(nodeId: string, secretKey: Uint8Array): CheckpointSigner {
  return { nodeId, publicKeyBytes: secretKey.slice(32), signDetached: (m) => sodium().crypto_sign_detached(m, secretKey) };
}

function withContext(context: Uint8Array, value: unknown): Uint8Array {
  const body = encoder.encode(canonicalJson(value));
  const out = new Uint8Array(context.length + body.length);
  out.set(context, 0);
  out.set(body, context.length);
  return out;
}

/** The exact bytes a checkpoint signature covers (version 2 when it carries the anchor, else version 1). */
export function checkpointSignedBytes(cp: Pick<AuditCheckpoint, 'nodeId' | 'seq' | 'hash' | 'at' | 'firstSeq' | 'firstPrevHash'>): Uint8Array {
  if (cp.firstSeq !== undefined) {
    return withContext(CONTEXT_V2, { nodeId: cp.nodeId, seq: cp.seq, hash: cp.hash, firstSeq: cp.firstSeq, firstPrevHash: cp.firstPrevHash, at: cp.at });
  }
  return withContext(CONTEXT_V1, { nodeId: cp.nodeId, seq: cp.seq, hash: cp.hash, at: cp.at });
}

/** Sign a chain head ({seq, hash hex}, and the purge anchor for version 2) as of `now`; `purge` rides along unsigned by this signature. */
export function signCheckpoint(head: { seq: number; hash: string; firstSeq?: number; firstPrevHash?: string }, signer: CheckpointSigner, now: Date, purge?: AuditPurge): AuditCheckpoint {
  const anchor = head.firstSeq !== undefined ? { firstSeq: head.firstSeq, firstPrevHash: head.firstPrevHash } : {};
  const unsigned = { nodeId: signer.nodeId, seq: head.seq, hash: head.hash, ...anchor, at: now.toISOString() };
  return AuditCheckpoint.parse({ ...unsigned, signature: toBase64(signer.signDetached(checkpointSignedBytes(unsigned))), ...(purge ? { purge } : {}) });
}

function verifyDetached(signature: string, bytes: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    const sig = fromBase64(signature);
    return sig.length === 64 && publicKey.length === 32 && sodium().crypto_sign_verify_detached(sig, bytes, publicKey);
  } catch {
    return false;
  }
}

/** True when `cp` is well-formed and signed by `publicKey`. Never throws on bad input. */
export function verifyCheckpoint(cp: unknown, publicKey: Uint8Array): boolean {
  const parsed = AuditCheckpoint.safeParse(cp);
  return parsed.success && verifyDetached(parsed.data.signature, checkpointSignedBytes(parsed.data), publicKey);
}

/** The exact bytes a purge record's signature covers. */
export function purgeSignedBytes(p: Omit<AuditPurge, 'signature'>): Uint8Array {
  return withContext(PURGE_CONTEXT, {
    nodeId: p.nodeId,
    fromSeq: p.fromSeq,
    fromPrevHash: p.fromPrevHash,
    toSeq: p.toSeq,
    toPrevHash: p.toPrevHash,
    headSeq: p.headSeq,
    headHash: p.headHash,
    before: p.before,
    retentionDays: p.retentionDays,
    at: p.at,
  });
}

/** Sign a purge record as of `now`. Throws on malformed fields. */
export function signPurge(fields: AuditPurgeFields, signer: CheckpointSigner, now: Date): AuditPurge {
  const unsigned = { ...fields, nodeId: signer.nodeId, at: now.toISOString() };
  return AuditPurge.parse({ ...unsigned, signature: toBase64(signer.signDetached(purgeSignedBytes(unsigned))) });
}

/** True when `p` is a well-formed purge record signed by `publicKey`. Never throws on bad input. */
export function verifyPurge(p: unknown, publicKey: Uint8Array): boolean {
  const parsed = AuditPurge.safeParse(p);
  return parsed.success && verifyDetached(parsed.data.signature, purgeSignedBytes(parsed.data), publicKey);
}

/**
 * Whether a purge kept the audit retention (R7): it claims at least `minDays` (the policy's
 * `auditRetentionDays`; never below the 6-month floor of Cybersecurity Law §21(3) that every preset keeps)
 * and its cutoff lies that many days (and its own claim) before it was signed.
 */
export function purgeKeepsRetention(p: Pick<AuditPurge, 'before' | 'at' | 'retentionDays'>, minDays: number): boolean {
  const days = Math.max(p.retentionDays, minDays);
  return p.retentionDays >= minDays && Date.parse(p.before) <= Date.parse(p.at) - days * DAY_MS;
}
