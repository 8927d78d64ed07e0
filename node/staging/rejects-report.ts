/** @module The rejects report of an import: CSV lines from its stored rejects (read through importer.ts), in file order. */
import { createWriteStream } from 'node:fs';

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
 * reason_zh, reason_en — one line per refused cell, in file order. Pages through the rejects with `page`
 * (the next rows with an id above `after`, empty at the end), never loading them whole.
 */
export async function writeRejectsReport(page: (after: number) => RejectRow[], path: string): Promise<number> {
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
      const rows = page(after);
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
