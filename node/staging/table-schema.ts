/**
 * @module The typed table of a front-end repository (前置库, Jincheng §17 database-table sharing): derived
 * from the entry's data items, created on first use and migrated when the items change, never losing a
 * row — a held row whose value no longer fits the new items is moved to `frontend_migration_rejects`.
 *
 * Every table carries three bookkeeping columns: `_version` (node-wide monotonic, from `frontend_versions`,
 * set only when a row really changes, so incremental packages take `_version > last`), `_deleted`
 * (explicit deletes are tombstones so deltas can carry them) and `_updated_at`.
 *
 * `required` is checked on every import but not declared NOT NULL: making an item required, or adding a
 * required item, must not evict the rows already held; they receive the value with the next import.
 * Key columns are NOT NULL (SQLite would otherwise admit NULL in a non-integer primary key).
 */
import { createHash } from 'node:crypto';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import { compileValidator, type FrontendItem, type SqlValue } from './row-validator.ts';
import { schemaItemsOf } from '../../protocol/data-package.ts';

/** Bookkeeping columns, in table order after the item columns. */
export const BOOKKEEPING_COLUMNS = ['_version', '_deleted', '_updated_at'] as const;

export interface FrontendTable {
  entryId: string;
  tableName: string;
  /** The items as stored in the registry (schema-relevant fields and the Chinese name). */
  items: FrontendItem[];
  /** Codes of the key columns, in item order. */
  keyCodes: string[];
}

export interface EnsureResult {
  table: FrontendTable;
  action: 'created' | 'unchanged' | 'altered' | 'rebuilt';
  generation: number;
  /** Held rows moved to `frontend_migration_rejects` by this call. */
  migrationRejects: number;
}

/** Double-quoted SQL identifier (codes are [a-z0-9_] but may be SQL keywords such as `order`). */
export const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** `fe_` + 16 hex of SHA-256(entry id): stable, short, and free of the characters entry ids may hold. */
export function frontendTableName(entryId: string): string {
  return `fe_${createHash('sha256').update(entryId, 'utf8').digest('hex').slice(0, 16)}`;
}

/** What a held value must satisfy: a change of it means held values are re-validated (table rebuild). */
function signature(item: FrontendItem): string {
  return JSON.stringify([item.type, item.length ?? null, item.identifier ?? null, item.primaryKey === true]);
}

function sqlType(item: FrontendItem): string {
  switch (item.type) {
    case 'integer':
    case 'boolean':
      return 'INTEGER';
    case 'binary':
      return 'BLOB';
    default:
      return 'TEXT';
  }
}

/**
 * CHECK constraint of a column, where one is needed beyond the STRICT storage class: booleans are 0/1,
 * identifiers 18 characters. Shapes, lengths and check characters are the validator's job; repeating them
 * in SQL (GLOB patterns, length()) cost ~10% of a 1M-row import for nothing.
 */
function check(item: FrontendItem): string {
  const c = q(item.code);
  if (item.type === 'boolean') return ` CHECK (${c} IN (0, 1))`;
  if (item.identifier) return ` CHECK (length(${c}) = 18)`;
  return '';
}

/** One column definition (without PRIMARY KEY, which is a table constraint). */
export function columnSql(item: FrontendItem): string {
  return `${q(item.code)} ${sqlType(item)}${item.primaryKey ? ' NOT NULL' : ''}${check(item)}`;
}

/**
 * CREATE TABLE (and the `_version` index) for `items` under `tableName`. STRICT: every column holds only its
 * declared storage class (or NULL), which a writer bypassing the importer cannot get round by affinity.
 */
export function createTableSql(tableName: string, items: readonly FrontendItem[]): string {
  const keys = items.filter((i) => i.primaryKey).map((i) => q(i.code));
  return `CREATE TABLE ${q(tableName)} (
  ${items.map(columnSql).join(',\n  ')},
  "_version" INTEGER NOT NULL,
  "_deleted" INTEGER NOT NULL DEFAULT 0 CHECK ("_deleted" IN (0, 1)),
  "_updated_at" TEXT NOT NULL,
  PRIMARY KEY (${keys.join(', ')})
) STRICT;
${versionIndexSql(tableName)}`;
}

