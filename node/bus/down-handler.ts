/** @module Applies what the hub publishes on the DOWN stream: verify the hub's signature, drop duplicates, apply. */
import type { JsMsg } from '@nats-io/jetstream';
import { acceptsTypes, dispatch, type Handlers } from '../../protocol/dispatch.ts';
import { verifyEnvelope, type AnyEnvelope } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { KeyDirectory } from '../../protocol/key-directory.ts';
import type { PackageSender } from '../packages/sender.ts';
import type { NodeSharing } from '../sharing/node-sharing.ts';
import type { BatchReceiver } from '../sharing/received-packages.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import type { Inbox } from '../../engine/storage/inbox.ts';
import type { Logger } from '../../engine/log.ts';
import type { CatalogService } from '../catalog/catalog-service.ts';

export interface DownHandlerDeps {
  db: Db;
  inbox: Inbox;
  service: CatalogService;
  clock: Clock;
  log: Logger;
  hubId: string;
  hubKey: Uint8Array;
  county: string;
  /** A newer signed key directory arrived (store it, maybe promote a rotated key). */
  onDirectory: (dir: KeyDirectory) => void;
  packages?: PackageSender;
  sharing?: NodeSharing;
  batch?: BatchReceiver;
  onContact: () => void;
}

/** The message types the hub sends on the DOWN stream, one handler each; any other verified type is recorded and ignored. */
export const DOWN_TYPES = ['catalog.update', 'keys.directory', 'package.status', 'application.update', 'grant.issue', 'package.grant', 'grant.revocations', 'package.resume'] as const;
export type DownType = (typeof DOWN_TYPES)[number];
const acceptsDown = acceptsTypes(DOWN_TYPES);

export interface DownStats {
  applied: number;
  duplicates: number;
  rejected: number;
}

/** Build the handler; every failure to verify is logged and the message dropped (acknowledged). */
export function createDownHandler(d: DownHandlerDeps): { handle: (msg: JsMsg) => void; stats: DownStats } {
  const stats: DownStats = { applied: 0, duplicates: 0, rejected: 0 };
  const lookup = (id: string) => (id === d.hubId ? d.hubKey : undefined);
  // One handler per DOWN type, each inside the transaction that records the message in the inbox.
  const handlers: Handlers<DownType> = {
    'catalog.update': (env) => {
      // The hub relays every county's updates to all nodes; our own relayed back are already here
      // (anything lost locally, e.g. after a restore, comes back through anti-entropy).
      if (env.payload.origin !== d.county) d.service.applyRemote(env.payload.updates);
    },
    'keys.directory': (env) => d.onDirectory(env.payload),
    'package.status': (env) => d.packages?.status(env.payload),
    'application.update': (env) => d.sharing?.onApplicationUpdate(env.payload),
    'grant.issue': (env) => d.sharing?.onGrant(env.payload.grant),
    'package.grant': (env) => d.batch?.onPackageGrant(env.payload),
    'grant.revocations': (env) => d.sharing?.onRevocations(env.payload.list),
    'package.resume': (env) => {
      const req = env.payload;
      // Re-sending from the spool is async; it must not hold the DOWN stream.
      queueMicrotask(() => void d.packages?.resume(req).catch((err) => d.log.warn({ event: 'package.resume_failed', err: String(err) }, 'resume failed')));
    },
  };
  const handle = (msg: JsMsg) => {
    let env: AnyEnvelope;
    try {
      env = verifyEnvelope(msg.data, lookup);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      stats.rejected++;
      d.log.warn({ event: 'down.rejected', code: err.code, subject: msg.subject, detail: err.detail }, err.message);
      return;
    }
    d.onContact();
    if (d.inbox.seen(env.from, env.seq)) {
      stats.duplicates++;
      return;
    }
    try {
      const accepted = acceptsDown(env) ? env : null;
      d.db.transaction(() => {
        // A known type outside the set is recorded and ignored (PROTOCOL.md §9 step 5); an unknown tag never verifies.
        if (accepted) dispatch(handlers, accepted);
        d.inbox.record(env.from, env.seq, d.clock.now());
      })();
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      stats.rejected++;
      d.log.warn({ event: 'down.rejected', code: err.code, subject: msg.subject, detail: err.detail }, err.message);
      return;
    }
    stats.applied++;
  };
  return { handle, stats };
}
