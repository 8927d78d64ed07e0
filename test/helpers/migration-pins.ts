/**
 * @module Golden pins of released migrations: each version's SQL by its SHA-256, so an edit to a released
 * migration (which databases already ran) fails a test instead of silently forking the schema.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Migration } from '../../engine/storage/db.ts';

/** [version, SHA-256 hex of its `sql`], in order; new migrations are appended, never edited. */
export type MigrationPin = readonly [version: number, sha256: string];

export const sqlHash = (sql: string): string => createHash('sha256').update(sql, 'utf8').digest('hex');

/** Fails naming the first migration that was edited, added without a pin, or numbered out of order. */
export function assertPinned(migrations: readonly Migration[], pins: readonly MigrationPin[], pinsFile: string): void {
  migrations.forEach((m, i) => assert.equal(m.version, i + 1, `migration versions must be 1, 2, 3, … in order; found ${m.version} at position ${i + 1}`));
  for (const [version, sha] of pins) {
    const m = migrations.find((x) => x.version === version);
    assert.ok(m, `released migration ${version} is gone: never remove a released migration`);
    assert.equal(sqlHash(m.sql), sha, `migration ${version} ("${m.name}") changed: never edit a released migration; add the next one`);
  }
  for (const m of migrations.slice(pins.length)) {
    assert.fail(`migration ${m.version} ("${m.name}") has no pin: append [${m.version}, '${sqlHash(m.sql)}'] to the golden list in ${pinsFile}`);
  }
}

/** The migrations file holds literal SQL only: no interpolation and no import of a module's schema constant. */
export function assertLiteral(sourceFile: string): void {
  const src = readFileSync(sourceFile, 'utf8');
  assert.ok(!src.includes('${'), `${sourceFile} interpolates into a migration: inline the literal SQL instead (a live constant would change a released migration)`);
  const imports = src.split('\n').filter((l) => /^import\b/.test(l));
  assert.deepEqual(imports, ["import type { Migration } from '../../engine/storage/db.ts';"], `${sourceFile} may import only the Migration type`);
}
