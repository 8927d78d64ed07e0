/** Rejects are kept for the configured period after their import finished, never while it can resume. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { openFrontendDb } from '../../test/helpers/frontend.ts';
import { purgeRejects } from './rejects-retention.ts';

it('purges rejects of imports finished before the cutoff and old migration rejects only', () => {
  const db = openFrontendDb(join(mkdtempSync(join(tmpdir(), 'jl-rej-')), 'n.db'));
  const imp = db.prepare("INSERT INTO frontend_imports (import_id, entry_id, status, started_at, finished_at, counts_json) VALUES (?, 'e', ?, ?, ?, '{}')");
  imp.run('old', 'done', '2025-01-01T00:00:00Z', '2025-01-01T01:00:00Z');
  imp.run('recent', 'done', '2025-03-01T00:00:00Z', '2025-03-01T01:00:00Z');
  imp.run('resumable', 'failed', '2024-01-01T00:00:00Z', null);
  const rej = db.prepare("INSERT INTO frontend_import_rejects (import_id, row_number, column_code, reason_zh, reason_en) VALUES (?, 1, 'c', '错', 'bad')");
  for (const id of ['old', 'old', 'recent', 'resumable']) rej.run(id);
  const mig = db.prepare("INSERT INTO frontend_migration_rejects (entry_id, table_name, at, row_json, columns, reason_zh, reason_en) VALUES ('e', 't', ?, '{}', 'c', '错', 'bad')");
  mig.run('2025-01-15T00:00:00Z');
  mig.run('2025-03-02T00:00:00Z');

  const r = purgeRejects(db, new Date('2025-03-10T00:00:00Z'), 30);
  assert.deepEqual(r, { importRejects: 2, migrationRejects: 1 });
  assert.deepEqual(
    (db.prepare('SELECT import_id AS id FROM frontend_import_rejects ORDER BY id').all() as { id: string }[]).map((x) => x.id),
    ['recent', 'resumable'],
  );
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM frontend_migration_rejects').get() as { n: number }).n, 1);
});
