/** @module Shared steps of `init`: a private data directory, a fresh signing key, a random Yjs client id. */
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodePublicKey } from '../../protocol/keys.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { configPath } from './config-file.ts';
import { createBoxKeyFile, createKeyFile } from '../identity.ts';

/** Create the directory layout and key; refuses to touch an already initialised directory. */
export async function prepareDataDir(dir: string, keyFile: string, encryptionKeyFile = 'keys/encryption.json'): Promise<{ publicKey: string; encryptionKey: string; yjsClientId: number }> {
  if (existsSync(configPath(dir))) throw new Error(`${configPath(dir)} already exists: this directory is already initialised`);
  await loadSodium();
  mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  const keys = createKeyFile(join(dir, keyFile));
  const box = createBoxKeyFile(join(dir, encryptionKeyFile));
  return { publicKey: encodePublicKey(keys.publicKey), encryptionKey: encodePublicKey(box.publicKey), yjsClientId: randomInt(1, 0x7fffffff) };
}
