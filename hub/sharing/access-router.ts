/**
 * @module Cascaded access, hub side (PROTOCOL.md §Sharing): a consumer node's `access.request` (core
 * NATS request on `jl.<muni>.rpc.<county>.access`) is checked against the grant (defence in depth — the
 * provider checks again, offline-capable) and forwarded as `access.forward` to the provider's node on
 * `jl.<muni>.serve.<county>.access`. The provider's signed, sealed `access.answer` is relayed byte for
 * byte, so the consumer verifies the provider's own signature and the hub never reads the data.
 *
 * Provider offline (no responder, or no answer within `forwardTimeoutMs`): a query under a grant that
 * also allows batch is answered from the hub's latest stored packages of the resource (snapshot plus
 * later deltas), with the grant's filter, projection and desensitization applied here, sealed to the
 * consumer and marked `hub_package` with the package version and age; anything else gets
 * `PROVIDER_OFFLINE`. Every routed access is audited (`data.use`, with the outcome).
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { verifyEnvelope, type Envelope } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { desensitizeRow, maskedFilterItems } from '../../protocol/desensitization.ts';
import { matchesFilter } from '../../protocol/row-filter.ts';
import { askedItems, type AccessQuery, type AccessRequest } from '../../protocol/sharing-messages.ts';
import type { DataItem } from '../../protocol/catalog-entry.ts';
import type { Grant, SignedGrant } from '../../protocol/grant.ts';
import type { PayloadOf } from '../../protocol/messages.ts';
import { fromBase64, sealBox, toBase64 } from '../../protocol/sodium.ts';
import { serveSubject } from '../../protocol/subjects.ts';
import type { BoxKeys } from '../../protocol/data-package.ts';
import { openPackage } from '../../engine/package/builder.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { GroupCommit } from '../../engine/storage/group-commit.ts';
import type { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError, errorReply, fromErrorReply, isDomainError } from '../../engine/errors.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import type { PackageReceiver } from '../packages/receiver.ts';
import { PackageStore, type ChainPackage } from '../packages/package-store.ts';
import type { NodeRegistry } from '../storage/registry.ts';
import type { RejectionLog } from '../bus/rejections.ts';
import { claimedSender } from '../bus/rejections.ts';
import type { SharingService } from './sharing-service.ts';

/** Rows a package fallback may hold while replaying snapshot + deltas (memory bound per request). */
const MAX_FALLBACK_MATCHES = 20_000;
/** Package fallbacks answered at once (each replays whole packages). */
const MAX_FALLBACKS = 2;

export interface AccessRouterDeps {
  db: Db;
  sharing: SharingService;
  registry: NodeRegistry;
  store: CatalogStore;
  packages: PackageReceiver;
  identity: Identity;
  hubBoxKeys: BoxKeys;
  audit: AuditLog;
  rejections: RejectionLog;
  clock: Clock;
  log: Logger;
  municipality: string;
  /** How long the provider has to answer before it counts as offline (default 5 s). */
  forwardTimeoutMs?: number;
  /** Audit records and last-use marks of concurrent accesses share one commit (engine/group-commit.ts). */
  commits: GroupCommit;
  /** The resource's stored packages for the offline fallback (default: the package store on `db`). */
  chain?: StoredChain;
}

/** What the router needs of the package store (hub/packages/package-store.ts). */
export interface StoredChain {
  /** The resource's own stored packages from its latest snapshot on, oldest first; empty without a snapshot. */
  ownChain(resource: string): ChainPackage[];
}

export class AccessRouter {
  private sub: Subscription | null = null;
  private nc: NatsConnection | null = null;
  routed = 0;
  private readonly chain: StoredChain;

  constructor(private readonly d: AccessRouterDeps) {
    this.chain = d.chain ?? new PackageStore(d.db);
  }

  listen(nc: NatsConnection): void {
    if (this.sub) return;
    this.nc = nc;
    this.sub = nc.subscribe(`jl.${this.d.municipality}.rpc.*.access`, {
      queue: 'hub',
      callback: (err, msg) => {
        if (!err) void this.onRequest(msg);
      },
    });
  }

  close(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }

