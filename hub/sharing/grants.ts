/**
 * @module The hub's signed grants (`grants`, hub migration 7): issues and signs a grant when the workflow
 * says so (audited, `grant.issue` to the consumer's and the provider's county through the outbox, in the
 * caller's transaction), looks grants up (parsed once: hot path of every routed access), records their
 * use (Jincheng §31's unused-grant rule) and lists them. The only module with SQL on `grants`; the
 * applications and the revocations use it through the small interfaces below.
 */
import type Database from 'better-sqlite3';
import { uuidv7 } from '../../protocol/uuid7.ts';
import { defaultProfileFor } from '../../protocol/desensitization.ts';
import { signGrant, type SignedGrant } from '../../protocol/grant.ts';
import type { DataItem } from '../../protocol/catalog-entry.ts';
import type { Policy } from '../../protocol/policy.ts';
import { downCountySubject } from '../../protocol/subjects.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { ImmutableRowCache } from '../../engine/storage/immutable-rows.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import { WorkflowError, type Application, type WorkflowEffect } from './workflow.ts';

export type IssueGrantEffect = Extract<WorkflowEffect, { kind: 'issue_grant' }>;

/** What the applications need: a grant signed for an application the workflow granted. */
export interface GrantIssuer {
  issue(app: Application, e: IssueGrantEffect): SignedGrant;
}

/** What the revocations need of the grants. */
export interface GrantLookup {
  get(grantId: string): SignedGrant | undefined;
  /** The grant's `validUntil` as stored, or undefined when there is no such grant. */
  validUntil(grantId: string): string | undefined;
  /** Live grants (valid at `now`) neither used nor issued since `cutoff`. */
  unusedSince(now: Date, cutoff: Date): string[];
}

export interface GrantsDeps {
  db: Db;
  store: CatalogStore;
  outbox: Outbox;
  /** The hub's signing key. */
  identity: Identity;
  audit: AuditLog;
  clock: Clock;
  policy: Policy;
  municipality: string;
  /** Cross-verification rate granted by default (per minute, per grant). */
  verifyRatePerMinute?: number;
}

const SQL = {
  get: 'SELECT signed FROM grants WHERE grant_id = ?',
  validUntil: 'SELECT valid_until AS v FROM grants WHERE grant_id = ?',
  insert: `INSERT INTO grants (grant_id, application_id, consumer_node, consumer_county, provider_county, resource, signed, issued_at, valid_until)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  recordUse: 'UPDATE grants SET last_used_at = ? WHERE grant_id = ?',
  liveIds: 'SELECT grant_id AS id FROM grants WHERE valid_until > ?',
  list: `SELECT grant_id AS grantId, signed, last_used_at AS lastUsedAt FROM grants
         WHERE (@county IS NULL OR consumer_county = @county OR provider_county = @county) ORDER BY issued_at DESC LIMIT 1000`,
  unusedSince: 'SELECT grant_id AS id FROM grants WHERE valid_until > ? AND COALESCE(last_used_at, issued_at) < ?',
} as const;

export class Grants implements GrantIssuer, GrantLookup {
  /** Signed grants never change: parsed ones are kept (hot path of every routed access). */
  private readonly cache: ImmutableRowCache<SignedGrant>;
  private readonly stmts: { [K in keyof typeof SQL]: Database.Statement<unknown[]> };

  constructor(private readonly d: GrantsDeps) {
    this.stmts = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, d.db.prepare(sql)])) as never;
    this.cache = new ImmutableRowCache(d.db, (id) => (this.stmts.get.get(id) as { signed: string } | undefined)?.signed);
  }

  /** Sign, store, audit and send a grant for `app`; in the caller's transaction. */
  issue(app: Application, e: IssueGrantEffect): SignedGrant {
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
    this.stmts.insert.run(g.grantId, g.applicationId, g.consumer.nodeId, g.consumer.county, g.provider.county, g.resource, JSON.stringify(signed), g.issuedAt, g.validUntil);
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

  get(grantId: string): SignedGrant | undefined {
    return this.cache.get(grantId);
  }

  validUntil(grantId: string): string | undefined {
    return (this.stmts.validUntil.get(grantId) as { v: string } | undefined)?.v;
  }

  /** Ids of the grants not past their validity at `now` (batch distribution looks at these). */
  liveIds(now: Date): string[] {
    return this.stmts.liveIds.pluck().all(now.toISOString()) as string[];
  }

  /** Newest first, at most 1000, optionally only those where `county` is consumer or provider. */
  list(filter: { county?: string } = {}): { grantId: string; signed: SignedGrant; lastUsedAt: string | null }[] {
    const rows = this.stmts.list.all({ county: filter.county ?? null }) as { grantId: string; signed: string; lastUsedAt: string | null }[];
    return rows.map((r) => ({ grantId: r.grantId, signed: JSON.parse(r.signed) as SignedGrant, lastUsedAt: r.lastUsedAt }));
  }

  /** Record a use (for Jincheng §31's unused-grant rule). */
  recordUse(grantId: string): void {
    this.stmts.recordUse.run(this.d.clock.now().toISOString(), grantId);
  }

  unusedSince(now: Date, cutoff: Date): string[] {
    return this.stmts.unusedSince.pluck().all(now.toISOString(), cutoff.toISOString()) as string[];
  }
}
