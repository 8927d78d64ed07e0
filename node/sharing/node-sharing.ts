/**
 * @module The county node's side of the sharing workflow (R5): departments apply and decide here; the
 * node sends that to the hub through the outbox and keeps the hub's replicated applications, the
 * signed grants that concern its departments (as consumer or as provider), and the latest verified
 * revocation list — so a provider enforces grants offline (protocol/grant.ts FRESHNESS RULE).
 */
import { uuidv7 } from '../../protocol/uuid7.ts';
import type { ApplicationView } from '../../protocol/application.ts';
import { ApplicationEvent, ApplicationRequest } from '../../protocol/application.ts';
import { checkGrantUsable, GrantError, verifyGrant, verifyRevocationList, type Grant, type RevocationList, type SignedGrant, type SignedRevocationList } from '../../protocol/grant.ts';
import type { ApplicationUpdate } from '../../protocol/sharing-messages.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { upSubject } from '../../protocol/subjects.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { ImmutableRowCache } from '../../engine/storage/immutable-rows.ts';
import { AppError } from '../../engine/errors.ts';
import { validate } from '../../engine/validate.ts';
import type { Logger } from '../../engine/log.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';

/** Audit actions of the node's sharing side, beyond engine/audit's list. */
export const NODE_SHARING_AUDIT_ACTIONS = ['sharing.apply', 'sharing.decide'] as const;

export interface NodeSharingDeps {
  db: Db;
  outbox: Outbox;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  municipality: string;
  county: string;
  nodeId: string;
  hubId: string;
  /** The hub's accepted signing keys (config key, plus a rotated one from the key directory). */
  hubKeys: () => Uint8Array[];
}

export interface DeptActor {
  id: string;
  role: string;
  department: string;
}

interface AppRow {
  id: string;
  view: string | null;
  refused: string | null;
  state: string;
  submitted: string | null;
  updated_at: string;
}

/** A grant's state at this node: from the latest signed revocation list held here and this node's clock. */
export interface GrantStatus {
  /** `unusable`: valid and not revoked, but refused for now (no fresh revocation list held: `reason` says). */
  state: 'active' | 'not_yet_valid' | 'expired' | 'revoked' | 'suspended' | 'expired_unused' | 'unusable';
  reason: string | null;
  at: string | null;
}

export class NodeSharing {
  /** Signed grants never change once issued: parsed ones are kept (hot path of every cascaded access). */
  private readonly grantCache: ImmutableRowCache<SignedGrant>;
  private revocationCache: SignedRevocationList | null | undefined;
  private readonly getRevocations;
  private readonly providedBy;

  constructor(private readonly d: NodeSharingDeps) {
    const getGrant = d.db.prepare('SELECT signed FROM sharing_grants WHERE grant_id = ?');
    this.grantCache = new ImmutableRowCache(d.db, (id) => (getGrant.get(id) as { signed: string } | undefined)?.signed);
    this.getRevocations = d.db.prepare('SELECT signed FROM sharing_revocations WHERE id = 1');
    this.providedBy = d.db.prepare('SELECT grant_id AS id FROM sharing_grants WHERE provider_county = ? AND valid_until > ? ORDER BY grant_id');
  }

  /** Ids of the grants `county` provides that are not past their validity at `now`, in id order (grant packages look at these). */
  grantIdsProvidedBy(county: string, now: Date): string[] {
    return (this.providedBy.all(county, now.toISOString()) as { id: string }[]).map((r) => r.id);
  }

  /** A department applies (Jincheng §30(1)): queued for the hub; the hub's view comes back as `application.update`. */
  apply(actor: DeptActor, body: unknown): { id: string; state: string } {
    const request = validate(ApplicationRequest, body);
    const id = uuidv7();
    const now = this.d.clock.now();
    this.d.db.transaction(() => {
      this.d.db
        .prepare("INSERT INTO sharing_applications (id, consumer_department, state, submitted, updated_at) VALUES (?, ?, 'sent', ?, ?)")
        .run(id, actor.department, JSON.stringify(request), now.toISOString());
      this.d.outbox.add(
        upSubject(this.d.municipality, this.d.county, 'application.submit'),
        'application.submit',
        { applicationId: id, actor: { id: actor.id, department: actor.department }, request },
        now,
      );
      this.d.audit.append({
        actor: actor.id,
        actorRole: actor.role,
        department: actor.department,
        action: 'sharing.apply',
        resource: request.resource,
        result: 'ok',
        detail: { applicationId: id, items: request.items, methods: request.methods },
      });
    })();
    return { id, state: 'sent' };
  }

