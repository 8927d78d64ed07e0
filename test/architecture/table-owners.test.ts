/**
 * Every SQLite table has one owning module holding its SQL (issue 10): no route or other domain class
 * touches another's table; other users go through a small interface the owner implements. This test
 * lists the tables the migrations create (node and hub), scans every non-test .ts under engine/, node/
 * and hub/ for SQL naming one, and fails with the offending file. Migrations files may name any table.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { migrate, type Migration } from '../../engine/storage/db.ts';
import { HUB_MIGRATIONS } from '../../hub/storage/migrations.ts';
import { NODE_MIGRATIONS } from '../../node/storage/migrations.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MIGRATIONS_FILES = new Set(['node/storage/migrations.ts', 'hub/storage/migrations.ts']);

/** table → the module(s) holding its SQL. Shared engine tables have one owner on both sides. */
const OWNERS: Record<string, readonly string[]> = {
  // engine, both sides
  schema_migrations: ['engine/storage/db.ts'],
  meta: ['engine/storage/db.ts'],
  entry_docs: ['engine/catalog/catalog-store.ts'],
  entries: ['engine/catalog/catalog-store.ts'],
  entries_fts: ['engine/catalog/catalog-store.ts'],
  outbox: ['engine/storage/outbox.ts'],
  inbox_seen: ['engine/storage/inbox.ts'],
  inbox_floor: ['engine/storage/inbox.ts'],
  accounts: ['engine/accounts/store.ts'],
  api_tokens: ['engine/accounts/store.ts'],
  audit_log: ['engine/audit/log.ts'],
  audit_meta: ['engine/audit/log.ts'],
  audit_purge_guard: ['engine/audit/log.ts'],
  audit_seal: ['engine/audit/log.ts'],
  // node
  departments: ['node/storage/departments.ts'],
  packages_sent: ['node/packages/sent-packages-store.ts'],
  package_spool: ['node/packages/sent-packages-store.ts'],
  package_requests: ['node/packages/package-requests.ts'],
  frontend_tables: ['node/staging/table-schema.ts'],
  frontend_versions: ['node/staging/table-schema.ts'],
  frontend_migration_rejects: ['node/staging/table-schema.ts'],
  frontend_imports: ['node/staging/importer.ts'],
  frontend_import_rejects: ['node/staging/importer.ts'],
  sharing_applications: ['node/sharing/node-sharing.ts'],
  sharing_grants: ['node/sharing/node-sharing.ts'],
  sharing_revocations: ['node/sharing/node-sharing.ts'],
  received_packages: ['node/sharing/received-packages.ts'],
  received_chunks: ['node/sharing/received-packages.ts'],
  // hub
  nodes: ['hub/storage/registry.ts'],
  rejections: ['hub/bus/rejections.ts'],
  code_counters: ['hub/catalog/code-template.ts'],
  join_tokens: ['hub/enroll/join-tokens.ts'],
  audit_checkpoints: ['engine/audit/checkpoint.ts'],
  packages: ['hub/packages/package-store.ts'],
  package_chunks: ['hub/packages/package-store.ts'],
  package_recipients: ['hub/packages/package-store.ts'],
  package_grants_sent: ['hub/sharing/batch-grants.ts'],
  applications: ['hub/sharing/applications.ts'],
  grants: ['hub/sharing/grants.ts'],
  grant_revocations: ['hub/sharing/revocations.ts'],
  revocation_lists: ['hub/sharing/revocations.ts'],
};

/**
 * Files that still touch a table they do not own. Keep this short; each line says why it is not fixed.
 * An entry no longer needed fails the test, so the list only shrinks.
 */
const KNOWN_EXCEPTIONS: readonly { table: string; file: string; why: string }[] = [
  // Test support only (imported by tests, never by a service): it rewrites rows to fake tampering for verify's tests.
  { table: 'audit_log', file: 'engine/audit/testing.ts', why: 'test support that tampers with the log on purpose' },
];

