/**
 * @module Forced-package requests (`package_requests`, node migration 6): queued by `jilian node package`
 * (or the API), carried out by the running node's scheduler, followed by the CLI. The only module with
 * SQL on the table.
 */
import type Database from 'better-sqlite3';
import type { Db } from '../../engine/storage/db.ts';

export interface PackageRequestRow {
  id: number;
  resource: string;
  snapshot: number;
  requested_by: string;
  state: 'queued' | 'done' | 'failed';
  package_id: string | null;
  result_json: string | null;
}

const SQL = {
  queue: 'INSERT INTO package_requests (resource, snapshot, requested_by, requested_at) VALUES (?, ?, ?, ?)',
  queued: "SELECT * FROM package_requests WHERE state = 'queued' ORDER BY id",
  get: 'SELECT * FROM package_requests WHERE id = ?',
  finish: 'UPDATE package_requests SET state = ?, package_id = ?, result_json = ?, finished_at = ? WHERE id = ?',
} as const;

export class PackageRequestStore {
  private readonly stmts: { [K in keyof typeof SQL]: Database.Statement<unknown[]> };

  constructor(db: Db) {
    this.stmts = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)])) as never;
  }

  /** Queue a forced package; returns the request id. */
  queue(resource: string, opts: { snapshot?: boolean; requestedBy: string; at: Date }): number {
    return Number(this.stmts.queue.run(resource, opts.snapshot ? 1 : 0, opts.requestedBy, opts.at.toISOString()).lastInsertRowid);
  }

  /** Requests not carried out yet, oldest first. */
  queued(): PackageRequestRow[] {
    return this.stmts.queued.all() as PackageRequestRow[];
  }

  get(id: number): PackageRequestRow | undefined {
    return this.stmts.get.get(id) as PackageRequestRow | undefined;
  }

  finish(id: number, state: 'done' | 'failed', packageId: string | null, result: unknown, at: Date): void {
    this.stmts.finish.run(state, packageId, JSON.stringify(result), at.toISOString(), id);
  }
}

/** Queue a forced package; the running node carries it out. Returns the request id. */
export function queuePackageRequest(db: Db, resource: string, opts: { snapshot?: boolean; requestedBy: string; at: Date }): number {
  return new PackageRequestStore(db).queue(resource, opts);
}
