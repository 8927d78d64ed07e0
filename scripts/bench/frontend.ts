/**
 * @module Front-end repository figures (issue 4), on a generated 10-column population resource:
 *  - `import.rows_per_s`: a 1M-row CSV imported by `jilian`'s import path (hash, read and validate on a
 *    worker thread, upsert in batches of DEFAULT_BATCH_SIZE with progress rows), measured inside a child
 *    process, against bare better-sqlite3 prepared INSERTs of the same, already converted rows into a
 *    table of the same columns and key, in one transaction. Both sides: a fresh file opened by
 *    `openDatabase` (WAL, synchronous=FULL). Rounds alternate; medians are reported.
 *  - `import.peak_rss_mb`: the importing child's peak RSS (process.resourceUsage().maxRSS, worker
 *    included), against an idle node process with the same loader.
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../engine/storage/db.ts';
import { DEFAULT_BATCH_SIZE } from '../../node/staging/importer.ts';
import { compileValidator, type SqlValue } from '../../node/staging/row-validator.ts';
import { PERSON_ITEMS, writePersonCsv } from '../../test/helpers/frontend.ts';
import { report, type Figure } from './harness.ts';

const RUN_IMPORT = fileURLToPath(new URL('../../test/helpers/run-import.ts', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Run a node script with tsx; resolve with its stdout (rejects on a non-zero exit). */
function node(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

/** The CSV's rows as the importer stores them (converted by the same validator), for the bare baseline. */
async function convertedRows(file: string): Promise<SqlValue[][]> {
  const v = compileValidator(PERSON_ITEMS);
  const rows: SqlValue[][] = [];
  let header = true;
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    if (header) {
      header = false;
      continue;
    }
    const out: SqlValue[] = new Array(PERSON_ITEMS.length);
    if (v.convert(line.split(','), out) !== null) throw new Error(`benchmark row does not validate: ${line}`);
    rows.push(out);
  }
  return rows;
}

function bareInsert(file: string, rows: SqlValue[][]): number {
  const cols = PERSON_ITEMS.map((i) => `"${i.code}" ${i.type === 'integer' || i.type === 'boolean' ? 'INTEGER' : 'TEXT'}`).join(', ');
  const db = openDatabase(file, [{ version: 1, name: 'bare', sql: `CREATE TABLE bare (${cols}, PRIMARY KEY ("id_no"))` }]);
  const insert = db.prepare(`INSERT INTO bare VALUES (${PERSON_ITEMS.map(() => '?').join(', ')})`);
  const t0 = performance.now();
  db.transaction(() => {
    for (const r of rows) insert.run(r);
  })();
  const ms = performance.now() - t0;
  db.close();
  return rows.length / (ms / 1000);
}

export async function benchFrontend(opts: { rows?: number; rounds?: number } = {}): Promise<Figure[]> {
  const n = opts.rows ?? Number(process.env.BENCH_FRONTEND_ROWS ?? 1_000_000);
  const rounds = opts.rounds ?? Number(process.env.BENCH_FRONTEND_ROUNDS ?? 3);
  const root = mkdtempSync(join(tmpdir(), 'jilian-bench-frontend-'));
  const csv = join(root, 'people.csv');
  const imported: number[] = [];
  const bare: number[] = [];
  const rss: number[] = [];
  try {
    await writePersonCsv(csv, n);
    for (let round = 0; round < rounds; round++) {
      const out = (await node([RUN_IMPORT, join(root, `import-${round}.db`), csv])).trim().split('\n');
      const summary = JSON.parse(out[0]!) as { inserted: number };
      if (summary.inserted !== n) throw new Error(`benchmark import inserted ${summary.inserted} of ${n} rows`);
      const { ms, maxRssMb } = JSON.parse(out[1]!) as { ms: number; maxRssMb: number };
      imported.push(n / (ms / 1000));
      rss.push(maxRssMb);
      // Converted in this process (not timed); freed before the next import child starts.
      bare.push(bareInsert(join(root, `bare-${round}.db`), await convertedRows(csv)));
    }
    const idle = JSON.parse((await node(['-e', 'console.log(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 }))'])).trim()) as { maxRssMb: number };
    const value = median(imported);
    const baseline = median(bare);
    return [
      report({
        name: 'import.rows_per_s',
        value,
        unit: 'rows/s',
        baseline,
        ratio: value / baseline,
        goal: '≥ 0.5',
        rows: n,
        columns: PERSON_ITEMS.length,
        batchSize: DEFAULT_BATCH_SIZE,
        rounds,
        synchronous: 'full',
      }),
      report({ name: 'import.peak_rss_mb', value: Math.max(...rss), unit: 'MB', baseline: idle.maxRssMb, goal: '< 300', rows: n, rounds }),
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchFrontend();