  private async onRequest(msg: Msg): Promise<void> {
    let env: Envelope | null = null;
    let req: AccessRequest | null = null;
    try {
      env = verifyEnvelope(msg.data, (id) => this.d.registry.get(id)?.keys);
      const consumer = this.d.registry.get(env.from)!.node;
      if (msg.subject.split('.')[3] !== consumer.county) throw new ProtocolError('MESSAGE_WRONG_SUBJECT', `${env.from} (county ${consumer.county}) used ${msg.subject}`);
      if (env.type !== 'access.request') throw new ProtocolError('MESSAGE_UNKNOWN_TYPE', `${env.type} is not an access request`);
      req = env.payload as AccessRequest;
      const stored = this.d.sharing.grant(req.grantId);
      if (!stored) throw new AppError('GRANT_UNKNOWN', `没有授权 ${req.grantId}`, `no grant ${req.grantId}`);
      if (stored.grant.consumer.department !== req.actor.department) {
        throw new AppError('GRANT_WRONG_CONSUMER', `授权 ${req.grantId} 不属于部门 ${req.actor.department}`, `grant ${req.grantId} was not issued to department ${req.actor.department}`);
      }
      const signed = this.d.sharing.authorize(env.from, req.grantId, req.ask.method, askedItems(req.ask, stored.grant.items));
      if (!consumer.encryptionKey) throw new AppError('CONSUMER_KEY_MISSING', `${env.from} 没有登记加密公钥`, `${env.from} has no registered encryption key`);
      const { answer, source } = await this.route(req, signed, { nodeId: env.from, county: consumer.county, boxKey: consumer.encryptionKey });
      const from = env.from;
      const r = req;
      // Durable before the answer goes out: the routing record is never lost for a delivered answer.
      await this.d.commits.run(() => {
        this.d.sharing.recordUse(r.grantId);
        this.audit(from, r, signed.grant, 'ok', { source });
      });
      this.routed++;
      respond(msg, answer, this.d.log);
    } catch (err) {
      const e = errorReply(err);
      try {
        if (err instanceof ProtocolError) this.d.rejections.record(err, msg.subject, env?.from ?? claimedSender(err), this.d.clock.now());
        else if (!isDomainError(err)) this.d.log.error({ event: 'access.error', err: String(err) }, 'access routing failed');
      } catch (recordErr) {
        this.d.log.error({ event: 'access.error', err: String(recordErr) }, 'could not record a refused access');
      }
      if (env && req) {
        const from = env.from;
        const r = req;
        await this.d.commits
          .run(() => this.audit(from, r, this.d.sharing.grant(r.grantId)?.grant ?? null, 'denied', { code: e.code }))
          .catch((err) => this.d.log.error({ event: 'access.audit_failed', err: String(err) }, 'could not audit a refused access'));
      }
      respond(msg, this.d.identity.seal('error', Date.now(), e, this.d.clock.now()), this.d.log);
    }
  }

  /** Forward to the provider; relay its answer or, when it is offline, answer from packages if allowed. */
  private async route(req: AccessRequest, signed: SignedGrant, consumer: { nodeId: string; county: string; boxKey: string }): Promise<{ answer: Uint8Array; source: string }> {
    const g = signed.grant;
    const nc = this.nc!;
    const forward = this.d.identity.seal('access.forward', Date.now(), { request: req, grant: signed, consumer }, this.d.clock.now());
    let reply: Msg | null = null;
    try {
      reply = await nc.request(serveSubject(this.d.municipality, g.provider.county, 'access'), forward, { timeout: this.d.forwardTimeoutMs ?? 5_000 });
    } catch (err) {
      this.d.log.warn({ event: 'access.provider_offline', county: g.provider.county, err: String(err) }, 'provider did not answer');
    }
    if (reply) {
      // Only a registered node of the provider's county may answer; its envelope goes on unchanged.
      const env = verifyEnvelope(reply.data, (id) => {
        const r = this.d.registry.get(id);
        return r && r.node.county === g.provider.county ? r.keys : undefined;
      });
      if (env.type === 'error') throw fromErrorReply(env.payload as PayloadOf<'error'>);
      if (env.type !== 'access.answer') throw new ProtocolError('MESSAGE_UNKNOWN_TYPE', `provider answered ${env.type}`);
      return { answer: reply.data, source: 'provider' };
    }
    if (req.ask.method === 'query' && g.methods.includes('batch')) {
      // The provider's rule, applied here too: prefix or range conditions on a desensitized item would
      // recover its value a character at a time (node/sharing/serve.ts FILTER_ITEM_MASKED).
      const masked = maskedFilterItems(req.ask.where, g.desensitization);
      if (masked.length) {
        throw new AppError(
          'FILTER_ITEM_MASKED',
          `信息项 ${masked.join('、')} 须脱敏，查询条件不得对其使用前缀或范围比较`,
          `data items ${masked.join(', ')} are desensitized: no prefix or range conditions on them`,
        );
      }
      const fromPackage = await this.answerFromPackages(req, req.ask, g, consumer.boxKey).catch((err) => {
        this.d.log.warn({ event: 'access.package_fallback_failed', resource: g.resource, err: String(err) }, 'could not answer from packages');
        return null;
      });
      if (fromPackage) return { answer: fromPackage, source: 'hub_package' };
    }
    throw new AppError(
      'PROVIDER_OFFLINE',
      `提供方 ${g.provider.county} 节点离线，且授权不含批量方式或枢纽没有该资源的数据包`,
      `the provider ${g.provider.county} is offline and the grant does not allow batch or the hub holds no package of the resource`,
    );
  }

