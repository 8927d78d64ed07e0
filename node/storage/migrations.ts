/**
 * @module The county node's schema, as versioned migrations. Each one is frozen literal SQL, never a
 * module's live constant: never edit a released migration (migrations.test.ts pins each by its SHA-256);
 * add the next one.
 */
import type { Migration } from '../../engine/storage/db.ts';

export const NODE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'catalog replica, outbox, inbox, departments',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      
CREATE TABLE entry_docs (
  id TEXT PRIMARY KEY,
  county TEXT NOT NULL,
  state BLOB NOT NULL,
  sv TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE entries (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  county TEXT NOT NULL,
  dept_code TEXT,
  name TEXT,
  status TEXT NOT NULL,
  code TEXT,
  view TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX entries_county ON entries (county, dept_code);
CREATE INDEX entries_status ON entries (status);
CREATE VIRTUAL TABLE entries_fts USING fts5 (bi, uni, tokenize = 'unicode61');

      
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  subject TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL
);

      
CREATE TABLE inbox_seen (
  sender TEXT NOT NULL,
  seq INTEGER NOT NULL,
  seen_at TEXT NOT NULL,
  PRIMARY KEY (sender, seq)
) WITHOUT ROWID;
CREATE TABLE inbox_floor (
  sender TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
) WITHOUT ROWID;

      CREATE TABLE departments (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'accounts with roles and API tokens; department tokens become dept_operator accounts',
    sql: `
      
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  department TEXT,
  password_hash TEXT,
  disabled_at TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE api_tokens (
  token_hash TEXT PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  created_at TEXT NOT NULL,
  revoked_at TEXT
) WITHOUT ROWID;

      INSERT INTO accounts (name, role, department, created_at) SELECT 'dept-' || code, 'dept_operator', code, created_at FROM departments;
      INSERT INTO api_tokens (token_hash, account_id, created_at)
        SELECT d.token_hash, a.id, d.created_at FROM departments d JOIN accounts a ON a.department = d.code AND a.role = 'dept_operator';
      CREATE TABLE departments_v2 (code TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO departments_v2 SELECT code, name, created_at FROM departments;
      DROP TABLE departments;
      ALTER TABLE departments_v2 RENAME TO departments;
    `,
  },
  {
    version: 3,
    name: 'tamper-evident audit log',
    sql: `
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  actor_role TEXT NOT NULL,
  department TEXT,
  action TEXT NOT NULL,
  resource TEXT,
  fields TEXT NOT NULL,
  purpose TEXT,
  result TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);
CREATE INDEX audit_log_department ON audit_log (department, at);
CREATE INDEX audit_log_resource ON audit_log (resource, at);
-- After a purge: the first retained seq, the hash it chains from, and the signed checkpoint of the purged tail.
CREATE TABLE audit_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  first_seq INTEGER NOT NULL,
  first_prev_hash BLOB NOT NULL,
  purged_count INTEGER NOT NULL,
  purged_before TEXT NOT NULL,
  purged_at TEXT NOT NULL,
  checkpoint TEXT
);
-- Holds a row only inside a purge transaction; the triggers below let DELETE through only then.
CREATE TABLE audit_purge_guard (active INTEGER NOT NULL);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, '审计日志只能追加，不可修改 / audit log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log WHEN NOT EXISTS (SELECT 1 FROM audit_purge_guard) BEGIN SELECT RAISE(ABORT, '审计日志只能追加，仅可按保存期清理 / audit log is append-only: DELETE only by retention purge'); END;
-- INSERT OR REPLACE deletes without firing DELETE triggers: refuse any seq that is not past the head.
CREATE TRIGGER audit_log_append_only BEFORE INSERT ON audit_log
  WHEN NEW.seq <= COALESCE((SELECT MAX(seq) FROM audit_log), 0) BEGIN SELECT RAISE(ABORT, '审计日志只能追加，序号须大于现有记录 / audit log is append-only: seq must follow the head'); END;
CREATE TRIGGER audit_meta_no_insert BEFORE INSERT ON audit_meta WHEN NOT EXISTS (SELECT 1 FROM audit_purge_guard) BEGIN SELECT RAISE(ABORT, '清理锚点只能在保存期清理中修改 / audit log is append-only: the purge anchor changes only during a retention purge'); END;
CREATE TRIGGER audit_meta_no_update BEFORE UPDATE ON audit_meta WHEN NOT EXISTS (SELECT 1 FROM audit_purge_guard) BEGIN SELECT RAISE(ABORT, '清理锚点只能在保存期清理中修改 / audit log is append-only: the purge anchor changes only during a retention purge'); END;
CREATE TRIGGER audit_meta_no_delete BEFORE DELETE ON audit_meta WHEN NOT EXISTS (SELECT 1 FROM audit_purge_guard) BEGIN SELECT RAISE(ABORT, '清理锚点只能在保存期清理中修改 / audit log is append-only: the purge anchor changes only during a retention purge'); END;
`,
  },
  {
    version: 4,
    name: 'data package spool',
    sql: `
CREATE TABLE package_spool (
  package_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  PRIMARY KEY (package_id, idx)
) WITHOUT ROWID;
CREATE TABLE packages_sent (
  package_id TEXT PRIMARY KEY,
  resource TEXT NOT NULL,
  new_version INTEGER NOT NULL,
  state TEXT NOT NULL,          -- building | offered | stored | refused
  code TEXT,
  created_at TEXT NOT NULL,
  finished_at TEXT
) WITHOUT ROWID;
`,
  },
  {
    version: 5,
    name: 'front-end repositories (前置库): typed tables, imports, row versions',
    sql: `
CREATE TABLE frontend_tables (
  entry_id TEXT PRIMARY KEY,
  table_name TEXT NOT NULL UNIQUE,
  items_json TEXT NOT NULL,
  -- Bumped by every alteration or rebuild: a packager seeing a new generation sends a snapshot, not a delta.
  generation INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE frontend_versions (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT INTO frontend_versions (id, value) VALUES (1, 0);
CREATE TABLE frontend_migration_rejects (
  id INTEGER PRIMARY KEY,
  entry_id TEXT NOT NULL,
  table_name TEXT NOT NULL,
  at TEXT NOT NULL,
  row_json TEXT NOT NULL,
  columns TEXT NOT NULL,
  reason_zh TEXT NOT NULL,
  reason_en TEXT NOT NULL
);
CREATE INDEX frontend_migration_rejects_entry ON frontend_migration_rejects (entry_id, at);
CREATE TABLE frontend_imports (
  import_id TEXT PRIMARY KEY,
  entry_id TEXT NOT NULL,
  file_sha256 TEXT,
  committed_rows INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK (status IN ('running', 'failed', 'done')),
  started_at TEXT NOT NULL,
  finished_at TEXT,
  counts_json TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX frontend_imports_entry ON frontend_imports (entry_id, started_at);
-- Written in the batch's own transaction, so a resumed import reports each bad row exactly once.
CREATE TABLE frontend_import_rejects (
  id INTEGER PRIMARY KEY,
  import_id TEXT NOT NULL,
  row_number INTEGER NOT NULL,
  column_code TEXT NOT NULL,
  reason_zh TEXT NOT NULL,
  reason_en TEXT NOT NULL
);
CREATE INDEX frontend_import_rejects_import ON frontend_import_rejects (import_id, id);
`,
  },
  {
    version: 6,
    name: 'packages from front-end tables: snapshot/delta bookkeeping and forced-package requests',
    sql: `
ALTER TABLE packages_sent ADD COLUMN kind TEXT;
ALTER TABLE packages_sent ADD COLUMN base_version INTEGER;
ALTER TABLE packages_sent ADD COLUMN generation INTEGER;
ALTER TABLE packages_sent ADD COLUMN schema_hash TEXT;
ALTER TABLE packages_sent ADD COLUMN row_count INTEGER;
CREATE INDEX packages_sent_resource ON packages_sent (resource, created_at);
-- Forced packages ("jilian node package"), written by the CLI or the API and carried out by the running node.
CREATE TABLE package_requests (
  id INTEGER PRIMARY KEY,
  resource TEXT NOT NULL,
  snapshot INTEGER NOT NULL DEFAULT 0 CHECK (snapshot IN (0, 1)),
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'failed')),
  package_id TEXT,
  result_json TEXT,
  finished_at TEXT
);
CREATE INDEX package_requests_state ON package_requests (state, id);
`,
  },
  {
    version: 7,
    name: 'sharing: replicated applications, signed grants, revocation list',
    sql: `
CREATE TABLE sharing_applications (
  id TEXT PRIMARY KEY,
  -- The hub's view (null until the hub has answered), or its refusal of a submission or decision.
  view TEXT,
  refused TEXT,
  consumer_department TEXT,
  provider_department TEXT,
  state TEXT NOT NULL,
  submitted TEXT,
  updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE sharing_grants (
  grant_id TEXT PRIMARY KEY,
  signed TEXT NOT NULL,
  resource TEXT NOT NULL,
  consumer_node TEXT NOT NULL,
  consumer_department TEXT NOT NULL,
  provider_county TEXT NOT NULL,
  provider_department TEXT,
  valid_until TEXT NOT NULL,
  received_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE sharing_revocations (id INTEGER PRIMARY KEY CHECK (id = 1), serial INTEGER NOT NULL, signed TEXT NOT NULL, received_at TEXT NOT NULL);
`,
  },
  {
    version: 8,
    name: 'packages received under batch grants',
    sql: `
-- One row per (grant, package): two grants of this node on one resource each get the package.
CREATE TABLE received_packages (
  package_id TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  resource TEXT NOT NULL,
  kind TEXT NOT NULL,
  base_version INTEGER,
  new_version INTEGER NOT NULL,
  row_count INTEGER NOT NULL,
  signed_header TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('fetching', 'ready', 'failed')),
  code TEXT,
  received_at TEXT NOT NULL,
  PRIMARY KEY (grant_id, package_id)
) WITHOUT ROWID;
CREATE INDEX received_packages_state ON received_packages (state, new_version);
CREATE TABLE received_chunks (
  package_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  PRIMARY KEY (package_id, idx)
) WITHOUT ROWID;
`,
  },
  {
    version: 9,
    name: 'grant packages: snapshots shaped by the provider for one batch grant',
    sql: `
ALTER TABLE packages_sent ADD COLUMN grant_id TEXT;
CREATE INDEX packages_sent_grant ON packages_sent (grant_id, created_at);
`,
  },
  {
    version: 10,
    name: 'audit seal: the last signed head of the audit log',
    // Frozen copy of AUDIT_SEAL_SQL (engine/audit/log.ts) as of this version; issue 10.
    sql: `
CREATE TABLE audit_seal (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  checkpoint TEXT NOT NULL
);
CREATE TRIGGER audit_seal_no_delete BEFORE DELETE ON audit_seal BEGIN SELECT RAISE(ABORT, '审计封记不可删除 / audit seal cannot be deleted'); END;
CREATE TRIGGER audit_seal_no_rewind BEFORE UPDATE ON audit_seal WHEN NEW.seq < OLD.seq BEGIN SELECT RAISE(ABORT, '审计封记不可回退 / audit seal cannot go back'); END;
`,
  },
];
