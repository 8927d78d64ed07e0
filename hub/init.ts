/** @module `jilian hub init`: write the hub's config and signing key, and create the first operator. */
import { join } from 'node:path';
import { assertNotInitialised, checkConfig, undoNewFiles, writeConfig } from '../engine/cli/config-file.ts';
import { openDatabase } from '../engine/storage/db.ts';
import { prepareDataDir } from '../engine/cli/init-dir.ts';
import { HubConfig } from './config.ts';
import { generateNkeyUser, writeSeedFile } from '../engine/nats/auth.ts';
import { HUB_MIGRATIONS } from './storage/migrations.ts';
import { OperatorStore } from './storage/operators.ts';
import { userInfo } from 'node:os';
import { AuditLog } from '../engine/audit/log.ts';
import { systemClock } from '../engine/clock.ts';

export interface HubInitOptions {
  municipality: string;
  municipalityName: string;
  nats: string[];
  httpPort: number;
  httpHost?: string;
  nodeId?: string;
  codeTemplate?: string;
  streamCheckMs?: number;
  /** Name of the first account, a catalog reviewer (default `reviewer`, after its role). */
  operator?: string;
  /** Log in to NATS with the hub's nkey (true once nats-server runs the generated configuration). */
  natsAuth?: boolean;
}

export const HUB_NATS_SEED_FILE = 'keys/nats.seed';

/** The first hub account is a catalog reviewer, and is named after its role. */
export const FIRST_ACCOUNT = 'reviewer';

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
  checkConfig(HubConfig, draft);
  assertNotInitialised(dir);
  const undo = undoNewFiles(dir);
  try {
    const { publicKey, encryptionKey, yjsClientId } = await prepareDataDir(dir, keyFile);
    // The hub's own NATS user; used once the operator runs nats-server with `jilian hub nats-config`.
    writeSeedFile(join(dir, HUB_NATS_SEED_FILE), generateNkeyUser().seed);
    const config = HubConfig.parse({ ...draft, yjsClientId, ...(o.natsAuth ? { natsSeedFile: HUB_NATS_SEED_FILE } : {}) });
    writeConfig(dir, config);
    const db = openDatabase(join(dir, config.database), HUB_MIGRATIONS);
    try {
      const audit = new AuditLog(db, systemClock);
      const operatorToken = new OperatorStore(db).issue(o.operator ?? FIRST_ACCOUNT, new Date(), { audit, actor: `os:${userInfo().username}`, actorRole: 'os', via: 'init' });
      return { config, publicKey, encryptionKey, operatorToken };
    } finally {
      db.close();
    }
  } catch (err) {
    undo(); // a failed init leaves the directory as it was
    throw err;
  }
}
