/** @module Departments served by this node and their API tokens (stored only as SHA-256 hashes). */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../engine/db.ts';
import { hashToken } from '../../engine/http.ts';

export interface Department {
  code: string;
  name: string;
}

export class DepartmentStore {
  constructor(private readonly db: Db) {}

  /** Register a department (or replace its token) and return the new token; it is shown once, never stored. */
  issue(code: string, name: string, now: Date): string {
    const token = `jl_${randomBytes(32).toString('base64url')}`;
    this.db
      .prepare(
        `INSERT INTO departments (code, name, token_hash, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(code) DO UPDATE SET name = excluded.name, token_hash = excluded.token_hash`,
      )
      .run(code, name, hashToken(token), now.toISOString());
    return token;
  }

  byToken(token: string): Department | undefined {
    return this.db.prepare('SELECT code, name FROM departments WHERE token_hash = ?').get(hashToken(token)) as Department | undefined;
  }

  list(): Department[] {
    return this.db.prepare('SELECT code, name FROM departments ORDER BY code').all() as Department[];
  }
}