/** Tables the migrations create: SQLite's own and FTS5 shadow tables left out. */
function tablesOf(migrations: readonly Migration[]): Set<string> {
  const db = new Database(':memory:');
  migrate(db, migrations);
  const rows = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all() as { name: string; sql: string | null }[];
  db.close();
  const virtual = rows.filter((r) => /^CREATE VIRTUAL TABLE/i.test(r.sql ?? '')).map((r) => r.name);
  const shadow = (n: string) => virtual.some((v) => n.startsWith(`${v}_`));
  return new Set(rows.map((r) => r.name).filter((n) => !n.startsWith('sqlite_') && !shadow(n)));
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

/** Source without comments (prose such as "answer from packages" is not SQL). */
function code(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * SQL naming `table`. Keywords are matched in upper case, as all SQL here is written (checked below), so
 * prose in a log message ("could not answer from packages") is not taken for SQL.
 */
const sqlRef = (table: string) => new RegExp(`\\b(FROM|JOIN|INTO|UPDATE|TABLE|DELETE FROM)\\s+"?${escapeRe(table)}"?\\b`);

const nodeTables = tablesOf(NODE_MIGRATIONS);
const hubTables = tablesOf(HUB_MIGRATIONS);
const files = ['engine', 'node', 'hub'].flatMap(sourceFiles).map((f) => ({ file: f, text: code(f) }));

/** Which trees may hold SQL on a table: a node table is in the node's database, a hub table in the hub's. */
function scope(table: string): (file: string) => boolean {
  const sides = [nodeTables.has(table) && 'node/', hubTables.has(table) && 'hub/'].filter(Boolean) as string[];
  return (file) => file.startsWith('engine/') || sides.some((s) => file.startsWith(s));
}

test('every table the migrations create has an owner', () => {
  const all = new Set([...nodeTables, ...hubTables]);
  const unowned = [...all].filter((t) => !OWNERS[t]).sort();
  assert.deepEqual(unowned, [], `give these tables an owning module in test/architecture/table-owners.test.ts: ${unowned.join(', ')}`);
  const stale = Object.keys(OWNERS).filter((t) => !all.has(t));
  assert.deepEqual(stale, [], `no migration creates these tables any more: ${stale.join(', ')}`);
  for (const owners of Object.values(OWNERS))
    for (const f of owners)
      assert.ok(
        files.some((x) => x.file === f),
        `owner ${f} does not exist`,
      );
});

test('only its owner (and the migrations) runs SQL on a table', () => {
  const offences: string[] = [];
  const excused = new Set<string>();
  for (const [table, owners] of Object.entries(OWNERS)) {
    const re = sqlRef(table);
    const inScope = scope(table);
    for (const { file, text } of files) {
      if (!inScope(file) || owners.includes(file) || MIGRATIONS_FILES.has(file) || !re.test(text)) continue;
      const known = KNOWN_EXCEPTIONS.find((e) => e.table === table && e.file === file);
      if (known) excused.add(`${table} ${file}`);
      else offences.push(`${file} runs SQL on ${table} (owner: ${owners.join(', ')}); move the SQL into the owner behind a method`);
    }
  }
  assert.deepEqual(offences, []);
  const stale = KNOWN_EXCEPTIONS.filter((e) => !excused.has(`${e.table} ${e.file}`)).map((e) => `${e.table} ${e.file}`);
  assert.deepEqual(stale, [], 'these known exceptions are fixed: remove them from KNOWN_EXCEPTIONS');
});

test('SQL is written with upper-case keywords (so the scan above sees all of it)', () => {
  const lower = files.flatMap(({ file, text }) =>
    [...text.matchAll(/\.(?:prepare|exec)\(\s*['"`]\s*((?:select|insert|update|delete|create|alter|with|replace)\b[^'"`]{0,40})/g)].map((m) => `${file}: ${m[1]}`),
  );
  assert.deepEqual(lower, [], 'write SQL keywords in upper case');
});

test('the scan sees SQL (a sanity check of the pattern)', () => {
  const owner = files.find((f) => f.file === 'node/packages/sent-packages-store.ts')!;
  assert.ok(sqlRef('packages_sent').test(owner.text));
  assert.ok(!sqlRef('packages').test(owner.text), '`packages` does not match `packages_sent`');
  assert.equal(relative(ROOT, join(ROOT, 'engine/storage/db.ts')), 'engine/storage/db.ts');
});
