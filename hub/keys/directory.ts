/**
 * @module The hub side of the key directory: builds the signed directory from the registry,
 * broadcasts a new version (through the outbox, in the caller's transaction) whenever keys change,
 * applies rotations announced by nodes and revocations decided by operators.
 */
import { KeyDirectory, verifyRotationProof, type KeyRotation } from '../../protocol/key-directory.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { downBroadcastSubject } from '../../protocol/subjects.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { MetaStore } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { NodeRegistry } from '../storage/registry.ts';

export interface DirectoryDeps {
  db: Db;
  registry: NodeRegistry;
  outbox: Outbox;
  clock: Clock;
  municipality: string;
  hub: { nodeId: string; signingKey: string; encryptionKey: string };
  /** How long a rotated-out key is still accepted. */
  graceMs: number;
  audit?: AuditLog;
}

export class KeyDirectoryService {
  private readonly meta: MetaStore;

  constructor(private readonly d: DirectoryDeps) {
    this.meta = new MetaStore(d.db);
  }

  /** The directory as of now (the version last published). */
  current(): KeyDirectory {
    return this.build(Number(this.meta.get('keys.directory.version') ?? '0') || 1);
  }

  /**
   * Bump the version and queue the directory for every node. Call inside the transaction that
   * changed a key. Versions follow the clock (milliseconds) and never go down, so a hub restored
   * from a backup still publishes versions newer than what nodes hold.
   */
  publish(): KeyDirectory {
    const version = Math.max(Number(this.meta.get('keys.directory.version') ?? '0') + 1, this.d.clock.now().getTime());
    this.meta.set('keys.directory.version', String(version));
    const dir = this.build(version);
    this.d.outbox.add(downBroadcastSubject(this.d.municipality, 'keys.directory'), 'keys.directory', dir, this.d.clock.now());
    return dir;
  }

  /** Queue the current version again (same version), so a node that missed it catches up. */
  republish(): void {
    if (!this.meta.get('keys.directory.version')) return void this.publish();
    this.d.outbox.add(downBroadcastSubject(this.d.municipality, 'keys.directory'), 'keys.directory', this.current(), this.d.clock.now());
  }

  /** Apply a rotation a node announced (envelope already verified with its current key). */
  rotate(nodeId: string, rotation: KeyRotation): void {
    if (!verifyRotationProof(nodeId, rotation)) throw new ProtocolError('UPDATE_FORBIDDEN', `rotation proof of ${nodeId} does not verify with the new key`);
    const now = this.d.clock.now();
    this.d.db.transaction(() => {
      this.d.registry.rotate(nodeId, rotation.newSigningKey, new Date(now.getTime() + this.d.graceMs));
      this.d.audit?.append({ actor: nodeId, actorRole: 'node', action: 'key.rotate', resource: nodeId, result: 'ok', detail: { newSigningKey: rotation.newSigningKey } });
      this.publish();
    })();
  }

  /** Revoke a node (operator decision). */
  revoke(nodeId: string, reason: string, by = 'cli'): KeyDirectory {
    if (!reason.trim()) throw new AppError('INVALID_REQUEST', '吊销必须说明理由', 'a revocation needs a reason', [{ path: 'reason', code: 'required', message: 'required' }]);
    return this.d.db.transaction(() => {
      if (!this.d.registry.revoke(nodeId, reason, this.d.clock.now())) {
        throw new AppError('NOT_FOUND', `没有处于有效状态的节点 ${nodeId}`, `no active node ${nodeId}`);
      }
      this.d.audit?.append({ actor: by, actorRole: 'secadmin', action: 'key.revoke', resource: nodeId, result: 'ok', purpose: reason });
      return this.publish();
    })();
  }

  private build(version: number): KeyDirectory {
    return KeyDirectory.parse({
      version,
      issuedAt: this.d.clock.now().toISOString(),
      hub: this.d.hub,
      nodes: this.d.registry.list().map((n) => ({
        nodeId: n.nodeId,
        county: n.county,
        status: n.status,
        signingKey: n.publicKey,
        encryptionKey: n.encryptionKey,
        previousSigningKey: n.previousPublicKey,
        previousValidUntil: n.previousValidUntil,
        revokedAt: n.revokedAt,
      })),
    });
  }
}
