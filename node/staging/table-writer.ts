/** @module The prepared statements that write one front-end table: insert, conditional update, tombstone, lookup. */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../../engine/storage/db.ts';
import { q, type FrontendTable } from './table-schema.ts';

/** The statements of one table, prepared once per run. */
export class TableWriter {
  readonly insert: Statement;
  readonly update: Statement;
  readonly remove: Statement;
  readonly exists: Statement;
  readonly n: number;
  readonly keys: number[];
  readonly others: number[];
  readonly codes: string[];

  constructor(db: Db, table: FrontendTable) {
    const cols = table.items.map((i) => q(i.code));
    this.n = cols.length;
    this.codes = table.items.map((i) => i.code);
    this.keys = table.items.flatMap((it, i) => (it.primaryKey ? [i] : []));
    this.others = table.items.flatMap((it, i) => (it.primaryKey ? [] : [i]));
    const t = q(table.tableName);
    const whereKey = this.keys.map((i) => `${cols[i]} = ?`).join(' AND ');
    const differs = ['"_deleted" = 1', ...this.others.map((i) => `${cols[i]} IS NOT ?`)].join(' OR ');
    this.insert = db.prepare(`INSERT INTO ${t} (${cols.join(', ')}, "_version", "_deleted", "_updated_at") VALUES (${cols.map(() => '?').join(', ')}, ?, 0, ?) ON CONFLICT DO NOTHING`);
    this.update = db.prepare(`UPDATE ${t} SET ${cols.map((c) => `${c} = ?`).join(', ')}, "_version" = ?, "_deleted" = 0, "_updated_at" = ? WHERE ${whereKey} AND (${differs})`);
    const clear = this.others.map((i) => `${cols[i]} = NULL`);
    // A tombstone keeps only its key: deleted personal data should not linger in the staging database.
    this.remove = db.prepare(`UPDATE ${t} SET ${[...clear, '"_deleted" = 1', '"_version" = ?', '"_updated_at" = ?'].join(', ')} WHERE ${whereKey} AND "_deleted" = 0`);
    this.exists = db.prepare(`SELECT 1 FROM ${t} WHERE ${whereKey}`).pluck();
  }
}
