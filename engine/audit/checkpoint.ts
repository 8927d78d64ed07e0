/**
 * @module Signed audit checkpoints: a node signs its chain head and sends it to the hub, which keeps them
 * per node (`CheckpointStore`). A later checkpoint with a lower seq, or the same seq with another hash,
 * means the node rewrote history it had already vouched for.
 *
 * Signed bytes, version 1:  UTF-8("jilian/audit-checkpoint/v1\0") ‖ UTF-8(canonicalJson({"at","hash","nodeId","seq"}))
 * with `hash` lower-case hex of the 32-byte chain hash of record `seq` (seq 0 = empty log, hash all zeros)
 * and `at` the signer's clock (RFC 3339 UTC). Signature: Ed25519 detached (crypto_sign_detached), base64.
 */
import type { Db } from '../db.ts';
import { verifyCheckpoint, type AuditCheckpoint } from '../../protocol/audit-checkpoint.ts';

export { AuditCheckpoint, checkpointSignedBytes, keySigner, signCheckpoint, verifyCheckpoint, type CheckpointSigner } from '../../protocol/audit-checkpoint.ts';

/** Hub side: every checkpoint received, per node. Rejected ones are kept too, as evidence. */
export const CHECKPOINT_SCHEMA_SQL = `
CREATE TABLE audit_checkpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  node_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  at TEXT NOT NULL,
  signature TEXT NOT NULL,
  received_at TEXT NOT NULL,
  accepted INTEGER NOT NULL CHECK (accepted IN (0, 1))
);
CREATE INDEX audit_checkpoints_node ON audit_checkpoints (node_id, accepted, seq);
`;

export type CheckpointOutcome =
  | { ok: true; status: 'new' | 'same' | 'stale' }
  | { ok: false; code: 'BAD_SIGNATURE' | 'HISTORY_REWRITTEN'; message: { 'zh-CN': string; en: string }; last?: AuditCheckpoint };

interface Row {
  node_id: string;
  seq: number;
  hash: string;
  at: string;
  signature: string;
}

/** Checkpoints received by the hub; `record` refuses (and keeps) one that contradicts an earlier one. */
export class CheckpointStore {
  private readonly insert;
  private readonly latestStmt;
  private readonly atSeq;

  constructor(private readonly db: Db) {
    this.insert = db.prepare('INSERT INTO audit_checkpoints (node_id, seq, hash, at, signature, received_at, accepted) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.latestStmt = db.prepare('SELECT node_id, seq, hash, at, signature FROM audit_checkpoints WHERE node_id = ? AND accepted = 1 ORDER BY seq DESC, id DESC LIMIT 1');
    this.atSeq = db.prepare('SELECT 1 FROM audit_checkpoints WHERE node_id = ? AND accepted = 1 AND seq = ? AND hash = ? LIMIT 1');
  }

  /**
   * Check `cp` against the node's key and its last accepted checkpoint, then store it. A lower seq than
   * the last, or the same seq with another hash: "history rewritten". A higher seq is accepted (the hub
   * cannot see the records in between; the node's own `verify` checks their linkage).
   */
  record(cp: AuditCheckpoint, publicKey: Uint8Array, receivedAt: Date): CheckpointOutcome {
    if (!verifyCheckpoint(cp, publicKey)) {
      return { ok: false, code: 'BAD_SIGNATURE', message: { 'zh-CN': '审计检查点签名无效', en: 'audit checkpoint signature is invalid' } };
    }
    return this.db.transaction((): CheckpointOutcome => {
      const last = this.latest(cp.nodeId);
      const store = (accepted: boolean) => this.insert.run(cp.nodeId, cp.seq, cp.hash, cp.at, cp.signature, receivedAt.toISOString(), accepted ? 1 : 0);
      // A checkpoint signed before the last accepted one can arrive late (a publisher retry): it is
      // stale, not evidence. A rewind is a checkpoint signed later that goes back or forks.
      if (last && Date.parse(cp.at) < Date.parse(last.at) && cp.seq <= last.seq) return { ok: true, status: 'stale' };
      if (last && (cp.seq < last.seq || (cp.seq === last.seq && cp.hash !== last.hash))) {
        store(false);
        return {
          ok: false,
          code: 'HISTORY_REWRITTEN',
          message: {
            'zh-CN': `节点 ${cp.nodeId} 的审计链与已签名检查点（序号 ${last.seq}）不一致：历史记录被改写`,
            en: `node ${cp.nodeId}'s audit chain contradicts its signed checkpoint at seq ${last.seq}: history rewritten`,
          },
          last,
        };
      }
      if (last && cp.seq === last.seq) return { ok: true, status: 'same' };
      store(true);
      return { ok: true, status: 'new' };
    })();
  }

  /** The node's highest accepted checkpoint, if any. */
  latest(nodeId: string): AuditCheckpoint | undefined {
    const r = this.latestStmt.get(nodeId) as Row | undefined;
    return r && { nodeId: r.node_id, seq: r.seq, hash: r.hash, at: r.at, signature: r.signature };
  }

  /** Whether the node once vouched for exactly this (seq, hash), e.g. to check a purge anchor. */
  vouched(nodeId: string, seq: number, hash: string): boolean {
    return this.atSeq.get(nodeId, seq, hash) !== undefined;
  }
}
