/** @module `jilian node init`: write a county node's config and signing key into a data directory. */
import { assertNotInitialised, checkConfig, undoNewFiles, writeConfig } from '../engine/cli/config-file.ts';
import { prepareDataDir } from '../engine/cli/init-dir.ts';
import { NodeConfig } from './config.ts';
import { join } from 'node:path';
import { generateNkeyUser, writeSeedFile } from '../engine/nats/auth.ts';

export const NATS_SEED_FILE = 'keys/nats.seed';

export interface NodeInitOptions {
  county: string;
  countyName: string;
  municipality: string;
  nats: string[];
  httpPort: number;
  httpHost?: string;
  hubId: string;
  hubKey: string;
  /** The hub's X25519 key (data packages are sealed to it); enrollment fills it in. */
  hubEncryptionKey?: string;
  nodeId?: string;
  antiEntropyMs?: number;
  /** Also create a NATS user nkey (keys/nats.seed) and log in with it. */
  natsSeed?: boolean;
}

/** Returns the config written and the node's public key (to register at the hub). */
export async function initNode(dir: string, o: NodeInitOptions): Promise<{ config: NodeConfig; publicKey: string; encryptionKey: string; natsNkey: string | null }> {
  const keyFile = 'keys/signing.json';
  const draft = {
    role: 'node',
    nodeId: o.nodeId ?? `county-${o.county}`,
    county: o.county,
    countyName: o.countyName,
    municipality: o.municipality,
    nats: o.nats,
    http: { host: o.httpHost ?? '127.0.0.1', port: o.httpPort },
    hub: { nodeId: o.hubId, publicKey: o.hubKey, ...(o.hubEncryptionKey ? { encryptionKey: o.hubEncryptionKey } : {}) },
    database: 'jilian.db',
    keyFile,
    yjsClientId: 1,
    antiEntropyMs: o.antiEntropyMs ?? 30_000,
  };
  checkConfig(NodeConfig, draft); // fail before creating any file
  assertNotInitialised(dir);
  const undo = undoNewFiles(dir);
  try {
    const { publicKey, encryptionKey, yjsClientId } = await prepareDataDir(dir, keyFile);
    let natsNkey: string | null = null;
    if (o.natsSeed) {
      const user = generateNkeyUser();
      writeSeedFile(join(dir, NATS_SEED_FILE), user.seed);
      natsNkey = user.publicKey;
    }
    const config = NodeConfig.parse({ ...draft, yjsClientId, ...(o.natsSeed ? { natsSeedFile: NATS_SEED_FILE } : {}) });
    writeConfig(dir, config);
    return { config, publicKey, encryptionKey, natsNkey };
  } catch (err) {
    undo(); // a failed init leaves the directory as it was
    throw err;
  }
}
