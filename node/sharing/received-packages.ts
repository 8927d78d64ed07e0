/**
 * @module Batch grants, consumer side: packages the hub re-sealed for this node (`package.grant`) are
 * fetched chunk by chunk from the hub (`package.chunk.get`), kept encrypted, and verified by opening them
 * once (signature of the provider node, every chunk, the content hash). The department reads the rows
 * through its node, which applies the grant on the way out — only the granted items, the grant's row
 * filter and each item's desensitization profile — and only while the grant is usable here (expiry by
 * this node's clock, the latest signed revocation list). Every read is audited (`data.use`).
 *
 * Under a grant that withholds anything, the hub sends only grant packages (PACKAGES.md §10a): rows the
 * provider filtered and masked for this grant before they left it; only the projection applies here.
 * Under a grant of the whole resource, the packages are the provider's own (re-sealed, PACKAGES.md §10)
 * and the same rules are applied when read (they withhold nothing then, but cost little).
 */
import { expectType, verifyEnvelope } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { checkGrantUsable } from '../../protocol/grant.ts';
import { desensitizeRow } from '../../protocol/desensitization.ts';
import { PackageError, SignedPackageHeader, type BoxKeys } from '../../protocol/data-package.ts';
import type { PackageGrant } from '../../protocol/package-messages.ts';
import { matchesFilter } from '../../protocol/row-filter.ts';
import { rpcSubject } from '../../protocol/subjects.ts';
import { openPackage } from '../../engine/package/builder.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import type { HubLink } from './hub-rpc.ts';
import type { KeyDirectoryStore } from '../keys/directory-store.ts';
import type { DeptActor, NodeSharing } from './node-sharing.ts';

export interface BatchReceiverDeps {
  db: Db;
  /** Request/reply to the hub (node/bus/hub-rpc.ts). */
  link: HubLink;
  sharing: NodeSharing;
  identity: Identity;
  boxKeys: BoxKeys;
  directory: KeyDirectoryStore;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  municipality: string;
  county: string;
  nodeId: string;
  hubId: string;
  hubKeys: () => Uint8Array[];
  pollMs?: number;
}

interface ReceivedRow {
  package_id: string;
  grant_id: string;
  resource: string;
  kind: string;
  base_version: number | null;
  new_version: number;
  row_count: number;
  signed_header: string;
  state: string;
  code: string | null;
  received_at: string;
}

export class BatchReceiver {
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> | null = null;

  constructor(private readonly d: BatchReceiverDeps) {}

  /** `package.grant` from the hub (in the DOWN handler's transaction). */
  onPackageGrant(p: PackageGrant): void {
    const g = this.d.sharing.grant(p.grantId)?.grant;
    if (!g || g.consumer.nodeId !== this.d.nodeId) throw new ProtocolError('UPDATE_FORBIDDEN', `package.grant for unknown grant ${p.grantId}`);
    const h = p.signed.header;
    if (h.resource !== g.resource) throw new ProtocolError('UPDATE_INVALID', `package ${h.packageId} is not of the granted resource`);
    if (h.grantId !== undefined && h.grantId !== p.grantId) throw new ProtocolError('UPDATE_INVALID', `package ${h.packageId} was shaped for another grant`);
    this.d.db
      .prepare(
        `INSERT INTO received_packages (package_id, grant_id, resource, kind, base_version, new_version, row_count, signed_header, state, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'fetching', ?) ON CONFLICT (grant_id, package_id) DO NOTHING`,
      )
      .run(h.packageId, p.grantId, h.resource, h.kind, h.baseVersion, h.newVersion, h.rowCount, JSON.stringify(p.signed), this.d.clock.now().toISOString());
    queueMicrotask(() => void this.poll());
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.d.pollMs ?? 2_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.busy;
  }

  poll(): Promise<void> {
    this.busy ??= this.fetchAll().finally(() => (this.busy = null));
    return this.busy;
  }

