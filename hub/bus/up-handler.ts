/**
 * @module Handles what county nodes publish on the UP stream: verify the signature against the
 * registered key, check the subject belongs to the sender's county, drop duplicates (also those
 * re-sent after JetStream's duplicate window), merge, and record the message as seen — all in one
 * transaction. Anything refused is logged and acknowledged, so a bad message never blocks the stream.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { acceptsTypes, dispatch, type Handlers } from '../../protocol/dispatch.ts';
import { verifyEnvelope } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { AppError } from '../../engine/errors.ts';
import { countyOfUpSubject } from '../../protocol/subjects.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import type { Inbox } from '../../engine/storage/inbox.ts';
import type { TotalCatalog } from '../catalog/total-catalog.ts';
import type { KeyDirectoryService } from '../keys/directory.ts';
import type { PackageReceiver } from '../packages/receiver.ts';
import { verifyCheckpoint, type CheckpointStore } from '../../engine/audit/checkpoint.ts';
import type { NodeRegistry } from '../storage/registry.ts';
import type { SharingService } from '../sharing/sharing-service.ts';
import type { ApplicationDecide } from '../../protocol/sharing-messages.ts';
import { claimedSender, type RejectionLog } from './rejections.ts';

export interface UpHandlerDeps {
  db: Db;
  registry: NodeRegistry;
  inbox: Inbox;
  catalog: TotalCatalog;
  directory: KeyDirectoryService;
  checkpoints: CheckpointStore;
  /** Absent in set-ups that receive no packages (then offers are refused as unknown). */
  packages?: PackageReceiver;
  /** Absent in set-ups without the sharing workflow (then applications are refused as unknown). */
  sharing?: SharingService;
  rejections: RejectionLog;
  clock: Clock;
  municipality: string;
}

export interface UpStats {
  applied: number;
  unchanged: number;
  duplicates: number;
  rejected: number;
}

/** The message types a county may publish on the UP stream; any other is refused as MESSAGE_UNKNOWN_TYPE. */
export const UP_TYPES = ['catalog.update', 'keys.rotate', 'audit.checkpoint', 'package.offer', 'application.submit', 'application.decide'] as const;
export type UpType = (typeof UP_TYPES)[number];
const acceptsUp = acceptsTypes(UP_TYPES);
type Outcome = 'applied' | 'unchanged' | 'rejected';

/** Also for a declared type whose service this set-up lacks (packages, sharing). */
function unknownType(type: string): ProtocolError {
  return new ProtocolError('MESSAGE_UNKNOWN_TYPE', `${type} is not accepted on the UP stream`);
}

