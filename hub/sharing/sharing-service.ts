/**
 * @module The hub's sharing service (R5): keeps applications, runs the workflow (workflow.ts) on what
 * departments submit and decide from their nodes and on the reviewer's decisions, signs grants, keeps
 * the signed revocation list, and replicates every change to the counties involved through the outbox
 * (in the transaction of the change, so nothing is lost in a crash).
 *
 * - `application.update` goes to the consumer's and the provider's county after every transition.
 * - `grant.issue` (the signed grant) goes to both counties; the provider enforces it offline.
 * - `grant.revocations` (complete, signed, serial + 1) is broadcast on every revocation or suspension and
 *   hourly (protocol/grant.ts FRESHNESS RULE: nextUpdate = issuedAt + 24 h).
 * - Grants unused for `policy.revokeUnusedAfterDays` are withdrawn (Jincheng §31: 超过三个月不使用的 …
 *   可视情收回授权) with notice to both sides.
 */
import { uuidv7 } from '../../protocol/uuid7.ts';
import type { ApplicationDecide, ApplicationSubmit } from '../../protocol/sharing-messages.ts';
import type { ApplicationView } from '../../protocol/application.ts';
import { defaultProfileFor } from '../../protocol/desensitization.ts';
import { checkGrantUsable, signGrant, signRevocationList, type Grant, type RevocationList, type SignedGrant, type SignedRevocationList } from '../../protocol/grant.ts';
import type { DataItem } from '../../protocol/catalog-entry.ts';
import type { Policy } from '../../protocol/policy.ts';
import { downBroadcastSubject, downCountySubject } from '../../protocol/subjects.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { WorkingCalendar } from '../../engine/calendar/calendar.ts';
import type { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { ImmutableRowCache } from '../../engine/storage/immutable-rows.ts';
import { AppError } from '../../engine/errors.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import { apply, attachGrant, deadlineInfo, submit, tick, WorkflowError, type Application, type ApplicationEventInput, type WorkflowActor, type WorkflowEffect } from './workflow.ts';

/** Audit actions of the sharing workflow, beyond engine/audit's list. */
export const SHARING_AUDIT_ACTIONS = ['sharing.apply', 'sharing.decide', 'sharing.grant', 'sharing.revoke', 'sharing.notify'] as const;

/** Revocation lists promise a successor within this time (protocol/grant.ts REVOCATION_NEXT_UPDATE_MS). */
const NEXT_UPDATE_MS = 24 * 3_600_000;

export interface SharingDeps {
  db: Db;
  store: CatalogStore;
  outbox: Outbox;
  identity: Identity;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  policy: Policy;
  calendar: WorkingCalendar;
  municipality: string;
  /** Cross-verification rate granted by default (per minute, per grant). */
  verifyRatePerMinute?: number;
}

export interface HubActor {
  id: string;
  role: WorkflowActor['role'];
}

interface AppRow {
  view: string;
}

export class SharingService {
  /** Signed grants never change: parsed ones are kept (hot path of every routed access). */
  private readonly grantCache: ImmutableRowCache<SignedGrant>;
  private listCache: SignedRevocationList | undefined;
  private readonly stmts;

  constructor(private readonly d: SharingDeps) {
    this.stmts = {
      grant: d.db.prepare('SELECT signed FROM grants WHERE grant_id = ?'),
      latestList: d.db.prepare('SELECT signed FROM revocation_lists ORDER BY serial DESC LIMIT 1'),
      recordUse: d.db.prepare('UPDATE grants SET last_used_at = ? WHERE grant_id = ?'),
      liveGrantIds: d.db.prepare('SELECT grant_id AS id FROM grants WHERE valid_until > ?').pluck(),
    };
    this.grantCache = new ImmutableRowCache(d.db, (id) => (this.stmts.grant.get(id) as { signed: string } | undefined)?.signed);
  }

  // ---------------------------------------------------------------- applications

  get(id: string): Application | undefined {
    const r = this.d.db.prepare('SELECT view FROM applications WHERE id = ?').get(id) as AppRow | undefined;
    return r ? (JSON.parse(r.view) as Application) : undefined;
  }

  require(id: string): Application {
    const app = this.get(id);
    if (!app) throw new AppError('NOT_FOUND', `没有申请 ${id}`, `no application ${id}`);
    return app;
  }

  list(filter: { state?: string; county?: string } = {}): Application[] {
    const rows = this.d.db
      .prepare(
        `SELECT view FROM applications WHERE (@state IS NULL OR state = @state) AND (@county IS NULL OR consumer_county = @county OR provider_county = @county) ORDER BY created_at DESC LIMIT 1000`,
      )
      .all({ state: filter.state ?? null, county: filter.county ?? null }) as AppRow[];
    return rows.map((r) => JSON.parse(r.view) as Application);
  }

  /** The application with its deadline in working days, as shown to users. */
  describe(app: Application): Application & { deadlineInfo: ReturnType<typeof deadlineInfo> } {
    return { ...app, deadlineInfo: deadlineInfo(app, { now: this.d.clock.now(), calendar: this.d.calendar }) };
  }

  /** `application.submit` from a consumer node (inside the UP handler's transaction). Refusals go back to the consumer. */
  submitFromNode(from: string, county: string, msg: ApplicationSubmit): void {
    if (this.get(msg.applicationId)) return; // re-delivery
    const actor: WorkflowActor = { id: msg.actor.id, role: 'dept_operator', county, department: msg.actor.department };
    try {
      const view = this.d.store.getView(msg.request.resource);
      if (!view || view.status === 'withdrawn') {
        throw new WorkflowError('WORKFLOW_INVALID_REQUEST', `目录中没有资源 ${msg.request.resource}`, `no resource ${msg.request.resource} in the catalog`);
      }
      const content = view.content as { provider: { code: string }; sharing: { attribute: 'unconditional' | 'conditional' | 'not_shared' }; dataItems: DataItem[] };
      const app = submit(
        {
          id: msg.applicationId,
          consumer: { nodeId: from, county, department: msg.actor.department },
          resource: {
            id: msg.request.resource,
            department: content.provider.code,
            sharingAttribute: content.sharing.attribute,
            // Published = approved in the total catalog (Jincheng §30(2): 5 working days, otherwise 10).
            published: view.status === 'approved',
            items: content.dataItems.map((i) => i.code),
          },
          request: msg.request,
        },
        this.ctx(actor),
      );
      this.save(app, true);
      this.d.audit.append({
        actor: actor.id,
        actorRole: 'dept_operator',
        department: actor.department,
        action: 'sharing.apply',
        resource: app.resource,
        result: 'ok',
        detail: { applicationId: app.id, from, state: app.state },
      });
      this.replicate(app);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      this.refuse(county, msg.applicationId, err);
      // A refused application is answered to its county and audited like an accepted one (every use asked for is logged).
      this.d.audit.append({
        actor: actor.id,
        actorRole: 'dept_operator',
        department: actor.department,
        action: 'sharing.apply',
        resource: msg.request.resource,
        result: 'rejected',
        detail: { applicationId: msg.applicationId, from, code: err.code },
      });
    }
  }

  /**
   * `application.decide` from a node (provider's answer, consumer's withdrawal or request for coordination).
   * A refusal (e.g. from a county that is no party to the application) is answered to the county,
   * audited, and returned, so the UP handler records it with the other refused messages.
   */
  decideFromNode(county: string, msg: ApplicationDecide): AppError | null {
    const actor: WorkflowActor = { id: msg.actor.id, role: 'dept_operator', county, department: msg.actor.department };
    try {
      this.decide(msg.applicationId, msg.event, actor);
      return null;
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      this.refuse(county, msg.applicationId, err);
      const app = this.get(msg.applicationId);
      this.d.audit.append({
        actor: actor.id,
        actorRole: 'dept_operator',
        department: actor.department,
        action: 'sharing.decide',
        resource: app?.resource ?? null,
        result: err.code === 'WORKFLOW_FORBIDDEN' ? 'denied' : 'rejected',
        detail: { applicationId: msg.applicationId, county, event: msg.event.type, code: err.code, ...(app ? { state: app.state } : {}) },
      });
      return err;
    }
  }

  /** A decision (hub reviewer over HTTP, or a node's message). Throws WorkflowError / AppError. */
  decide(id: string, event: ApplicationEventInput, actor: WorkflowActor): Application {
    return this.d.db.transaction(() => {
      const app = this.require(id);
      const result = apply(app, event, this.ctx(actor));
      const done = this.carryOut(result.app, result.effects);
      this.d.audit.append({
        actor: actor.id,
        actorRole: actor.role === 'system' ? 'system' : actor.role,
        ...(actor.department ? { department: actor.department } : {}),
        action: 'sharing.decide',
        resource: app.resource,
        result: 'ok',
        detail: { applicationId: id, event: (event as { type: string }).type, from: app.state, to: done.state },
      });
      return done;
    })();
  }

  /** Deadlines (silent consent, overdue flags), unused grants, and the hourly revocation list. */
  tick(): { changed: number; revokedUnused: number } {
    let changed = 0;
    const ctx = { now: this.d.clock.now(), policy: this.d.policy, calendar: this.d.calendar };
    const open = this.d.db.prepare("SELECT view FROM applications WHERE state NOT IN ('granted', 'rejected', 'withdrawn', 'closed')").all() as AppRow[];
    let revokedUnused = 0;
    try {
      for (const r of open) {
        const app = JSON.parse(r.view) as Application;
        // One application that cannot move (its entry gone, say) must not stop the others, nor the list below.
        try {
          const result = tick(app, ctx);
          if (!result) continue;
          this.d.db.transaction(() => {
            const done = this.carryOut(result.app, result.effects);
            if (done.state !== app.state) {
              this.d.audit.append({
                actor: 'system',
                actorRole: 'system',
                action: 'sharing.decide',
                resource: app.resource,
                result: 'ok',
                detail: { applicationId: app.id, from: app.state, to: done.state, why: 'deadline' },
              });
            }
          })();
          changed++;
        } catch (err) {
          this.d.log.error({ event: 'sharing.tick_failed', applicationId: app.id, err: String(err) }, 'application deadline not handled');
        }
      }
      revokedUnused = this.revokeUnused();
    } finally {
      // Providers stop serving when the list goes stale (protocol/grant.ts): it is republished whatever failed above.
      const last = this.latestList();
      if (!last || this.d.clock.now().getTime() - Date.parse(last.list.issuedAt) >= 3_600_000) this.d.db.transaction(() => this.publishRevocations())();
    }
    return { changed, revokedUnused };
  }

  private ctx(actor: WorkflowActor) {
    return { now: this.d.clock.now(), policy: this.d.policy, calendar: this.d.calendar, actor };
  }

  /** Persist, run the effects (sign grants, notify) and replicate; in the caller's transaction. */
  private carryOut(app: Application, effects: WorkflowEffect[]): Application {
    let current = app;
    for (const e of effects) {
      if (e.kind === 'issue_grant') {
        const signed = this.issueGrant(current, e);
        current = attachGrant(current, signed.grant.grantId);
      } else {
        this.d.log.info({ event: 'sharing.notify', applicationId: app.id, to: e.to, en: e.en }, e.zh);
      }
    }
    this.save(current, false);
    this.replicate(current);
    return current;
  }

  private save(app: Application, insert: boolean): void {
    const now = this.d.clock.now().toISOString();
    if (insert) {
      this.d.db
        .prepare(
          `INSERT INTO applications (id, consumer_county, consumer_department, provider_county, provider_department, resource, state, view, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(app.id, app.consumer.county, app.consumer.department, app.provider.county, app.provider.department, app.resource, app.state, JSON.stringify(app), now, now);
    } else {
      this.d.db.prepare('UPDATE applications SET state = ?, view = ?, updated_at = ? WHERE id = ?').run(app.state, JSON.stringify(app), now, app.id);
    }
  }

  private replicate(app: Application): void {
    for (const county of new Set([app.consumer.county, app.provider.county])) {
      this.d.outbox.add(downCountySubject(this.d.municipality, county, 'application.update'), 'application.update', { application: app as ApplicationView, refused: null }, this.d.clock.now());
    }
  }

  private refuse(county: string, applicationId: string, err: AppError): void {
    this.d.log.warn({ event: 'sharing.refused', applicationId, code: err.code }, err.en);
    this.d.outbox.add(
      downCountySubject(this.d.municipality, county, 'application.update'),
      'application.update',
      { application: null, refused: { applicationId, code: err.code, zh: err.zh.slice(0, 1000), en: err.en.slice(0, 1000) } },
      this.d.clock.now(),
    );
  }

  // ---------------------------------------------------------------- grants

  private issueGrant(app: Application, e: Extract<WorkflowEffect, { kind: 'issue_grant' }>): SignedGrant {
    const view = this.d.store.getView(app.resource);
    if (!view || view.status === 'withdrawn') throw new WorkflowError('WORKFLOW_INVALID_REQUEST', `资源 ${app.resource} 已不在目录中`, `resource ${app.resource} is no longer in the catalog`);
    const items = (view.content as { dataItems: DataItem[] }).dataItems;
    const gone = e.items.filter((code) => !items.some((i) => i.code === code));
    if (gone.length) throw new WorkflowError('WORKFLOW_ITEMS_INVALID', `信息项 ${gone.join('、')} 已不在目录条目中`, `data items ${gone.join(', ')} are no longer in the entry`);
    const desensitization = Object.fromEntries(e.items.map((code) => [code, defaultProfileFor(items.find((i) => i.code === code)!)]));
    const now = this.d.clock.now();
    const signed = signGrant(
      {
        grantId: uuidv7(),
        applicationId: app.id,
        consumer: app.consumer,
        provider: app.provider,
        resource: app.resource,
        resourceCode: view.code,
        items: e.items,
        rowFilter: e.rowFilter,
        methods: e.methods,
        purpose: app.request.purpose,
        scenario: app.request.scenario,
        desensitization,
        validFrom: e.validFrom,
        validUntil: e.validUntil,
        verifyRatePerMinute: e.methods.includes('verify') ? (this.d.verifyRatePerMinute ?? 600) : 0,
        issuedAt: now.toISOString(),
        issuer: this.d.identity.nodeId,
        policy: this.d.policy.name,
      },
      this.d.identity,
    );
    const g = signed.grant;
    this.d.db
      .prepare(
        `INSERT INTO grants (grant_id, application_id, consumer_node, consumer_county, provider_county, resource, signed, issued_at, valid_until)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(g.grantId, g.applicationId, g.consumer.nodeId, g.consumer.county, g.provider.county, g.resource, JSON.stringify(signed), g.issuedAt, g.validUntil);
    this.d.audit.append({
      actor: 'hub',
      actorRole: 'system',
      action: 'sharing.grant',
      resource: g.resource,
      result: 'ok',
      detail: { grantId: g.grantId, applicationId: app.id, consumer: g.consumer, items: g.items, methods: g.methods, validUntil: g.validUntil, silentConsent: e.silentConsent, clamped: e.clamped },
    });
    for (const county of new Set([g.consumer.county, g.provider.county])) {
      this.d.outbox.add(downCountySubject(this.d.municipality, county, 'grant.issue'), 'grant.issue', { grant: signed }, now);
    }
    return signed;
  }

  grant(grantId: string): SignedGrant | undefined {
    return this.grantCache.get(grantId);
  }

  /** Ids of the grants not past their validity at `now` (batch distribution looks at these). */
  liveGrantIds(now: Date): string[] {
    return this.stmts.liveGrantIds.all(now.toISOString()) as string[];
  }

  grants(filter: { county?: string } = {}): (Grant & { revocation: { kind: string; reason: string; at: string } | null; lastUsedAt: string | null })[] {
    const rows = this.d.db
      .prepare(
        `SELECT g.signed, g.last_used_at AS lastUsedAt, r.kind, r.reason, r.at FROM grants g LEFT JOIN grant_revocations r USING (grant_id)
         WHERE (@county IS NULL OR g.consumer_county = @county OR g.provider_county = @county) ORDER BY g.issued_at DESC LIMIT 1000`,
      )
      .all({ county: filter.county ?? null }) as { signed: string; lastUsedAt: string | null; kind: string | null; reason: string; at: string }[];
    return rows.map((r) => ({ ...(JSON.parse(r.signed) as SignedGrant).grant, revocation: r.kind ? { kind: r.kind, reason: r.reason, at: r.at } : null, lastUsedAt: r.lastUsedAt }));
  }

  /**
   * The hub's own check before routing an access request (defence in depth: the provider decides
   * again, offline-capable). Throws AppError with the grant code.
   */
  authorize(consumerNodeId: string, grantId: string, method: 'query' | 'verify' | 'batch', items: readonly string[]): SignedGrant {
    const signed = this.grant(grantId);
    if (!signed) throw new AppError('GRANT_UNKNOWN', `没有授权 ${grantId}`, `no grant ${grantId}`);
    const list = this.latestList();
    const r = checkGrantUsable(signed, { now: this.d.clock.now(), revocations: list?.list ?? null, method, items: [...items], consumerNodeId });
    if (!r.ok) throw new AppError(r.code, r.zh, r.en);
    return signed;
  }

  /** Record a use (for Jincheng §31's unused-grant rule). */
  recordUse(grantId: string): void {
    this.stmts.recordUse.run(this.d.clock.now().toISOString(), grantId);
  }

  // ---------------------------------------------------------------- revocation

  /** Revoke or suspend (Jiyuan §36: misuse) a grant; effective at providers with the next list (published now). */
  revoke(grantId: string, kind: 'revoked' | 'suspended' | 'expired_unused', reason: string, actor: string): void {
    if (!this.grant(grantId)) throw new AppError('NOT_FOUND', `没有授权 ${grantId}`, `no grant ${grantId}`);
    if (!reason.trim()) throw new AppError('INVALID_REQUEST', '撤销或暂停须说明理由', 'a revocation or suspension needs a reason');
    this.d.db.transaction(() => {
      const held = this.d.db.prepare('SELECT kind FROM grant_revocations WHERE grant_id = ?').get(grantId) as { kind: string } | undefined;
      if (held && held.kind !== 'suspended') throw new AppError('CONFLICT', `授权 ${grantId} 已被撤销`, `grant ${grantId} is already revoked`);
      this.d.db
        .prepare(
          'INSERT INTO grant_revocations (grant_id, kind, reason, actor, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (grant_id) DO UPDATE SET kind = excluded.kind, reason = excluded.reason, actor = excluded.actor, at = excluded.at',
        )
        .run(grantId, kind, reason, actor, this.d.clock.now().toISOString());
      this.d.audit.append({
        actor,
        actorRole: actor === 'system' ? 'system' : 'reviewer',
        action: 'sharing.revoke',
        resource: this.grant(grantId)!.grant.resource,
        result: 'ok',
        detail: { grantId, kind, reason },
      });
      this.publishRevocations();
    })();
  }

  /** Lift a suspension. */
  reinstate(grantId: string, actor: string): void {
    this.d.db.transaction(() => {
      const r = this.d.db.prepare("DELETE FROM grant_revocations WHERE grant_id = ? AND kind = 'suspended'").run(grantId);
      if (!r.changes) throw new AppError('CONFLICT', `授权 ${grantId} 未被暂停`, `grant ${grantId} is not suspended`);
      this.d.audit.append({ actor, actorRole: 'reviewer', action: 'sharing.revoke', resource: this.grant(grantId)!.grant.resource, result: 'ok', detail: { grantId, kind: 'reinstated' } });
      this.publishRevocations();
    })();
  }

  latestList(): SignedRevocationList | undefined {
    if (this.listCache && !this.d.db.inTransaction) return this.listCache;
    const r = this.stmts.latestList.get() as { signed: string } | undefined;
    const list = r ? (JSON.parse(r.signed) as SignedRevocationList) : undefined;
    if (!this.d.db.inTransaction) this.listCache = list;
    return list;
  }

  /** Sign and broadcast the complete list (serial + 1); in the caller's transaction. Expired grants drop off. */
  publishRevocations(): SignedRevocationList {
    const now = this.d.clock.now();
    const entries = this.d.db
      .prepare('SELECT r.grant_id AS grantId, r.kind, r.reason, r.at FROM grant_revocations r JOIN grants g USING (grant_id) WHERE g.valid_until > ? ORDER BY r.at')
      .all(now.toISOString()) as RevocationList['entries'];
    const serial = ((this.d.db.prepare('SELECT MAX(serial) AS s FROM revocation_lists').get() as { s: number | null }).s ?? 0) + 1;
    const signed = signRevocationList(
      { issuer: this.d.identity.nodeId, serial, issuedAt: now.toISOString(), nextUpdate: new Date(now.getTime() + NEXT_UPDATE_MS).toISOString(), entries },
      this.d.identity,
    );
    this.d.db.prepare('INSERT INTO revocation_lists (serial, signed, issued_at) VALUES (?, ?, ?)').run(serial, JSON.stringify(signed), now.toISOString());
    this.listCache = undefined;
    this.d.db.prepare('DELETE FROM revocation_lists WHERE serial < ?').run(serial - 100);
    this.d.outbox.add(downBroadcastSubject(this.d.municipality, 'grant.revocations'), 'grant.revocations', { list: signed }, now);
    return signed;
  }

  /** Jincheng §31: grants not used for `revokeUnusedAfterDays` are withdrawn, with notice. */
  private revokeUnused(): number {
    const cutoff = new Date(this.d.clock.now().getTime() - this.d.policy.revokeUnusedAfterDays * 86_400_000).toISOString();
    const stale = this.d.db
      .prepare(
        `SELECT g.grant_id AS id FROM grants g LEFT JOIN grant_revocations r USING (grant_id)
         WHERE r.grant_id IS NULL AND g.valid_until > ? AND COALESCE(g.last_used_at, g.issued_at) < ?`,
      )
      .all(this.d.clock.now().toISOString(), cutoff) as { id: string }[];
    for (const { id } of stale) {
      this.revoke(
        id,
        'expired_unused',
        `超过 ${this.d.policy.revokeUnusedAfterDays} 天未使用，收回授权（晋城 §31） / unused for ${this.d.policy.revokeUnusedAfterDays} days, withdrawn (Jincheng §31)`,
        'system',
      );
      this.d.log.info({ event: 'sharing.notify', grantId: id, to: 'consumer' }, '授权因长期未使用被收回 / grant withdrawn after long non-use');
    }
    return stale.length;
  }
}
