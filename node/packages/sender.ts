/**
 * @module The node's side of package transport (PACKAGES.md §11). Chunks come out of the builder,
 * go to the spool (ciphertext only, safe at rest) and raw onto the PKG stream; when the build ends
 * the signed header is offered to the hub through the outbox. The hub's `package.resume` is served
 * from the spool byte for byte (never re-encrypted: that would reuse a nonce); `package.status`
 * ends the transfer and empties the spool.
 */
import { buildPackage, type BuildOptions, type PackageRows } from '../../engine/package/builder.ts';
import type { PackageResume, PackageStatus } from '../../protocol/package-messages.ts';
import { packageChunkSubject, upSubject } from '../../protocol/subjects.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/db.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import type { NatsLink } from '../../engine/nats-link.ts';
import type { Outbox } from '../../engine/outbox.ts';

export const PACKAGE_SPOOL_SQL = `
CREATE TABLE package_spool (
  package_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  PRIMARY KEY (package_id, idx)
) WITHOUT ROWID;
CREATE TABLE packages_sent (
  package_id TEXT PRIMARY KEY,
  resource TEXT NOT NULL,
  new_version INTEGER NOT NULL,
  state TEXT NOT NULL,          -- building | offered | stored | refused
  code TEXT,
  created_at TEXT NOT NULL,
  finished_at TEXT
) WITHOUT ROWID;
`;

const PUBLISH_WINDOW = 16;
/** A spool batch is committed at this many bytes or chunks, or once its first chunk is this old. */
const SPOOL_BATCH_BYTES = 4 * 1024 * 1024;
const SPOOL_BATCH_CHUNKS = 256;
const SPOOL_BATCH_MS = 200;

export interface SenderDeps {
  db: Db;
  link: NatsLink;
  outbox: Outbox;
  identity: Identity;
  clock: Clock;
  log: Logger;
  municipality: string;
  county: string;
  hub: { nodeId: string; encryptionKey: Uint8Array };
}

export type SendOptions = Pick<BuildOptions, 'resource' | 'resourceCode' | 'schemaHash' | 'kind' | 'baseVersion' | 'newVersion' | 'chunkSize' | 'recycle' | 'grantId'> & {
  /** The front-end table generation the rows come from (packager.ts decides delta vs snapshot with it). */
  generation?: number;
  /** Test hook: leave these chunk indices out of the first transmission (they stay in the spool). */
  holdBack?: ReadonlySet<number>;
};

export class PackageSender {
  constructor(private readonly d: SenderDeps) {}

  /**
   * After a crash: a package whose build never finished was never offered, so the hub has nothing
   * of it; drop its spool and mark it abandoned (a new package carries the data next time).
   * Offered packages keep their spool until the hub answers.
   */
  recover(): number {
    return this.d.db.transaction(() => {
      const ids = (this.d.db.prepare("SELECT package_id AS id FROM packages_sent WHERE state = 'building'").all() as { id: string }[]).map((r) => r.id);
      for (const id of ids) {
        this.d.db.prepare('DELETE FROM package_spool WHERE package_id = ?').run(id);
        this.d.db.prepare("UPDATE packages_sent SET state = 'abandoned', finished_at = ? WHERE package_id = ?").run(this.d.clock.now().toISOString(), id);
      }
      return ids.length;
    })();
  }

  /** A build that failed before its offer: the hub has nothing of it; drop its spool and mark it abandoned. */
  abandon(packageId: string): void {
    this.d.db.transaction(() => {
      this.d.db.prepare('DELETE FROM package_spool WHERE package_id = ?').run(packageId);
      this.d.db.prepare("UPDATE packages_sent SET state = 'abandoned', finished_at = ? WHERE package_id = ? AND state = 'building'").run(this.d.clock.now().toISOString(), packageId);
    })();
  }

