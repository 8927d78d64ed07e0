/** @module The county node's schema, as versioned migrations (never edit a released one; add the next). */
import { CATALOG_SCHEMA_SQL } from '../../engine/catalog-store.ts';
import type { Migration } from '../../engine/db.ts';
import { INBOX_SCHEMA_SQL } from '../../engine/inbox.ts';
import { OUTBOX_SCHEMA_SQL } from '../../engine/outbox.ts';

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
];
