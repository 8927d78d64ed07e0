/** @module SQLite opening and versioned migrations shared by node and hub (one file per process). */
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** One migration: applied once, in order, inside a transaction; `version` never changes meaning. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface OpenOptions {
  /** `full` (default) fsyncs every commit, so an acknowledged write survives power loss, not only kill -9. */
  synchronous?: 'full' | 'normal';
}

/** Open (creating if needed) a database in WAL mode and bring it to the latest schema. */
export function openDatabase(file: string, migrations: readonly Migration[], options: OpenOptions = {}): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'full'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Bulk writes (a 1000-entry batch touches docs, read model and FTS) should not spill the page cache.
  db.pragma('cache_size = -65536');
  migrate(db, migrations);
  return db;
}

/** Apply pending migrations; refuses a database written by a newer version of the software. */
export function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const current = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  const latest = Math.max(0, ...migrations.map((m) => m.version));
  if (current > latest) throw new Error(`database schema version ${current} is newer than this software (${latest}); upgrade Jilian`);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    })();
  }
}

/** Whether a migration of this name was applied here (false where `migrate` never ran). */
export function migrationApplied(db: Db, name: string): boolean {
  const t = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  return t !== undefined && db.prepare('SELECT 1 FROM schema_migrations WHERE name = ?').get(name) !== undefined;
}

/** Small key/value settings table every database has (migration 1 of each side creates it). */
export class MetaStore {
  private readonly getStmt;
  private readonly setStmt;
  constructor(db: Db) {
    this.getStmt = db.prepare('SELECT value FROM meta WHERE key = ?');
    this.setStmt = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  }
  get(key: string): string | undefined {
    return (this.getStmt.get(key) as { value: string } | undefined)?.value;
  }
  set(key: string, value: string): void {
    this.setStmt.run(key, value);
  }
}
