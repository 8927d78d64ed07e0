/** @module Hub operators (reviewers) and their API tokens, stored only as SHA-256 hashes. */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../engine/db.ts';
import { hashToken } from '../../engine/http.ts';

export class OperatorStore {
  constructor(private readonly db: Db) {}

  /** Create (or re-key) an operator; the token is returned once and never stored. */
  issue(name: string, now: Date): string {
    const token = `jlh_${randomBytes(32).toString('base64url')}`;
    this.db
      .prepare('INSERT INTO operators (name, token_hash, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET token_hash = excluded.token_hash')
      .run(name, hashToken(token), now.toISOString());
    return token;
  }

  byToken(token: string): { name: string } | undefined {
    return this.db.prepare('SELECT name FROM operators WHERE token_hash = ?').get(hashToken(token)) as { name: string } | undefined;
  }
}
