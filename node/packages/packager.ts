/**
 * @module Packages from a front-end table (PACKAGES.md §12): decide snapshot or delta, read the rows
 * at one consistent version, and hand them to the sender.
 *
 * - **Delta** when the hub stores this resource's last package and the table's generation and schema
 *   are what that package was built from: rows with `_version` in (base, new], tombstones included.
 * - **Snapshot** otherwise (first package, items changed, the hub refused the last one, or forced):
 *   every live row.
 * - `newVersion` is the node-wide row-version counter read in the same read transaction as the rows,
 *   so every row at or below it is visible and every later change gets a larger version (versions and
 *   rows are written in one transaction, and SQLite has one writer).
 *
 * The rows are read on a reader thread with its own read-only connection inside one transaction (a WAL
 * snapshot; table-snapshot.ts), so an import running meanwhile neither blocks the build nor tears it,
 * and SQLite itself serialises them to NDJSON (table-rows.ts). One package per resource is in flight
 * at a time: a delta built while another is unanswered would have the same base.
 */
import { MAX_CHUNK_SIZE, schemaHashOf } from '../../protocol/data-package.ts';
import { NdjsonBlock, SerializedRow } from '../../engine/package/rows.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import { defaultCryptoPool } from '../../engine/package/crypto-pool.ts';
import type { Logger } from '../../engine/log.ts';
import type { FrontendItem } from '../staging/row-validator.ts';
import { ensureTable, getTable, q, raiseVersionAbove, type FrontendTable } from '../staging/table-schema.ts';
import type { PackageSender } from './sender.ts';
import { SentPackageStore, type SentPackage } from './sent-packages-store.ts';
import { openTableSnapshot } from './table-snapshot.ts';

export { readNdjson, readRows } from './table-rows.ts';

export type PackageRunResult =
  | { status: 'sent'; packageId: string; kind: 'snapshot' | 'delta'; baseVersion: number | null; newVersion: number; rows: number; chunks: number }
  | { status: 'unchanged'; version: number }
  | { status: 'in_flight'; packageId: string };

export interface PackagerDeps {
  db: Db;
  sender: PackageSender;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  /** The entry's unified resource code, if the hub has assigned one. */
  resourceCode(entryId: string): string | null;
  /**
   * The entry's current data items, if known: the table is migrated to them before packaging, so a
   * package always follows the catalog (a change makes the next package a snapshot).
   */
  items?(entryId: string): FrontendItem[];
  /** The packages sent so far (default: the sent-package store on `db`). */
  sent?: PackageHistory;
}

/** What the packager needs of the sent-package store (sent-packages-store.ts). */
export interface PackageHistory {
  /** The resource's own latest packages (up to 50), newest first. */
  resourceHistory(resource: string): SentPackage[];
}

/** What a row of a front-end package looks like (PACKAGES.md §12): item values, `_version`, and `_deleted` on tombstones. */
export type PackageRow = Record<string, string | number | boolean | null>;
export { NdjsonBlock, SerializedRow };

/**
 * Front-end packages use the largest slice the format allows (512 KiB, PACKAGES.md §3) rather than the
 * builder's 256 KiB default: half the chunks, so half the worker messages, JetStream publishes and acks,
 * spool rows and hub fetches (~15 % faster end to end on the benchmark); a chunk (≤ 524,880 bytes) still
 * fits one 1 MiB NATS message, and a resume re-sends at most that much per missing chunk.
 */
const PACKAGE_CHUNK_SIZE = MAX_CHUNK_SIZE;

/** A delta of at most this many rows is read on the calling thread (table-snapshot.ts `inline`). */
const SMALL_DELTA_ROWS = 5_000;

export class Packager {
  private readonly busy = new Set<string>();
  private readonly sent: PackageHistory;

  constructor(private readonly d: PackagerDeps) {
    this.sent = d.sent ?? new SentPackageStore(d.db);
  }

  /** The newest package of `resource` the hub stored, and the newest one still unanswered (grant packages, node/sharing/grant-packages.ts, are not part of the resource's chain). */
  history(resource: string): { stored: SentPackage | undefined; inFlight: SentPackage | undefined; lastFinished: SentPackage | undefined } {
    const rows = this.sent.resourceHistory(resource);
    return {
      stored: rows.find((r) => r.state === 'stored'),
      inFlight: rows.find((r) => r.state === 'offered' || r.state === 'building'),
      lastFinished: rows.find((r) => r.state === 'stored' || r.state === 'refused'),
    };
  }

