/**
 * @module Grant packages, provider side (PACKAGES.md §10a): for a batch grant that withholds anything of
 * the resource — items, rows or clear values (protocol/grant-shaping.ts `batchNeedsShaping`) — this node
 * builds snapshots of only what the grant lets leave (`shapeRow`: the grant's row filter on the clear
 * values, the granted items, each masked by its profile) and sends them to the hub like any package,
 * with `grantId` in the signed header. The hub re-seals them to that grant's consumer only. So the
 * desensitization happens here, before the rows leave the provider, for batch as for queries.
 *
 * When: a grant's first package as soon as the grant is usable here and the table has rows; after that
 * a new one whenever this node has sent a package of the resource newer than the grant's last one, so
 * grant packages follow the resource's own schedule (update cycle, realtime, or `jilian node package`),
 * but at most once per `grantPackageMinSeconds` (default 5 min): each one is a full snapshot.
 * One grant package per grant is unanswered at a time; after a refusal the next resource package
 * triggers a new attempt. Every package built is audited (`data.provide`).
 */
import { MAX_CHUNK_SIZE, schemaHashOf } from '../../protocol/data-package.ts';
import { checkGrantUsable, type SignedGrant } from '../../protocol/grant.ts';
import { batchNeedsShaping, shapeRow } from '../../protocol/grant-shaping.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import type { Logger } from '../../engine/log.ts';
import Database from 'better-sqlite3';
import { SerializedRow } from '../../engine/package/rows.ts';
import type { FrontendItem } from '../staging/row-validator.ts';
import { getTable, q, raiseVersionAbove, readVersion, type FrontendTable } from '../staging/table-schema.ts';
import type { PackageSender } from '../packages/sender.ts';
import { SentPackageStore, type SentPackage } from '../packages/sent-packages-store.ts';
import type { NodeSharing } from './node-sharing.ts';

/** After a failed build, the grant's next attempt waits this long (a broken table is not rebuilt every second). */
const RETRY_AFTER_MS = 60_000;
/** After the hub refused a grant package, the next attempt waits this long unless the data changes. */
const RETRY_AFTER_REFUSAL_MS = 600_000;

/** The shaped rows' schema: the granted items as the table defines them, in the table's order. */
function grantSchemaHash(table: FrontendTable, grant: SignedGrant['grant']): string {
  const granted = new Set(grant.items);
  return schemaHashOf(table.items.filter((i) => granted.has(i.code)));
}

/** What the grant packager needs of the node's sharing state (service.ts). */
export type GrantSource = Pick<NodeSharing, 'grant' | 'revocations' | 'grantIdsProvidedBy'>;

/** What the grant packager needs of the sent-package store (node/packages/sent-packages-store.ts). */
export type GrantPackageHistory = Pick<SentPackageStore, 'grantHistory' | 'newestOwnVersion' | 'buildingOfGrant'>;

export interface GrantPackagerDeps {
  db: Db;
  sharing: GrantSource;
  sender: PackageSender;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  county: string;
  /** The resource's data item codes from the catalog (as the hub decides), or null if unknown. */
  resourceItems(entryId: string): string[] | null;
  resourceCode(entryId: string): string | null;
  /**
   * Least time between two packages of one grant (default 5 min): each is a full snapshot, and a realtime
   * resource may send a delta every few seconds.
   */
  minIntervalMs?: number;
  /** The packages sent so far (default: the sent-package store on `db`). */
  sent?: GrantPackageHistory;
}

export type GrantPackageResult = { grantId: string; packageId: string; rows: number; newVersion: number };

export class GrantPackager {
  private readonly busy = new Set<string>();
  // Looked at for every batch grant on every scheduler pass (each second): the store prepares its statements once.
  private readonly history: GrantPackageHistory;

  constructor(private readonly d: GrantPackagerDeps) {
    this.history = d.sent ?? new SentPackageStore(d.db);
  }

  /** One pass over this county's batch grants; builds what is due. A failing grant does not stop the others. */
  async run(): Promise<GrantPackageResult[]> {
    const now = this.d.clock.now();
    const ids = this.d.sharing.grantIdsProvidedBy(this.d.county, now);
    const built: GrantPackageResult[] = [];
    for (const id of ids) {
      const signed = this.d.sharing.grant(id);
      if (!signed || !this.due(signed)) continue;
      this.busy.add(id);
      try {
        const r = await this.build(signed);
        if (r) built.push(r);
      } catch (err) {
        this.d.log.warn({ event: 'package.grant_build_failed', grantId: id, err: String(err) }, 'grant package not built; retried on the next pass');
      } finally {
        this.busy.delete(id);
      }
    }
    return built;
  }

  /** The grant's latest packages (up to 50), newest first. */
  sent(grantId: string): SentPackage[] {
    return this.history.grantHistory(grantId);
  }

