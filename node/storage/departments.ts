/** @module Departments served by this node. `issue` is the one-step set-up: the department, its operator account and a token. */
import type { Db } from '../../engine/storage/db.ts';
import { AccountStore } from '../../engine/accounts/store.ts';
import type { AuditLog } from '../../engine/audit/log.ts';

/** Audit actions of this store (an AuditLog that records them is constructed with these among its actions). */
export const DEPARTMENT_AUDIT_ACTIONS = ['department.register'] as const;

/** Who registers a department, for the audit record. */
export interface DepartmentActor {
  audit: AuditLog;
  actor: string;
  actorRole: string;
  via: string;
}

export interface Department {
  code: string;
  name: string;
}

export class DepartmentStore {
  private readonly accounts: AccountStore;

  constructor(private readonly db: Db) {
    this.accounts = new AccountStore(db);
  }

  /**
   * Register a department (or rename it) and return a new token of its operator account `dept-<code>`;
   * shown once. With `by`, one `department.register` audit record is written in the same transaction.
   */
  issue(code: string, name: string, now: Date, by?: DepartmentActor): string {
    return this.db.transaction(() => {
      const previous = this.get(code);
      this.db.prepare('INSERT INTO departments (code, name, created_at) VALUES (?, ?, ?) ON CONFLICT(code) DO UPDATE SET name = excluded.name').run(code, name, now.toISOString());
      const existing = this.accounts.byName(`dept-${code}`);
      const account = existing ?? this.accounts.create({ name: `dept-${code}`, role: 'dept_operator', department: code }, now);
      const token = this.accounts.issueToken(account.id, now);
      by?.audit.append({
        actor: by.actor,
        actorRole: by.actorRole,
        department: code,
        action: 'department.register',
        resource: code,
        result: 'ok',
        detail: { name, ...(previous && previous.name !== name ? { previousName: previous.name } : {}), account: account.name, accountCreated: !existing, via: by.via },
      });
      return token;
    })();
  }

  get(code: string): Department | undefined {
    return this.db.prepare('SELECT code, name FROM departments WHERE code = ?').get(code) as Department | undefined;
  }

  list(): Department[] {
    return this.db.prepare('SELECT code, name FROM departments ORDER BY code').all() as Department[];
  }
}
