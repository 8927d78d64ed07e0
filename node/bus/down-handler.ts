/** @module Applies what the hub publishes on the DOWN stream: verify the hub's signature, drop duplicates, apply. */
import type { JsMsg } from '@nats-io/jetstream';
import { verifyEnvelope, type Envelope } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { CatalogUpdate } from '../../protocol/messages.ts';
import type { KeyDirectory } from '../../protocol/key-directory.ts';
import type { PackageResume, PackageStatus } from '../../protocol/package-messages.ts';
import type { PackageSender } from '../packages/sender.ts';
import type { NodeSharing } from '../sharing/node-sharing.ts';
import type { BatchReceiver } from '../sharing/received-packages.ts';
import type { PackageGrant } from '../../protocol/package-messages.ts';
import type { ApplicationUpdate, GrantIssue, GrantRevocations } from '../../protocol/sharing-messages.ts';
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

export interface DownStats {
  applied: number;
  duplicates: number;
  rejected: number;
}

/** Build the handler; every failure to verify is logged and the message dropped (acknowledged). */
export function createDownHandler(d: DownHandlerDeps): { handle: (msg: JsMsg) => void; stats: DownStats } {
  const stats: DownStats = { applied: 0, duplicates: 0, rejected: 0 };
  const lookup = (id: string) => (id === d.hubId ? d.hubKey : undefined);
  const handle = (msg: JsMsg) => {
    let env: Envelope;
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
      d.db.transaction(() => {
        // The hub relays every county's updates to all nodes; our own relayed back are already here
        // (anything lost locally, e.g. after a restore, comes back through anti-entropy).
        if (env.type === 'catalog.update') {
          const update = env.payload as CatalogUpdate;
          if (update.origin !== d.county) d.service.applyRemote(update.updates);
        } else if (env.type === 'keys.directory') {
          d.onDirectory(env.payload as KeyDirectory);
        } else if (env.type === 'package.status') {
          d.packages?.status(env.payload as PackageStatus);
        } else if (env.type === 'application.update') {
          d.sharing?.onApplicationUpdate(env.payload as ApplicationUpdate);
        } else if (env.type === 'grant.issue') {
          d.sharing?.onGrant((env.payload as GrantIssue).grant);
        } else if (env.type === 'package.grant') {
          d.batch?.onPackageGrant(env.payload as PackageGrant);
        } else if (env.type === 'grant.revocations') {
          d.sharing?.onRevocations((env.payload as GrantRevocations).list);
        } else if (env.type === 'package.resume') {
          const req = env.payload as PackageResume;
          // Re-sending from the spool is async; it must not hold the DOWN stream.
          queueMicrotask(() => void d.packages?.resume(req).catch((err) => d.log.warn({ event: 'package.resume_failed', err: String(err) }, 'resume failed')));
        }
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
