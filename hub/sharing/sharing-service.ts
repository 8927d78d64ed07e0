/**
 * @module The hub's sharing service (R5), a facade over its three parts, each the only module with SQL
 * on its tables:
 *
 * - applications.ts: the application store; runs the workflow (workflow.ts) on what departments submit
 *   and decide from their nodes, on the reviewer's decisions and on deadlines, and replicates every
 *   transition (`application.update`) to the consumer's and the provider's county through the outbox,
 *   in the transaction of the change (nothing is lost in a crash).
 * - grants.ts: signs grants (`grant.issue` to both counties; the provider enforces it offline), looks
 *   them up, records their use, lists the live ones.
 * - revocations.ts: revocations and suspensions, the signed revocation list (`grant.revocations`,
 *   complete, serial + 1, broadcast on every change and hourly; protocol/grant.ts FRESHNESS RULE), and
 *   the withdrawal of grants unused for `policy.revokeUnusedAfterDays` (Jincheng §31).
 */
import { checkGrantUsable, type Grant, type SignedGrant, type SignedRevocationList } from '../../protocol/grant.ts';
import type { ApplicationDecide, ApplicationSubmit } from '../../protocol/sharing-messages.ts';
import type { Policy } from '../../protocol/policy.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { WorkingCalendar } from '../../engine/calendar/calendar.ts';
import type { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import { Applications } from './applications.ts';
import { Grants } from './grants.ts';
import { Revocations, type RevocationKind } from './revocations.ts';
import type { Application, ApplicationEventInput, WorkflowActor, deadlineInfo } from './workflow.ts';

/** Audit actions of the sharing workflow, beyond engine/audit's list. */
export const SHARING_AUDIT_ACTIONS = ['sharing.apply', 'sharing.decide', 'sharing.grant', 'sharing.revoke', 'sharing.notify'] as const;

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

export class SharingService {
  private readonly applications: Applications;
  private readonly grantStore: Grants;
  private readonly revocations: Revocations;
  private readonly clock: Clock;

  constructor(d: SharingDeps) {
    this.clock = d.clock;
    this.grantStore = new Grants(d);
    this.revocations = new Revocations({ ...d, grants: this.grantStore });
    this.applications = new Applications({ ...d, grants: this.grantStore });
  }

  // ---------------------------------------------------------------- applications

  get(id: string): Application | undefined {
    return this.applications.get(id);
  }

  require(id: string): Application {
    return this.applications.require(id);
  }

  list(filter: { state?: string; county?: string } = {}): Application[] {
    return this.applications.list(filter);
  }

  /** The application with its deadline in working days, as shown to users. */
  describe(app: Application): Application & { deadlineInfo: ReturnType<typeof deadlineInfo> } {
    return this.applications.describe(app);
  }

  /** `application.submit` from a consumer node (inside the UP handler's transaction). Refusals go back to the consumer. */
  submitFromNode(from: string, county: string, msg: ApplicationSubmit): void {
    this.applications.submitFromNode(from, county, msg);
  }

  /** `application.decide` from a node; a refusal is answered to the county, audited and returned (applications.ts). */
  decideFromNode(county: string, msg: ApplicationDecide): AppError | null {
    return this.applications.decideFromNode(county, msg);
  }

  /** A decision (hub reviewer over HTTP, or a node's message). Throws WorkflowError / AppError. */
  decide(id: string, event: ApplicationEventInput, actor: WorkflowActor): Application {
    return this.applications.decide(id, event, actor);
  }

  /** Deadlines (silent consent, overdue flags), unused grants, and the hourly revocation list. */
  tick(): { changed: number; revokedUnused: number } {
    let changed = 0;
    let revokedUnused = 0;
    try {
      changed = this.applications.tick();
      revokedUnused = this.revocations.revokeUnused();
    } finally {
      // Providers stop serving when the list goes stale (protocol/grant.ts): it is republished whatever failed above.
      this.revocations.publishIfStale();
    }
    return { changed, revokedUnused };
  }

  // ---------------------------------------------------------------- grants

  grant(grantId: string): SignedGrant | undefined {
    return this.grantStore.get(grantId);
  }

  /** Ids of the grants not past their validity at `now` (batch distribution looks at these). */
  liveGrantIds(now: Date): string[] {
    return this.grantStore.liveIds(now);
  }

  grants(filter: { county?: string } = {}): (Grant & { revocation: { kind: string; reason: string; at: string } | null; lastUsedAt: string | null })[] {
    return this.grantStore.list(filter).map((r) => ({ ...r.signed.grant, revocation: this.revocations.of(r.grantId), lastUsedAt: r.lastUsedAt }));
  }

  /**
   * The hub's own check before routing an access request (defence in depth: the provider decides
   * again, offline-capable). Throws AppError with the grant code.
   */
  authorize(consumerNodeId: string, grantId: string, method: 'query' | 'verify' | 'batch', items: readonly string[]): SignedGrant {
    const signed = this.grant(grantId);
    if (!signed) throw new AppError('GRANT_UNKNOWN', `没有授权 ${grantId}`, `no grant ${grantId}`);
    const list = this.latestList();
    const r = checkGrantUsable(signed, { now: this.clock.now(), revocations: list?.list ?? null, method, items: [...items], consumerNodeId });
    if (!r.ok) throw new AppError(r.code, r.zh, r.en);
    return signed;
  }

  /** Record a use (for Jincheng §31's unused-grant rule). */
  recordUse(grantId: string): void {
    this.grantStore.recordUse(grantId);
  }

  // ---------------------------------------------------------------- revocation

  /** Revoke or suspend (Jiyuan §36: misuse) a grant; effective at providers with the next list (published now). */
  revoke(grantId: string, kind: RevocationKind, reason: string, actor: string): void {
    this.revocations.revoke(grantId, kind, reason, actor);
  }

  /** Lift a suspension. */
  reinstate(grantId: string, actor: string): void {
    this.revocations.reinstate(grantId, actor);
  }

  latestList(): SignedRevocationList | undefined {
    return this.revocations.latestList();
  }

  /** Sign and broadcast the complete list (serial + 1); in the caller's transaction. Expired grants drop off. */
  publishRevocations(): SignedRevocationList {
    return this.revocations.publish();
  }
}
