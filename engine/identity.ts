/**
 * @module A node's signing identity on disk. The key file is created 0600 and never logged; only
 * the public key ever leaves the process.
 */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { encodeEnvelope, type Envelope } from '../protocol/envelope.ts';
import { encodePublicKey, generateSigningKeyPair, type SigningKeyPair } from '../protocol/keys.ts';
import type { MessageType, PayloadOf } from '../protocol/messages.ts';
import { fromBase64, sodium, toBase64 } from '../protocol/sodium.ts';

export class Identity {
  constructor(
    readonly nodeId: string,
    private keys: SigningKeyPair,
  ) {}

  /** Switch to a rotated key (after the hub confirmed it); later seals use the new key. */
  replaceKeys(keys: SigningKeyPair): void {
    this.keys = keys;
  }

  get publicKey(): string {
    return encodePublicKey(this.keys.publicKey);
  }

  get publicKeyBytes(): Uint8Array {
    return this.keys.publicKey;
  }

  /** Detached Ed25519 signature (audit checkpoints); the key never leaves this object. */
  signDetached(message: Uint8Array): Uint8Array {
    return sodium().crypto_sign_detached(message, this.keys.secretKey);
  }

  /** Sign and encode one message. */
  seal<T extends MessageType>(type: T, seq: number, payload: PayloadOf<T>, now: Date): Uint8Array {
    const env: Envelope<T> = { type, from: this.nodeId, seq, ts: now.toISOString(), payload };
    return encodeEnvelope(env, this.keys.secretKey);
  }

  /** Do not print: keeps the secret out of accidental logs and JSON.stringify. */
  toJSON(): { nodeId: string; publicKey: string } {
    return { nodeId: this.nodeId, publicKey: this.publicKey };
  }
}

/** Write a new key file (refuses to overwrite an existing one). */
export function createKeyFile(file: string): SigningKeyPair {
  if (existsSync(file)) throw new Error(`key file ${file} already exists; refusing to overwrite it`);
  const keys = generateSigningKeyPair();
  writeFileSync(file, JSON.stringify({ alg: 'ed25519', publicKey: toBase64(keys.publicKey), secretKey: toBase64(keys.secretKey) }) + '\n', {
    mode: 0o600,
    flag: 'wx',
  });
  chmodSync(file, 0o600);
  return keys;
}

/** Read a key file; refuses one that group or others can read. */
export function readKeyFile(file: string): SigningKeyPair {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new Error(`key file ${file} has mode ${mode.toString(8)}; it must be readable by its owner only (chmod 600)`);
  const json = JSON.parse(readFileSync(file, 'utf8')) as { publicKey: string; secretKey: string };
  return { publicKey: fromBase64(json.publicKey), secretKey: fromBase64(json.secretKey) };
}

/** X25519 key pair for sealed boxes (data packages are sealed to it). Same file rules as the signing key. */
export interface BoxKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export function createBoxKeyFile(file: string): BoxKeyPair {
  if (existsSync(file)) throw new Error(`key file ${file} already exists; refusing to overwrite it`);
  const kp = sodium().crypto_box_keypair();
  writeFileSync(file, JSON.stringify({ alg: 'x25519', publicKey: toBase64(kp.publicKey), secretKey: toBase64(kp.privateKey) }) + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

export function readBoxKeyFile(file: string): BoxKeyPair {
  return readKeyFile(file);
}