  private due(signed: SignedGrant): boolean {
    const g = signed.grant;
    if (!g.methods.includes('batch') || this.busy.has(g.grantId)) return false;
    const usable = checkGrantUsable(signed, { now: this.d.clock.now(), revocations: this.d.sharing.revocations()?.list ?? null, method: 'batch', items: g.items });
    if (!usable.ok) return false;
    const items = this.d.resourceItems(g.resource);
    if (!items || !batchNeedsShaping(g, items)) return false;
    const table = getTable(this.d.db, g.resource);
    if (!table) return false;
    const rows = this.sent(g.grantId);
    const newest = rows[0];
    if (newest?.state === 'building' || newest?.state === 'offered') return false; // one in flight per grant
    const hasRows = () => this.d.db.prepare(`SELECT 1 FROM ${q(table.tableName)} WHERE "_deleted" = 0 LIMIT 1`).get() !== undefined;
    if (newest?.state === 'abandoned') {
      // A build failed (or was cut by a restart): try again, but not every pass.
      return this.d.clock.now().getTime() - Date.parse(newest.finished_at ?? newest.created_at) >= RETRY_AFTER_MS && hasRows();
    }
    const last = rows.find((r) => r.state === 'stored' || r.state === 'refused');
    if (!last) return hasRows();
    const age = this.d.clock.now().getTime() - Date.parse(last.created_at);
    if (age < (this.d.minIntervalMs ?? 300_000)) return false;
    // Refused (the hub did not know the grant yet, say): try again later even if nothing changed.
    if (last.state === 'refused' && age >= RETRY_AFTER_REFUSAL_MS) return hasRows();
    // The table was migrated (items changed, or rebuilt): the rows' shape changed without new versions.
    if (last.generation !== table.generation || last.schema_hash !== grantSchemaHash(table, g)) return true;
    const newer = this.history.newestOwnVersion(g.resource);
    return newer !== null && newer > last.new_version;
  }

  private async build(signed: SignedGrant): Promise<GrantPackageResult | null> {
    const g = signed.grant;
    const table = getTable(this.d.db, g.resource) as FrontendTable & { generation: number };
    // Each grant package must carry a version its grant has not had (the hub refuses stale ones), also
    // when only the table's shape changed: raise the node's counter past the last one, as the packager does.
    const floor = this.sent(g.grantId).find((r) => r.state === 'stored' || r.state === 'refused')?.new_version ?? 0;
    raiseVersionAbove(this.d.db, floor);
    // One read transaction on a connection of its own: the version and every row agree, and writes go on.
    const reader = new Database(this.d.db.name, { readonly: true, fileMustExist: true });
    try {
      reader.exec('BEGIN');
      const newVersion = Math.max(1, readVersion(reader));
      const schemaHash = grantSchemaHash(table, g);
      const sent = await this.d.sender.send(shapedLines(reader, table, g), {
        resource: g.resource,
        resourceCode: this.d.resourceCode(g.resource),
        schemaHash,
        kind: 'snapshot',
        baseVersion: null,
        newVersion,
        chunkSize: MAX_CHUNK_SIZE,
        grantId: g.grantId,
        generation: table.generation,
      });
      this.d.audit.append({
        actor: 'system',
        actorRole: 'scheduler',
        department: g.provider.department,
        action: 'data.provide',
        resource: g.resource,
        fields: g.items,
        purpose: g.purpose,
        result: 'ok',
        detail: { grantId: g.grantId, packageId: sent.packageId, kind: 'snapshot', newVersion, rows: sent.rows, to: 'hub', for: g.consumer.nodeId, shaped: true },
      });
      this.d.log.info({ event: 'package.grant_built', grantId: g.grantId, resource: g.resource, packageId: sent.packageId, rows: sent.rows }, 'grant package built');
      return { grantId: g.grantId, packageId: sent.packageId, rows: sent.rows, newVersion };
    } catch (err) {
      // A build that never reached its offer: the hub has nothing of it. Not "in flight" any more, and
      // its spooled chunks go (recover() does the same after a crash).
      for (const id of this.history.buildingOfGrant(g.grantId)) this.d.sender.abandon(id);
      throw err;
    } finally {
      reader.close();
    }
  }
}

/** A stored cell as package rows carry it (table-rows.ts): booleans, bytes as base64, integers exact (BigInt beyond 2^53). */
function cellValue(item: FrontendItem, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (item.type === 'boolean') return v === 1n || v === 1;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  return v;
}

/** JSON text of a shaped row; a BigInt is written as its exact digits. */
function lineOf(row: Record<string, unknown>): string {
  let out = '';
  for (const [k, v] of Object.entries(row)) out += `${out ? ',' : '{'}${JSON.stringify(k)}:${typeof v === 'bigint' ? v.toString() : JSON.stringify(v)}`;
  return out ? `${out}}` : '{}';
}

/**
 * The live rows of `table` through `shapeRow` (the grant's filter on clear values, its items, masked), read
 * with exact integers from `reader` (inside its read transaction), as package lines.
 */
export function* shapedLines(reader: Database.Database, table: FrontendTable, grant: SignedGrant['grant']): Generator<SerializedRow> {
  const stmt = reader
    .prepare(`SELECT ${table.items.map((i) => q(i.code)).join(', ')} FROM ${q(table.tableName)} WHERE "_deleted" = 0 ORDER BY _rowid_`)
    .raw(true)
    .safeIntegers(true);
  for (const r of stmt.iterate() as Iterable<unknown[]>) {
    const row: Record<string, unknown> = {};
    table.items.forEach((item, k) => Object.defineProperty(row, item.code, { value: cellValue(item, r[k]), enumerable: true, writable: true, configurable: true }));
    const shaped = shapeRow(row, grant);
    if (shaped) yield new SerializedRow(lineOf(shaped));
  }
}
