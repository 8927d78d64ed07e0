/**
 * @module Cascaded access, consumer side: a department asks its own node to query or verify a resource
 * held elsewhere under a grant it holds. The node sends a signed `access.request` to the hub (core NATS
 * request/reply), checks that the answer is signed by the provider's node (key directory) or — for an
 * answer from packages — by the hub, opens the sealed result with its own X25519 key, audits the use
 * (`data.use`) and returns it. Bounded: no answer within `timeoutMs` is `HUB_UNREACHABLE`.
 *
 * A verification subject of an identifier item (citizen ID, credit code, by this node's copy of the
 * resource's catalog entry) is normalised and validated here with the import's check before anything is
 * sent (serve.ts `normalizeVerifyAsk`): an invalid number is VERIFY_SUBJECT_INVALID (400, `subject.value`),
 * not a misleading "not found". The provider checks again.
 */
import { verifyEnvelope } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { AccessQuery, AccessVerify, QueryResult, VerifyResult, type AccessAnswer, type AccessRequest } from '../../protocol/sharing-messages.ts';
import type { BoxKeys } from '../../protocol/data-package.ts';
import { fromBase64, sodium } from '../../protocol/sodium.ts';
import { rpcSubject } from '../../protocol/subjects.ts';
import { uuidv7 } from '../../protocol/uuid7.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { GroupCommit } from '../../engine/storage/group-commit.ts';
import type { Clock } from '../../engine/clock.ts';
import { AppError, fromErrorReply } from '../../engine/errors.ts';
import { validate } from '../../engine/validate.ts';
import type { Identity } from '../../engine/identity.ts';
import type { HubLink } from './hub-rpc.ts';
import type { KeyDirectoryStore } from '../keys/directory-store.ts';
import { normalizeVerifyAsk, type VerifyItem } from './serve.ts';
import type { NodeSharing, DeptActor } from './node-sharing.ts';

export interface AccessClientDeps {
  /** Request/reply to the hub (node/bus/hub-rpc.ts). */
  link: HubLink;
  sharing: NodeSharing;
  identity: Identity;
  boxKeys: BoxKeys;
  directory: KeyDirectoryStore;
  audit: AuditLog;
  clock: Clock;
  municipality: string;
  county: string;
  nodeId: string;
  hubId: string;
  hubKeys: () => Uint8Array[];
  /** Whole round trip through hub and provider (default 10 s; the hub gives the provider 5 s). */
  timeoutMs?: number;
  /** Audit records of concurrent accesses share one commit (engine/group-commit.ts). */
  commits: GroupCommit;
  /** Data items of a catalog entry as this node holds it (null if unknown): identifier subjects are checked against them. */
  resourceItems?: (entryId: string) => readonly VerifyItem[] | null;
}

export interface AccessOutcome<T> {
  grantId: string;
  requestId: string;
  source: AccessAnswer['source'];
  packageVersion: number | null;
  packageAgeSeconds: number | null;
  result: T;
}

export class AccessClient {
  constructor(private readonly d: AccessClientDeps) {}

  query(actor: DeptActor, grantId: string, body: unknown): Promise<AccessOutcome<QueryResult>> {
    const ask = validate(AccessQuery, { ...(body as object), method: 'query' });
    return this.ask(actor, grantId, ask, QueryResult);
  }

  verify(actor: DeptActor, grantId: string, body: unknown): Promise<AccessOutcome<VerifyResult>> {
    const typed = validate(AccessVerify, { ...(body as object), method: 'verify' });
    return this.ask(actor, grantId, typed, VerifyResult, (resource) => normalizeVerifyAsk(this.d.resourceItems?.(resource) ?? [], typed));
  }

