/**
 * @module Chain verification over rows in seq order (pure apart from hashing). The first failure wins;
 * the reason says what kind of tampering explains it. Deleting or rewriting the newest records is visible
 * against signed checkpoints of the head: the log's own seal (the last one it signed) and the hub's.
 * Records written after the last of them can still be removed unnoticed by whoever holds the database.
 */
import { hashRecord, sameBytes } from './chain.ts';
import type { AuditCheckpoint } from './checkpoint.ts';
import { blob, rowFields, type AuditRow } from './row.ts';

export type BreakReason =
  | 'record-missing'
  | 'prev-hash-mismatch'
  | 'hash-mismatch'
  | 'anchor-mismatch'
  | 'anchor-unsigned'
  | 'signature-invalid'
  | 'purge-too-early'
  | 'key-missing'
  | 'truncated'
  | 'checkpoint-mismatch';

export type VerifyResult =
  | { ok: true; count: number; head: { seq: number; hash: string }; guardsIntact: boolean }
  | { ok: false; firstBrokenSeq: number; reason: BreakReason; message: { 'zh-CN': string; en: string }; guardsIntact: boolean };

/** Bilingual explanation per reason, for CLI output and API bodies. */
export const REASON_MESSAGES: Record<BreakReason, (seq: number) => { 'zh-CN': string; en: string }> = {
  'record-missing': (s) => ({ 'zh-CN': `序号 ${s} 的记录缺失（被删除）`, en: `record ${s} is missing (deleted)` }),
  'prev-hash-mismatch': (s) => ({ 'zh-CN': `序号 ${s} 的记录未链接到前一条（被移动、替换或重排）`, en: `record ${s} does not chain from its predecessor (moved, replaced or reordered)` }),
  'hash-mismatch': (s) => ({ 'zh-CN': `序号 ${s} 的记录内容与其哈希不符（被修改）`, en: `record ${s} does not match its hash (edited)` }),
  'anchor-mismatch': (s) => ({
    'zh-CN': `清理锚点（序号 ${s}）与保留的第一条记录或其签名清理记录不符`,
    en: `purge anchor (seq ${s}) does not match the first retained record or its signed purge record`,
  }),
  'anchor-unsigned': (s) => ({
    'zh-CN': `清理锚点（序号 ${s}）没有用本节点密钥签名的清理记录：最早的记录被删除而非按保存期清理`,
    en: `purge anchor (seq ${s}) has no purge record signed with the node's key: the oldest records were deleted outside a retention purge`,
  }),
  'signature-invalid': (s) => ({ 'zh-CN': `序号 ${s} 处的签名（检查点或清理记录）不是本节点密钥所签`, en: `the signature at seq ${s} (checkpoint or purge record) is not by the node's key` }),
  'purge-too-early': (s) => ({
    'zh-CN': `序号 ${s} 处的清理删除了仍在保存期内的记录（审计日志保存期见政策，如济源第二十八条不少于 6 个月）`,
    en: `the purge at seq ${s} removed records still inside the retention period (audit retention per policy, e.g. Jiyuan §28: at least 6 months)`,
  }),
  'key-missing': (s) => ({
    'zh-CN': `序号 ${s} 处有签名需校验，但未提供本节点公钥（在数据目录中运行，或用 --public-key 指定）`,
    en: `there is a signature to check at seq ${s} but no public key of the node (run on the data directory, or pass --public-key)`,
  }),
  truncated: (s) => ({ 'zh-CN': `序号 ${s} 起的记录缺失：链短于已签名的检查点`, en: `records from seq ${s} on are missing: the chain is shorter than a signed checkpoint` }),
  'checkpoint-mismatch': (s) => ({ 'zh-CN': `序号 ${s} 的哈希与已签名的检查点不符（历史被改写）`, en: `record ${s}'s hash differs from a signed checkpoint (history rewritten)` }),
};

export function brokenAt(seq: number, reason: BreakReason, guardsIntact: boolean): VerifyResult {
  return { ok: false, firstBrokenSeq: seq, reason, message: REASON_MESSAGES[reason](seq), guardsIntact };
}

type Point = Pick<AuditCheckpoint, 'seq' | 'hash'>;

/**
 * Walk `rows` (ascending seq) from `anchor` (first expected seq and the hash it chains from). With
 * `checkpoint` (one or several signed heads), also require the chain to reach each one's seq with its
 * hash. `inspect` sees each row once its hash checked out and may name a reason to stop there.
 */
export function verifyRows(
  rows: Iterable<AuditRow>,
  anchor: { seq: number; prevHash: Uint8Array },
  guardsIntact: boolean,
  checkpoint?: Point | readonly Point[],
  inspect?: (row: AuditRow) => BreakReason | undefined,
): VerifyResult {
  let expected = anchor.seq;
  let prev = anchor.prevHash;
  let count = 0;
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const points = checkpoint === undefined ? [] : Array.isArray(checkpoint) ? (checkpoint as readonly Point[]) : [checkpoint as Point];
  const at = new Map<number, string[]>();
  for (const p of points) at.set(p.seq, [...(at.get(p.seq) ?? []), p.hash]);
  const highest = points.reduce((m, p) => Math.max(m, p.seq), -1);
  for (const h of at.get(anchor.seq - 1) ?? []) if (h !== hex(anchor.prevHash)) return brokenAt(anchor.seq - 1, 'checkpoint-mismatch', guardsIntact);
  for (const row of rows) {
    if (row.seq < expected) return brokenAt(row.seq, 'anchor-mismatch', guardsIntact);
    if (row.seq > expected) return brokenAt(expected, 'record-missing', guardsIntact);
    if (!sameBytes(blob(row.prev_hash), prev)) return brokenAt(row.seq, 'prev-hash-mismatch', guardsIntact);
    let computed: Uint8Array;
    try {
      computed = hashRecord(prev, rowFields(row));
    } catch {
      return brokenAt(row.seq, 'hash-mismatch', guardsIntact);
    }
    const stored = blob(row.hash);
    if (!sameBytes(computed, stored)) return brokenAt(row.seq, 'hash-mismatch', guardsIntact);
    const signed = at.get(row.seq);
    if (signed?.some((h) => h !== hex(stored))) return brokenAt(row.seq, 'checkpoint-mismatch', guardsIntact);
    const found = inspect?.(row);
    if (found) return brokenAt(row.seq, found, guardsIntact);
    prev = stored;
    expected++;
    count++;
  }
  const headSeq = expected - 1;
  if (highest > headSeq) return brokenAt(headSeq + 1, 'truncated', guardsIntact);
  return { ok: true, count, head: { seq: headSeq, hash: hex(prev) }, guardsIntact };
}