function versionIndexSql(tableName: string): string {
  return `CREATE INDEX ${q(`${tableName}_version`)} ON ${q(tableName)} ("_version");`;
}

/**
 * The table definition for an entry's items. Refuses items without a primary key (an upsert needs one),
 * and duplicate codes.
 */
export function deriveTable(entryId: string, items: readonly FrontendItem[]): FrontendTable {
  // The fields that shape storage and validation (the hub computes the same for schemaHash).
  const norm = schemaItemsOf(items);
  const keyCodes = norm.filter((i) => i.primaryKey).map((i) => i.code);
  if (norm.length === 0) throw new AppError('INVALID_ENTRY', `目录条目 ${entryId} 没有信息项`, `entry ${entryId} has no data items`);
  if (keyCodes.length === 0) {
    throw new AppError(
      'INVALID_ENTRY',
      `目录条目 ${entryId} 未指定主键信息项：前置库表须有主键才能按主键更新导入的数据`,
      `entry ${entryId} marks no data item as primary key: a front-end table needs a key to upsert imported rows`,
      [{ path: 'dataItems', code: 'no_primary_key', message: 'mark the key item(s) with primaryKey: true' }],
    );
  }
  const seen = new Set<string>();
  for (const i of norm) {
    if (seen.has(i.code)) throw new AppError('INVALID_ENTRY', `信息项代码重复：${i.code}`, `duplicate data item code ${i.code}`);
    seen.add(i.code);
    if (i.primaryKey && i.type === 'binary') throw new AppError('INVALID_ENTRY', `二进制信息项 ${i.code} 不能作主键`, `binary item ${i.code} cannot be part of the key`);
  }
  return { entryId, tableName: frontendTableName(entryId), items: norm, keyCodes };
}

interface RegistryRow {
  table_name: string;
  items_json: string;
  generation: number;
}

const registryLookups = new WeakMap<Db, ReturnType<Db['prepare']>>();

/** The registered table of an entry, if any. (Called per cascaded query, so the statement is kept per connection.) */
export function getTable(db: Db, entryId: string): (FrontendTable & { generation: number }) | undefined {
  let stmt = registryLookups.get(db);
  if (!stmt) registryLookups.set(db, (stmt = db.prepare('SELECT table_name, items_json, generation FROM frontend_tables WHERE entry_id = ?')));
  const row = stmt.get(entryId) as RegistryRow | undefined;
  if (!row) return undefined;
  // The parsed registry entry is reused while its row is unchanged (frozen: callers share it).
  let cache = parsedTables.get(db);
  if (!cache) parsedTables.set(db, (cache = new Map()));
  const hit = cache.get(entryId);
  if (hit && hit.itemsJson === row.items_json && hit.table.generation === row.generation && hit.table.tableName === row.table_name) return hit.table;
  const items = (JSON.parse(row.items_json) as FrontendItem[]).map((i) => Object.freeze(i));
  const table = Object.freeze({
    entryId,
    tableName: row.table_name,
    items: Object.freeze(items) as FrontendItem[],
    keyCodes: Object.freeze(items.filter((i) => i.primaryKey).map((i) => i.code)) as string[],
    generation: row.generation,
  });
  if (cache.size >= 1024) cache.clear();
  cache.set(entryId, { itemsJson: row.items_json, table });
  return table;
}

const parsedTables = new WeakMap<Db, Map<string, { itemsJson: string; table: FrontendTable & { generation: number } }>>();

/**
 * Create the entry's table, or migrate it to `items` in one transaction: added non-key items are added
 * with ALTER TABLE; any other change (removed, retyped, resized, re-keyed, identifier) rebuilds the table,
 * re-validating the changed columns of every held row.
 */
