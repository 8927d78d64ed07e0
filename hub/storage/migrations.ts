/**
 * @module The municipal hub's schema, as versioned migrations. Each one is frozen literal SQL, never a
 * module's live constant: never edit a released migration (migrations.test.ts pins each by its SHA-256);
 * add the next one.
 */
import type { Migration } from '../../engine/storage/db.ts';

export const HUB_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'total catalog, outbox, inbox, node registry, operators, rejections, code counters',
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

      CREATE TABLE nodes (
        node_id TEXT PRIMARY KEY,
        county TEXT NOT NULL,
        name TEXT,
        public_key TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active',
        registered_at TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE operators (
        name TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE rejections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        sender TEXT,
        subject TEXT NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL
      );
      CREATE TABLE code_counters (
        prefix TEXT PRIMARY KEY,
        next INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'enrollment: join tokens, encryption and NATS keys, key rotation and revocation',
    sql: `
      CREATE TABLE join_tokens (
        token_hash TEXT PRIMARY KEY,
        county TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT,
        used_by TEXT
      ) WITHOUT ROWID;
      ALTER TABLE nodes ADD COLUMN encryption_key TEXT;
      ALTER TABLE nodes ADD COLUMN nats_nkey TEXT;
      ALTER TABLE nodes ADD COLUMN previous_public_key TEXT;
      ALTER TABLE nodes ADD COLUMN previous_valid_until TEXT;
      ALTER TABLE nodes ADD COLUMN revoked_at TEXT;
      ALTER TABLE nodes ADD COLUMN revoked_reason TEXT;
    `,
  },
  {
    version: 3,
    name: 'accounts with roles and API tokens; operators become reviewer accounts',
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

      INSERT INTO accounts (name, role, created_at) SELECT name, 'reviewer', created_at FROM operators;
      INSERT INTO api_tokens (token_hash, account_id, created_at) SELECT o.token_hash, a.id, o.created_at FROM operators o JOIN accounts a ON a.name = o.name;
      DROP TABLE operators;
    `,
  },
  {
    version: 4,
    name: 'tamper-evident audit log and the audit checkpoints nodes send',
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


CREATE TABLE audit_checkpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  node_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  at TEXT NOT NULL,
  signature TEXT NOT NULL,
  received_at TEXT NOT NULL,
  accepted INTEGER NOT NULL CHECK (accepted IN (0, 1))
);
CREATE INDEX audit_checkpoints_node ON audit_checkpoints (node_id, accepted, seq);
`,
  },
  {
    version: 5,
    name: 'data packages received from county nodes',
    sql: `
CREATE TABLE packages (
  package_id TEXT PRIMARY KEY,
  resource TEXT NOT NULL,
  sender TEXT NOT NULL,
  county TEXT NOT NULL,
  kind TEXT NOT NULL,
  base_version INTEGER,
  new_version INTEGER NOT NULL,
  signed_header TEXT NOT NULL,
  state TEXT NOT NULL,          -- pending | stored | refused
  code TEXT,
  offered_at TEXT NOT NULL,
  stored_at TEXT
) WITHOUT ROWID;
CREATE INDEX packages_resource ON packages (resource, new_version);
CREATE TABLE package_chunks (
  package_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  PRIMARY KEY (package_id, idx)
) WITHOUT ROWID;
`,
  },
  {
    version: 6,
    name: 'content keys of stored packages re-sealed for authorized consumers',
    sql: `
CREATE TABLE package_recipients (
  package_id TEXT NOT NULL,
  node_id TEXT NOT NULL,
  public_key TEXT NOT NULL,
  sealed_key TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (package_id, public_key)
) WITHOUT ROWID;
`,
  },
  {
    version: 7,
    name: 'sharing applications, signed grants and revocation lists',
    sql: `
CREATE TABLE applications (
  id TEXT PRIMARY KEY,
  consumer_county TEXT NOT NULL,
  consumer_department TEXT NOT NULL,
  provider_county TEXT NOT NULL,
  provider_department TEXT NOT NULL,
  resource TEXT NOT NULL,
  state TEXT NOT NULL,
  view TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX applications_state ON applications (state);
CREATE TABLE grants (
  grant_id TEXT PRIMARY KEY,
  application_id TEXT NOT NULL,
  consumer_node TEXT NOT NULL,
  consumer_county TEXT NOT NULL,
  provider_county TEXT NOT NULL,
  resource TEXT NOT NULL,
  signed TEXT NOT NULL,
  issued_at TEXT NOT NULL,
  valid_until TEXT NOT NULL,
  last_used_at TEXT
) WITHOUT ROWID;
CREATE INDEX grants_consumer ON grants (consumer_node);
CREATE TABLE grant_revocations (
  grant_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('revoked', 'suspended', 'expired_unused')),
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE revocation_lists (
  serial INTEGER PRIMARY KEY,
  signed TEXT NOT NULL,
  issued_at TEXT NOT NULL
);
`,
  },
  {
    version: 8,
    name: 'packages re-sealed and sent to batch grantees',
    sql: `
CREATE TABLE package_grants_sent (
  grant_id TEXT NOT NULL,
  package_id TEXT NOT NULL,
  consumer_node TEXT NOT NULL,
  sent_at TEXT NOT NULL,
  PRIMARY KEY (grant_id, package_id)
) WITHOUT ROWID;
CREATE INDEX package_grants_sent_package ON package_grants_sent (package_id, consumer_node);
`,
  },
  {
    version: 9,
    name: 'grant packages: snapshots shaped by the provider for one batch grant',
    sql: `
ALTER TABLE packages ADD COLUMN grant_id TEXT;
CREATE INDEX packages_grant ON packages (grant_id, new_version);
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
  {
    version: 11,
    name: 'audit checkpoints: the purge anchor and the signed purge record that moved it',
    // Frozen copy of CHECKPOINT_ANCHOR_SQL (engine/audit/checkpoint.ts) as of this version; issue 10.
    sql: `
ALTER TABLE audit_checkpoints ADD COLUMN first_seq INTEGER;
ALTER TABLE audit_checkpoints ADD COLUMN first_prev_hash TEXT;
ALTER TABLE audit_checkpoints ADD COLUMN purge TEXT;
`,
  },
];
