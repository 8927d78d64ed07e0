/**
 * @module `jilian node enroll <hub> <token>`: create the node's keys (Ed25519 signing, X25519
 * encryption, NATS user nkey), register their public halves with the hub using a one-time join
 * token, and write the configuration from the hub's answer. Private keys never leave the directory.
 */
import { join } from 'node:path';
import { EnrollResponse, signEnrollProof, type EnrollRequest } from '../protocol/enrollment.ts';
import { toBase64 } from '../protocol/sodium.ts';
import { CliError, fetchOrExplain, parseHttpUrl } from '../engine/cli/support.ts';
import { isErrorCode } from '../engine/errors.ts';
import { assertNotInitialised, checkConfig, undoNewFiles, writeConfig } from '../engine/cli/config-file.ts';
import { readKeyFile } from '../engine/identity.ts';
import { prepareDataDir } from '../engine/cli/init-dir.ts';
import { generateNkeyUser, writeSeedFile } from '../engine/nats/auth.ts';
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

/** What `jilian hub token create` prints: `jlj_` and 32 random bytes in base64url. */
const JOIN_TOKEN_RE = /^jlj_[A-Za-z0-9_-]{43}$/;

/** Refuse a token that cannot be one (cut short, extra characters, an account token) before anything is written. */
export function checkJoinToken(token: string): void {
  if (JOIN_TOKEN_RE.test(token)) return;
  const hint = /^jl_/.test(token)
    ? { zh: '这是账号令牌（jl_…），不是加入令牌（jlj_…）', en: 'this is an account token (jl_…), not a join token (jlj_…)' }
    : { zh: '请完整复制 jilian hub token create 输出的令牌', en: 'copy the whole token printed by jilian hub token create' };
  throw new CliError(
    'TOKEN_MALFORMED',
    `加入令牌格式不正确：应为 jlj_ 开头、共 47 个字符（收到 ${token.length} 个）；${hint.zh}`,
    `join token is malformed: expected 47 characters starting with jlj_ (got ${token.length}); ${hint.en}`,
  );
}

export async function enrollNode(dir: string, o: EnrollOptions): Promise<{ config: NodeConfig; publicKey: string }> {
  // Everything that can be checked here is checked before a file is written or the token is spent.
  const hubUrl = parseHttpUrl(o.hubUrl, { zh: '市级枢纽地址', en: 'the hub address' });
  checkJoinToken(o.token);
  const nodeId = o.nodeId ?? `county-${o.county}`;
  const keyFile = 'keys/signing.json';
  const draft = (hub: { nodeId: string; publicKey: string; encryptionKey: string }, municipality: string, nats: string[], yjsClientId: number) => ({
    role: 'node',
    nodeId,
    county: o.county,
    countyName: o.countyName,
    municipality,
    nats,
    natsSeedFile: NATS_SEED_FILE,
    http: { host: o.httpHost ?? '127.0.0.1', port: o.httpPort },
    hub,
    keyFile,
    yjsClientId,
  });
  checkConfig(NodeConfig, draft({ nodeId: 'hub-100000', publicKey: 'x', encryptionKey: 'x' }, '100000', ['nats://x'], 1));
  assertNotInitialised(dir);
  const undo = undoNewFiles(dir);
  try {
    const { publicKey, encryptionKey, yjsClientId } = await prepareDataDir(dir, keyFile);
    const nats = generateNkeyUser();
    writeSeedFile(join(dir, NATS_SEED_FILE), nats.seed);
    const fields = { token: o.token, nodeId, county: o.county, encryptionKey, natsNkey: nats.publicKey };
    const request: EnrollRequest = {
      ...fields,
      countyName: o.countyName,
      signingKey: publicKey,
      proof: toBase64(signEnrollProof(fields, readKeyFile(join(dir, keyFile)).secretKey)),
    };
    const url = new URL('/api/v1/enroll', hubUrl);
    const res = await fetchOrExplain(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json().catch(() => null)) as { error?: { code: string; message: { 'zh-CN': string; en: string } } } | null;
    if (!res.ok) {
      const e = body?.error;
      if (e?.code && e.message?.['zh-CN'] && e.message.en) throw new CliError(isErrorCode(e.code) ? e.code : 'INTERNAL', e.message['zh-CN'], e.message.en);
      throw new CliError(
        'HUB_ANSWER_INVALID',
        `${url.origin} 答复 HTTP ${res.status}：该地址可能不是 jilian 市级枢纽`,
        `${url.origin} answered HTTP ${res.status}: is this the address of a jilian hub?`,
      );
    }
    const answer = EnrollResponse.safeParse(body);
    if (!answer.success) {
      throw new CliError(
        'HUB_ANSWER_INVALID',
        `${url.origin} 的答复不是有效的加入结果：该地址可能不是 jilian 市级枢纽，或版本不兼容`,
        `${url.origin} did not answer with a valid enrollment: not a jilian hub, or an incompatible version`,
      );
    }
    const a = answer.data;
    const config = NodeConfig.parse(draft({ nodeId: a.hub.nodeId, publicKey: a.hub.signingKey, encryptionKey: a.hub.encryptionKey }, a.municipality, a.nats, yjsClientId));
    writeConfig(dir, config);
    return { config, publicKey };
  } catch (err) {
    // Leave nothing behind (only what this command created), so the administrator can simply retry.
    undo();
    throw err;
  }
}