export function ensureTable(db: Db, entryId: string, items: readonly FrontendItem[], now: Date = new Date()): EnsureResult {
  const table = deriveTable(entryId, items);
  const at = now.toISOString();
  const itemsJson = JSON.stringify(table.items);
  return db
    .transaction((): EnsureResult => {
      const old = getTable(db, entryId);
      if (!old) {
        db.exec(createTableSql(table.tableName, table.items));
        db.prepare('INSERT INTO frontend_tables (entry_id, table_name, items_json, generation, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)').run(entryId, table.tableName, itemsJson, at, at);
        return { table, action: 'created', generation: 1, migrationRejects: 0 };
      }
      if (old.items.length === table.items.length && old.items.every((o, i) => JSON.stringify(o) === JSON.stringify(table.items[i]))) {
        return { table, action: 'unchanged', generation: old.generation, migrationRejects: 0 };
      }
      const before = new Map(old.items.map((i) => [i.code, signature(i)]));
      const sameKey = old.keyCodes.join(',') === table.keyCodes.join(',');
      const kept = table.items.filter((i) => before.has(i.code));
      const onlyAdditions = sameKey && old.items.every((o) => table.items.some((i) => i.code === o.code)) && kept.every((i) => before.get(i.code) === signature(i));
      let action: EnsureResult['action'] = 'unchanged';
      let migrationRejects = 0;
      if (onlyAdditions) {
        for (const i of table.items.filter((i) => !before.has(i.code))) {
          db.exec(`ALTER TABLE ${q(table.tableName)} ADD COLUMN ${columnSql(i)}`);
          action = 'altered';
        }
      } else {
        migrationRejects = rebuild(db, old, table, at);
        action = 'rebuilt';
      }
      // Only names or `required` changed: nothing to do to the table, but the registry follows the items.
      const generation = action === 'unchanged' ? old.generation : old.generation + 1;
      db.prepare('UPDATE frontend_tables SET items_json = ?, generation = ?, updated_at = ? WHERE entry_id = ?').run(itemsJson, generation, at, entryId);
      return { table, action, generation, migrationRejects };
    })
    .immediate();
}

const PAGE = 2000;

/** JSON-safe copy of a held row for the rejects table (BLOBs as base64). */
function rowJson(row: Record<string, unknown>): string {
  return JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : typeof v === 'bigint' ? v.toString() : v));
}

/** A held value as text the validator accepts (booleans are 1/0, BLOBs base64). */
function asInput(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return v;
}

/**
 * Copy every held row into a table of the new shape, newest change first so that when a new key makes two
 * rows collide the most recently changed one stays. Changed columns are re-validated; failures and
 * collisions go to `frontend_migration_rejects`. Versions are kept: the generation bump tells packagers.
 */
