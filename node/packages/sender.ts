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
import type { Db } from '../../engine/storage/db.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import { SentPackageStore } from './sent-packages-store.ts';

const PUBLISH_WINDOW = 16;
/** A spool batch is committed at this many bytes or chunks, or once its first chunk is this old. */
const SPOOL_BATCH_BYTES = 4 * 1024 * 1024;
const SPOOL_BATCH_CHUNKS = 256;
const SPOOL_BATCH_MS = 200;

/** Where raw chunks go: the PKG stream (node/bus/package-chunks.ts). Rejects when a chunk was not stored. */
export interface PackageChunkSink {
  /** Publish one chunk on `subject`, deduplicated by `msgId`; resolves without publishing while there is no link. */
  putChunk(subject: string, bytes: Uint8Array, msgId: string): Promise<void>;
}

export interface SenderDeps {
  db: Db;
  chunks: PackageChunkSink;
  outbox: Outbox;
  identity: Identity;
  clock: Clock;
  log: Logger;
  municipality: string;
  county: string;
  hub: { nodeId: string; encryptionKey: Uint8Array };
  /** Where sent packages and their spooled chunks are kept (default: the store on `db`). */
  sent?: SendLedger;
}

/** What the sender needs of the sent-package store (sent-packages-store.ts). */
export type SendLedger = Pick<SentPackageStore, 'begin' | 'spool' | 'spooled' | 'offered' | 'answered' | 'abandon' | 'abandonBuilding' | 'state'>;

export type SendOptions = Pick<BuildOptions, 'resource' | 'resourceCode' | 'schemaHash' | 'kind' | 'baseVersion' | 'newVersion' | 'chunkSize' | 'recycle' | 'grantId'> & {
  /** The front-end table generation the rows come from (packager.ts decides delta vs snapshot with it). */
  generation?: number;
  /** Test hook: leave these chunk indices out of the first transmission (they stay in the spool). */
  holdBack?: ReadonlySet<number>;
};

export class PackageSender {
  private readonly sent: SendLedger;

  constructor(private readonly d: SenderDeps) {
    this.sent = d.sent ?? new SentPackageStore(d.db);
  }

  /**
   * After a crash: a package whose build never finished was never offered, so the hub has nothing
   * of it; drop its spool and mark it abandoned (a new package carries the data next time).
   * Offered packages keep their spool until the hub answers.
   */
  recover(): number {
    return this.sent.abandonBuilding(this.d.clock.now());
  }

  /** A build that failed before its offer: the hub has nothing of it; drop its spool and mark it abandoned. */
  abandon(packageId: string): void {
    this.sent.abandon(packageId, this.d.clock.now());
  }

  /** Build, spool and transmit a package; resolves with its id once the offer is queued. */
  async send(rows: PackageRows, opts: SendOptions): Promise<{ packageId: string; chunks: number; rows: number }> {
    const { holdBack, generation, ...build } = opts;
    const pkg = buildPackage(rows, { ...build, signer: this.d.identity, recipients: [{ nodeId: this.d.hub.nodeId, publicKey: this.d.hub.encryptionKey }], now: () => this.d.clock.now() });
    this.sent.begin(
      {
        packageId: pkg.packageId,
        resource: opts.resource,
        newVersion: opts.newVersion,
        kind: opts.kind,
        baseVersion: opts.baseVersion,
        generation: generation ?? null,
        schemaHash: opts.schemaHash,
        grantId: opts.grantId ?? null,
      },
      this.d.clock.now(),
    );
    // Chunks are spooled in batches, one transaction (one fsync) each instead of one per chunk. A chunk
    // may be published before its batch commits: until the offer the hub cannot ask for anything, and
    // a crash before the offer abandons the package (recover()). Every batch is committed before the
    // offer's transaction, on the same connection, so the spool is durable once the offer is queued.
    const batch: { index: number; bytes: Uint8Array }[] = [];
    let batchBytes = 0;
    let batchSince = 0;
    const flush = () => {
      if (batch.length === 0) return;
      this.sent.spool(pkg.packageId, batch);
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
      this.sent.offered(pkg.packageId, signed.header.rowCount);
    })();
    this.d.log.info({ event: 'package.offered', packageId: pkg.packageId, resource: opts.resource, chunks: count }, 'package offered to the hub');
    return { packageId: pkg.packageId, chunks: count, rows: signed.header.rowCount };
  }

  /** The hub lacks these chunks: send them again from the spool. */
  async resume(req: PackageResume): Promise<void> {
    for (const [from, to] of req.ranges) {
      for (let i = from; i <= to; i++) {
        const bytes = this.sent.spooled(req.packageId, i);
        if (bytes) await this.publish(req.packageId, i, bytes);
      }
    }
  }

  /** The hub stored or refused the package: the spool is no longer needed either way. */
  status(s: PackageStatus): void {
    // Only an offered package waits for an answer: a late or repeated status never rewrites a finished one.
    const changed = this.sent.answered(s.packageId, s.status, s.code, this.d.clock.now());
    if (!changed) {
      this.d.log.warn({ event: 'package.status_ignored', packageId: s.packageId, status: s.status }, 'status for a package that is not waiting for one');
      return;
    }
    const level = s.status === 'stored' ? 'info' : 'warn';
    this.d.log[level]({ event: `package.${s.status}`, packageId: s.packageId, code: s.code }, `hub ${s.status} the package`);
  }

  state(packageId: string): { state: string; code: string | null } | undefined {
    return this.sent.state(packageId);
  }

  /** Raw chunk onto the PKG stream; a failure is fine (the hub asks again, the spool keeps it). */
  private async publish(packageId: string, index: number, bytes: Uint8Array): Promise<void> {
    await this.d.chunks
      .putChunk(packageChunkSubject(this.d.municipality, this.d.county, packageId, index), bytes, `${packageId}:${index}`)
      .catch((err) => this.d.log.warn({ event: 'package.chunk_publish_failed', packageId, index, err: String(err) }, 'chunk not published; the hub will ask again'));
  }
}
