/**
 * @module `jilian node enroll <hub> <token>`: create the node's keys (Ed25519 signing, X25519
 * encryption, NATS user nkey), register their public halves with the hub using a one-time join
 * token, and write the configuration from the hub's answer. Private keys never leave the directory.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { EnrollResponse, signEnrollProof, type EnrollRequest } from '../protocol/enrollment.ts';
import { toBase64 } from '../protocol/sodium.ts';
import { configPath, writeConfig } from '../engine/config-file.ts';
import { readKeyFile } from '../engine/identity.ts';
import { prepareDataDir } from '../engine/init-dir.ts';
import { generateNkeyUser, writeSeedFile } from '../engine/nats-auth.ts';
import { NodeConfig } from './config.ts';
import { NATS_SEED_FILE } from './init.ts';

export interface EnrollOptions {
  hubUrl: string;
  token: string;
  county: string;
  countyName: string;
  nodeId?: string;
  httpPort: number;
  httpHost?: string;
}


export async function enrollNode(dir: string, o: EnrollOptions): Promise<{ config: NodeConfig; publicKey: string }> {
  const nodeId = o.nodeId ?? `county-${o.county}`;
  const keyFile = 'keys/signing.json';
  const { publicKey, encryptionKey, yjsClientId } = await prepareDataDir(dir, keyFile);
  try {
    const nats = generateNkeyUser();
    writeSeedFile(join(dir, NATS_SEED_FILE), nats.seed);
    const fields = { token: o.token, nodeId, county: o.county, encryptionKey, natsNkey: nats.publicKey };
    const request: EnrollRequest = {
      ...fields,
      countyName: o.countyName,
      signingKey: publicKey,
      proof: toBase64(signEnrollProof(fields, readKeyFile(join(dir, keyFile)).secretKey)),
    };
    const res = await fetch(new URL('/api/v1/enroll', o.hubUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json().catch(() => null)) as { error?: { code: string; message: { 'zh-CN': string; en: string } } } | null;
    if (!res.ok) {
      const e = body?.error;
      throw new Error(e ? `${e.code}: ${e.message['zh-CN']} / ${e.message.en}` : `hub answered HTTP ${res.status}`);
    }
    const answer = EnrollResponse.parse(body);
    const config = NodeConfig.parse({
      role: 'node',
      nodeId,
      county: o.county,
      countyName: o.countyName,
      municipality: answer.municipality,
      nats: answer.nats,
      natsSeedFile: NATS_SEED_FILE,
      http: { host: o.httpHost ?? '127.0.0.1', port: o.httpPort },
      hub: { nodeId: answer.hub.nodeId, publicKey: answer.hub.signingKey, encryptionKey: answer.hub.encryptionKey },
      keyFile,
      yjsClientId,
    });
    writeConfig(dir, config);
    return { config, publicKey };
  } catch (err) {
    // Leave nothing behind, so the administrator can simply retry with a new token.
    rmSync(join(dir, 'keys'), { recursive: true, force: true });
    rmSync(configPath(dir), { force: true });
    throw err;
  }
}
