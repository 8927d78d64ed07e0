/**
 * @module Batch grants (批量共享), hub side: the grantee of a grant that allows `batch` receives stored
 * packages with the content key re-sealed to its node's X25519 key (PACKAGES.md §10; the body is not
 * re-encrypted): the resource's own packages (latest snapshot and every later delta) when the grant
 * covers every item, every row and nothing masked; otherwise only the grant packages its provider
 * shaped for it (§10a, protocol/grant-shaping.ts), so nothing withheld ever reaches the grantee. A periodic pass
 * sends `package.grant` (tag 13) through the outbox for every package not yet sent under a usable grant;
 * the consumer fetches the chunks with `package.chunk.get` (tag 14), which the hub serves only while the
 * grant is usable (not expired, revoked or suspended) and only to the node the package was sealed to.
 */
import { verifyEnvelope } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { checkGrantUsable } from '../../protocol/grant.ts';
import { fromBase64 } from '../../protocol/sodium.ts';
import { schemaHashOf, schemaItemsOf, type SchemaItem } from '../../protocol/data-package.ts';
import { downCountySubject } from '../../protocol/subjects.ts';
import type { Clock } from '../../engine/clock.ts';
import { errorReply, isDomainError, isErrorCode } from '../../engine/errors.ts';
import type { Db } from '../../engine/storage/db.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import type { PackageReceiver } from '../packages/receiver.ts';
import { PackageStore } from '../packages/package-store.ts';
import type { NodeRegistry } from '../storage/registry.ts';
import type { SharingService } from './sharing-service.ts';
import type { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import { batchNeedsShaping } from '../../protocol/grant-shaping.ts';

export interface BatchDeps {
  db: Db;
  sharing: Pick<SharingService, 'latestList' | 'grant' | 'recordUse' | 'liveGrantIds'>;
  /** The catalog, for the resource's data items (protocol/grant-shaping.ts decides which packages a grant gets). */
  store: CatalogStore;
  packages: PackageReceiver;
  registry: NodeRegistry;
  outbox: Outbox;
  identity: Identity;
  clock: Clock;
  log: Logger;
  municipality: string;
  /** Which stored packages a grant gets (default: the package store on `db`). */
  chains?: GrantableChains;
}

/** What the distributor needs of the package store (hub/packages/package-store.ts). */
export type GrantableChains = Pick<PackageStore, 'grantableChain'>;

const SQL = {
  sentFor: 'SELECT package_id AS id FROM package_grants_sent WHERE grant_id = ?',
  recordSent: 'INSERT INTO package_grants_sent (grant_id, package_id, consumer_node, sent_at) VALUES (?, ?, ?, ?)',
  grantsOf: 'SELECT grant_id AS id FROM package_grants_sent WHERE package_id = ? AND consumer_node = ?',
} as const;

export class BatchDistributor {
  private readonly chains: GrantableChains;
  private readonly sentFor;
  private readonly recordSent;
  private readonly grantsOf;

  constructor(private readonly d: BatchDeps) {
    this.chains = d.chains ?? new PackageStore(d.db);
    this.sentFor = d.db.prepare(SQL.sentFor).pluck();
    this.recordSent = d.db.prepare(SQL.recordSent);
    this.grantsOf = d.db.prepare(SQL.grantsOf);
  }

  /** Send every stored package of every batch grant's resource (from its latest snapshot on) not yet sent. */
  distribute(): number {
    const now = this.d.clock.now();
    const list = this.d.sharing.latestList()?.list ?? null;
    let sent = 0;
    for (const id of this.d.sharing.liveGrantIds(now)) {
      const signed = this.d.sharing.grant(id)!;
      const g = signed.grant;
      if (!g.methods.includes('batch')) continue;
      if (!checkGrantUsable(signed, { now, revocations: list, method: 'batch', items: g.items }).ok) continue;
      const consumer = this.d.registry.get(g.consumer.nodeId)?.node;
      if (!consumer?.encryptionKey || consumer.status !== 'active') continue;
      const items = this.currentItems(g.resource);
      if (!items) continue;
      // A grant that withholds items, rows or clear values gets only the packages its provider shaped for
      // it (grant packages, latest snapshot). Otherwise the resource's own snapshot and later deltas —
      // only those built with the entry's current items (schemaHash): a package from before an item was
      // dropped still holds that item, which the grant no longer covers.
      const shaped = batchNeedsShaping(g, items.codes);
      const schema = shaped ? null : items.schemaHash;
      const chain = this.chains.grantableChain({ resource: g.resource, grantId: shaped ? id : null, schemaHash: schema });
      if (chain.length === 0) continue;
      const already = new Set(this.sentFor.all(id) as string[]);
      for (const packageId of chain) {
        if (already.has(packageId)) continue;
        try {
          this.d.db.transaction(() => {
            const header = this.d.packages.reseal(packageId, { nodeId: consumer.nodeId, publicKey: fromBase64(consumer.encryptionKey!) }, `batch grant ${id}`);
            this.recordSent.run(id, packageId, consumer.nodeId, now.toISOString());
            this.d.outbox.add(downCountySubject(this.d.municipality, consumer.county, 'package.grant'), 'package.grant', { grantId: id, signed: header }, now);
          })();
          sent++;
        } catch (err) {
          this.d.log.error({ event: 'package.grant_failed', grantId: id, packageId: packageId, err: String(err) }, 'package not re-sealed for a batch grantee');
        }
      }
    }
    if (sent) this.d.log.info({ event: 'package.granted', count: sent }, 'packages re-sealed for batch grantees');
    return sent;
  }

  /** The entry's current data item codes and the schemaHash its packages carry (PACKAGES.md §7), or null if unknown. */
  private currentItems(resource: string): { codes: string[]; schemaHash: string } | null {
    const view = this.d.store.getView(resource);
    if (!view) return null;
    const dataItems = ((view.content as { dataItems?: SchemaItem[] }).dataItems ?? []) as SchemaItem[];
    return { codes: dataItems.map((i) => i.code), schemaHash: schemaHashOf(schemaItemsOf(dataItems)) };
  }

  /**
   * One `package.chunk.get` received on `subject` (from hub/bus/chunk-server.ts): the chunk, served only
   * to the nodes the package was sealed to while their grant is usable, or a signed error.
   */
  serveChunk(subject: string, bytes: Uint8Array): ChunkReply {
    try {
      const env = verifyEnvelope(bytes, (id) => this.d.registry.get(id)?.keys);
      const node = this.d.registry.get(env.from)!.node;
      if (subject.split('.')[3] !== node.county) throw new ProtocolError('MESSAGE_WRONG_SUBJECT', `${env.from} (county ${node.county}) used ${subject}`);
      if (env.type !== 'package.chunk.get') throw new ProtocolError('MESSAGE_UNKNOWN_TYPE', `${env.type} is not a chunk request`);
      const req = env.payload;
      const rows = this.grantsOf.all(req.packageId, env.from) as { id: string }[];
      const list = this.d.sharing.latestList()?.list ?? null;
      const stored = this.d.packages.stored(req.packageId);
      const usable = rows
        .map((r) => this.d.sharing.grant(r.id)!)
        .map((g) => {
          // The resource's own package under a grant that now withholds something (the entry gained an item,
          // say): only grant packages may go to it from now on.
          if (stored && stored.signed.header.grantId === undefined) {
            const items = this.currentItems(g.grant.resource);
            if (!items || batchNeedsShaping(g.grant, items.codes)) return { ok: false as const, code: 'GRANT_NEEDS_SHAPING' };
          }
          return checkGrantUsable(g, { now: this.d.clock.now(), revocations: list, method: 'batch', items: g.grant.items });
        });
      const ok = usable.findIndex((u) => u.ok);
      if (ok >= 0 && req.index === 0) this.d.sharing.recordUse(rows[ok]!.id); // a batch grant in use is not "unused" (Jincheng §31)
      if (ok < 0) {
        const why = usable.find((u) => !u.ok);
        throw new ProtocolError('UPDATE_FORBIDDEN', `package ${req.packageId} is not granted to ${env.from}${why && !why.ok ? `: ${why.code}` : ''}`, {
          code: why && !why.ok ? why.code : 'GRANT_UNKNOWN',
        });
      }
      const chunk = stored?.chunk(req.index);
      if (!chunk) throw new ProtocolError('MESSAGE_INVALID', `no chunk ${req.index} of package ${req.packageId}`);
      return { data: chunk, chunkIndex: req.index };
    } catch (err) {
      if (!isDomainError(err)) this.d.log.error({ event: 'package.chunk_error', err: String(err) }, 'chunk request failed');
      const reply = errorReply(err);
      // A refusal by the grant (GRANT_REVOKED, …) names that code rather than the UPDATE_FORBIDDEN wrapping it.
      const inner = err instanceof ProtocolError ? err.detail.code : undefined;
      return { data: this.d.identity.seal('error', Date.now(), isErrorCode(inner) ? { ...reply, code: inner } : reply, this.d.clock.now()) };
    }
  }
}

/** A chunk request's answer: the chunk with its index (sent as the `Jl-Chunk` header), or a signed error envelope. */
export interface ChunkReply {
  data: Uint8Array;
  chunkIndex?: number;
}