  /**
   * The latest state of the resource from the hub's stored packages (last snapshot, then deltas in
   * order), filtered by the grant and the query, projected and desensitized as the provider would.
   */
  private fallbacks = 0;

  private async answerFromPackages(req: AccessRequest, ask: AccessQuery, g: Grant, boxKey: string): Promise<Uint8Array | null> {
    if (this.fallbacks >= MAX_FALLBACKS) return null;
    this.fallbacks++;
    try {
      return await this.replayPackages(req, ask, g, boxKey);
    } finally {
      this.fallbacks--;
    }
  }

  private async replayPackages(req: AccessRequest, ask: AccessQuery, g: Grant, boxKey: string): Promise<Uint8Array | null> {
    const chain = this.chain.ownChain(g.resource);
    if (chain.length === 0) return null;
    const view = this.d.store.requireView(g.resource);
    const keyCodes = (view.content as { dataItems: DataItem[] }).dataItems.filter((i) => i.primaryKey).map((i) => i.code);
    const keyOf = (row: Record<string, unknown>) => JSON.stringify(keyCodes.map((k) => row[k] ?? null));
    const matches = new Map<string, Record<string, unknown>>();
    const wanted = (row: Record<string, unknown>) => (!g.rowFilter || matchesFilter(row, g.rowFilter)) && (!ask.where || matchesFilter(row, ask.where));
    for (const p of chain) {
      const stored = this.d.packages.stored(p.id);
      const keys = this.d.registry.get(p.sender)?.keys ?? [];
      if (!stored) continue;
      for await (const row of openPackage(stored.signed, stored.chunk, this.d.hubBoxKeys, { senderKeys: keys })) {
        const k = keyOf(row);
        if (row['_deleted'] === true || !wanted(row)) matches.delete(k);
        else matches.set(k, row);
        // Bounded: a query matching this much belongs on the provider or a batch grant, not the fallback.
        if (matches.size > MAX_FALLBACK_MATCHES) throw new AppError('FALLBACK_TOO_LARGE', '匹配记录过多，无法由枢纽数据包应答', 'too many matching rows to answer from the hub’s packages');
      }
    }
    const items = ask.items ?? g.items;
    const rows = [...matches.values()]
      .slice(0, ask.limit)
      .map((r) => desensitizeRow(Object.fromEntries(items.map((i) => [i, r[i] ?? null])), g.desensitization) as Record<string, string | number | boolean | null>);
    const last = chain[chain.length - 1]!;
    const result = { items, rows, truncated: matches.size > ask.limit };
    const sealed = sealBox(new TextEncoder().encode(JSON.stringify(result)), fromBase64(boxKey));
    const ageSeconds = Math.max(0, (this.d.clock.now().getTime() - Date.parse(last.at)) / 1000);
    return this.d.identity.seal(
      'access.answer',
      Date.now(),
      { requestId: req.requestId, grantId: g.grantId, sealed: toBase64(sealed), source: 'hub_package', packageVersion: last.v, packageAgeSeconds: Math.round(ageSeconds) },
      this.d.clock.now(),
    );
  }

  private audit(from: string, req: AccessRequest, g: Grant | null, result: 'ok' | 'denied', extra: Record<string, unknown>): void {
    this.d.audit.append({
      actor: req.actor.id,
      actorRole: 'node',
      department: req.actor.department,
      action: 'data.use',
      resource: g?.resource ?? req.grantId,
      result,
      detail: { via: 'hub', consumer: from, provider: g?.provider.county ?? null, grantId: req.grantId, requestId: req.requestId, method: req.ask.method, ...extra },
    });
  }
}

// ------------------------------------------------------------------------------ helpers

/** Reply if the requester waits; a closed or draining connection must not become an unhandled rejection. */
function respond(msg: Msg, data: Uint8Array, log: Logger): void {
  if (!msg.reply) return;
  try {
    msg.respond(data);
  } catch (err) {
    log.warn({ event: 'access.reply_failed', err: String(err) }, 'could not send the answer');
  }
}
