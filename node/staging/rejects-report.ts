/** @module The rejects report of an import: CSV lines from `frontend_import_rejects`, in file order. */
import { createWriteStream } from 'node:fs';
import type { Db } from '../../engine/storage/db.ts';

const csvCell = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** First line of a rejects report, with the BOM that makes Excel read it as UTF-8. */
export const REJECTS_HEADER = '\uFEFFrow,column,reason_zh,reason_en\n';

export interface RejectRow {
  id: number;
  row_number: number;
  column_code: string;
  reason_zh: string;
  reason_en: string;
}

/** One stored reject as a report line. */
export function rejectLine(r: RejectRow): string {
  return `${r.row_number},${csvCell(r.column_code)},${csvCell(r.reason_zh)},${csvCell(r.reason_en)}\n`;
}

/**
 * Write an import's rejects as CSV (UTF-8 with BOM so that Excel shows the Chinese reasons): row, column,
 * reason_zh, reason_en — one line per refused cell, in file order. Pages through the table, never loading it.
 */
export async function writeRejectsReport(db: Db, importId: string, path: string): Promise<number> {
  const page = db.prepare('SELECT id, row_number, column_code, reason_zh, reason_en FROM frontend_import_rejects WHERE import_id = ? AND id > ? ORDER BY id LIMIT 5000');
  const out = createWriteStream(path);
  const write = (s: string): Promise<void> => (out.write(s) ? Promise.resolve() : new Promise((resolve) => out.once('drain', resolve)));
  const closed = new Promise<void>((resolve, reject) => {
    out.once('finish', resolve);
    out.once('error', reject);
  });
  let lines = 0;
  try {
    await write(REJECTS_HEADER);
    let after = 0;
    for (;;) {
      const rows = page.all(importId, after) as RejectRow[];
      if (rows.length === 0) break;
      await write(rows.map(rejectLine).join(''));
      lines += rows.length;
      after = rows[rows.length - 1]!.id;
    }
  } finally {
    out.end();
  }
  await closed;
  return lines;
}
