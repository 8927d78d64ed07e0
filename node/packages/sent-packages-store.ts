/**
 * @module The node's record of the packages it sent (`packages_sent`: one row per package, `building` →
 * `offered` → `stored` | `refused`, or `abandoned`) and of their encrypted chunks, kept until the hub
 * answers (`package_spool`). The only module with SQL on these tables (schema: node migrations 4, 6, 9);
 * the sender, packager, scheduler, grant packager and CLI each use it through a small interface of their own.
 */
import type Database from 'better-sqlite3';
import type { Db } from '../../engine/storage/db.ts';

export type SentState = 'building' | 'offered' | 'stored' | 'refused' | 'abandoned';

/** One package's bookkeeping, as the packager and grant packager read it to choose the next one. */
export interface SentPackage {
  package_id: string;
  state: string;
  kind: string | null;
  new_version: number;
  generation: number | null;
  schema_hash: string | null;
  created_at: string;
  finished_at: string | null;
}

/** What `jilian node package` reports of a package. */
export interface SentSummary {
  state: string;
  code: string | null;
  kind: string;
  base_version: number | null;
  new_version: number;
  row_count: number | null;
}

export interface NewSentPackage {
  packageId: string;
  resource: string;
  newVersion: number;
  kind: string;
  baseVersion: number | null;
  generation: number | null;
  schemaHash: string;
  grantId: string | null;
}

const HISTORY_COLUMNS = 'package_id, state, kind, new_version, generation, schema_hash, created_at, finished_at';

const SQL = {
  insert: `INSERT INTO packages_sent (package_id, resource, new_version, state, created_at, kind, base_version, generation, schema_hash, grant_id)
           VALUES (?, ?, ?, 'building', ?, ?, ?, ?, ?, ?)`,
  building: "SELECT package_id AS id FROM packages_sent WHERE state = 'building'",
  buildingOfGrant: "SELECT package_id AS id FROM packages_sent WHERE grant_id = ? AND state = 'building'",
  abandon: "UPDATE packages_sent SET state = 'abandoned', finished_at = ? WHERE package_id = ? AND state = 'building'",
  offered: "UPDATE packages_sent SET state = 'offered', row_count = ? WHERE package_id = ?",
  answered: "UPDATE packages_sent SET state = ?, code = ?, finished_at = ? WHERE package_id = ? AND state = 'offered'",
  state: 'SELECT state, code FROM packages_sent WHERE package_id = ?',
  summary: 'SELECT state, code, kind, base_version, new_version, row_count FROM packages_sent WHERE package_id = ?',
  // The resource's own chain: grant packages (node/sharing/grant-packages.ts) are not part of it.
  resourceHistory: `SELECT ${HISTORY_COLUMNS} FROM packages_sent WHERE resource = ? AND grant_id IS NULL ORDER BY created_at DESC, package_id DESC LIMIT 50`,
  lastScheduled: "SELECT created_at AS at FROM packages_sent WHERE resource = ? AND grant_id IS NULL AND state IN ('building', 'offered', 'stored') ORDER BY created_at DESC LIMIT 1",
  newestOwnVersion: "SELECT MAX(new_version) AS v FROM packages_sent WHERE resource = ? AND grant_id IS NULL AND state IN ('offered', 'stored')",
  grantHistory: `SELECT ${HISTORY_COLUMNS} FROM packages_sent WHERE grant_id = ? ORDER BY created_at DESC, package_id DESC LIMIT 50`,
  spoolPut: 'INSERT OR REPLACE INTO package_spool (package_id, idx, bytes) VALUES (?, ?, ?)',
  spoolGet: 'SELECT bytes FROM package_spool WHERE package_id = ? AND idx = ?',
  spoolDrop: 'DELETE FROM package_spool WHERE package_id = ?',
} as const;

export class SentPackageStore {
  private readonly stmts: { [K in keyof typeof SQL]: Database.Statement<unknown[]> };

  constructor(private readonly db: Db) {
    this.stmts = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)])) as never;
  }

  /** A package whose build starts now. */
  begin(p: NewSentPackage, at: Date): void {
    this.stmts.insert.run(p.packageId, p.resource, p.newVersion, at.toISOString(), p.kind, p.baseVersion, p.generation, p.schemaHash, p.grantId);
  }

  /** Keep these chunks until the hub answers (one transaction). */
  spool(packageId: string, chunks: readonly { index: number; bytes: Uint8Array }[]): void {
    this.db.transaction(() => {
      for (const c of chunks) this.stmts.spoolPut.run(packageId, c.index, c.bytes);
    })();
  }

  spooled(packageId: string, index: number): Uint8Array | undefined {
    return (this.stmts.spoolGet.get(packageId, index) as { bytes: Buffer } | undefined)?.bytes;
  }

  /** The offer is queued (call in the transaction that queues it). */
  offered(packageId: string, rowCount: number): void {
    this.stmts.offered.run(rowCount, packageId);
  }

  /** The hub's answer to an offered package; drops its spool. False when the package was not waiting for one. */
  answered(packageId: string, status: 'stored' | 'refused', code: string | null, at: Date): boolean {
    return this.db.transaction(() => {
      const n = this.stmts.answered.run(status, code, at.toISOString(), packageId).changes;
      if (n > 0) this.stmts.spoolDrop.run(packageId);
      return n > 0;
    })();
  }

  /** A build that never reached its offer: drop its spool and mark it abandoned (only while `building`). */
  abandon(packageId: string, at: Date): void {
    this.db.transaction(() => {
      this.stmts.spoolDrop.run(packageId);
      this.stmts.abandon.run(at.toISOString(), packageId);
    })();
  }

  /** Abandon every package still `building` (after a crash); returns how many. */
  abandonBuilding(at: Date): number {
    return this.db.transaction(() => {
      const ids = (this.stmts.building.all() as { id: string }[]).map((r) => r.id);
      for (const id of ids) this.abandon(id, at);
      return ids.length;
    })();
  }

  /** Ids of the grant's packages still `building`. */
  buildingOfGrant(grantId: string): string[] {
    return (this.stmts.buildingOfGrant.all(grantId) as { id: string }[]).map((r) => r.id);
  }

  state(packageId: string): { state: string; code: string | null } | undefined {
    return this.stmts.state.get(packageId) as { state: string; code: string | null } | undefined;
  }

  summary(packageId: string): SentSummary | undefined {
    return this.stmts.summary.get(packageId) as SentSummary | undefined;
  }

  /** The resource's own latest packages (up to 50), newest first. */
  resourceHistory(resource: string): SentPackage[] {
    return this.stmts.resourceHistory.all(resource) as SentPackage[];
  }

  /** When the resource's latest package that counts for its update cycle (not refused or abandoned) was built. */
  lastPackagedAt(resource: string): string | undefined {
    return (this.stmts.lastScheduled.get(resource) as { at: string } | undefined)?.at;
  }

  /** Newest version of the resource's own packages offered or stored, or null. */
  newestOwnVersion(resource: string): number | null {
    return (this.stmts.newestOwnVersion.get(resource) as { v: number | null }).v;
  }

  /** The grant's latest packages (up to 50), newest first. */
  grantHistory(grantId: string): SentPackage[] {
    return this.stmts.grantHistory.all(grantId) as SentPackage[];
  }
}
