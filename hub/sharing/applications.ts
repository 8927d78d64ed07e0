/**
 * @module The hub's sharing applications (`applications`, hub migration 7): runs the pure workflow
 * (workflow.ts) on what departments submit and decide from their nodes, on the reviewer's decisions and
 * on deadlines, persists each transition, carries out its effects (grants signed through `GrantIssuer`,
 * notices logged) and replicates it as `application.update` to the consumer's and the provider's county
 * through the outbox, in the transaction of the change (nothing is lost in a crash). Refusals go back to
 * the county that sent the message. The only module with SQL on `applications`.
 */
import type Database from 'better-sqlite3';
import type { ApplicationDecide, ApplicationSubmit } from '../../protocol/sharing-messages.ts';
import type { ApplicationView } from '../../protocol/application.ts';
import type { DataItem } from '../../protocol/catalog-entry.ts';
import type { Policy } from '../../protocol/policy.ts';
import { downCountySubject } from '../../protocol/subjects.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { WorkingCalendar } from '../../engine/calendar/calendar.ts';
import type { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import type { Logger } from '../../engine/log.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import type { GrantIssuer } from './grants.ts';
import { apply, attachGrant, deadlineInfo, submit, tick, WorkflowError, type Application, type ApplicationEventInput, type WorkflowActor, type WorkflowEffect } from './workflow.ts';

export interface ApplicationsDeps {
  db: Db;
  store: CatalogStore;
  grants: GrantIssuer;
  outbox: Outbox;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  policy: Policy;
  calendar: WorkingCalendar;
  municipality: string;
}

interface AppRow {
  view: string;
}

const SQL = {
  get: 'SELECT view FROM applications WHERE id = ?',
  list: 'SELECT view FROM applications WHERE (@state IS NULL OR state = @state) AND (@county IS NULL OR consumer_county = @county OR provider_county = @county) ORDER BY created_at DESC LIMIT 1000',
  open: "SELECT view FROM applications WHERE state NOT IN ('granted', 'rejected', 'withdrawn', 'closed')",
  insert: `INSERT INTO applications (id, consumer_county, consumer_department, provider_county, provider_department, resource, state, view, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  update: 'UPDATE applications SET state = ?, view = ?, updated_at = ? WHERE id = ?',
} as const;

export class Applications {
  private readonly stmts: { [K in keyof typeof SQL]: Database.Statement<unknown[]> };

  constructor(private readonly d: ApplicationsDeps) {
    this.stmts = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, d.db.prepare(sql)])) as never;
  }

  get(id: string): Application | undefined {
    const r = this.stmts.get.get(id) as AppRow | undefined;
    return r ? (JSON.parse(r.view) as Application) : undefined;
  }

  require(id: string): Application {
    const app = this.get(id);
    if (!app) throw new AppError('NOT_FOUND', `没有申请 ${id}`, `no application ${id}`);
    return app;
  }

  list(filter: { state?: string; county?: string } = {}): Application[] {
    const rows = this.stmts.list.all({ state: filter.state ?? null, county: filter.county ?? null }) as AppRow[];
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
      const content = view.content as { provider: { code: string }; sharing: { attribute: 'unconditional' | 'conditional' | 'not_shared'; platformAuthorized?: boolean }; dataItems: DataItem[] };
      const result = submit(
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
            // Jincheng §29: the provider authorised the platform for the whole resource (honoured per policy).
            platformAuthorized: content.sharing.platformAuthorized === true,
          },
          request: msg.request,
        },
        this.ctx(actor),
      );
      // Direct access (Yaohai §14, Jiaozuo §19(1), Hebi §15) signs its grant here; every flow replicates.
      const app = this.carryOut(result.app, result.effects, true);
      this.d.audit.append({
        actor: actor.id,
        actorRole: 'dept_operator',
        department: actor.department,
        action: 'sharing.apply',
        resource: app.resource,
        result: 'ok',
        // Purpose and scenario are part of the record of every use (Yaohai §14, Hebi §15: 说明 … 共享用途).
        detail: { applicationId: app.id, from, state: app.state, approver: app.approver ?? null, purpose: app.request.purpose, scenario: app.request.scenario },
      });
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

  /** Deadlines (silent consent, overdue flags) of the open applications; returns how many moved. */
  tick(): number {
    let changed = 0;
    const ctx = { now: this.d.clock.now(), policy: this.d.policy, calendar: this.d.calendar };
    const open = this.stmts.open.all() as AppRow[];
    for (const r of open) {
      const app = JSON.parse(r.view) as Application;
      // One application that cannot move (its entry gone, say) must not stop the others, nor the revocation list.
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
    return changed;
  }

  private ctx(actor: WorkflowActor) {
    return { now: this.d.clock.now(), policy: this.d.policy, calendar: this.d.calendar, actor };
  }

  /** Persist (`insert`: a new application), run the effects (sign grants, notify) and replicate; in the caller's transaction. */
  private carryOut(app: Application, effects: WorkflowEffect[], insert = false): Application {
    let current = app;
    for (const e of effects) {
      if (e.kind === 'issue_grant') {
        const signed = this.d.grants.issue(current, e);
        current = attachGrant(current, signed.grant.grantId);
      } else {
        this.d.log.info({ event: 'sharing.notify', applicationId: app.id, to: e.to, en: e.en }, e.zh);
      }
    }
    this.save(current, insert);
    this.replicate(current);
    return current;
  }

  private save(app: Application, insert: boolean): void {
    const now = this.d.clock.now().toISOString();
    if (insert) {
      this.stmts.insert.run(app.id, app.consumer.county, app.consumer.department, app.provider.county, app.provider.department, app.resource, app.state, JSON.stringify(app), now, now);
    } else {
      this.stmts.update.run(app.state, JSON.stringify(app), now, app.id);
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
}