  /** The provider's answer or the consumer's withdrawal; the hub's workflow decides whether it is allowed. */
  decide(actor: DeptActor, id: string, body: unknown): { id: string; sent: true } {
    const event = validate(ApplicationEvent, body);
    const app = this.get(id, actor.department);
    const now = this.d.clock.now();
    this.d.db.transaction(() => {
      this.d.outbox.add(
        upSubject(this.d.municipality, this.d.county, 'application.decide'),
        'application.decide',
        { applicationId: id, actor: { id: actor.id, department: actor.department }, event },
        now,
      );
      this.d.audit.append({
        actor: actor.id,
        actorRole: actor.role,
        department: actor.department,
        action: 'sharing.decide',
        resource: app.view?.resource ?? id,
        result: 'ok',
        detail: { applicationId: id, event: event.type },
      });
    })();
    return { id, sent: true };
  }

  /** An application one of whose sides is `department` (as consumer or provider). */
  get(id: string, department: string | null): { id: string; state: string; view: ApplicationView | null; refused: unknown; submitted: unknown; updatedAt: string } {
    const r = this.d.db.prepare('SELECT * FROM sharing_applications WHERE id = ?').get(id) as AppRow | undefined;
    const out = r && this.toApi(r);
    if (!out || (department !== null && !this.involves(out, department))) throw new AppError('NOT_FOUND', `没有申请 ${id}`, `no application ${id}`);
    return out;
  }

  list(department: string | null): ReturnType<NodeSharing['get']>[] {
    const rows = this.d.db
      .prepare('SELECT * FROM sharing_applications WHERE @dept IS NULL OR consumer_department = @dept OR provider_department = @dept ORDER BY updated_at DESC LIMIT 1000')
      .all({ dept: department }) as AppRow[];
    return rows.map((r) => this.toApi(r));
  }

  private involves(a: ReturnType<NodeSharing['toApi']>, department: string): boolean {
    if (a.view)
      return (a.view.consumer.county === this.d.county && a.view.consumer.department === department) || (a.view.provider.county === this.d.county && a.view.provider.department === department);
    return a.submitted !== null && (this.d.db.prepare('SELECT consumer_department AS d FROM sharing_applications WHERE id = ?').get(a.id) as { d: string }).d === department;
  }

  private toApi(r: AppRow) {
    return {
      id: r.id,
      state: r.state,
      view: r.view ? (JSON.parse(r.view) as ApplicationView) : null,
      refused: r.refused ? (JSON.parse(r.refused) as unknown) : null,
      submitted: r.submitted ? (JSON.parse(r.submitted) as unknown) : null,
      updatedAt: r.updated_at,
    };
  }

  // ---------------------------------------------------------------- from the hub (DOWN, in its transaction)

  onApplicationUpdate(u: ApplicationUpdate): void {
    const now = this.d.clock.now().toISOString();
    if (u.application) {
      const a = u.application;
      const consumerDept = a.consumer.county === this.d.county ? a.consumer.department : null;
      const providerDept = a.provider.county === this.d.county ? a.provider.department : null;
      this.d.db
        .prepare(
          `INSERT INTO sharing_applications (id, view, consumer_department, provider_department, state, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET view = excluded.view, provider_department = excluded.provider_department, state = excluded.state, refused = NULL, updated_at = excluded.updated_at`,
        )
        .run(a.id, JSON.stringify(a), consumerDept, providerDept, a.state, now);
      this.d.log.info({ event: 'sharing.application', applicationId: a.id, state: a.state }, 'application updated by the hub');
    } else if (u.refused) {
      const r = u.refused;
      // A refused submission keeps state 'refused_by_hub'; a refused decision leaves the state as it was.
      this.d.db
        .prepare("UPDATE sharing_applications SET refused = ?, state = CASE WHEN view IS NULL THEN 'refused_by_hub' ELSE state END, updated_at = ? WHERE id = ?")
        .run(JSON.stringify(r), now, r.applicationId);
      this.d.log.warn({ event: 'sharing.refused', applicationId: r.applicationId, code: r.code }, r.zh);
    }
  }

