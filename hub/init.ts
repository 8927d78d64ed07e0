/** @module `jilian hub init`: write the hub's config and signing key, and create the first operator. */
import { join } from 'node:path';
import { writeConfig } from '../engine/config-file.ts';
import { openDatabase } from '../engine/db.ts';
import { prepareDataDir } from '../engine/init-dir.ts';
import { HubConfig } from './config.ts';
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
}

export async function initHub(dir: string, o: HubInitOptions): Promise<{ config: HubConfig; publicKey: string; operatorToken: string }> {
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
  const { publicKey, yjsClientId } = await prepareDataDir(dir, keyFile);
  const config = HubConfig.parse({ ...draft, yjsClientId });
  writeConfig(dir, config);
  const db = openDatabase(join(dir, config.database), HUB_MIGRATIONS);
  const operatorToken = new OperatorStore(db).issue(o.operator ?? 'admin', new Date());
  db.close();
  return { config, publicKey, operatorToken };
}
