/** @module `jilian node init`: write a county node's config and signing key into a data directory. */
import { writeConfig } from '../engine/config-file.ts';
import { prepareDataDir } from '../engine/init-dir.ts';
import { NodeConfig } from './config.ts';

export interface NodeInitOptions {
  county: string;
  countyName: string;
  municipality: string;
  nats: string[];
  httpPort: number;
  httpHost?: string;
  hubId: string;
  hubKey: string;
  nodeId?: string;
  antiEntropyMs?: number;
}

/** Returns the config written and the node's public key (to register at the hub). */
export async function initNode(dir: string, o: NodeInitOptions): Promise<{ config: NodeConfig; publicKey: string }> {
  const keyFile = 'keys/signing.json';
  const draft = {
    role: 'node',
    nodeId: o.nodeId ?? `county-${o.county}`,
    county: o.county,
    countyName: o.countyName,
    municipality: o.municipality,
    nats: o.nats,
    http: { host: o.httpHost ?? '127.0.0.1', port: o.httpPort },
    hub: { nodeId: o.hubId, publicKey: o.hubKey },
    database: 'jilian.db',
    keyFile,
    yjsClientId: 1,
    antiEntropyMs: o.antiEntropyMs ?? 30_000,
  };
  NodeConfig.parse(draft); // fail before creating any file
  const { publicKey, yjsClientId } = await prepareDataDir(dir, keyFile);
  const config = NodeConfig.parse({ ...draft, yjsClientId });
  writeConfig(dir, config);
  return { config, publicKey };
}
