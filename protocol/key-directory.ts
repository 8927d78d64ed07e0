/**
 * @module The key directory (PROTOCOL.md §Key directory): every registered node's public keys and
 * status, versioned and signed by the hub (it travels in a hub envelope, `keys.directory`), so that
 * nodes can verify each other's messages offline. Key rotation (`keys.rotate`) is announced in an
 * envelope signed with the old key and carries a proof made with the new one.
 */
import { z } from 'zod';
import { key32, sig64 } from './base64-schemas.ts';
import { countyCode } from './identifiers.ts';
import { NODE_ID_RE } from './subjects.ts';
import { fromBase64, sodium } from './sodium.ts';

export const DirectoryNode = z
  .object({
    nodeId: z.string().regex(NODE_ID_RE),
    county: countyCode,
    status: z.enum(['active', 'revoked']),
    signingKey: key32,
    encryptionKey: key32.nullable(),
    /** The key replaced by the last rotation, still accepted until `previousValidUntil`. */
    previousSigningKey: key32.nullable(),
    previousValidUntil: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
  })
  .strict();
export type DirectoryNode = z.infer<typeof DirectoryNode>;

/** `keys.directory` (tag 7), hub → all nodes on DOWN. A node keeps the highest version it has seen. */
export const KeyDirectory = z
  .object({
    version: z.number().int().min(1),
    issuedAt: z.iso.datetime(),
    hub: z.object({ nodeId: z.string().regex(NODE_ID_RE), signingKey: key32, encryptionKey: key32 }).strict(),
    // ~330 bytes per node: 2,000 nodes stay well inside the 1 MiB envelope.
    nodes: z.array(DirectoryNode).max(2_000),
  })
  .strict();
export type KeyDirectory = z.infer<typeof KeyDirectory>;

/** `keys.rotate` (tag 8), node → hub on UP, in an envelope signed with the node's current (old) key. */
export const KeyRotation = z
  .object({
    newSigningKey: key32,
    /** Ed25519 signature by the NEW key over "jilian/rotate/v1\0" ‖ nodeId ‖ 0x00 ‖ newSigningKey (base64 text). */
    proof: sig64,
  })
  .strict();
export type KeyRotation = z.infer<typeof KeyRotation>;

const ROTATE_CONTEXT = 'jilian/rotate/v1\0';

function rotateBytes(nodeId: string, newSigningKey: string): Uint8Array {
  return new TextEncoder().encode(`${ROTATE_CONTEXT}${nodeId}\0${newSigningKey}`);
}

export function signRotationProof(nodeId: string, newSigningKey: string, newSecretKey: Uint8Array): Uint8Array {
  return sodium().crypto_sign_detached(rotateBytes(nodeId, newSigningKey), newSecretKey);
}

/** True when the proof verifies with the new key. Never throws, also not on malformed input. */
export function verifyRotationProof(nodeId: string, r: KeyRotation): boolean {
  try {
    return sodium().crypto_sign_verify_detached(fromBase64(r.proof), rotateBytes(nodeId, r.newSigningKey), fromBase64(r.newSigningKey));
  } catch {
    return false;
  }
}

/** The keys a directory accepts for `nodeId` at time `now`: current, plus the previous one within its grace period. */
export function acceptedKeys(dir: KeyDirectory, nodeId: string, now: Date): Uint8Array[] {
  if (nodeId === dir.hub.nodeId) return [fromBase64(dir.hub.signingKey)];
  const n = dir.nodes.find((x) => x.nodeId === nodeId);
  if (n?.status !== 'active') return [];
  const keys = [fromBase64(n.signingKey)];
  if (n.previousSigningKey && n.previousValidUntil && Date.parse(n.previousValidUntil) > now.getTime()) keys.push(fromBase64(n.previousSigningKey));
  return keys;
}
