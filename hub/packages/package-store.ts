/**
 * @module The packages the hub holds: `packages` (one row per offered package, `pending` → `stored` |
 * `refused`), their chunks (`package_chunks`) and the recipients the hub added by re-sealing the content
 * key (`package_recipients`). The only module with SQL on these tables (schema: hub migrations 5, 6, 9);
 * the receiver, the access router and the batch distributor use it through small interfaces of their own.
 */
import type Database from 'better-sqlite3';
import { SignedPackageHeader } from '../../protocol/data-package.ts';
import type { Db } from '../../engine/storage/db.ts';

export interface NewPackage {
  packageId: string;
  resource: string;
  sender: string;
  county: string;
  kind: string;
  baseVersion: number | null;
  newVersion: number;
  signed: SignedPackageHeader;
  grantId: string | null;
}

/** A stored package of a resource's own chain (not a grant package), as the access router replays it. */
export interface ChainPackage {
  id: string;
  sender: string;
  v: number;
  at: string;
}

export interface AddedRecipient {
  node_id: string;
  public_key: string;
  sealed_key: string;
}

/**
 * Which stored packages a batch grant may get: those of `resource` in the chain of `grantId` (null: the
 * resource's own chain), optionally only those built with `schemaHash`.
 */
export interface ChainSelector {
  resource: string;
  grantId: string | null;
  schemaHash: string | null;
}

const SQL = {
  latestStored: "SELECT MAX(new_version) AS v FROM packages WHERE resource = ? AND state = 'stored' AND grant_id IS ?",
  insert: `INSERT INTO packages (package_id, resource, sender, county, kind, base_version, new_version, signed_header, state, offered_at, grant_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT(package_id) DO NOTHING`,
  exists: 'SELECT 1 FROM packages WHERE package_id = ?',
  pending: "SELECT package_id AS id, county, signed_header AS signed FROM packages WHERE state = 'pending'",
  markStored: "UPDATE packages SET state = 'stored', stored_at = ? WHERE package_id = ?",
  markRefused: "UPDATE packages SET state = 'refused', code = ? WHERE package_id = ?",
  storedHeader: "SELECT signed_header AS signed FROM packages WHERE package_id = ? AND state = 'stored'",
  // The resource's own chain from its latest snapshot on (the access router's fallback when the provider is offline).
  latestOwnSnapshot: "SELECT new_version AS v FROM packages WHERE resource = ? AND state = 'stored' AND kind = 'snapshot' AND grant_id IS NULL ORDER BY new_version DESC LIMIT 1",
  ownChainFrom:
    "SELECT package_id AS id, sender, new_version AS v, stored_at AS at FROM packages WHERE resource = ? AND state = 'stored' AND new_version >= ? AND grant_id IS NULL ORDER BY new_version",
  // A batch grant's packages: the latest snapshot of its chain (with the entry's current items), then later ones.
  latestSnapshot: `SELECT MAX(new_version) AS v FROM packages WHERE resource = @resource AND state = 'stored' AND kind = 'snapshot' AND grant_id IS @grant
                     AND (@schema IS NULL OR json_extract(signed_header, '$.header.schemaHash') = @schema)`,
  storedFrom: `SELECT package_id AS id FROM packages WHERE resource = @resource AND state = 'stored' AND new_version >= @from AND grant_id IS @grant
                 AND (@schema IS NULL OR json_extract(signed_header, '$.header.schemaHash') = @schema)
               ORDER BY new_version`,
  chunkIndices: 'SELECT idx FROM package_chunks WHERE package_id = ?',
  chunkIndicesOrdered: 'SELECT idx FROM package_chunks WHERE package_id = ? ORDER BY idx',
  chunkPut: 'INSERT OR IGNORE INTO package_chunks (package_id, idx, bytes) VALUES (?, ?, ?)',
  chunkGet: 'SELECT bytes FROM package_chunks WHERE package_id = ? AND idx = ?',
  chunksDrop: 'DELETE FROM package_chunks WHERE package_id = ?',
  recipient: 'SELECT node_id, public_key, sealed_key FROM package_recipients WHERE package_id = ? AND public_key = ?',
  recipientPut: 'INSERT INTO package_recipients (package_id, node_id, public_key, sealed_key, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  recipients: 'SELECT node_id, public_key, sealed_key FROM package_recipients WHERE package_id = ? ORDER BY created_at',
} as const;

export class PackageStore {
  private readonly stmts: { [K in keyof typeof SQL]: Database.Statement<unknown[]> };

