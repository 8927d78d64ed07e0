/** @module Durable file sink for `AuditLog.purge`: records reach the disk (fsync) before the purge deletes them. */
import { closeSync, fstatSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { AuditRecord } from './chain.ts';
import { exportLine, exportPreamble, type ExportFormat } from './format.ts';

/**
 * An `exportTo` for `purge` that appends to `file` (created 0600; the CSV BOM and header only when the file
 * is new) and fsyncs each batch, so a crash after the purge commits never loses a record.
 */
export function fileArchiver(file: string, format: ExportFormat): (records: AuditRecord[]) => void {
  return (records) => {
    const fd = openSync(file, 'a', 0o600);
    try {
      const head = fstatSync(fd).size === 0 ? exportPreamble(format) : '';
      writeSync(fd, head + records.map((r) => exportLine(format, r)).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  };
}
