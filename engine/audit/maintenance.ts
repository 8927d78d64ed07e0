/**
 * @module Periodic audit duties: purge records past the policy's retention (exported to an archive
 * file first; the purge is signed) and seal the chain head: a signed checkpoint kept locally (so an
 * emptied or shortened log fails `audit verify`) and handed to whoever sends it to the hub.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { fileArchiver } from './archive.ts';
import type { AuditCheckpoint, CheckpointSigner } from './checkpoint.ts';
import type { AuditLog } from './log.ts';

export interface AuditMaintenanceDeps {
  audit: AuditLog;
  retentionDays: number;
  archiveDir: string;
  clock: Clock;
  log: Logger;
  signer: CheckpointSigner;
  /** Called with a new checkpoint whenever the head moved since the last one, in the transaction that seals it. */
  onCheckpoint?: (cp: AuditCheckpoint) => void;
  checkpointMs: number;
}

export function startAuditMaintenance(d: AuditMaintenanceDeps): { checkpointNow: () => void; stop: () => void } {
  let lastSeq = -1;
  const checkpointNow = () => {
    const head = d.audit.head();
    if (head.seq === lastSeq) return;
    try {
      d.audit.seal(d.onCheckpoint, d.signer);
      lastSeq = head.seq;
    } catch (err) {
      d.log.error({ event: 'audit.seal_failed', err: String(err) }, 'audit checkpoint failed');
    }
  };
  const purge = () => {
    try {
      mkdirSync(d.archiveDir, { recursive: true, mode: 0o700 });
      const day = d.clock.now().toISOString().slice(0, 10);
      const result = d.audit.purgeExpired({ auditRetentionDays: d.retentionDays }, fileArchiver(join(d.archiveDir, `audit-${day}.ndjson`), 'ndjson'));
      if (result.purged) d.log.info({ event: 'audit.purged', purged: result.purged, firstRetainedSeq: result.firstRetainedSeq }, 'audit records past retention archived and purged');
    } catch (err) {
      d.log.error({ event: 'audit.purge_failed', err: String(err) }, 'audit purge failed');
    }
  };
  purge();
  // Without a recipient (the hub's own log) nothing else seals at start-up.
  if (!d.onCheckpoint) checkpointNow();
  const purgeTimer = setInterval(purge, 24 * 3_600_000);
  const cpTimer = setInterval(checkpointNow, d.checkpointMs);
  purgeTimer.unref();
  cpTimer.unref();
  return {
    checkpointNow,
    stop: () => {
      clearInterval(purgeTimer);
      clearInterval(cpTimer);
    },
  };
}
