/** @module Ed25519 signing key pairs as they are stored and registered (base64 text). */
import { fromBase64, sodium, toBase64 } from './sodium.ts';

/** The accepted signing keys of a sender (several during a key rotation), or undefined when unknown. */
export type KeyLookup = (nodeId: string) => Uint8Array | readonly Uint8Array[] | undefined;

/** A node's signing identity. `secretKey` is the 64-byte libsodium form (seed ‖ public key). */
export interface SigningKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Generate a fresh Ed25519 key pair. */
export function generateSigningKeyPair(): SigningKeyPair {
  const kp = sodium().crypto_sign_keypair();
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

/** Derive the key pair from a 32-byte seed (used by test vectors). */
export function signingKeyPairFromSeed(seed: Uint8Array): SigningKeyPair {
  const kp = sodium().crypto_sign_seed_keypair(seed);
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

/** Public keys travel and are registered as base64 of the 32 raw bytes. */
export function encodePublicKey(key: Uint8Array): string {
  return toBase64(key);
}

/** Parse a registered public key; throws unless it is exactly 32 bytes. */
export function decodePublicKey(text: string): Uint8Array {
  const key = fromBase64(text.trim());
  if (key.length !== 32) throw new Error(`an Ed25519 public key has 32 bytes, got ${key.length}`);
  return key;
}
