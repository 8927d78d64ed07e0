/** @module Hub catalog reviewers: `issue` creates (or re-keys) a reviewer account and returns a token, shown once. */
import type { Db } from '../../engine/storage/db.ts';
import { AccountStore } from '../../engine/accounts/store.ts';
import type { AuditLog } from '../../engine/audit/log.ts';

/** Who issues the token, for the audit record (`account.create` for a new account, else `token.issue`). */
export interface OperatorActor {
  audit: AuditLog;
  actor: string;
  actorRole: string;
  via: string;
}

export class OperatorStore {
  private readonly accounts: AccountStore;

  constructor(private readonly db: Db) {
    this.accounts = new AccountStore(db);
  }

  issue(name: string, now: Date, by?: OperatorActor): string {
    return this.db.transaction(() => {
      const existing = this.accounts.byName(name);
      const account = existing ?? this.accounts.create({ name, role: 'reviewer' }, now);
      const token = this.accounts.issueToken(account.id, now);
      by?.audit.append({
        actor: by.actor,
        actorRole: by.actorRole,
        action: existing ? 'token.issue' : 'account.create',
        resource: account.name,
        result: 'ok',
        detail: { role: account.role, via: by.via },
      });
      return token;
    })();
  }
}