export function createUpHandler(d: UpHandlerDeps): { handle: (msg: JsMsg) => void; stats: UpStats } {
  const stats: UpStats = { applied: 0, unchanged: 0, duplicates: 0, rejected: 0 };
  // One handler per UP type, each in its own transaction with the inbox record (or none, when refused).
  const handlers: Handlers<UpType, [county: string, subject: string], Outcome> = {
    'package.offer': (env, county) => {
      const packages = d.packages;
      if (!packages) throw unknownType(env.type);
      try {
        d.db.transaction(() => {
          packages.offer(env.from, county, env.payload);
          d.inbox.record(env.from, env.seq, d.clock.now());
        })();
      } catch (err) {
        // The sender would otherwise wait for an answer forever (and base its next delta on this one).
        if (err instanceof ProtocolError) packages.refuseOffer(county, env.payload, err);
        throw err;
      }
      return 'applied';
    },
    'application.submit': (env, county) => {
      const sharing = d.sharing;
      if (!sharing) throw unknownType(env.type);
      d.db.transaction(() => {
        sharing.submitFromNode(env.from, county, env.payload);
        d.inbox.record(env.from, env.seq, d.clock.now());
      })();
      return 'applied';
    },
    'application.decide': (env, county, subject) => {
      const sharing = d.sharing;
      if (!sharing) throw unknownType(env.type);
      const refused = d.db.transaction(() => {
        const refusal = decideRefusal(county, env.payload, sharing.decideFromNode(county, env.payload));
        d.inbox.record(env.from, env.seq, d.clock.now());
        // A refused decision was answered to the county; it is also one of the refused messages (and audited there).
        if (refusal) d.rejections.record(refusal, subject, env.from, d.clock.now());
        return refusal !== null;
      })();
      return refused ? 'rejected' : 'applied';
    },
    'audit.checkpoint': (env) => {
      const cp = env.payload;
      if (cp.nodeId !== env.from) throw new ProtocolError('UPDATE_FORBIDDEN', `${env.from} sent a checkpoint for ${cp.nodeId}`);
      // Signed by one of the sender's accepted keys (the envelope key may differ during a rotation).
      const key = d.registry.get(env.from)!.keys.find((k) => verifyCheckpoint(cp, k));
      if (!key) throw new ProtocolError('MESSAGE_INVALID', `audit checkpoint of ${env.from} is not signed by its key`);
      const outcome = d.db.transaction(() => {
        // Any accepted key may have signed the purge record it carries (a rotation between purge and checkpoint).
        const result = d.checkpoints.record(cp, key, d.clock.now(), d.registry.get(env.from)!.keys);
        if (result.ok) d.inbox.record(env.from, env.seq, d.clock.now());
        return result;
      })();
      if (!outcome.ok) throw new ProtocolError('AUDIT_HISTORY_REWRITTEN', `${env.from}: ${outcome.message.en}`, { seq: cp.seq, code: outcome.code });
      return 'applied';
    },
    'keys.rotate': (env) => {
      d.db.transaction(() => {
        d.directory.rotate(env.from, env.payload);
        d.inbox.record(env.from, env.seq, d.clock.now());
      })();
      return 'applied';
    },
    'catalog.update': (env, county) => {
      const payload = env.payload;
      if (payload.origin !== county) throw new ProtocolError('UPDATE_FORBIDDEN', `origin ${payload.origin} is not the sender's county ${county}`);
      const changed = d.db.transaction(() => {
        const n = d.catalog.applyFromCounty(county, payload.updates);
        d.inbox.record(env.from, env.seq, d.clock.now());
        return n;
      })();
      return changed ? 'applied' : 'unchanged';
    },
  };
  const handle = (msg: JsMsg) => {
    let sender: string | null = null;
    try {
      const env = verifyEnvelope(msg.data, (id) => d.registry.get(id)?.keys);
      sender = env.from;
      const node = d.registry.get(env.from)!.node;
      if (countyOfUpSubject(d.municipality, msg.subject) !== node.county) {
        throw new ProtocolError('MESSAGE_WRONG_SUBJECT', `${env.from} (county ${node.county}) published on ${msg.subject}`);
      }
      if (d.inbox.seen(env.from, env.seq)) {
        stats.duplicates++;
        return;
      }
      if (!acceptsUp(env)) throw unknownType(env.type);
      stats[dispatch(handlers, env, node.county, msg.subject)]++;
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      stats.rejected++;
      d.rejections.record(err, msg.subject, sender ?? claimedSender(err), d.clock.now());
    }
  };
  return { handle, stats };
}

/** A decision the workflow refused, as a wire rejection: a party check is a forbidden update, anything else an invalid message. */
function decideRefusal(county: string, msg: ApplicationDecide, err: AppError | null): ProtocolError | null {
  if (!err) return null;
  return new ProtocolError(
    err.code === 'WORKFLOW_FORBIDDEN' ? 'UPDATE_FORBIDDEN' : 'MESSAGE_INVALID',
    `application.decide ${msg.event.type} on ${msg.applicationId} from county ${county} refused: ${err.code}: ${err.en}`,
    {
      applicationId: msg.applicationId,
      workflowCode: err.code,
    },
  );
}
