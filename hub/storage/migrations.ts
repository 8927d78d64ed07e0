/** @module The municipal hub's schema, as versioned migrations. */
import { CATALOG_SCHEMA_SQL } from '../../engine/catalog-store.ts';
import type { Migration } from '../../engine/db.ts';
import { INBOX_SCHEMA_SQL } from '../../engine/inbox.ts';
import { OUTBOX_SCHEMA_SQL } from '../../engine/outbox.ts';
import { ACCOUNTS_SCHEMA_SQL } from '../../engine/accounts/store.ts';
import { AUDIT_SCHEMA_SQL } from '../../engine/audit/log.ts';
import { CHECKPOINT_SCHEMA_SQL } from '../../engine/audit/checkpoint.ts';
import { SHARING_SCHEMA_SQL } from '../sharing/service.ts';
import { BATCH_SCHEMA_SQL } from '../sharing/batch.ts';
import { GRANT_PACKAGES_HUB_SQL, PACKAGE_RECIPIENTS_SQL, PACKAGES_SCHEMA_SQL } from '../packages/receiver.ts';

export const HUB_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'total catalog, outbox, inbox, node registry, operators, rejections, code counters',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      ${CATALOG_SCHEMA_SQL}
      ${OUTBOX_SCHEMA_SQL}
      ${INBOX_SCHEMA_SQL}
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
      ${ACCOUNTS_SCHEMA_SQL}
      INSERT INTO accounts (name, role, created_at) SELECT name, 'reviewer', created_at FROM operators;
      INSERT INTO api_tokens (token_hash, account_id, created_at) SELECT o.token_hash, a.id, o.created_at FROM operators o JOIN accounts a ON a.name = o.name;
      DROP TABLE operators;
    `,
  },
  {
    version: 4,
    name: 'tamper-evident audit log and the audit checkpoints nodes send',
    sql: `${AUDIT_SCHEMA_SQL}\n${CHECKPOINT_SCHEMA_SQL}`,
  },
  {
    version: 5,
    name: 'data packages received from county nodes',
    sql: PACKAGES_SCHEMA_SQL,
  },
  {
    version: 6,
    name: 'content keys of stored packages re-sealed for authorized consumers',
    sql: PACKAGE_RECIPIENTS_SQL,
  },
  {
    version: 7,
    name: 'sharing applications, signed grants and revocation lists',
    sql: SHARING_SCHEMA_SQL,
  },
  {
    version: 8,
    name: 'packages re-sealed and sent to batch grantees',
    sql: BATCH_SCHEMA_SQL,
  },
  {
    version: 9,
    name: 'grant packages: snapshots shaped by the provider for one batch grant',
    sql: GRANT_PACKAGES_HUB_SQL,
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
