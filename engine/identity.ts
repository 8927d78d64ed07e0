/**
 * @module A node's signing identity on disk. The key file is created 0600 and never logged; only
 * the public key ever leaves the process.
 */
import { scryptSync } from 'node:crypto';
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

/**
 * Passphrase for encrypting key files at rest, from the environment (never from a config file or a
 * command-line argument, which other users of the machine could read). Unset = plain 0600 files.
 */
export const KEY_PASSPHRASE_ENV = 'JILIAN_KEY_PASSPHRASE';

interface KeyFileJson {
  alg: string;
  publicKey: string;
  secretKey?: string;
  /** Present when encrypted: scrypt(passphrase, salt) → key for XSalsa20-Poly1305 secretbox. */
  sealed?: { kdf: 'scrypt'; N: number; r: number; p: number; salt: string; nonce: string; box: string };
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1 };

function passphraseKey(passphrase: string, salt: Uint8Array, params: { N: number; r: number; p: number }): Uint8Array {
  return new Uint8Array(scryptSync(passphrase, salt, 32, { ...params, maxmem: 128 * params.N * params.r * 2 }));
}

/** Write a key file, 0600, encrypted when JILIAN_KEY_PASSPHRASE is set; refuses to overwrite. */
function writeKeyFile(file: string, alg: string, publicKey: Uint8Array, secretKey: Uint8Array): void {
  if (existsSync(file)) throw new Error(`key file ${file} already exists; refusing to overwrite it`);
  const passphrase = process.env[KEY_PASSPHRASE_ENV];
  const json: KeyFileJson = { alg, publicKey: toBase64(publicKey) };
  if (passphrase) {
    const s = sodium();
    const salt = s.randombytes_buf(16);
    const nonce = s.randombytes_buf(s.crypto_secretbox_NONCEBYTES);
    const box = s.crypto_secretbox_easy(secretKey, nonce, passphraseKey(passphrase, salt, SCRYPT));
    json.sealed = { kdf: 'scrypt', ...SCRYPT, salt: toBase64(salt), nonce: toBase64(nonce), box: toBase64(box) };
  } else {
    json.secretKey = toBase64(secretKey);
  }
  writeFileSync(file, JSON.stringify(json) + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
}

/** Write a new signing key file (refuses to overwrite an existing one). */
export function createKeyFile(file: string): SigningKeyPair {
  const keys = generateSigningKeyPair();
  writeKeyFile(file, 'ed25519', keys.publicKey, keys.secretKey);
  return keys;
}

/** Read a key file; refuses one that group or others can read, and an encrypted one without the passphrase. */
export function readKeyFile(file: string): SigningKeyPair {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new Error(`key file ${file} has mode ${mode.toString(8)}; it must be readable by its owner only (chmod 600)`);
  const json = JSON.parse(readFileSync(file, 'utf8')) as KeyFileJson;
  if (!json.sealed) return { publicKey: fromBase64(json.publicKey), secretKey: fromBase64(json.secretKey!) };
  const passphrase = process.env[KEY_PASSPHRASE_ENV];
  if (!passphrase) throw new Error(`key file ${file} is encrypted: set ${KEY_PASSPHRASE_ENV} / 密钥文件已加密，请设置环境变量 ${KEY_PASSPHRASE_ENV}`);
  const { N, r, p, salt, nonce, box } = json.sealed;
  let secretKey: Uint8Array;
  try {
    secretKey = sodium().crypto_secretbox_open_easy(fromBase64(box), fromBase64(nonce), passphraseKey(passphrase, fromBase64(salt), { N, r, p }));
  } catch {
    throw new Error(`wrong passphrase for key file ${file} / 密钥文件口令错误`);
  }
  return { publicKey: fromBase64(json.publicKey), secretKey };
}

/** X25519 key pair for sealed boxes (data packages are sealed to it). Same file rules as the signing key. */
export interface BoxKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export function createBoxKeyFile(file: string): BoxKeyPair {
  const kp = sodium().crypto_box_keypair();
  writeKeyFile(file, 'x25519', kp.publicKey, kp.privateKey);
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

export function readBoxKeyFile(file: string): BoxKeyPair {
  return readKeyFile(file);
}
