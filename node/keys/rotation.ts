/**
 * @module Signing-key rotation on the node (`jilian node rotate-keys`). A new key is written beside
 * the current one and announced to the hub in a `keys.rotate` message signed with the current key.
 * The node keeps signing with the current key until the hub's key directory lists the new one; then
 * it promotes it (the old key is kept as signing.prev.json; the hub accepts it for a grace period).
 */
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { signRotationProof, type KeyDirectory, type KeyRotation } from '../../protocol/key-directory.ts';
import { encodePublicKey } from '../../protocol/keys.ts';
import { toBase64 } from '../../protocol/sodium.ts';
import { createKeyFile, readKeyFile, type Identity } from '../../engine/identity.ts';

const NEXT = 'keys/signing.next.json';
const PREV = 'keys/signing.prev.json';

/** Create the next key and the announcement payload. Refuses while a rotation is pending. */
export function prepareRotation(dir: string, nodeId: string): KeyRotation {
  const file = join(dir, NEXT);
  if (existsSync(file)) throw new Error('a key rotation is already pending: wait until the hub confirms it (jilian node status)');
  const next = createKeyFile(file);
  const newSigningKey = encodePublicKey(next.publicKey);
  return { newSigningKey, proof: toBase64(signRotationProof(nodeId, newSigningKey, next.secretKey)) };
}

/** If the directory lists our pending key as current, switch to it. Returns true when it did. */
export function promoteIfAnnounced(dir: string, keyFile: string, directory: KeyDirectory, identity: Identity): boolean {
  const nextFile = join(dir, NEXT);
  if (!existsSync(nextFile)) return false;
  const next = readKeyFile(nextFile);
  const me = directory.nodes.find((n) => n.nodeId === identity.nodeId);
  if (!me || me.signingKey !== encodePublicKey(next.publicKey)) return false;
  renameSync(join(dir, keyFile), join(dir, PREV));
  renameSync(nextFile, join(dir, keyFile));
  identity.replaceKeys(next);
  return true;
}
