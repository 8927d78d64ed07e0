/**
 * @module Chain verification over rows in seq order (pure apart from hashing). The first failure wins;
 * the reason says what kind of tampering explains it. Limits: deleting or rewriting the newest records
 * is only visible against a checkpoint the node signed earlier (the hub keeps them).
 */
import { hashRecord, sameBytes } from './chain.ts';
import type { AuditCheckpoint } from './checkpoint.ts';
import { blob, rowFields, type AuditRow } from './row.ts';

export type BreakReason = 'record-missing' | 'prev-hash-mismatch' | 'hash-mismatch' | 'anchor-mismatch' | 'truncated' | 'checkpoint-mismatch';

export type VerifyResult =
  | { ok: true; count: number; head: { seq: number; hash: string }; guardsIntact: boolean }
  | { ok: false; firstBrokenSeq: number; reason: BreakReason; message: { 'zh-CN': string; en: string }; guardsIntact: boolean };

/** Bilingual explanation per reason, for CLI output and API bodies. */
export const REASON_MESSAGES: Record<BreakReason, (seq: number) => { 'zh-CN': string; en: string }> = {
  'record-missing': (s) => ({ 'zh-CN': `序号 ${s} 的记录缺失（被删除）`, en: `record ${s} is missing (deleted)` }),
  'prev-hash-mismatch': (s) => ({ 'zh-CN': `序号 ${s} 的记录未链接到前一条（被移动、替换或重排）`, en: `record ${s} does not chain from its predecessor (moved, replaced or reordered)` }),
  'hash-mismatch': (s) => ({ 'zh-CN': `序号 ${s} 的记录内容与其哈希不符（被修改）`, en: `record ${s} does not match its hash (edited)` }),
  'anchor-mismatch': (s) => ({ 'zh-CN': `清理锚点（序号 ${s}）与保留的第一条记录或其签名检查点不符`, en: `purge anchor (seq ${s}) does not match the first retained record or its signed checkpoint` }),
  truncated: (s) => ({ 'zh-CN': `序号 ${s} 起的记录缺失：链短于已签名的检查点`, en: `records from seq ${s} on are missing: the chain is shorter than a signed checkpoint` }),
  'checkpoint-mismatch': (s) => ({ 'zh-CN': `序号 ${s} 的哈希与已签名的检查点不符（历史被改写）`, en: `record ${s}'s hash differs from a signed checkpoint (history rewritten)` }),
};

export function brokenAt(seq: number, reason: BreakReason, guardsIntact: boolean): VerifyResult {
  return { ok: false, firstBrokenSeq: seq, reason, message: REASON_MESSAGES[reason](seq), guardsIntact };
}

/**
 * Walk `rows` (ascending seq) from `anchor` (first expected seq and the hash it chains from). With
 * `checkpoint`, also require the chain to reach its seq with its hash.
 */
export function verifyRows(
  rows: Iterable<AuditRow>,
  anchor: { seq: number; prevHash: Uint8Array },
  guardsIntact: boolean,
  checkpoint?: Pick<AuditCheckpoint, 'seq' | 'hash'>,
): VerifyResult {
  let expected = anchor.seq;
  let prev = anchor.prevHash;
  let count = 0;
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  if (checkpoint && checkpoint.seq === anchor.seq - 1 && checkpoint.hash !== hex(anchor.prevHash)) {
    return brokenAt(checkpoint.seq, 'checkpoint-mismatch', guardsIntact);
  }
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
    if (checkpoint && checkpoint.seq === row.seq && checkpoint.hash !== hex(stored)) return brokenAt(row.seq, 'checkpoint-mismatch', guardsIntact);
    prev = stored;
    expected++;
    count++;
  }
  const headSeq = expected - 1;
  if (checkpoint && checkpoint.seq > headSeq) return brokenAt(headSeq + 1, 'truncated', guardsIntact);
  return { ok: true, count, head: { seq: headSeq, hash: hex(prev) }, guardsIntact };
}