  private async fetchAll(): Promise<void> {
    let pending: ReceivedRow[];
    try {
      pending = this.d.db.prepare("SELECT * FROM received_packages WHERE state = 'fetching' ORDER BY new_version").all() as ReceivedRow[];
    } catch (err) {
      this.d.log.warn({ event: 'package.fetch_failed', err: String(err) }, 'package fetch paused');
      return;
    }
    for (const p of pending) {
      try {
        await this.fetch(p);
      } catch (err) {
        this.d.log.warn({ event: 'package.fetch_failed', packageId: p.package_id, err: String(err) }, 'package fetch paused');
      }
    }
  }

  private async fetch(p: ReceivedRow): Promise<void> {
    const nc = this.d.link.connection;
    if (!nc) return;
    const signed = SignedPackageHeader.parse(JSON.parse(p.signed_header));
    const have = new Set((this.d.db.prepare('SELECT idx FROM received_chunks WHERE package_id = ?').all(p.package_id) as { idx: number }[]).map((r) => r.idx));
    const store = this.d.db.prepare('INSERT OR IGNORE INTO received_chunks (package_id, idx, bytes) VALUES (?, ?, ?)');
    for (let i = 0; i < signed.header.chunkCount; i++) {
      if (have.has(i)) continue;
      const reply = await nc.request(
        rpcSubject(this.d.municipality, this.d.county, 'package.chunk'),
        this.d.identity.seal('package.chunk.get', Date.now(), { packageId: p.package_id, index: i }, this.d.clock.now()),
        { timeout: 10_000 },
      );
      if (reply.headers?.get('Jl-Chunk') !== String(i)) {
        const env = verifyEnvelope(reply.data, (id) => (id === this.d.hubId ? this.d.hubKeys() : undefined));
        const e = expectType(env, 'error').payload;
        this.d.log.warn({ event: 'package.chunk_refused', packageId: p.package_id, code: e.code }, e.message);
        // Final only when the grant can never be used again; a suspension may be lifted.
        if (e.code === 'GRANT_REVOKED' || e.code === 'GRANT_EXPIRED') this.finish(p.grant_id, p.package_id, 'failed', e.code);
        return;
      }
      store.run(p.package_id, i, reply.data);
    }
    // Everything is here: verify by opening once (provider's signature, every chunk, the content hash).
    const get = this.d.db.prepare('SELECT bytes FROM received_chunks WHERE package_id = ? AND idx = ?');
    try {
      let n = 0;
      for await (const _ of openPackage(signed, (i) => (get.get(p.package_id, i) as { bytes: Buffer } | undefined)?.bytes, this.d.boxKeys, {
        senderKeys: this.d.directory.keysOf(signed.header.sender, this.d.clock.now()),
      }))
        n++;
      if (n !== signed.header.rowCount) throw new PackageError('PACKAGE_MALFORMED', `rows ${n} ≠ ${signed.header.rowCount}`);
      this.finish(p.grant_id, p.package_id, 'ready', null);
      this.d.log.info({ event: 'package.received', packageId: p.package_id, grantId: p.grant_id, rows: n }, 'batch package received');
    } catch (err) {
      if (!(err instanceof PackageError)) throw err;
      this.finish(p.grant_id, p.package_id, 'failed', err.code);
      this.d.db.prepare('DELETE FROM received_chunks WHERE package_id = ?').run(p.package_id);
    }
  }

  private finish(grantId: string, packageId: string, state: 'ready' | 'failed', code: string | null): void {
    this.d.db.prepare('UPDATE received_packages SET state = ?, code = ? WHERE grant_id = ? AND package_id = ?').run(state, code, grantId, packageId);
  }

