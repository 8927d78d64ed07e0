/**
 * @module Signed audit checkpoints: a node signs its chain head and purge anchor and sends them to the hub,
 * which keeps them per node (`CheckpointStore`). A later checkpoint with a lower seq, or the same seq with
 * another hash, means the node rewrote history it had already vouched for; a purge anchor that moved
 * without a signed, retention-respecting purge record means records were deleted outside a purge.
 * Byte layouts: `protocol/audit-checkpoint.ts` (PROTOCOL.md §8.9).
 */
import type { Db } from '../storage/db.ts';
import { SIX_MONTHS_MIN_DAYS } from '../../protocol/policy.ts';
import { AuditPurge, purgeKeepsRetention, verifyCheckpoint, verifyPurge, type AuditCheckpoint } from '../../protocol/audit-checkpoint.ts';

export {
  AuditCheckpoint,
  AuditPurge,
  checkpointSignedBytes,
  keySigner,
  purgeKeepsRetention,
  purgeSignedBytes,
  signCheckpoint,
  signPurge,
  verifyCheckpoint,
  verifyPurge,
  type AuditPurgeFields,
  type CheckpointSigner,
} from '../../protocol/audit-checkpoint.ts';

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

/** Hub side, added later (a new hub migration): the purge anchor each checkpoint named and the signed purge record that moved it. */
export const CHECKPOINT_ANCHOR_SQL = `
ALTER TABLE audit_checkpoints ADD COLUMN first_seq INTEGER;
ALTER TABLE audit_checkpoints ADD COLUMN first_prev_hash TEXT;
ALTER TABLE audit_checkpoints ADD COLUMN purge TEXT;
`;

export type CheckpointRefusal = 'BAD_SIGNATURE' | 'HISTORY_REWRITTEN' | 'PURGE_UNSIGNED' | 'PURGE_TOO_EARLY';

export type CheckpointOutcome = { ok: true; status: 'new' | 'same' | 'stale' } | { ok: false; code: CheckpointRefusal; message: { 'zh-CN': string; en: string }; last?: AuditCheckpoint };

interface Row {
  node_id: string;
  seq: number;
  hash: string;
  at: string;
  signature: string;
  first_seq: number | null;
  first_prev_hash: string | null;
  purge: string | null;
}

const GENESIS_HEX = '0'.repeat(64);
const COLS = 'node_id, seq, hash, at, signature, first_seq, first_prev_hash, purge';

type Refusal = { code: CheckpointRefusal; zh: string; en: string };

export interface CheckpointStoreOptions {
  /**
   * Shortest audit retention a purge may claim, days. Default 184: the 6-month floor of Cybersecurity Law
   * §21(3) that no preset goes below (Jiyuan §28 the same; Hebi §13 asks 3 years, 1096 days).
   */
  minRetentionDays?: number;
}

/** Checkpoints received by the hub; `record` refuses (and keeps) one that contradicts an earlier one. */
export class CheckpointStore {
  private readonly insert;
  private readonly latestStmt;
  private readonly atSeq;
  private readonly atSeqOther;
  private readonly latestIn;
  private readonly minRetentionDays: number;

