/**
 * @module The hub's side of package transport (PACKAGES.md §11). An offer (signed header, from the
 * UP stream) is checked at once — shape, sender's signature, the sender's county owns the resource,
 * the hub is a recipient, version order — and queued. A loop then fetches the chunks from the PKG
 * stream by subject (JetStream direct get), stores each with its hash in the ledger, asks the node
 * for whatever it cannot find (`package.resume`), and once the body is exactly what the sender
 * signed (cipherHash) stores the version and answers `package.status`.
 */
import {
  ChunkLedger,
  chunkHash,
  PackageError,
  PackageRecipient,
  resealForRecipient,
  type SignedPackageHeader,
  unsealPackageKey,
  verifyHeader,
  withRecipient,
  PACKAGE_ERROR_CODES,
  UUID_RE,
  type BoxKeys,
  type PackageErrorCode,
} from '../../protocol/data-package.ts';
import { toBase64 } from '../../protocol/sodium.ts';
import { mapOrdered } from '../../engine/package/crypto-pool.ts';
import { countyOfEntry } from '../../protocol/identifiers.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { downCountySubject, packageChunkSubject } from '../../protocol/subjects.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import type { Logger } from '../../engine/log.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import type { RejectionLog } from '../bus/rejections.ts';
import type { NodeRegistry } from '../storage/registry.ts';
import type { Grant } from '../../protocol/grant.ts';
import { PackageStore } from './package-store.ts';

/** Chunk fetches (JetStream direct gets, through PackageChunkSource) in flight at once. */
const FETCH_WINDOW = 32;
/** Fetched chunks are stored in transactions of this many bytes or chunks. */
const STORE_BATCH_BYTES = 4 * 1024 * 1024;
const STORE_BATCH_CHUNKS = 256;

/** Where chunks are fetched from: the PKG stream by subject (hub/bus/package-chunks.ts). */
export interface PackageChunkSource {
  /** Whether chunks can be fetched now (the link is up). */
  ready(): boolean;
  /** The latest chunk stored on `subject`, or null if there is none (or it could not be fetched). */
  fetchChunk(subject: string): Promise<Uint8Array | null>;
}

export interface ReceiverDeps {
  db: Db;
  chunks: PackageChunkSource;
  registry: NodeRegistry;
  outbox: Outbox;
  rejections: RejectionLog;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  municipality: string;
  hubBoxKeys: BoxKeys;
  /** How often pending packages are looked at again (and missing chunks asked for). */
  pollMs?: number;
  /** The grant a grant package (PACKAGES.md §10a) names, if the hub issued it. */
  grant?: (grantId: string) => Grant | undefined;
  /** Where packages, chunks and added recipients are kept (default: the store on `db`). */
  store?: ReceivedPackages;
}

/** What the receiver needs of the package store (package-store.ts). */
export type ReceivedPackages = Pick<
  PackageStore,
  | 'latestStoredVersion'
  | 'addPending'
  | 'has'
  | 'pending'
  | 'markStored'
  | 'markRefused'
  | 'chunkIndices'
  | 'iterateChunkIndices'
  | 'putChunks'
  | 'chunk'
  | 'stored'
  | 'recipient'
  | 'addRecipient'
  | 'recipients'
>;

export class PackageReceiver {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private readonly lastResume = new Map<string, number>();
  private readonly store: ReceivedPackages;

  constructor(private readonly d: ReceiverDeps) {
    this.store = d.store ?? new PackageStore(d.db);
  }

