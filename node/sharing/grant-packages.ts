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
 * grant packages follow the resource's own schedule (update cycle, realtime, or `jilian node package`).
 * One grant package per grant is unanswered at a time; after a refusal the next resource package
 * triggers a new attempt. Every package built is audited (`data.provide`).
 */
import { MAX_CHUNK_SIZE, schemaHashOf } from '../../protocol/data-package.ts';
import { checkGrantUsable, type SignedGrant } from '../../protocol/grant.ts';
import { batchNeedsShaping, shapeRow } from '../../protocol/grant-shaping.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/db.ts';
import type { Logger } from '../../engine/log.ts';
import { getTable, type FrontendTable } from '../frontend/table-schema.ts';
import type { PackageSender } from '../packages/sender.ts';
import { openTableSnapshot, type TableSnapshot } from '../packages/table-snapshot.ts';
import type { NodeSharing } from './service.ts';

export const GRANT_PACKAGES_SQL = `
ALTER TABLE packages_sent ADD COLUMN grant_id TEXT;
CREATE INDEX packages_sent_grant ON packages_sent (grant_id, created_at);
`;

export interface GrantPackagerDeps {
  db: Db;
  sharing: NodeSharing;
  sender: PackageSender;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  county: string;
  /** The resource's data item codes from the catalog (as the hub decides), or null if unknown. */
  resourceItems(entryId: string): string[] | null;
  resourceCode(entryId: string): string | null;
}

export type GrantPackageResult = { grantId: string; packageId: string; rows: number; newVersion: number };

interface SentRow {
  package_id: string;
  state: string;
  new_version: number;
}

export class GrantPackager {
  private readonly busy = new Set<string>();

  constructor(private readonly d: GrantPackagerDeps) {}

  /** One pass over this county's batch grants; builds what is due. A failing grant does not stop the others. */
  async run(): Promise<GrantPackageResult[]> {
    const now = this.d.clock.now();
    const ids = this.d.db.prepare('SELECT grant_id AS id FROM sharing_grants WHERE provider_county = ? AND valid_until > ? ORDER BY grant_id').all(this.d.county, now.toISOString()) as { id: string }[];
    const built: GrantPackageResult[] = [];
    for (const { id } of ids) {
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

  /** The grant's packages, newest first (for status and tests). */
  sent(grantId: string): SentRow[] {
    return this.d.db.prepare('SELECT package_id, state, new_version FROM packages_sent WHERE grant_id = ? ORDER BY created_at DESC, package_id DESC').all(grantId) as SentRow[];
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
    const last = this.sent(g.grantId)[0];
    if (!last) return this.d.db.prepare(`SELECT 1 FROM "${table.tableName.replace(/"/g, '""')}" WHERE "_deleted" = 0 LIMIT 1`).get() !== undefined;
    if (last.state === 'building' || last.state === 'offered') return false;
    const newer = this.d.db
      .prepare("SELECT MAX(new_version) AS v FROM packages_sent WHERE resource = ? AND grant_id IS NULL AND state IN ('offered', 'stored')")
      .get(g.resource) as { v: number | null };
    return newer.v !== null && newer.v > last.new_version;
  }

  private async build(signed: SignedGrant): Promise<GrantPackageResult | null> {
    const g = signed.grant;
    const table = getTable(this.d.db, g.resource) as FrontendTable;
    const snap = await openTableSnapshot(this.d.db.name, table, 'snapshot', null, { sliceBytes: MAX_CHUNK_SIZE });
    try {
      // The shaped rows' schema: the granted items as the table defines them.
      const granted = new Set(g.items);
      const schemaHash = schemaHashOf(table.items.filter((i) => granted.has(i.code)));
      const sent = await this.d.sender.send(shapedRows(snap, g), {
        resource: g.resource,
        resourceCode: this.d.resourceCode(g.resource),
        schemaHash,
        kind: 'snapshot',
        baseVersion: null,
        newVersion: Math.max(1, snap.newVersion),
        chunkSize: MAX_CHUNK_SIZE,
        grantId: g.grantId,
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
        detail: { grantId: g.grantId, packageId: sent.packageId, kind: 'snapshot', newVersion: snap.newVersion, rows: sent.rows, to: 'hub', for: g.consumer.nodeId, shaped: true },
      });
      this.d.log.info({ event: 'package.grant_built', grantId: g.grantId, resource: g.resource, packageId: sent.packageId, rows: sent.rows }, 'grant package built');
      return { grantId: g.grantId, packageId: sent.packageId, rows: sent.rows, newVersion: snap.newVersion };
    } finally {
      await snap.close();
    }
  }
}

/** The snapshot's NDJSON pieces (which may split lines) as shaped row objects; pieces go back to the reader once decoded. */
export async function* shapedRows(snap: TableSnapshot, grant: SignedGrant['grant']): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let carry = '';
  for await (const block of snap.blocks()) {
    const text = carry + decoder.decode(block.bytes, { stream: true });
    snap.recycle(block.bytes);
    const lines = text.split('\n');
    carry = lines.pop()!;
    for (const line of lines) {
      if (!line) continue;
      const shaped = shapeRow(JSON.parse(line) as Record<string, unknown>, grant);
      if (shaped) yield shaped;
    }
  }
  const rest = carry + decoder.decode();
  if (rest.trim()) {
    const shaped = shapeRow(JSON.parse(rest) as Record<string, unknown>, grant);
    if (shaped) yield shaped;
  }
}
