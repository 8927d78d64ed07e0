/** @module `jilian hub init`: write the hub's config and signing key, and create the first operator. */
import { join } from 'node:path';
import { writeConfig } from '../engine/config-file.ts';
import { openDatabase } from '../engine/db.ts';
import { prepareDataDir } from '../engine/init-dir.ts';
import { HubConfig } from './config.ts';
import { generateNkeyUser, writeSeedFile } from '../engine/nats-auth.ts';
import { HUB_MIGRATIONS } from './storage/migrations.ts';
import { OperatorStore } from './storage/operators.ts';

export interface HubInitOptions {
  municipality: string;
  municipalityName: string;
  nats: string[];
  httpPort: number;
  httpHost?: string;
  nodeId?: string;
  codeTemplate?: string;
  streamCheckMs?: number;
  operator?: string;
  /** Log in to NATS with the hub's nkey (true once nats-server runs the generated configuration). */
  natsAuth?: boolean;
}

export const HUB_NATS_SEED_FILE = 'keys/nats.seed';

export async function initHub(dir: string, o: HubInitOptions): Promise<{ config: HubConfig; publicKey: string; encryptionKey: string; operatorToken: string }> {
  const keyFile = 'keys/signing.json';
  const draft = {
    role: 'hub',
    nodeId: o.nodeId ?? `hub-${o.municipality}`,
    municipality: o.municipality,
    municipalityName: o.municipalityName,
    nats: o.nats,
    http: { host: o.httpHost ?? '127.0.0.1', port: o.httpPort },
    database: 'hub.db',
    keyFile,
    yjsClientId: 1,
    ...(o.codeTemplate ? { codeTemplate: o.codeTemplate } : {}),
    ...(o.streamCheckMs ? { streamCheckMs: o.streamCheckMs } : {}),
  };
  HubConfig.parse(draft);
  const { publicKey, encryptionKey, yjsClientId } = await prepareDataDir(dir, keyFile);
  // The hub's own NATS user; used once the operator runs nats-server with `jilian hub nats-config`.
  writeSeedFile(join(dir, HUB_NATS_SEED_FILE), generateNkeyUser().seed);
  const config = HubConfig.parse({ ...draft, yjsClientId, ...(o.natsAuth ? { natsSeedFile: HUB_NATS_SEED_FILE } : {}) });
  writeConfig(dir, config);
  const db = openDatabase(join(dir, config.database), HUB_MIGRATIONS);
  const operatorToken = new OperatorStore(db).issue(o.operator ?? 'admin', new Date());
  db.close();
  return { config, publicKey, encryptionKey, operatorToken };
}
