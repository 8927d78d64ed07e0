/**
 * @module How long import and migration rejects are kept. They exist so a department can fix its source
 * and re-import; they may hold personal data (a migration reject keeps the whole row), so they are not
 * kept longer than that needs. Rejects of an import still running or failed (resumable) are never purged.
 */
import type { Db } from '../../engine/storage/db.ts';
import { purgeImportRejects } from './importer.ts';
import { purgeMigrationRejects } from './table-schema.ts';

export function purgeRejects(db: Db, now: Date, retentionDays: number): { importRejects: number; migrationRejects: number } {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString();
  return db.transaction(() => {
    const importRejects = purgeImportRejects(db, cutoff);
    const migrationRejects = purgeMigrationRejects(db, cutoff);
    return { importRejects, migrationRejects };
  })();
}
