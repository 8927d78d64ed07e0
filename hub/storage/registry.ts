/**
 * @module The hub's registry of county nodes and their Ed25519 public keys (registered by
 * `jilian hub register-node`; enrollment with join tokens comes with the trust issue).
 * Read through a small cache, so a node registered by the CLI while the hub runs is picked up.
 */
import { NODE_ID_RE } from '../../protocol/envelope.ts';
import { decodePublicKey } from '../../protocol/keys.ts';
import { ADMIN_CODE_RE } from '../../protocol/subjects.ts';
import type { Db } from '../../engine/db.ts';

export interface RegisteredNode {
  nodeId: string;
  county: string;
  name: string | null;
  publicKey: string;
  status: string;
  registeredAt: string;
}

export class NodeRegistry {
  private cache = new Map<string, { node: RegisteredNode; key: Uint8Array } | null>();
  private cachedAt = 0;

  constructor(private readonly db: Db) {}

  register(node: { nodeId: string; county: string; name?: string; publicKey: string; encryptionKey?: string; natsNkey?: string }, now: Date): void {
    if (!NODE_ID_RE.test(node.nodeId)) throw new Error(`node id "${node.nodeId}" must match ${NODE_ID_RE}`);
    if (!ADMIN_CODE_RE.test(node.county)) throw new Error(`county "${node.county}" must be a 6-digit administrative code`);
    decodePublicKey(node.publicKey);
    this.db
      .prepare(
        `INSERT INTO nodes (node_id, county, name, public_key, status, registered_at, encryption_key, nats_nkey) VALUES (?, ?, ?, ?, 'active', ?, ?, ?)
         ON CONFLICT(node_id) DO UPDATE SET county = excluded.county, name = excluded.name, public_key = excluded.public_key, status = 'active',
           encryption_key = COALESCE(excluded.encryption_key, nodes.encryption_key), nats_nkey = COALESCE(excluded.nats_nkey, nodes.nats_nkey)`,
      )
      .run(node.nodeId, node.county, node.name ?? null, node.publicKey.trim(), now.toISOString(), node.encryptionKey ?? null, node.natsNkey ?? null);
    this.cache.clear();
  }

  /** The active node with this id, with its decoded key; undefined if unknown or not active. */
  get(nodeId: string): { node: RegisteredNode; key: Uint8Array } | undefined {
    if (Date.now() - this.cachedAt > 2_000) (this.cache.clear(), (this.cachedAt = Date.now()));
    if (!this.cache.has(nodeId)) {
      const row = this.db
        .prepare("SELECT node_id AS nodeId, county, name, public_key AS publicKey, status, registered_at AS registeredAt FROM nodes WHERE node_id = ? AND status = 'active'")
        .get(nodeId) as RegisteredNode | undefined;
      this.cache.set(nodeId, row ? { node: row, key: decodePublicKey(row.publicKey) } : null);
    }
    return this.cache.get(nodeId) ?? undefined;
  }

  list(): RegisteredNode[] {
    return this.db
      .prepare('SELECT node_id AS nodeId, county, name, public_key AS publicKey, status, registered_at AS registeredAt FROM nodes ORDER BY county')
      .all() as RegisteredNode[];
  }
}