  /** Build, spool and transmit a package; resolves with its id once the offer is queued. */
  async send(rows: PackageRows, opts: SendOptions): Promise<{ packageId: string; chunks: number; rows: number }> {
    const { holdBack, generation, ...build } = opts;
    const pkg = buildPackage(rows, { ...build, signer: this.d.identity, recipients: [{ nodeId: this.d.hub.nodeId, publicKey: this.d.hub.encryptionKey }], now: () => this.d.clock.now() });
    this.d.db
      .prepare(
        `INSERT INTO packages_sent (package_id, resource, new_version, state, created_at, kind, base_version, generation, schema_hash, grant_id)
         VALUES (?, ?, ?, 'building', ?, ?, ?, ?, ?, ?)`,
      )
      .run(pkg.packageId, opts.resource, opts.newVersion, this.d.clock.now().toISOString(), opts.kind, opts.baseVersion, generation ?? null, opts.schemaHash, opts.grantId ?? null);
    const spool = this.d.db.prepare('INSERT OR REPLACE INTO package_spool (package_id, idx, bytes) VALUES (?, ?, ?)');
    // Chunks are spooled in batches, one transaction (one fsync) each instead of one per chunk. A chunk
    // may be published before its batch commits: until the offer the hub cannot ask for anything, and
    // a crash before the offer abandons the package (recover()). Every batch is committed before the
    // offer's transaction, on the same connection, so the spool is durable once the offer is queued.
    const batch: { index: number; bytes: Uint8Array }[] = [];
    let batchBytes = 0;
    let batchSince = 0;
    const writeBatch = this.d.db.transaction((chunks: typeof batch) => {
      for (const c of chunks) spool.run(pkg.packageId, c.index, c.bytes);
    });
    const flush = () => {
      if (batch.length === 0) return;
      writeBatch(batch);
      batch.length = 0;
      batchBytes = 0;
    };
    let count = 0;
    // Up to PUBLISH_WINDOW chunk publishes await their acks at once: one round trip per chunk would
    // otherwise bound the throughput (the spool holds every chunk, so a lost one is only re-sent).
    const inflight = new Set<Promise<void>>();
    for await (const chunk of pkg.chunks) {
      if (batch.length === 0) batchSince = Date.now();
      batch.push(chunk);
      batchBytes += chunk.bytes.length;
      if (batchBytes >= SPOOL_BATCH_BYTES || batch.length >= SPOOL_BATCH_CHUNKS || Date.now() - batchSince >= SPOOL_BATCH_MS) flush();
      count++;
      if (holdBack?.has(chunk.index)) continue;
      const p: Promise<void> = this.publish(pkg.packageId, chunk.index, chunk.bytes).finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= PUBLISH_WINDOW) await Promise.race(inflight);
    }
    flush();
    await Promise.all(inflight);
    const signed = await pkg.header;
    this.d.db.transaction(() => {
      this.d.outbox.add(upSubject(this.d.municipality, this.d.county, 'package.offer'), 'package.offer', signed, this.d.clock.now());
      this.d.db.prepare("UPDATE packages_sent SET state = 'offered', row_count = ? WHERE package_id = ?").run(signed.header.rowCount, pkg.packageId);
    })();
    this.d.log.info({ event: 'package.offered', packageId: pkg.packageId, resource: opts.resource, chunks: count }, 'package offered to the hub');
    return { packageId: pkg.packageId, chunks: count, rows: signed.header.rowCount };
  }

  /** The hub lacks these chunks: send them again from the spool. */
  async resume(req: PackageResume): Promise<void> {
    const get = this.d.db.prepare('SELECT bytes FROM package_spool WHERE package_id = ? AND idx = ?');
    for (const [from, to] of req.ranges) {
      for (let i = from; i <= to; i++) {
        const row = get.get(req.packageId, i) as { bytes: Buffer } | undefined;
        if (row) await this.publish(req.packageId, i, row.bytes);
      }
    }
  }

  /** The hub stored or refused the package: the spool is no longer needed either way. */
  status(s: PackageStatus): void {
    // Only an offered package waits for an answer: a late or repeated status never rewrites a finished one.
    const changed = this.d.db.transaction(() => {
      const n = this.d.db.prepare("UPDATE packages_sent SET state = ?, code = ?, finished_at = ? WHERE package_id = ? AND state = 'offered'").run(s.status, s.code, this.d.clock.now().toISOString(), s.packageId).changes;
      if (n > 0) this.d.db.prepare('DELETE FROM package_spool WHERE package_id = ?').run(s.packageId);
      return n > 0;
    })();
    if (!changed) {
      this.d.log.warn({ event: 'package.status_ignored', packageId: s.packageId, status: s.status }, 'status for a package that is not waiting for one');
      return;
    }
    const level = s.status === 'stored' ? 'info' : 'warn';
    this.d.log[level]({ event: `package.${s.status}`, packageId: s.packageId, code: s.code }, `hub ${s.status} the package`);
  }

  state(packageId: string): { state: string; code: string | null } | undefined {
    return this.d.db.prepare('SELECT state, code FROM packages_sent WHERE package_id = ?').get(packageId) as { state: string; code: string | null } | undefined;
  }

  /** Raw chunk onto the PKG stream; a failure is fine (the hub asks again, the spool keeps it). */
  private async publish(packageId: string, index: number, bytes: Uint8Array): Promise<void> {
    const js = this.d.link.js;
    if (!js) return;
    await js
      .publish(packageChunkSubject(this.d.municipality, this.d.county, packageId, index), bytes, { msgID: `${packageId}:${index}`, timeout: 10_000 })
      .catch((err) => this.d.log.warn({ event: 'package.chunk_publish_failed', packageId, index, err: String(err) }, 'chunk not published; the hub will ask again'));
  }
}
