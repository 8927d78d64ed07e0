/** @module libsodium loader: one awaited initialisation, then synchronous use everywhere. */
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
