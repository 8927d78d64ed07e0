/**
 * @module Anti-entropy, hub side (PROTOCOL.md §Anti-entropy): answers range digests and pulls from
 * registered nodes over core-NATS request/reply. Every request and reply is a signed envelope.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { acceptsTypes, dispatch, type Handlers } from '../../protocol/dispatch.ts';
import { verifyEnvelope } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { EntryUpdate, MessageType, PayloadOf, SyncDigestRequest, SyncPullRequest } from '../../protocol/messages.ts';
import { rangeDigest } from '../../protocol/sync.ts';
import type { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import type { TotalCatalog } from '../catalog/total-catalog.ts';
import type { NodeRegistry } from '../storage/registry.ts';
import { claimedSender, type RejectionLog } from './rejections.ts';

/** Vectors per digest reply and bytes per pull reply: both keep replies well under NATS's 1 MiB. */
const MAX_VECTORS = 1000;
const MAX_PULL_BYTES = 700 * 1024;

export interface SyncServerDeps {
  store: CatalogStore;
  catalog: TotalCatalog;
  registry: NodeRegistry;
  identity: Identity;
  rejections: RejectionLog;
  clock: Clock;
  log: Logger;
  municipality: string;
  /** Messages from a county on the UP stream the hub has not applied yet (hub/sync/up-consumers.ts). */
  upBacklog?: (county: string) => Promise<number>;
}

/** Error code of a digest answered "not now": the county's own messages are still queued at the hub. */
export const SYNC_BUSY = 'SYNC_BUSY';

/** The requests a node may send on its sync subject; any other is refused as MESSAGE_UNKNOWN_TYPE. */
export const SYNC_TYPES = ['catalog.sync.digest', 'catalog.sync.pull'] as const;
export type SyncType = (typeof SYNC_TYPES)[number];
const acceptsSync = acceptsTypes(SYNC_TYPES);

export class SyncServer {
  private sub: Subscription | null = null;
  requests = 0;
  private readonly handlers: Handlers<SyncType, [Msg]> = {
    'catalog.sync.digest': (env, msg) => this.reply(msg, 'catalog.sync.digest.reply', this.digest(env.payload)),
    'catalog.sync.pull': (env, msg) => this.reply(msg, 'catalog.sync.pull.reply', this.pull(env.payload)),
  };

  constructor(private readonly d: SyncServerDeps) {}

  /** Subscribe (nats.js re-subscribes by itself after reconnects). */
  listen(nc: NatsConnection): void {
    if (this.sub) return;
    this.sub = nc.subscribe(`jl.${this.d.municipality}.rpc.*.catalog.sync`, {
      queue: 'hub',
      callback: (err, msg) => {
        if (!err) this.onRequest(msg);
      },
    });
  }

  private onRequest(msg: Msg): void {
    void this.answer(msg);
  }

  private async answer(msg: Msg): Promise<void> {
    this.requests++;
    let sender: string | null = null;
    try {
      const env = verifyEnvelope(msg.data, (id) => this.d.registry.get(id)?.keys);
      sender = env.from;
      const county = this.d.registry.get(env.from)!.node.county;
      if (msg.subject.split('.')[3] !== county) throw new ProtocolError('MESSAGE_WRONG_SUBJECT', `${env.from} (county ${county}) used ${msg.subject}`);
      const backlog = env.type === 'catalog.sync.digest' && this.d.upBacklog ? await this.d.upBacklog(county) : 0;
      // Compared now, every entry still queued here would look lost to the node and be pushed again.
      if (backlog > 0) this.reply(msg, 'error', { code: SYNC_BUSY, message: `${backlog} messages of county ${county} are not applied yet; compare again later` });
      else if (acceptsSync(env)) dispatch(this.handlers, env, msg);
      else throw new ProtocolError('MESSAGE_UNKNOWN_TYPE', `${env.type} is not a sync request`);
    } catch (err) {
      if (!(err instanceof ProtocolError)) {
        this.d.log.error({ event: 'sync.error', err: String(err) }, 'sync request failed');
        return this.reply(msg, 'error', { code: 'INTERNAL', message: 'internal error' });
      }
      this.d.rejections.record(err, msg.subject, sender ?? claimedSender(err), this.d.clock.now());
      this.reply(msg, 'error', { code: err.code, message: err.message.slice(0, 1000) });
    }
  }

  private digest(req: SyncDigestRequest): PayloadOf<'catalog.sync.digest.reply'> {
    const lines = this.d.store.vectorsInRange(req.from, req.to);
    if (lines.length === req.count && rangeDigest(lines) === req.digest) return { match: true, entries: [], next: null };
    const page = lines.slice(0, MAX_VECTORS);
    return { match: false, entries: page, next: lines.length > MAX_VECTORS ? lines[MAX_VECTORS]!.id : null };
  }

  private pull(req: SyncPullRequest): PayloadOf<'catalog.sync.pull.reply'> {
    const updates: EntryUpdate[] = [];
    let bytes = 0;
    for (const { id, sv } of req.entries) {
      const update = this.d.catalog.diffFor(id, sv);
      if (!update) continue;
      if (update.length > MAX_PULL_BYTES) {
        this.d.log.error({ event: 'sync.entry_too_large', entryId: id, bytes: update.length }, 'entry state too large for one pull reply');
        continue;
      }
      bytes += update.length + id.length + 32;
      if (bytes > MAX_PULL_BYTES && updates.length > 0) break;
      updates.push({ entryId: id, update });
    }
    return { updates };
  }

  private reply<T extends MessageType>(msg: Msg, type: T, payload: PayloadOf<T>): void {
    if (!msg.reply) return;
    msg.respond(this.d.identity.seal(type, Date.now(), payload, this.d.clock.now()));
  }

  close(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }
}
