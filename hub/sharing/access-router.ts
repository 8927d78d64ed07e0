/**
 * @module Cascaded access, hub side (PROTOCOL.md §Sharing): a consumer node's `access.request` (core
 * NATS request on `jl.<muni>.rpc.<county>.access`) is checked against the grant (defence in depth — the
 * provider checks again, offline-capable; decisions in access-routing.ts) and forwarded as
 * `access.forward` to the provider's node on `jl.<muni>.serve.<county>.access` through a `Forwarder`.
 * The provider's signed, sealed `access.answer` is relayed byte for byte, so the consumer verifies the
 * provider's own signature and the hub never reads the data.
 *
 * Provider offline (no responder, or no answer within `forwardTimeoutMs`): a query under a grant that
 * also allows batch is answered from the hub's packages (package-fallback.ts); anything else gets
 * `PROVIDER_OFFLINE`. Every routed access is audited (`data.use`, with the outcome). The NATS side
 * (subscription, replies, request/reply) is hub/bus/access-transport.ts; this module never sees it.
 */
import { verifyEnvelope, type Envelope } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { AccessRequest } from '../../protocol/sharing-messages.ts';
import type { Grant, SignedGrant, SignedRevocationList } from '../../protocol/grant.ts';
import { serveSubject } from '../../protocol/subjects.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { GroupCommit } from '../../engine/storage/group-commit.ts';
import type { Clock } from '../../engine/clock.ts';
import { AppError, errorReply, fromErrorReply, isDomainError } from '../../engine/errors.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import type { NodeRegistry } from '../storage/registry.ts';
import type { RejectionLog } from '../bus/rejections.ts';
import { claimedSender } from '../bus/rejections.ts';
import { admit, providerOffline, whenOffline, type Forwarder, type Refusal, type RoutedConsumer } from './access-routing.ts';
import type { PackageAnswers } from './package-fallback.ts';

/** What the router needs of the sharing service (hub/sharing/sharing-service.ts). */
export interface AccessGrants {
  grant(grantId: string): SignedGrant | undefined;
  latestList(): SignedRevocationList | undefined;
  recordUse(grantId: string): void;
}

export interface AccessRouterDeps {
  sharing: AccessGrants;
  registry: Pick<NodeRegistry, 'get'>;
  identity: Identity;
  audit: Pick<AuditLog, 'append'>;
  rejections: Pick<RejectionLog, 'record'>;
  clock: Clock;
  log: Logger;
  municipality: string;
  /** Request/reply to the provider's node (hub/bus/access-transport.ts). */
  forwarder: Forwarder;
  /** The offline answer from the hub's packages (package-fallback.ts). */
  fallback: PackageAnswers;
  /** How long the provider has to answer before it counts as offline (default 5 s). */
  forwardTimeoutMs?: number;
  /** Audit records and last-use marks of concurrent accesses share one commit (engine/group-commit.ts). */
  commits: Pick<GroupCommit, 'run'>;
}

export class AccessRouter {
  routed = 0;

  constructor(private readonly d: AccessRouterDeps) {}

  /** One `access.request` received on `subject`: the reply bytes (the relayed answer or a signed error). */
  async handle(subject: string, bytes: Uint8Array): Promise<Uint8Array> {
    let env: Envelope | null = null;
    let req: AccessRequest | null = null;
    try {
      env = verifyEnvelope(bytes, (id) => this.d.registry.get(id)?.keys);
      const consumer = this.d.registry.get(env.from)!.node;
      if (subject.split('.')[3] !== consumer.county) throw new ProtocolError('MESSAGE_WRONG_SUBJECT', `${env.from} (county ${consumer.county}) used ${subject}`);
      if (env.type !== 'access.request') throw new ProtocolError('MESSAGE_UNKNOWN_TYPE', `${env.type} is not an access request`);
      req = env.payload;
      const decision = admit(env.from, req, {
        grant: this.d.sharing.grant(req.grantId),
        consumer: { county: consumer.county, encryptionKey: consumer.encryptionKey },
        revocations: this.d.sharing.latestList() ?? null,
        now: this.d.clock.now(),
      });
      if (decision.action === 'refuse') throw refusal(decision);
      const signed = decision.grant;
      const { answer, source } = await this.route(req, signed, decision.consumer);
      const from = env.from;
      const r = req;
      // Durable before the answer goes out: the routing record is never lost for a delivered answer.
      await this.d.commits.run(() => {
        this.d.sharing.recordUse(r.grantId);
        this.audit(from, r, signed.grant, 'ok', { source });
      });
      this.routed++;
      return answer;
    } catch (err) {
      const e = errorReply(err);
      try {
        if (err instanceof ProtocolError) this.d.rejections.record(err, subject, env?.from ?? claimedSender(err), this.d.clock.now());
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
      return this.d.identity.seal('error', Date.now(), e, this.d.clock.now());
    }
  }

  /** Forward to the provider; relay its answer or, when it is offline, answer from packages if allowed. */
  private async route(req: AccessRequest, signed: SignedGrant, consumer: RoutedConsumer): Promise<{ answer: Uint8Array; source: string }> {
    const g = signed.grant;
    const forward = this.d.identity.seal('access.forward', Date.now(), { request: req, grant: signed, consumer }, this.d.clock.now());
    let reply: Uint8Array | null = null;
    try {
      reply = await this.d.forwarder.forward(serveSubject(this.d.municipality, g.provider.county, 'access'), forward, this.d.forwardTimeoutMs ?? 5_000);
    } catch (err) {
      this.d.log.warn({ event: 'access.provider_offline', county: g.provider.county, err: String(err) }, 'provider did not answer');
    }
    if (reply) {
      // Only a registered node of the provider's county may answer; its envelope goes on unchanged.
      const env = verifyEnvelope(reply, (id) => {
        const r = this.d.registry.get(id);
        return r && r.node.county === g.provider.county ? r.keys : undefined;
      });
      if (env.type === 'error') throw fromErrorReply(env.payload);
      if (env.type !== 'access.answer') throw new ProtocolError('MESSAGE_UNKNOWN_TYPE', `provider answered ${env.type}`);
      return { answer: reply, source: 'provider' };
    }
    const offline = whenOffline(req, signed);
    if (offline.action === 'refuse') throw refusal(offline);
    if (req.ask.method === 'query') {
      const fromPackage = await this.d.fallback.answer(req, req.ask, g, consumer.boxKey).catch((err) => {
        this.d.log.warn({ event: 'access.package_fallback_failed', resource: g.resource, err: String(err) }, 'could not answer from packages');
        return null;
      });
      if (fromPackage) return { answer: fromPackage, source: 'hub_package' };
    }
    throw refusal(providerOffline(signed));
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

function refusal(r: Refusal): AppError {
  return new AppError(r.code, r.zh, r.en);
}
