/**
 * @module Cascaded access, provider side: answers the hub's `access.forward` on
 * `jl.<muni>.serve.<county>.access`. The node decides on its own — the hub's routing is not trusted as
 * authorization: the grant must carry the hub's signature, name this county as provider and the
 * forwarded consumer as consumer, be valid by this node's clock, and be usable under the latest signed
 * revocation list this node holds (protocol/grant.ts FRESHNESS RULE), so expiry, revocation and
 * suspension hold while the hub is unreachable. Then the grant is applied to the front-end table
 * (projection, row filter, desensitization — serve.ts), the answer is sealed to the consumer's key and
 * signed by this node. Every answer and every refusal is audited (`data.provide` / `access.denied`).
 * The NATS subscription is node/bus/access-transport.ts.
 */
import { verifyEnvelope } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { checkGrantUsable, verifyGrant, type Grant } from '../../protocol/grant.ts';
import { askedItems, type AccessForward } from '../../protocol/sharing-messages.ts';
import { fromBase64, sealBox, toBase64 } from '../../protocol/sodium.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { GroupCommit } from '../../engine/storage/group-commit.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError, errorReply, isDomainError } from '../../engine/errors.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import { getTable } from '../staging/table-schema.ts';
import { GrantRateLimiter } from './rate-limit.ts';
import { executeQuery, executeVerify } from './serve.ts';
import type { NodeSharing } from './node-sharing.ts';

export interface AccessServerDeps {
  db: Db;
  sharing: NodeSharing;
  identity: Identity;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  municipality: string;
  county: string;
  hubId: string;
  hubKeys: () => Uint8Array[];
  /** How old the revocation list may be (protocol/grant.ts; default 24 h). */
  maxRevocationAgeMs?: number;
  /** Audit records of concurrent accesses share one commit (engine/group-commit.ts). */
  commits: GroupCommit;
}

export class AccessServer {
  private readonly limiter: GrantRateLimiter;
  private readonly grantCache = new Map<string, { grant: Grant; signed: string; until: number }>();
  served = 0;

  constructor(private readonly d: AccessServerDeps) {
    this.limiter = new GrantRateLimiter(d.clock);
  }

