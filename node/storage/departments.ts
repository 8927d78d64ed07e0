/** @module Departments served by this node. `issue` is the one-step set-up: the department, its operator account and a token. */
import type { Db } from '../../engine/db.ts';
import { AccountStore } from '../../engine/accounts/store.ts';

export interface Department {
  code: string;
  name: string;
}

export class DepartmentStore {
  private readonly accounts: AccountStore;

  constructor(private readonly db: Db) {
    this.accounts = new AccountStore(db);
  }

  /** Register a department (or rename it) and return a new token of its operator account `dept-<code>`; shown once. */
  issue(code: string, name: string, now: Date): string {
    return this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO departments (code, name, created_at) VALUES (?, ?, ?) ON CONFLICT(code) DO UPDATE SET name = excluded.name')
        .run(code, name, now.toISOString());
      const account = this.accounts.byName(`dept-${code}`) ?? this.accounts.create({ name: `dept-${code}`, role: 'dept_operator', department: code }, now);
      return this.accounts.issueToken(account.id, now);
    })();
  }

  get(code: string): Department | undefined {
    return this.db.prepare('SELECT code, name FROM departments WHERE code = ?').get(code) as Department | undefined;
  }

  list(): Department[] {
    return this.db.prepare('SELECT code, name FROM departments ORDER BY code').all() as Department[];
  }
}
