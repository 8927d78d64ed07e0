/**
 * @module Cascaded access, the hub's answer when the provider is offline (PROTOCOL.md §Sharing): the
 * latest state of the resource from the hub's stored packages (last snapshot, then deltas in order),
 * with the grant's row filter, the query's conditions, projection and desensitization applied as the
 * provider would, sealed to the consumer and marked `hub_package` with the package version and age.
 */
import { desensitizeRow } from '../../protocol/desensitization.ts';
import { matchesFilter } from '../../protocol/row-filter.ts';
import type { AccessQuery, AccessRequest } from '../../protocol/sharing-messages.ts';
import type { DataItem } from '../../protocol/catalog-entry.ts';
import type { Grant } from '../../protocol/grant.ts';
import { fromBase64, sealBox, toBase64 } from '../../protocol/sodium.ts';
import type { BoxKeys } from '../../protocol/data-package.ts';
import { openPackage } from '../../engine/package/builder.ts';
import type { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import type { Identity } from '../../engine/identity.ts';
import type { PackageReceiver } from '../packages/receiver.ts';
import { PackageStore, type ChainPackage } from '../packages/package-store.ts';
import type { NodeRegistry } from '../storage/registry.ts';

/** Rows a package fallback may hold while replaying snapshot + deltas (memory bound per request). */
const MAX_FALLBACK_MATCHES = 20_000;
/** Package fallbacks answered at once (each replays whole packages). */
const MAX_FALLBACKS = 2;

/** What the router needs of the fallback (fakes in tests). */
export interface PackageAnswers {
  /** The sealed `access.answer` from packages, or null if the hub holds none of the resource (or is busy). */
  answer(req: AccessRequest, ask: AccessQuery, g: Grant, boxKey: string): Promise<Uint8Array | null>;
}

/** What the fallback needs of the package store (hub/packages/package-store.ts). */
export interface StoredChain {
  /** The resource's own stored packages from its latest snapshot on, oldest first; empty without a snapshot. */
  ownChain(resource: string): ChainPackage[];
}

export interface PackageFallbackDeps {
  db: Db;
  store: CatalogStore;
  packages: Pick<PackageReceiver, 'stored'>;
  registry: Pick<NodeRegistry, 'get'>;
  identity: Identity;
  hubBoxKeys: BoxKeys;
  clock: Clock;
  /** The resource's stored packages (default: the package store on `db`). */
  chain?: StoredChain;
}

export class PackageFallback implements PackageAnswers {
  private readonly chain: StoredChain;
  private fallbacks = 0;

  constructor(private readonly d: PackageFallbackDeps) {
    this.chain = d.chain ?? new PackageStore(d.db);
  }

  async answer(req: AccessRequest, ask: AccessQuery, g: Grant, boxKey: string): Promise<Uint8Array | null> {
    if (this.fallbacks >= MAX_FALLBACKS) return null;
    this.fallbacks++;
    try {
      return await this.replayPackages(req, ask, g, boxKey);
    } finally {
      this.fallbacks--;
    }
  }

  private async replayPackages(req: AccessRequest, ask: AccessQuery, g: Grant, boxKey: string): Promise<Uint8Array | null> {
    const chain = this.chain.ownChain(g.resource);
    if (chain.length === 0) return null;
    const view = this.d.store.requireView(g.resource);
    const keyCodes = (view.content as { dataItems: DataItem[] }).dataItems.filter((i) => i.primaryKey).map((i) => i.code);
    const keyOf = (row: Record<string, unknown>) => JSON.stringify(keyCodes.map((k) => row[k] ?? null));
    const matches = new Map<string, Record<string, unknown>>();
    const wanted = (row: Record<string, unknown>) => (!g.rowFilter || matchesFilter(row, g.rowFilter)) && (!ask.where || matchesFilter(row, ask.where));
    for (const p of chain) {
      const stored = this.d.packages.stored(p.id);
      const keys = this.d.registry.get(p.sender)?.keys ?? [];
      if (!stored) continue;
      for await (const row of openPackage(stored.signed, stored.chunk, this.d.hubBoxKeys, { senderKeys: keys })) {
        const k = keyOf(row);
        if (row['_deleted'] === true || !wanted(row)) matches.delete(k);
        else matches.set(k, row);
        // Bounded: a query matching this much belongs on the provider or a batch grant, not the fallback.
        if (matches.size > MAX_FALLBACK_MATCHES) throw new AppError('FALLBACK_TOO_LARGE', '匹配记录过多，无法由枢纽数据包应答', 'too many matching rows to answer from the hub’s packages');
      }
    }
    const items = ask.items ?? g.items;
    const rows = [...matches.values()]
      .slice(0, ask.limit)
      .map((r) => desensitizeRow(Object.fromEntries(items.map((i) => [i, r[i] ?? null])), g.desensitization) as Record<string, string | number | boolean | null>);
    const last = chain[chain.length - 1]!;
    const result = { items, rows, truncated: matches.size > ask.limit };
    const sealed = sealBox(new TextEncoder().encode(JSON.stringify(result)), fromBase64(boxKey));
    const ageSeconds = Math.max(0, (this.d.clock.now().getTime() - Date.parse(last.at)) / 1000);
    return this.d.identity.seal(
      'access.answer',
      Date.now(),
      { requestId: req.requestId, grantId: g.grantId, sealed: toBase64(sealed), source: 'hub_package', packageVersion: last.v, packageAgeSeconds: Math.round(ageSeconds) },
      this.d.clock.now(),
    );
  }
}