  /**
   * One `access.forward` (from node/bus/access-transport.ts, or tests that drive the provider without a
   * hub): the reply bytes (a signed envelope), once audited durably.
   */
  async answer(bytes: Uint8Array): Promise<Uint8Array> {
    let f: AccessForward | null = null;
    let grant: Grant | null = null;
    try {
      const env = verifyEnvelope(bytes, (id) => (id === this.d.hubId ? this.d.hubKeys() : undefined));
      if (env.type !== 'access.forward') throw new ProtocolError('MESSAGE_UNKNOWN_TYPE', `${env.type} is not an access.forward`);
      f = env.payload;
      grant = this.verified(f.grant);
      const req = f.request;
      if (grant.grantId !== req.grantId) throw new AppError('GRANT_WRONG_RESOURCE', '请求与授权不符', 'the request names another grant');
      if (grant.provider.county !== this.d.county) throw new AppError('GRANT_WRONG_RESOURCE', `授权的提供方不是本区县`, `the grant's provider is not this county`);
      if (grant.consumer.department !== req.actor.department) throw new AppError('GRANT_WRONG_CONSUMER', '使用部门与授权不符', 'the requesting department is not the grant’s consumer');
      const ask = req.ask;
      const held = this.d.sharing.revocations();
      const usable = checkGrantUsable(grant, {
        now: this.d.clock.now(),
        revocations: held?.list ?? null,
        method: ask.method,
        items: askedItems(ask, grant.items),
        consumerNodeId: f.consumer.nodeId,
        resource: grant.resource,
        ...(this.d.maxRevocationAgeMs !== undefined ? { maxRevocationAgeMs: this.d.maxRevocationAgeMs } : {}),
      });
      if (!usable.ok) throw new AppError(usable.code, usable.zh, usable.en);
      if (ask.method === 'verify' && !this.limiter.take(grant.grantId, grant.verifyRatePerMinute)) {
        throw new AppError(
          'RATE_LIMITED',
          `授权 ${grant.grantId} 的核验次数超过每分钟 ${grant.verifyRatePerMinute} 次`,
          `grant ${grant.grantId} exceeded ${grant.verifyRatePerMinute} verifications per minute`,
        );
      }
      const table = getTable(this.d.db, grant.resource);
      if (!table) throw new AppError('NOT_FOUND', `资源 ${grant.resource} 没有前置库数据`, `resource ${grant.resource} has no front-end data`);
      const result = ask.method === 'query' ? executeQuery(this.d.db, table, grant, ask) : executeVerify(this.d.db, table, grant, ask);
      const sealed = sealBox(new TextEncoder().encode(JSON.stringify(result)), fromBase64(f.consumer.boxKey));
      const g = grant;
      await this.d.commits.run(() =>
        this.d.audit.append({
          actor: req.actor.id,
          actorRole: 'consumer',
          department: req.actor.department,
          action: 'data.provide',
          resource: g.resource,
          result: 'ok',
          detail: {
            grantId: g.grantId,
            requestId: req.requestId,
            method: ask.method,
            consumer: f!.consumer.nodeId,
            ...('rows' in result ? { rows: result.rows.length, items: result.items } : { items: Object.keys(ask.method === 'verify' ? ask.claims : {}) }),
          },
        }),
      );
      this.served++;
      return this.d.identity.seal(
        'access.answer',
        Date.now(),
        { requestId: req.requestId, grantId: grant.grantId, sealed: toBase64(sealed), source: 'provider', packageVersion: null, packageAgeSeconds: null },
        this.d.clock.now(),
      );
    } catch (err) {
      const e = errorReply(err);
      if (!isDomainError(err)) this.d.log.error({ event: 'access.error', err: String(err) }, 'access failed');
      const fw = f;
      const resource = grant?.resource ?? f?.request.grantId ?? 'unknown';
      await this.d.commits
        .run(() =>
          this.d.audit.append({
            actor: fw?.request.actor.id ?? 'unknown',
            actorRole: 'consumer',
            ...(fw ? { department: fw.request.actor.department } : {}),
            action: 'access.denied',
            resource,
            result: 'denied',
            detail: { code: e.code, grantId: fw?.request.grantId ?? null, requestId: fw?.request.requestId ?? null, consumer: fw?.consumer.nodeId ?? null },
          }),
        )
        .catch((err) => this.d.log.error({ event: 'access.audit_failed', err: String(err) }, 'could not audit a refused access'));
      return this.d.identity.seal('error', Date.now(), e, this.d.clock.now());
    }
  }

  /**
   * verifyGrant, remembered per signature for a few minutes: the same grant arrives with every access,
   * and an Ed25519 verification is most of a small query's CPU. The hub key set is part of the key.
   */
  private verified(signed: AccessForward['grant']): Grant {
    const keys = this.d.hubKeys();
    const key = `${signed.signature}|${keys.map((k) => Buffer.from(k).toString('base64')).join(',')}`;
    const hit = this.grantCache.get(key);
    const now = Date.now();
    if (hit && hit.until > now && canonicalEqual(hit.signed, signed)) return hit.grant;
    const grant = verifyGrant(signed, keys, { issuer: this.d.hubId });
    if (this.grantCache.size >= 10_000) this.grantCache.clear();
    this.grantCache.set(key, { grant, signed: JSON.stringify(signed.grant), until: now + 300_000 });
    return grant;
  }
}

/** The cached grant text equals the presented one (a signature only ever verifies for one text, but be exact). */
function canonicalEqual(cachedJson: string, signed: AccessForward['grant']): boolean {
  return cachedJson === JSON.stringify(signed.grant);
}