  /** A grant signed by the hub; refused (ProtocolError) if its signature or issuer is wrong. */
  onGrant(signed: SignedGrant): void {
    let g: Grant;
    try {
      g = verifyGrant(signed, this.d.hubKeys(), { issuer: this.d.hubId });
    } catch (err) {
      if (err instanceof GrantError) throw new ProtocolError('MESSAGE_INVALID', `grant refused: ${err.code} ${err.en}`);
      throw err;
    }
    this.d.db
      .prepare(
        `INSERT INTO sharing_grants (grant_id, signed, resource, consumer_node, consumer_department, provider_county, provider_department, valid_until, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (grant_id) DO NOTHING`,
      )
      .run(g.grantId, JSON.stringify(signed), g.resource, g.consumer.nodeId, g.consumer.department, g.provider.county, g.provider.department ?? null, g.validUntil, this.d.clock.now().toISOString());
  }

  /** The hub's complete revocation list; an older serial (a replay) is refused by verifyRevocationList. */
  onRevocations(signed: SignedRevocationList): void {
    const held = this.revocations();
    let list: RevocationList;
    try {
      list = verifyRevocationList(signed, this.d.hubKeys(), { issuer: this.d.hubId, held: held?.list ?? null });
    } catch (err) {
      if (err instanceof GrantError) throw new ProtocolError('MESSAGE_INVALID', `revocation list refused: ${err.code} ${err.en}`);
      throw err;
    }
    if (held && held.list.serial === list.serial) return;
    this.d.db
      .prepare(
        'INSERT INTO sharing_revocations (id, serial, signed, received_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET serial = excluded.serial, signed = excluded.signed, received_at = excluded.received_at',
      )
      .run(list.serial, JSON.stringify(signed), this.d.clock.now().toISOString());
    this.revocationCache = undefined; // re-read after the caller's transaction, never ahead of it
  }

  revocations(): SignedRevocationList | null {
    if (this.revocationCache !== undefined && !this.d.db.inTransaction) return this.revocationCache;
    const r = this.getRevocations.get() as { signed: string } | undefined;
    const list = r ? (JSON.parse(r.signed) as SignedRevocationList) : null;
    if (!this.d.db.inTransaction) this.revocationCache = list;
    return list;
  }

  grant(grantId: string): SignedGrant | undefined {
    return this.grantCache.get(grantId);
  }

  /**
   * Grants of `department` at this node: those it uses and those of its resources it provides, each with
   * its status as this node knows it — the notice a department sees when a grant was revoked, suspended
   * (Jiyuan §36) or withdrawn for non-use (Jincheng §31), with the hub's reason, or has expired.
   */
  grants(department: string | null): (Grant & { side: 'consumer' | 'provider'; status: GrantStatus })[] {
    const held = this.revocations()?.list ?? null;
    const entries = new Map((held?.entries ?? []).map((e) => [e.grantId, e]));
    const now = this.d.clock.now().getTime();
    const rows = this.d.db
      .prepare(
        `SELECT signed FROM sharing_grants WHERE @dept IS NULL OR (consumer_node = @node AND consumer_department = @dept) OR (provider_county = @county AND provider_department = @dept)
         ORDER BY received_at DESC LIMIT 1000`,
      )
      .all({ dept: department, node: this.d.nodeId, county: this.d.county }) as { signed: string }[];
    return rows.map((r) => {
      const g = (JSON.parse(r.signed) as SignedGrant).grant;
      const e = entries.get(g.grantId);
      let status: GrantStatus;
      if (e) status = { state: e.kind, reason: e.reason, at: e.at };
      else if (Date.parse(g.validUntil) <= now) status = { state: 'expired', reason: null, at: g.validUntil };
      else if (Date.parse(g.validFrom) > now) status = { state: 'not_yet_valid', reason: null, at: g.validFrom };
      else {
        // Valid and not revoked, but a provider would still refuse it without a fresh revocation list.
        const usable = checkGrantUsable(g, { now: new Date(now), revocations: held, method: g.methods[0]!, items: g.items });
        status = usable.ok ? { state: 'active', reason: null, at: null } : { state: 'unusable', reason: `${usable.code}: ${usable.zh} / ${usable.en}`, at: null };
      }
      return { ...g, side: g.consumer.nodeId === this.d.nodeId ? 'consumer' : 'provider', status };
    });
  }
}