  /** Check an offer and queue it (inside the UP handler's transaction). Throws ProtocolError to refuse. */
  offer(from: string, county: string, payload: unknown): void {
    let signed: SignedPackageHeader;
    try {
      signed = verifyHeader(payload, this.d.registry.get(from)?.keys ?? []);
      unsealPackageKey(signed, this.d.hubBoxKeys); // the hub must be able to hold it (and re-seal it later)
    } catch (err) {
      if (err instanceof PackageError) throw new ProtocolError('UPDATE_INVALID', `package refused: ${err.code} ${err.message}`, { code: err.code });
      throw err;
    }
    const h = signed.header;
    if (h.sender !== from || countyOfEntry(h.resource) !== county) {
      throw new ProtocolError('UPDATE_FORBIDDEN', `${from} may not send packages of ${h.resource}`, { resource: h.resource, code: 'PACKAGE_NOT_ALLOWED' });
    }
    if (h.grantId !== undefined) {
      // Only the provider's county may shape rows for a batch grant of its own resource.
      const g = this.d.grant?.(h.grantId);
      if (!g || g.resource !== h.resource || g.provider.county !== county || !g.methods.includes('batch')) {
        throw new ProtocolError('UPDATE_FORBIDDEN', `${from} may not send a package for grant ${h.grantId}`, { packageId: h.packageId, code: 'PACKAGE_NOT_ALLOWED' });
      }
    }
    // A grant package's versions are counted within its grant; the resource's own chain ignores them.
    const latest = { v: this.store.latestStoredVersion(h.resource, h.grantId ?? null) };
    if (latest.v !== null && h.newVersion <= latest.v) {
      throw new ProtocolError('UPDATE_INVALID', `package ${h.packageId} has version ${h.newVersion}, the hub already stores ${latest.v} (replayed or stale)`, {
        packageId: h.packageId,
        code: 'PACKAGE_STALE',
      });
    }
    if (h.kind === 'delta' && (latest.v ?? 0) !== h.baseVersion) {
      throw new ProtocolError('UPDATE_INVALID', `delta ${h.packageId} is based on ${h.baseVersion}, the hub stores ${latest.v ?? 'nothing'}`, { packageId: h.packageId, code: 'PACKAGE_STALE' });
    }
    this.store.addPending(
      { packageId: h.packageId, resource: h.resource, sender: from, county, kind: h.kind, baseVersion: h.baseVersion, newVersion: h.newVersion, signed, grantId: h.grantId ?? null },
      this.d.clock.now(),
    );
    queueMicrotask(() => void this.poll());
  }

