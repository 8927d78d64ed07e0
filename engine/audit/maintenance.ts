/**
 * @module Periodic audit duties: purge records past the policy's retention (exported to an archive
 * file first) and hand a signed checkpoint of the chain head to whoever sends it to the hub.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { fileArchiver } from './archive.ts';
import { signCheckpoint, type AuditCheckpoint, type CheckpointSigner } from './checkpoint.ts';
import type { AuditLog } from './log.ts';

export interface AuditMaintenanceDeps {
  audit: AuditLog;
  retentionDays: number;
  archiveDir: string;
  clock: Clock;
  log: Logger;
  signer: CheckpointSigner;
  /** Called with a new checkpoint whenever the head moved since the last one. */
  onCheckpoint?: (cp: AuditCheckpoint) => void;
  checkpointMs: number;
}

export function startAuditMaintenance(d: AuditMaintenanceDeps): { checkpointNow: () => void; stop: () => void } {
  let lastSeq = -1;
  const checkpointNow = () => {
    if (!d.onCheckpoint) return;
    const head = d.audit.head();
    if (head.seq === lastSeq) return;
    d.onCheckpoint(signCheckpoint(head, d.signer, d.clock.now()));
    lastSeq = head.seq;
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
