/**
 * Front-end repository imports at scale (issue 4): a 1,000,000-row CSV with 1% bad rows, re-imported;
 * and kill -9 in the middle of an import, then a rerun, compared with an uninterrupted import (keys repeated
 * after the kill are still refused as duplicates of rows committed before it).
 * Correctness only: speed and memory are benchmark figures (scripts/bench/frontend.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { systemClock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { importFile } from '../../node/staging/import-file.ts';
import { frontendTableName } from '../../node/staging/table-schema.ts';
import { badKind, citizenIdFor, openFrontendDb, PERSON_ITEMS, personValues, writePersonCsv } from '../helpers/frontend.ts';

const ENTRY = '410602-01950000-0000-7000-8000-00000000e2e0'; // as test/helpers/run-import.ts
const TABLE = frontendTableName(ENTRY);
const RUN_IMPORT = fileURLToPath(new URL('../helpers/run-import.ts', import.meta.url));

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'jilian-fe-e2e-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

const count = (db: Db | Database.Database, where = '1') => db.prepare(`SELECT COUNT(*) FROM "${TABLE}" WHERE ${where}`).pluck().get() as number;

describe('front-end import at scale', () => {
  it('1,000,000 rows with 1% bad: exact counts, one report line per bad row, re-import changes nothing', async () => {
    const rows = 1_000_000;
    const t0 = performance.now();
    const file = join(dir, 'million.csv');
    const { bad } = await writePersonCsv(file, rows, { badEvery: 100 });
    assert.equal(bad, 10_000);
    const db = openFrontendDb(join(dir, 'million.db'));
    const rejectsPath = join(dir, 'million.rejects.csv');
    const t1 = performance.now();
    const first = await importFile(db, systemClock, { entryId: ENTRY, items: PERSON_ITEMS, file, rejectsPath });
    const t2 = performance.now();
    assert.deepEqual([first.read, first.inserted, first.updated, first.unchanged, first.deleted, first.rejected], [rows, rows - bad, 0, 0, 0, bad]);
    assert.equal(count(db), rows - bad);
    assert.equal(db.prepare(`SELECT MAX(_version) FROM "${TABLE}"`).pluck().get(), rows - bad);

    // The report: header, then exactly one line per bad row, at its row number, with both reasons.
    const seen = new Set<number>();
    let header = '';
    for await (const line of createInterface({ input: createReadStream(rejectsPath, 'utf8'), crlfDelay: Infinity })) {
      if (header === '') {
        header = line;
        continue;
      }
      const [row, column, zh, en] = line.split(',');
      const i = Number(row) - 2;
      const kind = badKind(i, 100);
      assert.ok(kind !== null, `row ${row} is not a bad row`);
      assert.equal(column, kind === 'citizen_id' ? 'id_no' : 'name');
      assert.ok(zh && en, `reasons on line ${line}`);
      assert.ok(!seen.has(i), `row ${row} reported twice`);
      seen.add(i);
    }
    assert.equal(header, '\uFEFFrow,column,reason_zh,reason_en');
    assert.equal(seen.size, bad);

    const before = db.prepare(`SELECT SUM(_version), MAX(_version), SUM(length(_updated_at)) FROM "${TABLE}"`).raw().get();
    const t3 = performance.now();
    const again = await importFile(db, systemClock, { entryId: ENTRY, items: PERSON_ITEMS, file, rejectsPath });
    const t4 = performance.now();
    assert.deepEqual([again.read, again.inserted, again.updated, again.unchanged, again.deleted, again.rejected], [rows, 0, 0, rows - bad, 0, bad]);
    assert.deepEqual(db.prepare(`SELECT SUM(_version), MAX(_version), SUM(length(_updated_at)) FROM "${TABLE}"`).raw().get(), before);
    assert.equal(db.prepare('SELECT value FROM frontend_versions').pluck().get(), rows - bad);
    db.close();
    console.log(`# 1M rows: generate ${((t1 - t0) / 1000).toFixed(1)} s, import ${((t2 - t1) / 1000).toFixed(1)} s, re-import ${((t4 - t3) / 1000).toFixed(1)} s`);
  });

  it('kill -9 mid-import leaves the table at a batch boundary; the rerun equals an uninterrupted import', async () => {
    const rows = 300_000;
    const batch = 10_000;
    const every = 97;
    const file = join(dir, 'crash.csv');
    await writePersonCsv(file, rows, { badEvery: every });
    // Three keys again at the end, after the kill: found as duplicates of rows committed before it.
    const dups = [0, 1, 5];
    appendFileSync(file, dups.map((i) => Object.assign(personValues(i), { 1: `重复${i}` }).join(',') + '\n').join(''));
    const dbFile = join(dir, 'crash.db');
    openFrontendDb(dbFile).close(); // schema in place, so the poller can open it read-only at once

    const child = spawn(process.execPath, ['--import', 'tsx', RUN_IMPORT, dbFile, file, String(batch)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    // Poll read-only until two batches are committed, then kill -9 (bounded wait).
    const ro = new Database(dbFile, { readonly: true });
    const committed = ro.prepare('SELECT committed_rows FROM frontend_imports').pluck();
    const deadline = Date.now() + 60_000;
    let atKill = 0;
    while ((atKill = (committed.get() as number | undefined) ?? 0) < 2 * batch) {
      assert.ok(Date.now() < deadline, `import did not commit two batches in time:\n${output}`);
      assert.equal(child.exitCode, null, `import ended before it could be killed:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGKILL');
    assert.equal(await exited, null, 'killed by a signal');
    ro.close();

    // After the crash: the table holds exactly the good rows of the committed records, nothing else.
    const db = openFrontendDb(dbFile);
    const state = db.prepare('SELECT committed_rows, status, counts_json FROM frontend_imports').get() as { committed_rows: number; status: string; counts_json: string };
    assert.equal(state.status, 'running');
    assert.ok(state.committed_rows >= atKill && state.committed_rows < rows, `killed mid-import (${state.committed_rows} of ${rows} committed)`);
    assert.equal(state.committed_rows % batch, 0, 'committed at a batch boundary');
    let good = 0;
    for (let i = 0; i < state.committed_rows; i++) if (badKind(i, every) === null) good++;
    assert.equal(count(db), good);
    const counts = JSON.parse(state.counts_json) as { inserted: number; rejected: number; read: number };
    assert.deepEqual([counts.read, counts.inserted, counts.rejected], [state.committed_rows, good, state.committed_rows - good]);
    assert.equal(db.prepare('SELECT COUNT(DISTINCT row_number) FROM frontend_import_rejects').pluck().get(), state.committed_rows - good);
    assert.equal(count(db, `id_no = '${citizenIdFor(state.committed_rows)}'`), 0, 'nothing past the boundary');
    db.close();

    // Rerun the same command: it resumes after the committed rows and finishes.
    const rerun = spawn(process.execPath, ['--import', 'tsx', RUN_IMPORT, dbFile, file, String(batch)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    rerun.stdout.on('data', (d: Buffer) => (out += d.toString()));
    assert.equal(await new Promise((resolve) => rerun.once('exit', resolve)), 0);
    const resumed = JSON.parse(out.split('\n')[0]!) as Record<string, unknown>;
    assert.equal(resumed.resumedFrom, state.committed_rows);

    // An uninterrupted import of the same file into a fresh database.
    const fresh = openFrontendDb(join(dir, 'straight.db'));
    const straight = await importFile(fresh, systemClock, { entryId: ENTRY, items: PERSON_ITEMS, file, batchSize: batch });
    for (const k of ['read', 'inserted', 'updated', 'unchanged', 'deleted', 'rejected'] as const) assert.equal(resumed[k], straight[k], k);

    const crashed = openFrontendDb(dbFile);
    const dump = (d: Db) =>
      d
        .prepare(`SELECT * FROM "${TABLE}" ORDER BY id_no`)
        .raw()
        .all()
        .map((r) => JSON.stringify((r as unknown[]).slice(0, -1))); // all but _updated_at
    const a = dump(crashed);
    const b = dump(fresh);
    assert.equal(a.length, rows - Math.floor(rows / every));
    assert.equal(new Set(a).size, a.length, 'nothing duplicated');
    assert.deepEqual(a, b, 'same rows, same values, same versions');
    const rejects = (d: Db) => d.prepare('SELECT row_number, column_code, reason_en FROM frontend_import_rejects ORDER BY row_number, id').raw().all();
    assert.deepEqual(rejects(crashed), rejects(fresh));
    const dupRejects = crashed.prepare("SELECT row_number, reason_en FROM frontend_import_rejects WHERE reason_en LIKE 'duplicate key%' ORDER BY row_number").raw().all();
    assert.deepEqual(
      dupRejects,
      dups.map((i, k) => [rows + 2 + k, `duplicate key: same as row ${i + 2} (row ${i + 2} is kept; this row is not imported)`]),
    );
    assert.equal(crashed.prepare(`SELECT name FROM "${TABLE}" WHERE id_no = ?`).pluck().get(citizenIdFor(0)), personValues(0)[1], 'the first occurrence is kept');
    crashed.close();
    fresh.close();
  });
});