  private async ask<T>(
    actor: DeptActor,
    grantId: string,
    typed: AccessRequest['ask'],
    schema: { parse(v: unknown): T },
    shape?: (resource: string) => AccessRequest['ask'],
  ): Promise<AccessOutcome<T>> {
    const signed = this.d.sharing.grant(grantId);
    // Only the department the grant names may use it, through the node it names.
    if (!signed || signed.grant.consumer.nodeId !== this.d.nodeId || signed.grant.consumer.department !== actor.department) {
      throw new AppError('GRANT_UNKNOWN', `本部门没有授权 ${grantId}`, `your department holds no grant ${grantId}`);
    }
    const g = signed.grant;
    const ask = shape ? shape(g.resource) : typed;
    const nc = this.d.link.connection;
    const req: AccessRequest = { requestId: uuidv7(), grantId, actor: { id: actor.id, department: actor.department }, ask };
    const auditUse = (result: 'ok' | 'denied' | 'failed', detail: Record<string, unknown>) =>
      this.d.commits.run(
        () =>
          void this.d.audit.append({
            actor: actor.id,
            actorRole: actor.role,
            department: actor.department,
            action: 'data.use',
            resource: g.resource,
            result,
            detail: { grantId, requestId: req.requestId, method: ask.method, provider: g.provider.county, ...detail },
          }),
      );
    if (!nc) {
      await auditUse('failed', { code: 'HUB_UNREACHABLE' });
      throw new AppError('HUB_UNREACHABLE', '与市级枢纽的连接中断，无法跨区县访问', 'not connected to the municipal hub; cascaded access is unavailable');
    }
    let bytes: Uint8Array;
    try {
      const msg = await nc.request(rpcSubject(this.d.municipality, this.d.county, 'access'), this.d.identity.seal('access.request', Date.now(), req, this.d.clock.now()), {
        timeout: this.d.timeoutMs ?? 10_000,
      });
      bytes = msg.data;
    } catch (err) {
      await auditUse('failed', { code: 'HUB_UNREACHABLE', err: String(err).slice(0, 200) });
      throw new AppError('HUB_UNREACHABLE', '市级枢纽未在时限内答复', 'the municipal hub did not answer in time');
    }
    const providerKeys = (id: string) => {
      if (id === this.d.hubId) return this.d.hubKeys();
      const node = this.d.directory.current()?.nodes.find((n) => n.nodeId === id);
      return node && node.county === g.provider.county ? this.d.directory.keysOf(id, this.d.clock.now()) : undefined;
    };
    let answer: AccessAnswer;
    let result: T;
    let answeredBy: string;
    try {
      const env = verifyEnvelope(bytes, providerKeys);
      answeredBy = env.from;
      if (env.type === 'error') throw fromErrorReply(env.payload);
      if (env.type !== 'access.answer') throw new ProtocolError('MESSAGE_UNKNOWN_TYPE', `unexpected answer ${env.type}`);
      answer = env.payload;
      // Live answers come from the provider's node; only package answers may come from the hub.
      if (answer.requestId !== req.requestId || answer.grantId !== grantId || (answer.source === 'provider') === (env.from === this.d.hubId)) {
        throw new ProtocolError('MESSAGE_INVALID', `answer from ${env.from} does not match the request`);
      }
      const plain = sodium().crypto_box_seal_open(fromBase64(answer.sealed), this.d.boxKeys.publicKey, this.d.boxKeys.secretKey);
      result = schema.parse(JSON.parse(new TextDecoder().decode(plain)));
    } catch (err) {
      // Every outcome is audited, also an answer that could not be trusted or opened.
      const code = err instanceof AppError || err instanceof ProtocolError ? err.code : 'ANSWER_INVALID';
      await auditUse(err instanceof AppError ? 'denied' : 'failed', { code });
      if (err instanceof AppError) throw err;
      throw new AppError('ANSWER_INVALID', '跨区县答复无法验证或解密', 'the cascaded answer could not be verified or opened');
    }
    await auditUse('ok', {
      source: answer.source,
      answeredBy,
      ...(answer.packageVersion !== null ? { packageVersion: answer.packageVersion } : {}),
      ...(ask.method === 'query' ? { rows: (result as QueryResult).rows.length } : {}),
    });
    return { grantId, requestId: req.requestId, source: answer.source, packageVersion: answer.packageVersion, packageAgeSeconds: answer.packageAgeSeconds, result };
  }
}