function rebuild(db: Db, old: FrontendTable, next: FrontendTable, at: string): number {
  const tmp = `${next.tableName}_rebuild`;
  db.exec(`DROP TABLE IF EXISTS ${q(tmp)}`);
  db.exec(createTableSql(tmp, next.items).replace(versionIndexSql(tmp), ''));
  const oldSig = new Map(old.items.map((i) => [i.code, signature(i)]));
  const validator = compileValidator(next.items);
  const cols = next.items.map((i) => i.code);
  // Per new column: copy as held, re-validate, or fill with NULL (new column).
  const plan = next.items.map((i) => (!oldSig.has(i.code) ? 'new' : oldSig.get(i.code) === signature(i) ? 'copy' : 'check'));
  const insert = db.prepare(
    `INSERT INTO ${q(tmp)} (${[...cols, ...BOOKKEEPING_COLUMNS].map(q).join(', ')}) VALUES (${[...cols, ...BOOKKEEPING_COLUMNS].map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`,
  );
  // _rowid_, not rowid: an item may be coded `rowid`, never `_rowid_` (codes start with a letter).
  const page = db.prepare(`SELECT _rowid_ AS "__rowid", * FROM ${q(old.tableName)} WHERE ("_version", _rowid_) < (?, ?) ORDER BY "_version" DESC, _rowid_ DESC LIMIT ${PAGE}`);
  const reject = db.prepare('INSERT INTO frontend_migration_rejects (entry_id, table_name, at, row_json, columns, reason_zh, reason_en) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const keyIdx = new Set(validator.keyIndexes);
  const values: SqlValue[] = new Array(cols.length + BOOKKEEPING_COLUMNS.length);
  let afterVersion = Number.MAX_SAFE_INTEGER;
  let afterRowid = Number.MAX_SAFE_INTEGER;
  let rejected = 0;
  for (;;) {
    const rows = page.all(afterVersion, afterRowid) as Record<string, unknown>[];
    if (rows.length === 0) break;
    for (const row of rows) {
      afterVersion = row._version as number;
      afterRowid = row.__rowid as number;
      const deleted = row._deleted === 1;
      const problems: { column: string; zh: string; en: string }[] = [];
      for (let i = 0; i < cols.length; i++) {
        // A tombstone keeps only its key.
        if ((deleted && !keyIdx.has(i)) || plan[i] === 'new') {
          values[i] = null;
        } else if (plan[i] === 'copy') {
          values[i] = row[cols[i]!] as SqlValue;
        } else {
          const c = validator.convertCell(i, asInput(row[cols[i]!]));
          if ('reasonZh' in c) problems.push({ column: c.column, zh: c.reasonZh, en: c.reasonEn });
          else values[i] = c.value;
        }
        if (keyIdx.has(i) && values[i] === null && problems.every((p) => p.column !== cols[i])) {
          problems.push({ column: cols[i]!, zh: '新主键信息项为空', en: 'value of the new key is missing' });
        }
      }
      if (problems.length === 0) {
        values[cols.length] = row._version as number;
        values[cols.length + 1] = row._deleted as number;
        values[cols.length + 2] = row._updated_at as string;
        if (insert.run(values).changes === 1) continue;
        problems.push({ column: next.keyCodes.join(','), zh: '新主键重复，保留了最近变更的记录', en: 'duplicate value of the new key; the most recently changed row was kept' });
      }
      delete row.__rowid;
      reject.run(
        old.entryId,
        old.tableName,
        at,
        rowJson(row),
        problems.map((p) => p.column).join(','),
        problems.map((p) => `${p.column}: ${p.zh}`).join('；'),
        problems.map((p) => `${p.column}: ${p.en}`).join('; '),
      );
      rejected++;
    }
  }
  db.exec(`DROP TABLE ${q(old.tableName)}`);
  db.exec(`ALTER TABLE ${q(tmp)} RENAME TO ${q(next.tableName)}`);
  db.exec(versionIndexSql(next.tableName));
  return rejected;
}

/** Delete migration rejects recorded before `cutoff` (ISO time). Returns rows deleted. */
export function purgeMigrationRejects(db: Db, cutoff: string): number {
  return db.prepare('DELETE FROM frontend_migration_rejects WHERE at < ?').run(cutoff).changes;
}

/** Every registered front-end table, by entry id. */
export function listTables(db: Db): { entryId: string; tableName: string }[] {
  return db.prepare('SELECT entry_id AS entryId, table_name AS tableName FROM frontend_tables ORDER BY entry_id').all() as { entryId: string; tableName: string }[];
}

/** Reads the node-wide row-version counter (`frontend_versions`); prepare on the connection that reads. */
export const READ_VERSION_SQL = 'SELECT value FROM frontend_versions WHERE id = 1';
/** Sets the counter to ?. */
export const SET_VERSION_SQL = 'UPDATE frontend_versions SET value = ? WHERE id = 1';
/** Raises the counter past a floor: MAX(value, floor) + 1 when value <= floor (params: floor, floor). */
export const RAISE_VERSION_SQL = 'UPDATE frontend_versions SET value = MAX(value, ?) + 1 WHERE id = 1 AND value <= ?';

/** The row-version counter as `db` sees it (in its current read transaction, if any). */
export function readVersion(db: Db): number {
  return (db.prepare(READ_VERSION_SQL).get() as { value: number }).value;
}

/** Raise the row-version counter above `floor` if it is not already, so later writes get versions past it. */
export function raiseVersionAbove(db: Db, floor: number): void {
  db.prepare(RAISE_VERSION_SQL).run(floor, floor);
}