  constructor(
    private readonly db: Db,
    options: CheckpointStoreOptions = {},
  ) {
    this.minRetentionDays = options.minRetentionDays ?? SIX_MONTHS_MIN_DAYS;
    this.insert = db.prepare(`INSERT INTO audit_checkpoints (${COLS}, received_at, accepted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.latestStmt = db.prepare(`SELECT ${COLS} FROM audit_checkpoints WHERE node_id = ? AND accepted = 1 ORDER BY seq DESC, id DESC LIMIT 1`);
    this.atSeq = db.prepare('SELECT 1 FROM audit_checkpoints WHERE node_id = ? AND accepted = 1 AND seq = ? AND hash = ? LIMIT 1');
    this.atSeqOther = db.prepare('SELECT 1 FROM audit_checkpoints WHERE node_id = ? AND accepted = 1 AND seq = ? AND hash <> ? LIMIT 1');
    this.latestIn = db.prepare('SELECT seq, at FROM audit_checkpoints WHERE node_id = ? AND accepted = 1 AND seq >= ? AND seq <= ? ORDER BY seq DESC LIMIT 1');
  }

  /**
   * Check `cp` against the node's key and its last accepted checkpoint, then store it. A lower seq than
   * the last, or the same seq with another hash: "history rewritten". A higher seq is accepted (the hub
   * cannot see the records in between; the node's own `verify` checks their linkage). A purge anchor
   * (`firstSeq`, `firstPrevHash`) that moved since the last one, or that is not the genesis on a first
   * checkpoint, must come with a purge record signed by one of `keys` (the sender's accepted keys; default
   * just `publicKey`) that names it and kept the retention; otherwise "purge unsigned" / "purge too early".
   */
  record(cp: AuditCheckpoint, publicKey: Uint8Array, receivedAt: Date, keys: readonly Uint8Array[] = []): CheckpointOutcome {
    if (!verifyCheckpoint(cp, publicKey)) {
      return { ok: false, code: 'BAD_SIGNATURE', message: { 'zh-CN': '审计检查点签名无效', en: 'audit checkpoint signature is invalid' } };
    }
    return this.db.transaction((): CheckpointOutcome => {
      const lastRow = this.latestStmt.get(cp.nodeId) as Row | undefined;
      const last = lastRow && toCheckpoint(lastRow);
      const store = (accepted: boolean) =>
        this.insert.run(
          cp.nodeId,
          cp.seq,
          cp.hash,
          cp.at,
          cp.signature,
          cp.firstSeq ?? null,
          cp.firstPrevHash ?? null,
          cp.purge ? JSON.stringify(cp.purge) : null,
          receivedAt.toISOString(),
          accepted ? 1 : 0,
        );
      const refuse = (r: Refusal): CheckpointOutcome => {
        store(false);
        return { ok: false, code: r.code, message: { 'zh-CN': r.zh, en: r.en }, ...(last ? { last } : {}) };
      };
      // A checkpoint signed before the last accepted one can arrive late (a publisher retry): it is
      // stale, not evidence. A rewind is a checkpoint signed later that goes back or forks.
      if (last && Date.parse(cp.at) < Date.parse(last.at) && cp.seq <= last.seq) return { ok: true, status: 'stale' };
      if (last && (cp.seq < last.seq || (cp.seq === last.seq && cp.hash !== last.hash))) {
        return refuse({
          code: 'HISTORY_REWRITTEN',
          zh: `节点 ${cp.nodeId} 的审计链与已签名检查点（序号 ${last.seq}）不一致：历史记录被改写`,
          en: `node ${cp.nodeId}'s audit chain contradicts its signed checkpoint at seq ${last.seq}: history rewritten`,
        });
      }
      const anchor = this.anchorRefusal(cp, lastRow, [publicKey, ...keys]);
      if (anchor) return refuse(anchor);
      const sameAnchor = lastRow !== undefined && (lastRow.first_seq ?? undefined) === cp.firstSeq;
      if (last && cp.seq === last.seq && sameAnchor) return { ok: true, status: 'same' };
      store(true);
      return { ok: true, status: 'new' };
    })();
  }

  /** Why the checkpoint's purge anchor is refused, or null. */
  private anchorRefusal(cp: AuditCheckpoint, last: Row | undefined, keys: readonly Uint8Array[]): Refusal | null {
    const node = cp.nodeId;
    if (cp.firstSeq === undefined || cp.firstPrevHash === undefined) {
      // A node that ever named its anchor must keep doing so: dropping it would hide a moved anchor.
      if (last?.first_seq != null)
        return { code: 'PURGE_UNSIGNED', zh: `节点 ${node} 的审计检查点缺少此前一直携带的清理锚点`, en: `node ${node}'s audit checkpoint omits the purge anchor its earlier ones carried` };
      return null;
    }
    const prev = last?.first_seq != null ? { seq: last.first_seq, hash: last.first_prev_hash } : null;
    if (prev && (cp.firstSeq < prev.seq || (cp.firstSeq === prev.seq && cp.firstPrevHash !== prev.hash))) {
      return {
        code: 'HISTORY_REWRITTEN',
        zh: `节点 ${node} 的审计清理锚点（序号 ${cp.firstSeq}）与已签名检查点的锚点（序号 ${prev.seq}）不一致：历史记录被改写`,
        en: `node ${node}'s purge anchor (seq ${cp.firstSeq}) contradicts the one its signed checkpoint named (seq ${prev.seq}): history rewritten`,
      };
    }
    const moved = prev ? cp.firstSeq !== prev.seq : !(cp.firstSeq === 1 && cp.firstPrevHash === GENESIS_HEX);
    if (!moved) return null;
    const unsigned = (why: { zh: string; en: string }): Refusal => ({
      code: 'PURGE_UNSIGNED',
      zh: `节点 ${node} 的审计清理锚点移到序号 ${cp.firstSeq}，但${why.zh}：最早的记录被删除而非按保存期清理`,
      en: `node ${node}'s purge anchor moved to seq ${cp.firstSeq} ${why.en}: the oldest records were deleted outside a retention purge`,
    });
    const p = AuditPurge.safeParse(cp.purge).data;
    if (!p) return unsigned({ zh: '未附已签名的清理记录', en: 'without a signed purge record' });
    if (p.nodeId !== node || p.toSeq !== cp.firstSeq || p.toPrevHash !== cp.firstPrevHash || p.headSeq >= cp.seq) {
      return unsigned({ zh: '所附清理记录指向别处', en: 'but the purge record names another anchor' });
    }
    if (!keys.some((k) => verifyPurge(p, k))) return unsigned({ zh: '所附清理记录的签名不是该节点的', en: "but the purge record is not signed by the node's key" });
    if (prev && last && Date.parse(p.at) <= Date.parse(last.at)) {
      return unsigned({ zh: '所附清理记录早于仍指向旧锚点的上一个检查点', en: 'but the purge record predates the last checkpoint, which still named the old anchor' });
    }
    const early = (zh: string, en: string): Refusal => ({
      code: 'PURGE_TOO_EARLY',
      zh: `节点 ${node} 清理了仍在保存期内的审计记录（${zh}）`,
      en: `node ${node} purged audit records still inside the retention period (${en})`,
    });
    // R7 retention (Jiyuan §28 / Cybersecurity Law §21(3): ≥ 6 months; Hebi §13: ≥ 3 years).
    if (!purgeKeepsRetention(p, this.minRetentionDays)) {
      return early(
        `截止 ${p.before}，清理于 ${p.at}，保存期 ${p.retentionDays} 天，至少 ${this.minRetentionDays} 天`,
        `cutoff ${p.before}, purged ${p.at}, retention ${p.retentionDays} days, at least ${this.minRetentionDays}`,
      );
    }
    if (this.atSeqOther.get(node, p.toSeq - 1, p.toPrevHash) !== undefined) {
      return {
        code: 'HISTORY_REWRITTEN',
        zh: `节点 ${node} 的清理记录与其已签名的序号 ${p.toSeq - 1} 检查点不符：历史记录被改写`,
        en: `node ${node}'s purge record contradicts its signed checkpoint at seq ${p.toSeq - 1}: history rewritten`,
      };
    }
    // The hub's own dating: a checkpoint of seq s signed at t means record s + 1 was written after t, so
    // a purge of s + 1 "as older than `before`" needs t < before.
    const dated = this.latestIn.get(node, p.fromSeq - 1, p.toSeq - 2) as { seq: number; at: string } | undefined;
    if (dated && Date.parse(dated.at) >= Date.parse(p.before)) {
      return early(`序号 ${dated.seq + 1} 写于 ${dated.at} 之后，晚于截止 ${p.before}`, `record ${dated.seq + 1} was written after ${dated.at}, later than the cutoff ${p.before}`);
    }
    return null;
  }

  /** The node's highest accepted checkpoint, if any. */
  latest(nodeId: string): AuditCheckpoint | undefined {
    const r = this.latestStmt.get(nodeId) as Row | undefined;
    return r && toCheckpoint(r);
  }

  /** Whether the node once vouched for exactly this (seq, hash), e.g. to check a purge anchor. */
  vouched(nodeId: string, seq: number, hash: string): boolean {
    return this.atSeq.get(nodeId, seq, hash) !== undefined;
  }
}

function toCheckpoint(r: Row): AuditCheckpoint {
  return {
    nodeId: r.node_id,
    seq: r.seq,
    hash: r.hash,
    at: r.at,
    signature: r.signature,
    ...(r.first_seq != null && r.first_prev_hash != null ? { firstSeq: r.first_seq, firstPrevHash: r.first_prev_hash } : {}),
    ...(r.purge != null ? { purge: JSON.parse(r.purge) as AuditPurge } : {}),
  };
}
