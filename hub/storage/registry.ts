/**
 * @module The hub's registry of county nodes and their public keys: enrolled with join tokens
 * (`jilian node enroll`) or registered by hand (`jilian hub register-node`), rotated by the node,
 * revoked by an operator. Read through a short cache, so a change made by the CLI while the hub runs
 * is picked up within two seconds.
 */
import { NODE_ID_RE } from '../../protocol/envelope.ts';
import { decodePublicKey } from '../../protocol/keys.ts';
import { ADMIN_CODE_RE } from '../../protocol/subjects.ts';
import type { Clock } from '../../engine/clock.ts';
import { systemClock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';

export interface RegisteredNode {
  nodeId: string;
  county: string;
  name: string | null;
  publicKey: string;
  encryptionKey: string | null;
  natsNkey: string | null;
  status: 'active' | 'revoked';
  registeredAt: string;
  previousPublicKey: string | null;
  previousValidUntil: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
}

const COLUMNS = `node_id AS nodeId, county, name, public_key AS publicKey, encryption_key AS encryptionKey, nats_nkey AS natsNkey,
  status, registered_at AS registeredAt, previous_public_key AS previousPublicKey, previous_valid_until AS previousValidUntil,
  revoked_at AS revokedAt, revoked_reason AS revokedReason`;

export class NodeRegistry {
  private cache = new Map<string, RegisteredNode | null>();
  private cachedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock = systemClock,
  ) {}

  register(node: { nodeId: string; county: string; name?: string; publicKey: string; encryptionKey?: string; natsNkey?: string }, now: Date): void {
    if (!NODE_ID_RE.test(node.nodeId)) throw new Error(`node id "${node.nodeId}" must match ${NODE_ID_RE}`);
    if (!ADMIN_CODE_RE.test(node.county)) throw new Error(`county "${node.county}" must be a 6-digit administrative code`);
    decodePublicKey(node.publicKey);
    this.db
      .prepare(
        `INSERT INTO nodes (node_id, county, name, public_key, status, registered_at, encryption_key, nats_nkey) VALUES (?, ?, ?, ?, 'active', ?, ?, ?)
         ON CONFLICT(node_id) DO UPDATE SET county = excluded.county, name = excluded.name, public_key = excluded.public_key, status = 'active',
           revoked_at = NULL, revoked_reason = NULL,
           encryption_key = COALESCE(excluded.encryption_key, nodes.encryption_key), nats_nkey = COALESCE(excluded.nats_nkey, nodes.nats_nkey)`,
      )
      .run(node.nodeId, node.county, node.name ?? null, node.publicKey.trim(), now.toISOString(), node.encryptionKey ?? null, node.natsNkey ?? null);
    this.cache.clear();
  }

  /** Make `newKey` current; the old key stays valid until `graceUntil` for messages already in flight. */
  rotate(nodeId: string, newKey: string, graceUntil: Date): void {
    decodePublicKey(newKey);
    this.db
      .prepare("UPDATE nodes SET previous_public_key = public_key, previous_valid_until = ?, public_key = ? WHERE node_id = ? AND status = 'active'")
      .run(graceUntil.toISOString(), newKey, nodeId);
    this.cache.clear();
  }

  /** Revoke a node: its messages are refused from now on, everywhere the directory reaches. */
  revoke(nodeId: string, reason: string, now: Date): boolean {
    const changed = this.db.prepare("UPDATE nodes SET status = 'revoked', revoked_at = ?, revoked_reason = ? WHERE node_id = ? AND status = 'active'").run(now.toISOString(), reason, nodeId).changes;
    this.cache.clear();
    return changed > 0;
  }

  /** The active node with this id and the signing keys accepted now; undefined if unknown or revoked. */
  get(nodeId: string): { node: RegisteredNode; keys: Uint8Array[] } | undefined {
    if (Date.now() - this.cachedAt > 2_000) this.cache.clear(), (this.cachedAt = Date.now());
    if (!this.cache.has(nodeId)) {
      this.cache.set(nodeId, (this.db.prepare(`SELECT ${COLUMNS} FROM nodes WHERE node_id = ?`).get(nodeId) as RegisteredNode | undefined) ?? null);
    }
    const node = this.cache.get(nodeId);
    if (node?.status !== 'active') return undefined;
    const keys = [decodePublicKey(node.publicKey)];
    if (node.previousPublicKey && node.previousValidUntil && Date.parse(node.previousValidUntil) > this.clock.now().getTime()) {
      keys.push(decodePublicKey(node.previousPublicKey));
    }
    return { node, keys };
  }

  list(): RegisteredNode[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM nodes ORDER BY county, node_id`).all() as RegisteredNode[];
  }
}
