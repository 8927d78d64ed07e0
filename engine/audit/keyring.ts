/**
 * @module What `audit verify` checks a data directory's log against: the public keys of its signing key
 * files (the current one and, after a rotation, the previous one) and the audit retention of its policy.
 * Only public keys are read (the key files store them in clear), so no passphrase is needed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePublicKey } from '../../protocol/keys.ts';
import { loadPolicy } from '../../protocol/policy.ts';
import { CONFIG_FILE } from '../cli/config-file.ts';

/** Where `node/keys/rotation.ts` keeps the key a rotation replaced. */
export const PREVIOUS_KEY_FILE = 'keys/signing.prev.json';
const DEFAULT_KEY_FILE = 'keys/signing.json';

/** Public keys of the signing key files present in `dir`: the current one, then the previous one. */
export function dataDirPublicKeys(dir: string, keyFile: string = DEFAULT_KEY_FILE): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (const file of [keyFile, PREVIOUS_KEY_FILE]) {
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    try {
      keys.push(decodePublicKey((JSON.parse(readFileSync(path, 'utf8')) as { publicKey: string }).publicKey));
    } catch (err) {
      throw new Error(`密钥文件 ${path} 中没有有效的公钥 / ${path} holds no valid public key: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return keys;
}

export interface AuditVerifyContext {
  /** Keys whose signatures count as the node's (or hub's). */
  keys: Uint8Array[];
  /** The policy's `auditRetentionDays` (R7), when the directory has a config. */
  retentionDays?: number;
}

/** Keys and retention from a node's or hub's data directory; without a config, just the default key files. */
export function dataDirAuditContext(dir: string): AuditVerifyContext {
  const configFile = join(dir, CONFIG_FILE);
  if (!existsSync(configFile)) return { keys: dataDirPublicKeys(dir) };
  const raw = JSON.parse(readFileSync(configFile, 'utf8')) as { keyFile?: unknown; policy?: unknown; policyOverrides?: unknown };
  const keyFile = typeof raw.keyFile === 'string' ? raw.keyFile : DEFAULT_KEY_FILE;
  const policy = loadPolicy(typeof raw.policy === 'string' ? raw.policy : 'jincheng', raw.policyOverrides);
  return { keys: dataDirPublicKeys(dir, keyFile), retentionDays: policy.auditRetentionDays };
}
