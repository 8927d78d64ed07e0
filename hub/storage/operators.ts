/** @module Hub catalog reviewers: `issue` creates (or re-keys) a reviewer account and returns a token, shown once. */
import type { Db } from '../../engine/db.ts';
import { AccountStore } from '../../engine/accounts/store.ts';

export class OperatorStore {
  private readonly accounts: AccountStore;

  constructor(private readonly db: Db) {
    this.accounts = new AccountStore(db);
  }

  issue(name: string, now: Date): string {
    return this.db.transaction(() => {
      const account = this.accounts.byName(name) ?? this.accounts.create({ name, role: 'reviewer' }, now);
      return this.accounts.issueToken(account.id, now);
    })();
  }
}
