/** @module The county node's schema, as versioned migrations (never edit a released one; add the next). */
import { CATALOG_SCHEMA_SQL } from '../../engine/catalog-store.ts';
import type { Migration } from '../../engine/db.ts';
import { INBOX_SCHEMA_SQL } from '../../engine/inbox.ts';
import { OUTBOX_SCHEMA_SQL } from '../../engine/outbox.ts';
import { ACCOUNTS_SCHEMA_SQL } from '../../engine/accounts/store.ts';
import { AUDIT_SCHEMA_SQL } from '../../engine/audit/log.ts';
import { PACKAGER_SQL } from '../packages/packager.ts';
import { NODE_SHARING_SQL } from '../sharing/service.ts';
import { GRANT_PACKAGES_SQL } from '../sharing/grant-packages.ts';
import { RECEIVED_PACKAGES_SQL } from '../sharing/batch.ts';
import { PACKAGE_SPOOL_SQL } from '../packages/sender.ts';
import { FRONTEND_SCHEMA_SQL } from '../frontend/table-schema.ts';

export const NODE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'catalog replica, outbox, inbox, departments',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      ${CATALOG_SCHEMA_SQL}
      ${OUTBOX_SCHEMA_SQL}
      ${INBOX_SCHEMA_SQL}
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
      ${ACCOUNTS_SCHEMA_SQL}
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
    sql: AUDIT_SCHEMA_SQL,
  },
  {
    version: 4,
    name: 'data package spool',
    sql: PACKAGE_SPOOL_SQL,
  },
  {
    version: 5,
    name: 'front-end repositories (前置库): typed tables, imports, row versions',
    sql: FRONTEND_SCHEMA_SQL,
  },
  {
    version: 6,
    name: 'packages from front-end tables: snapshot/delta bookkeeping and forced-package requests',
    sql: PACKAGER_SQL,
  },
  {
    version: 7,
    name: 'sharing: replicated applications, signed grants, revocation list',
    sql: NODE_SHARING_SQL,
  },
  {
    version: 8,
    name: 'packages received under batch grants',
    sql: RECEIVED_PACKAGES_SQL,
  },
  {
    version: 9,
    name: 'grant packages: snapshots shaped by the provider for one batch grant',
    sql: GRANT_PACKAGES_SQL,
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