  /**
   * Tell the sender its offer was refused (`package.status` refused), so it does not wait for an answer
   * that will not come. Only for an offer whose envelope verified (the caller's `from`), about a package
   * id it named; goes to the sender's own county. Unknown or already-answered ids change nothing there.
   */
  refuseOffer(county: string, payload: unknown, err: ProtocolError): void {
    const packageId = (payload as { header?: { packageId?: unknown } } | null)?.header?.packageId;
    if (typeof packageId !== 'string' || !UUID_RE.test(packageId)) return;
    // The same package offered again after the hub took it: its first offer's answer stands.
    if (this.store.has(packageId)) return;
    const detailCode = (err.detail as { code?: unknown } | undefined)?.code;
    const code = (PACKAGE_ERROR_CODES as readonly unknown[]).includes(detailCode) ? (detailCode as PackageErrorCode) : 'PACKAGE_MALFORMED';
    this.send(county, 'package.status', { packageId, status: 'refused', code });
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.d.pollMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass over pending packages. */
  async poll(): Promise<void> {
    if (this.busy || !this.d.chunks.ready()) return;
    this.busy = true;
    try {
      for (const p of this.store.pending()) await this.advance(p.id, p.county, p.signed);
    } catch (err) {
      this.d.log.warn({ event: 'package.poll_failed', err: String(err) }, 'package receiving paused');
    } finally {
      this.busy = false;
    }
  }

  private async advance(packageId: string, county: string, signed: SignedPackageHeader): Promise<void> {
    const h = signed.header;
    if (!this.d.chunks.ready()) return;
    const have = this.store.chunkIndices(packageId);
    // The hash of each chunk stored in this pass, taken from the very bytes stored; chunks stored by an
    // earlier pass are read back and hashed below.
    const hashed = new Map<number, { length: number; hash: Uint8Array }>();
    const storeBatch = (chunks: { i: number; data: Uint8Array; hash: Uint8Array }[]) => this.store.putChunks(packageId, chunks, (c) => hashed.set(c.i, { length: c.data.length, hash: c.hash }));
    // Up to FETCH_WINDOW direct gets in flight (one at a time, every chunk cost a round trip), and the
    // chunks stored in batches, one transaction (one fsync) each. All batches commit before the package
    // is marked stored below, so a stored package's chunks are durable.
    const missing = Array.from({ length: h.chunkCount }, (_, i) => i).filter((i) => !have.has(i));
    const fetched = mapOrdered(
      missing,
      (i) =>
        this.d.chunks
          .fetchChunk(packageChunkSubject(this.d.municipality, county, packageId, i))
          .then((data) => (data ? { i, data } : null))
          .catch(() => null),
      FETCH_WINDOW,
    );
    let batch: { i: number; data: Uint8Array; hash: Uint8Array }[] = [];
    let batchBytes = 0;
    const flush = () => {
      if (batch.length === 0) return;
      storeBatch(batch);
      batch = [];
      batchBytes = 0;
    };
    for await (const c of fetched) {
      if (!c) continue;
      batch.push({ ...c, hash: chunkHash(c.data) });
      batchBytes += c.data.length;
      if (batchBytes >= STORE_BATCH_BYTES || batch.length >= STORE_BATCH_CHUNKS) flush();
    }
    flush();
    const ledger = new ChunkLedger(h);
    try {
      for (const idx of this.store.iterateChunkIndices(packageId)) {
        const known = hashed.get(idx);
        if (known) ledger.record(idx, known.length, known.hash);
        else {
          const bytes = this.store.chunk(packageId, idx)!;
          ledger.record(idx, bytes.length, chunkHash(bytes));
        }
      }
      if (!ledger.complete) {
        // Ask the node again at most every 5 s; chunks may simply still be on their way.
        const now = this.d.clock.now().getTime();
        if (now - (this.lastResume.get(packageId) ?? 0) >= 5_000) {
          this.lastResume.set(packageId, now);
          this.send(county, 'package.resume', { packageId, ranges: ledger.missing() });
        }
        return;
      }
      ledger.finish();
    } catch (err) {
      if (!(err instanceof PackageError)) throw err;
      return this.refuse(packageId, county, h.sender, err);
    }
    this.d.db.transaction(() => {
      this.store.markStored(packageId, this.d.clock.now());
      this.d.audit.append({
        actor: h.sender,
        actorRole: 'node',
        action: 'data.provide',
        resource: h.resource,
        result: 'ok',
        detail: { packageId, kind: h.kind, newVersion: h.newVersion, rows: h.rowCount, bytes: h.cipherBytes },
      });
      this.send(county, 'package.status', { packageId, status: 'stored', code: null });
    })();
    this.d.log.info({ event: 'package.stored', packageId, resource: h.resource, version: h.newVersion, chunks: h.chunkCount }, 'package stored');
  }

  private refuse(packageId: string, county: string, sender: string, err: PackageError): void {
    this.d.db.transaction(() => {
      this.store.markRefused(packageId, err.code);
      this.send(county, 'package.status', { packageId, status: 'refused', code: err.code });
      this.d.rejections.record(new ProtocolError('UPDATE_INVALID', `package ${packageId}: ${err.code} ${err.message}`, { code: err.code }), `package ${packageId}`, sender, this.d.clock.now());
    })();
  }

  private send(county: string, type: 'package.resume' | 'package.status', payload: unknown): void {
    this.d.outbox.add(downCountySubject(this.d.municipality, county, type), type, payload, this.d.clock.now());
  }

  /** A stored package's signed header and chunks, for re-sealing and serving (sharing, issue 5). */
  stored(packageId: string): { signed: SignedPackageHeader; chunk: (i: number) => Uint8Array | undefined } | undefined {
    return this.store.stored(packageId);
  }

  /**
   * Seal a stored package's content key to `to` as well (PACKAGES.md §6): the body is not re-encrypted
   * and the sender's signature stays valid. Returns the header with every recipient the hub added, which
   * is what the new recipient opens the package with. The caller decides who may have it (a grant) and
   * says why in `reason`; the addition is audited.
   */
  reseal(packageId: string, to: { nodeId: string; publicKey: Uint8Array }, reason: string): SignedPackageHeader {
    const found = this.stored(packageId);
    if (!found) throw new PackageError('PACKAGE_MALFORMED', `no stored package ${packageId}`, { packageId });
    const pk = toBase64(to.publicKey);
    const existing = this.store.recipient(packageId, pk);
    if (!existing) {
      const entry = resealForRecipient(found.signed, this.d.hubBoxKeys, to);
      this.d.db.transaction(() => {
        this.store.addRecipient(packageId, entry, reason, this.d.clock.now());
        this.d.audit.append({ actor: 'hub', actorRole: 'system', action: 'data.provide', resource: found.signed.header.resource, result: 'ok', detail: { packageId, resealedTo: to.nodeId, reason } });
      })();
    }
    return this.withAddedRecipients(packageId, found.signed);
  }

  /** The stored header plus the recipients the hub added, as a recipient receives it. */
  withAddedRecipients(packageId: string, signed: SignedPackageHeader): SignedPackageHeader {
    const added = this.store.recipients(packageId);
    return added.reduce((h, r) => withRecipient(h, PackageRecipient.parse({ nodeId: r.node_id, publicKey: r.public_key, sealedKey: r.sealed_key })), signed);
  }
}
