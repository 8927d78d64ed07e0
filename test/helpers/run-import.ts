/**
 * @module Child process for crash tests and the RSS benchmark: import a person CSV into a database.
 *   node --import tsx test/helpers/run-import.ts <db> <csv> <batchSize>
 * Prints the summary as one JSON line, then (for the benchmark) `{"ms": …, "maxRssMb": …}`.
 */
import { systemClock } from '../../engine/clock.ts';
import { importFile } from '../../node/staging/import-file.ts';
import { openFrontendDb, PERSON_ITEMS } from './frontend.ts';

export const RUN_IMPORT_ENTRY = '410602-01950000-0000-7000-8000-00000000e2e0';

const [dbFile, csvFile, batch] = process.argv.slice(2);
if (!dbFile || !csvFile) {
  console.error('usage: run-import.ts <db> <csv> [batchSize]');
  process.exit(2);
}
const db = openFrontendDb(dbFile);
const t0 = performance.now();
const summary = await importFile(db, systemClock, {
  entryId: RUN_IMPORT_ENTRY,
  items: PERSON_ITEMS,
  file: csvFile,
  ...(batch ? { batchSize: Number(batch) } : {}),
});
const ms = performance.now() - t0;
db.close();
console.log(JSON.stringify(summary));
// maxRSS is in KiB and covers the whole life of the process, the reader worker thread included.
console.log(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
