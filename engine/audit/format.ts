/**
 * @module Export formats of the audit log (pure).
 *
 * CSV: RFC 4180 — CRLF line ends, a header row, a field quoted when it holds a comma, a double quote, CR
 * or LF, inner quotes doubled. The file starts with a UTF-8 byte-order mark because Excel on Chinese
 * Windows otherwise reads UTF-8 as GBK and garbles every Chinese character; other tools skip the BOM.
 * Cells are written verbatim (no "'" prefix against formula injection) so the export stays faithful to
 * the hashed record; open untrusted exports with "text" columns.
 * NDJSON: one JSON object per line, LF, no BOM (RFC 8259 forbids one), the same members as `AuditRecord`.
 * Both carry `prev_hash`/`hash`, so an exported segment can be re-verified offline.
 */
import type { AuditRecord } from './chain.ts';

export type ExportFormat = 'csv' | 'ndjson';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'ndjson'];

/** UTF-8 byte-order mark written before the CSV header. */
export const CSV_BOM = '\uFEFF';

export const CSV_COLUMNS = ['seq', 'at', 'actor', 'actor_role', 'department', 'action', 'resource', 'fields', 'purpose', 'result', 'detail', 'prev_hash', 'hash'] as const;

/** Quote one CSV cell when RFC 4180 requires it. */
export function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The BOM and header line. */
export function csvHeader(): string {
  return `${CSV_BOM}${CSV_COLUMNS.join(',')}\r\n`;
}

/** One CSV line (with CRLF); `fields` and `detail` as JSON text, absent values as empty cells. */
export function csvRow(r: AuditRecord): string {
  const cells = [
    String(r.seq),
    r.at,
    r.actor,
    r.actorRole,
    r.department ?? '',
    r.action,
    r.resource ?? '',
    JSON.stringify(r.fields),
    r.purpose ?? '',
    r.result,
    JSON.stringify(r.detail),
    r.prevHash,
    r.hash,
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** One NDJSON line (with LF). */
export function ndjsonLine(r: AuditRecord): string {
  return `${JSON.stringify(r)}\n`;
}

/** Text that starts a file of the format (CSV: BOM + header; NDJSON: nothing). */
export function exportPreamble(format: ExportFormat): string {
  return format === 'csv' ? csvHeader() : '';
}

/** One record in the format. */
export function exportLine(format: ExportFormat, r: AuditRecord): string {
  return format === 'csv' ? csvRow(r) : ndjsonLine(r);
}