  /** Build and send one package of `entryId`'s front-end table, unless nothing changed since the last one. */
  async run(entryId: string, opts: { forceSnapshot?: boolean; actor?: string; actorRole?: string } = {}): Promise<PackageRunResult> {
    if (getTable(this.d.db, entryId) && this.d.items) {
      const r = ensureTable(this.d.db, entryId, this.d.items(entryId), this.d.clock.now());
      if (r.action !== 'unchanged')
        this.d.log.info({ event: 'frontend.migrated', resource: entryId, action: r.action, generation: r.generation, migrationRejects: r.migrationRejects }, 'front-end table follows the catalog');
    }
    const table = getTable(this.d.db, entryId);
    if (!table) {
      throw new AppError('NOT_FOUND', `目录条目 ${entryId} 没有前置库表，请先导入数据`, `entry ${entryId} has no front-end table yet; import data first`);
    }
    if (this.busy.has(entryId)) return { status: 'in_flight', packageId: '(building)' };
    const h = this.history(entryId);
    if (h.inFlight) return { status: 'in_flight', packageId: h.inFlight.package_id };
    this.busy.add(entryId);
    try {
      return await this.build(table, h, opts);
    } finally {
      this.busy.delete(entryId);
    }
  }

  private async build(
    table: FrontendTable & { generation: number },
    h: ReturnType<Packager['history']>,
    opts: { forceSnapshot?: boolean; actor?: string; actorRole?: string },
  ): Promise<PackageRunResult> {
    const schemaHash = schemaHashOf(table.items);
    const base = h.stored;
    const deltaPossible =
      !opts.forceSnapshot &&
      base !== undefined &&
      h.lastFinished?.state === 'stored' && // after a refusal, start over from a snapshot
      base.generation === table.generation &&
      base.schema_hash === schemaHash;
    const kind = deltaPossible ? 'delta' : 'snapshot';
    const baseVersion = deltaPossible ? base!.new_version : null;
    if (kind === 'snapshot') {
      // A snapshot must carry a version the hub has not stored yet, even when no row changed (items altered).
      const floor = h.stored?.new_version ?? 0;
      raiseVersionAbove(this.d.db, floor);
    }

    let small = false;
    if (kind === 'delta') {
      // Cheap look first (the _version index): nothing changed → no reader at all; a few rows → no thread.
      const changes = (this.d.db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM ${q(table.tableName)} WHERE "_version" > ? LIMIT ?)`).get(baseVersion, SMALL_DELTA_ROWS + 1) as { n: number }).n;
      if (changes === 0) return { status: 'unchanged', version: baseVersion! };
      small = changes <= SMALL_DELTA_ROWS;
    }
    // Version and rows come from one read transaction, on a reader thread unless the delta is small
    // (table-snapshot.ts); the crypto pool's workers start meanwhile.
    if (!small) defaultCryptoPool().warm();
    const snap = await openTableSnapshot(this.d.db.name, table, kind, baseVersion, { sliceBytes: PACKAGE_CHUNK_SIZE, inline: small });
    try {
      if (!snap.changed) return { status: 'unchanged', version: baseVersion! };
      const newVersion = snap.newVersion;
      const sent = await this.d.sender.send(snap.blocks(), {
        recycle: snap.recycle,
        chunkSize: PACKAGE_CHUNK_SIZE,
        resource: table.entryId,
        resourceCode: this.d.resourceCode(table.entryId),
        schemaHash,
        kind,
        baseVersion,
        newVersion,
        generation: table.generation,
      });
      this.d.audit.append({
        actor: opts.actor ?? 'system',
        actorRole: opts.actorRole ?? 'scheduler',
        action: 'data.provide',
        resource: table.entryId,
        result: 'ok',
        detail: { packageId: sent.packageId, kind, baseVersion, newVersion, rows: sent.rows, to: 'hub' },
      });
      this.d.log.info({ event: 'package.built', resource: table.entryId, packageId: sent.packageId, kind, baseVersion, newVersion, rows: sent.rows }, `${kind} package built`);
      return { status: 'sent', packageId: sent.packageId, kind, baseVersion, newVersion, rows: sent.rows, chunks: sent.chunks };
    } finally {
      await snap.close();
    }
  }
}