  /** The packages received under a grant of the caller's department. */
  list(
    actor: DeptActor,
    grantId: string,
  ): { packageId: string; kind: string; baseVersion: number | null; newVersion: number; rows: number; state: string; code: string | null; receivedAt: string; shapedForGrant: boolean }[] {
    this.ownGrant(actor, grantId);
    const rows = this.d.db.prepare('SELECT * FROM received_packages WHERE grant_id = ? ORDER BY new_version').all(grantId) as ReceivedRow[];
    return rows.map((r) => ({
      packageId: r.package_id,
      kind: r.kind,
      baseVersion: r.base_version,
      newVersion: r.new_version,
      rows: r.row_count,
      state: r.state,
      code: r.code,
      receivedAt: r.received_at,
      // Rows the provider filtered and masked for this grant (PACKAGES.md §10a), or the resource's own package.
      shapedForGrant: (JSON.parse(r.signed_header) as { header: { grantId?: string } }).header.grantId === grantId,
    }));
  }

  /**
   * The rows of a received package as the grant allows them: granted items only, the grant's row filter,
   * each item's profile; tombstones of a delta pass as the key and `_deleted`. Checked and audited first.
   */
  async *rows(actor: DeptActor, grantId: string, packageId: string): AsyncGenerator<Record<string, unknown>> {
    const signedGrant = this.ownGrant(actor, grantId);
    const g = signedGrant.grant;
    const usable = checkGrantUsable(signedGrant, { now: this.d.clock.now(), revocations: this.d.sharing.revocations()?.list ?? null, method: 'batch', items: g.items, consumerNodeId: this.d.nodeId });
    if (!usable.ok) throw new AppError(usable.code, usable.zh, usable.en);
    const p = this.d.db.prepare('SELECT * FROM received_packages WHERE package_id = ? AND grant_id = ?').get(packageId, grantId) as ReceivedRow | undefined;
    if (p?.state !== 'ready') throw new AppError('NOT_FOUND', `授权 ${grantId} 下没有可读的数据包 ${packageId}`, `no readable package ${packageId} under grant ${grantId}`);
    this.d.audit.append({
      actor: actor.id,
      actorRole: actor.role,
      department: actor.department,
      action: 'data.use',
      resource: g.resource,
      result: 'ok',
      detail: { grantId, packageId, method: 'batch', rows: p.row_count, version: p.new_version },
    });
    const signed = SignedPackageHeader.parse(JSON.parse(p.signed_header));
    const get = this.d.db.prepare('SELECT bytes FROM received_chunks WHERE package_id = ? AND idx = ?');
    // A grant package (PACKAGES.md §10a) holds rows the provider already filtered and masked for this
    // grant: masking them again or filtering masked values would be wrong, so only the projection applies.
    const shapedForGrant = signed.header.grantId === grantId;
    for await (const row of openPackage(signed, (i) => (get.get(packageId, i) as { bytes: Buffer } | undefined)?.bytes, this.d.boxKeys, {
      senderKeys: this.d.directory.keysOf(signed.header.sender, this.d.clock.now()),
    })) {
      if (shapedForGrant) {
        yield Object.fromEntries(g.items.map((i) => [i, row[i] ?? null]));
        continue;
      }
      if (row['_deleted'] === true) {
        // A tombstone has only the key: it cannot be checked against the row filter, so it passes with
        // its granted key items desensitized like any row (never a raw masked value).
        const key = g.items.filter((i) => i in row);
        if (key.length === 0) continue;
        yield { ...desensitizeRow(Object.fromEntries(key.map((i) => [i, row[i]])), g.desensitization, { unlisted: 'drop' }), _deleted: true };
        continue;
      }
      if (g.rowFilter && !matchesFilter(row, g.rowFilter)) continue;
      yield desensitizeRow(Object.fromEntries(g.items.map((i) => [i, row[i] ?? null])), g.desensitization);
    }
  }

  private ownGrant(actor: DeptActor, grantId: string) {
    const s = this.d.sharing.grant(grantId);
    if (!s || s.grant.consumer.nodeId !== this.d.nodeId || s.grant.consumer.department !== actor.department) {
      throw new AppError('GRANT_UNKNOWN', `本部门没有授权 ${grantId}`, `your department holds no grant ${grantId}`);
    }
    return s;
  }
}