  constructor(private readonly db: Db) {
    this.stmts = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)])) as never;
  }

  // ------------------------------------------------------------------ receiving

  /** Highest stored version of the resource's chain (`grantId` null) or of a grant's, or null. */
  latestStoredVersion(resource: string, grantId: string | null): number | null {
    return (this.stmts.latestStored.get(resource, grantId) as { v: number | null }).v;
  }

  /** Record an offer as pending (an id already known is left as it is). */
  addPending(p: NewPackage, at: Date): void {
    this.stmts.insert.run(p.packageId, p.resource, p.sender, p.county, p.kind, p.baseVersion, p.newVersion, JSON.stringify(p.signed), at.toISOString(), p.grantId);
  }

  has(packageId: string): boolean {
    return this.stmts.exists.get(packageId) !== undefined;
  }

  pending(): { id: string; county: string; signed: SignedPackageHeader }[] {
    return (this.stmts.pending.all() as { id: string; county: string; signed: string }[]).map((r) => ({ id: r.id, county: r.county, signed: SignedPackageHeader.parse(JSON.parse(r.signed)) }));
  }

  markStored(packageId: string, at: Date): void {
    this.stmts.markStored.run(at.toISOString(), packageId);
  }

  /** Refused: its chunks go. Call in the caller's transaction. */
  markRefused(packageId: string, code: string): void {
    this.stmts.markRefused.run(code, packageId);
    this.stmts.chunksDrop.run(packageId);
  }

  /** Indices of the chunks held. */
  chunkIndices(packageId: string): Set<number> {
    return new Set((this.stmts.chunkIndices.all(packageId) as { idx: number }[]).map((r) => r.idx));
  }

  /** Indices of the chunks held, in order, read lazily. */
  iterateChunkIndices(packageId: string): Iterable<number> {
    return this.stmts.chunkIndicesOrdered.pluck().iterate(packageId) as Iterable<number>;
  }

  /** Store chunks in one transaction; calls `stored` for each one that was not held yet. */
  putChunks<C extends { i: number; data: Uint8Array }>(packageId: string, chunks: readonly C[], stored: (c: C) => void): void {
    this.db.transaction(() => {
      for (const c of chunks) if (this.stmts.chunkPut.run(packageId, c.i, c.data).changes > 0) stored(c);
    })();
  }

  chunk(packageId: string, index: number): Buffer | undefined {
    return (this.stmts.chunkGet.get(packageId, index) as { bytes: Buffer } | undefined)?.bytes;
  }

  /** A stored package's signed header and chunks. */
  stored(packageId: string): { signed: SignedPackageHeader; chunk: (i: number) => Uint8Array | undefined } | undefined {
    const row = this.stmts.storedHeader.get(packageId) as { signed: string } | undefined;
    if (!row) return undefined;
    return { signed: SignedPackageHeader.parse(JSON.parse(row.signed)), chunk: (i) => this.chunk(packageId, i) };
  }

  // ------------------------------------------------------------------ re-sealed recipients

  recipient(packageId: string, publicKey: string): AddedRecipient | undefined {
    return this.stmts.recipient.get(packageId, publicKey) as AddedRecipient | undefined;
  }

  addRecipient(packageId: string, r: { nodeId: string; publicKey: string; sealedKey: string }, reason: string, at: Date): void {
    this.stmts.recipientPut.run(packageId, r.nodeId, r.publicKey, r.sealedKey, reason, at.toISOString());
  }

  /** Recipients the hub added, oldest first. */
  recipients(packageId: string): AddedRecipient[] {
    return this.stmts.recipients.all(packageId) as AddedRecipient[];
  }

  // ------------------------------------------------------------------ serving

  /** The resource's own stored chain from its latest snapshot on, oldest first; empty without a snapshot. */
  ownChain(resource: string): ChainPackage[] {
    const snap = this.stmts.latestOwnSnapshot.get(resource) as { v: number } | undefined;
    if (!snap) return [];
    return this.stmts.ownChainFrom.all(resource, snap.v) as ChainPackage[];
  }

  /** Ids of the stored packages a batch grant gets (its chain from the latest snapshot on, oldest first); empty without a snapshot. */
  grantableChain(sel: ChainSelector): string[] {
    const args = { resource: sel.resource, grant: sel.grantId, schema: sel.schemaHash };
    const snap = this.stmts.latestSnapshot.get(args) as { v: number | null };
    if (snap.v === null) return [];
    return (this.stmts.storedFrom.all({ ...args, from: snap.v }) as { id: string }[]).map((r) => r.id);
  }
}
