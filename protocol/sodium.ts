/** @module libsodium loader: one awaited initialisation, then synchronous use everywhere. */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import _sodium from 'libsodium-wrappers';

export type Sodium = typeof _sodium;

let loaded: Promise<Sodium> | undefined;

/** Resolve libsodium once it has compiled its WebAssembly. Call before any signing or hashing. */
export function loadSodium(): Promise<Sodium> {
  loaded ??= _sodium.ready.then(() => _sodium);
  return loaded;
}

/** The ready libsodium instance; throws if `loadSodium()` was never awaited. */
export function sodium(): Sodium {
  if (!_sodium.crypto_sign_detached) throw new Error('libsodium is not ready: await loadSodium() first');
  return _sodium;
}

/**
 * `n` random bytes from the operating system's CSPRNG (node:crypto). The WebAssembly build's
 * `randombytes_buf` asks its JS glue for one 32-bit word at a time (~60 µs for 32 bytes, measured),
 * which dominated a sealed answer's cost.
 */
export function randomBytes(n: number): Uint8Array {
  const b = nodeRandomBytes(n);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/**
 * libsodium's sealed box, byte for byte (`crypto_box_seal`: ephemeral X25519 key pair, nonce =
 * BLAKE2b-192(epk ‖ pk), output epk ‖ crypto_box_easy(m)), opened by `crypto_box_seal_open`. Built
 * from its parts only so the ephemeral key comes from `randomBytes` above; sodium.test.ts checks it
 * against libsodium's own open. The JS copies of the ephemeral keys are wiped; the wrapper's WebAssembly
 * heap copies are freed unwiped (as for every key passed through libsodium-wrappers) — they open only this
 * one message, whose plaintext the same heap held anyway.
 */
export function sealBox(message: Uint8Array, recipientPk: Uint8Array): Uint8Array {
  const s = sodium();
  if (recipientPk.length !== s.crypto_box_PUBLICKEYBYTES) throw new Error('a box public key has 32 bytes');
  const seed = randomBytes(s.crypto_box_SEEDBYTES);
  const eph = s.crypto_box_seed_keypair(seed);
  try {
    const both = new Uint8Array(64);
    both.set(eph.publicKey, 0);
    both.set(recipientPk, 32);
    const nonce = s.crypto_generichash(s.crypto_box_NONCEBYTES, both, null);
    const box = s.crypto_box_easy(message, nonce, recipientPk, eph.privateKey);
    const out = new Uint8Array(32 + box.length);
    out.set(eph.publicKey, 0);
    out.set(box, 32);
    return out;
  } finally {
    s.memzero(eph.privateKey);
    s.memzero(seed);
  }
}

/** Standard base64 with padding (RFC 4648 §4), the only base64 used on the wire. */
export function toBase64(bytes: Uint8Array): string {
  return sodium().to_base64(bytes, sodium().base64_variants.ORIGINAL);
}

/** Inverse of `toBase64`; throws on anything that is not canonical padded base64. */
export function fromBase64(text: string): Uint8Array {
  return sodium().from_base64(text, sodium().base64_variants.ORIGINAL);
}

/** Lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  return sodium().to_hex(bytes);
}
