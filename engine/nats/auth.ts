/**
 * @module NATS credentials of a hub or node: one nkey user each (PROTOCOL.md §4). The seed file is
 * created 0600 and never logged; only the public key ('U…') goes into the hub's nats-server config.
 * This is the first wall; envelope signatures (engine/identity.ts) stay the second.
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { nkeyAuthenticator, nkeys, type ConnectionOptions } from '@nats-io/transport-node';

/** A user nkey: 'SU…' seed (secret) and 'U…' public key. */
export interface NkeyUser {
  seed: string;
  publicKey: string;
}

const USER_SEED_RE = /^SU[A-Z2-7]{56}$/;
/** A user public nkey as nats-server's `authorization.users[].nkey` expects it. */
export const USER_NKEY_RE = /^U[A-Z2-7]{55}$/;

export function generateNkeyUser(): NkeyUser {
  const kp = nkeys.createUser();
  const user = { seed: new TextDecoder().decode(kp.getSeed()), publicKey: kp.getPublicKey() };
  kp.clear();
  return user;
}

/** The public key of a user seed; throws if the text is not a valid user seed (checksum included). */
export function publicKeyOfSeed(seed: string): string {
  if (!USER_SEED_RE.test(seed)) throw new Error('not an nkey user seed (expected "SU…", 58 characters)');
  const kp = nkeys.fromSeed(new TextEncoder().encode(seed));
  const publicKey = kp.getPublicKey();
  kp.clear();
  return publicKey;
}

/** Write a new seed file, mode 0600 (refuses to overwrite an existing one). */
export function writeSeedFile(file: string, seed: string): void {
  publicKeyOfSeed(seed);
  writeFileSync(file, seed + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
}

/** Read a seed file; refuses one that group or others can read, or that holds no valid user seed. */
export function readSeedFile(file: string): string {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new Error(`seed file ${file} has mode ${mode.toString(8)}; it must be readable by its owner only (chmod 600)`);
  const seed = readFileSync(file, 'utf8').trim();
  try {
    publicKeyOfSeed(seed);
  } catch (err) {
    throw new Error(`seed file ${file}: ${(err as Error).message}`);
  }
  return seed;
}

/**
 * A node's reply-subject prefix. Its nats user may subscribe to `<prefix>.>` only, so no county can
 * read another's request replies, pull-consumer deliveries or publish acks.
 */
export function nodeInboxPrefix(nodeId: string): string {
  return `_INBOX_${nodeId}`;
}

/**
 * What to spread into nats.js `connect()` to log in as this nkey user. The seed is held in a
 * closure, never in the options object (which nats.js may log or expose).
 */
export function nkeyConnectOptions(seed: string, inboxPrefix?: string): Pick<ConnectionOptions, 'authenticator' | 'inboxPrefix'> {
  publicKeyOfSeed(seed);
  // A fresh copy per (re)connect: nats.js may keep or zero the bytes it is given.
  return { authenticator: nkeyAuthenticator(() => new TextEncoder().encode(seed)), ...(inboxPrefix ? { inboxPrefix } : {}) };
}
