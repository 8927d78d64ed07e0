import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { AuditLog } from '../../engine/audit/log.ts';
import type { Db } from '../../engine/storage/db.ts';
import type { AppError } from '../../engine/errors.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { breakCheckChar, citizenIdFor, fixedClock, openFrontendDb, PERSON_ITEMS, personValues, writePersonCsv } from '../../test/helpers/frontend.ts';
import { importFile } from './import-file.ts';
import { FRONTEND_AUDIT_ACTIONS, FrontendImporter, type ImportOptions } from './importer.ts';
import type { SourceRow } from './readers/index.ts';
import { frontendTableName } from './table-schema.ts';

const ENTRY = '410602-01950000-0000-7000-8000-000000000001';
const TABLE = frontendTableName(ENTRY);

let dir: string;
let n = 0;
const fresh = (): Db => openFrontendDb(join(dir, `i${n++}.db`));
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jilian-fe-import-'));
  await loadSodium();
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function* rowsOf(records: (string[] | SourceRow)[]): AsyncGenerator<SourceRow> {
  let i = 1;
  for (const r of records) {
    i++;
    yield Array.isArray(r) ? { rowNumber: i, record: r } : r;
  }
}

const people = (from: number, to: number): string[][] => Array.from({ length: to - from }, (_, k) => personValues(from + k));
const table = (db: Db) => db.prepare(`SELECT * FROM "${TABLE}" ORDER BY id_no`).all() as Record<string, unknown>[];
const versions = (db: Db) => new Map(table(db).map((r) => [r.id_no as string, r._version as number]));

function run(db: Db, source: ImportOptions['source'], extra: Partial<ImportOptions> = {}, clock = fixedClock()) {
  return new FrontendImporter(db, clock).run({ entryId: ENTRY, items: PERSON_ITEMS, source, importId: `imp-${n++}`, batchSize: 7, ...extra });
}

describe('front-end importer', () => {
  it('counts, converts, and reports bad rows with row, column and reasons in zh-CN and English', async () => {
    const db = fresh();
    const good = people(0, 20);
    const badId = personValues(20);
    badId[0] = breakCheckChar(badId[0]!);
    const tooLong = personValues(21);
    tooLong[1] = '长'.repeat(51);
    const missing = personValues(22);
    missing[1] = '';
    const twoBad = personValues(23);
    twoBad[3] = '2023-02-29';
    twoBad[4] = 'old';
    const rejectsPath = join(dir, 'rejects.csv');
    const s = await run(db, rowsOf([...good.slice(0, 10), badId, tooLong, ...good.slice(10), missing, twoBad]), { rejectsPath });
    assert.deepEqual(
      { read: s.read, inserted: s.inserted, updated: s.updated, unchanged: s.unchanged, deleted: s.deleted, rejected: s.rejected, batches: s.batches, resumedFrom: s.resumedFrom },
      { read: 24, inserted: 20, updated: 0, unchanged: 0, deleted: 0, rejected: 4, batches: 4, resumedFrom: 0 },
    );
    const stored = table(db);
    assert.equal(stored.length, 20);
    const first = stored.find((r) => r.id_no === citizenIdFor(0))!;
    // Converted to canonical forms: datetime in +08:00, boolean 1/0, decimal without redundant zeros.
    assert.equal(first.registered_at, '2024-01-01T00:00:00+08:00');
    assert.equal(first.active, 0);
    assert.equal(first.income, '0');
    assert.equal(first._deleted, 0);

    const report = readFileSync(rejectsPath, 'utf8');
    assert.ok(report.startsWith('\uFEFFrow,column,reason_zh,reason_en\n'), 'UTF-8 BOM and header');
    const lines = report.trim().split('\n').slice(1);
    assert.deepEqual(
      lines.map((l) => l.split(',').slice(0, 2).join(',')),
      ['12,id_no', '13,name', '24,name', '25,birth_date', '25,age'],
    );
    assert.match(lines[0]!, /校验码错误.*wrong check character/);
    assert.match(lines[1]!, /超过 50 个字符,longer than 50 characters/);
    assert.match(lines[2]!, /必填项为空,required value is missing/);
    db.close();
  });

  it('re-importing the same rows changes nothing: no row gets a new version', async () => {
    const db = fresh();
    await run(db, rowsOf(people(0, 30)));
    const before = versions(db);
    const counter = db.prepare('SELECT value FROM frontend_versions').pluck().get();
    const s = await run(db, rowsOf(people(0, 30)));
    assert.deepEqual([s.inserted, s.updated, s.unchanged, s.rejected], [0, 0, 30, 0]);
    assert.deepEqual(versions(db), before);
    assert.equal(db.prepare('SELECT value FROM frontend_versions').pluck().get(), counter);
    db.close();
  });

  it('an update bumps the version of the changed rows only, above every earlier version', async () => {
    const db = fresh();
    await run(db, rowsOf(people(0, 10)));
    const before = versions(db);
    const max = Math.max(...before.values());
    const changed = people(0, 10);
    changed[3]![9] = '新地址';
    changed[7]![4] = '99';
    const s = await run(db, rowsOf([...changed, ...people(10, 12)]));
    assert.deepEqual([s.inserted, s.updated, s.unchanged], [2, 2, 8]);
    const after = versions(db);
    for (const [id, v] of before) {
      if (id === citizenIdFor(3) || id === citizenIdFor(7)) assert.ok(v < after.get(id)! && after.get(id)! > max, 'changed row gets a newer version');
      else assert.equal(after.get(id), v, 'unchanged row keeps its version');
    }
    assert.equal(new Set(after.values()).size, after.size, 'one version per change');
    db.close();
  });

  it('explicit deletes leave tombstones with only the key; deleting again is unchanged; deleting nothing is a reject', async () => {
    const db = fresh();
    await run(db, rowsOf(people(0, 5)));
    const before = versions(db);
    const del = (i: number): SourceRow => ({ rowNumber: 0, record: [citizenIdFor(i)], delete: true });
    const s = await run(db, rowsOf([del(1), del(3), { rowNumber: 0, record: [citizenIdFor(99)], delete: true }, { rowNumber: 0, record: ['123'], delete: true }]));
    assert.deepEqual([s.deleted, s.unchanged, s.rejected], [2, 0, 2]);
    const again = await run(db, rowsOf([del(1)]));
    assert.deepEqual([again.deleted, again.unchanged, again.rejected], [0, 1, 0]);
    const tomb = table(db).find((r) => r.id_no === citizenIdFor(1))!;
    assert.equal(tomb._deleted, 1);
    assert.equal(tomb.name, null, 'a tombstone keeps only its key');
    assert.ok((tomb._version as number) > before.get(citizenIdFor(1))!);
    const reasons = db.prepare('SELECT column_code, reason_en FROM frontend_import_rejects WHERE import_id = ? ORDER BY id').all(s.importId) as { column_code: string; reason_en: string }[];
    assert.deepEqual(
      reasons.map((r) => r.column_code),
      ['id_no', 'id_no'],
    );
    assert.match(reasons[0]!.reason_en, /no row with this key to delete/);
    assert.match(reasons[1]!.reason_en, /18 characters/);
    // Re-importing a deleted row revives it (an update, with a new version).
    const r = await run(db, rowsOf(people(1, 2)));
    assert.deepEqual([r.updated, r.inserted], [1, 0]);
    assert.equal(table(db).find((x) => x.id_no === citizenIdFor(1))!._deleted, 0);
    db.close();
  });

  it('a key twice in one import: the first row is kept, the later one is a reject naming both rows, across batches', async () => {
    const db = fresh();
    const rename = (i: number, name: string) => Object.assign(personValues(i), { 1: name });
    // Rows 2..11 are people 0..9; then (row 12) person 0 renamed, in the second batch of 7; (row 13) person 9
    // again, identical; (row 14) a delete of person 3; (row 15) person 20 with a bad age, then (row 16)
    // person 20 valid: a rejected row does not claim its key.
    const bad20 = Object.assign(personValues(20), { 4: 'old' });
    const records: (string[] | SourceRow)[] = [...people(0, 10), rename(0, '改名'), personValues(9), { rowNumber: 14, record: [citizenIdFor(3)], delete: true }, bad20, personValues(20)];
    const rejectsPath = join(dir, 'dups.csv');
    const s = await run(db, rowsOf(records), { rejectsPath });
    assert.deepEqual([s.read, s.inserted, s.updated, s.unchanged, s.deleted, s.rejected], [15, 11, 0, 0, 0, 4]);
    const byId = new Map(table(db).map((r) => [r.id_no as string, r]));
    assert.equal(byId.get(citizenIdFor(0))!.name, personValues(0)[1], 'the first occurrence is kept');
    assert.equal(byId.get(citizenIdFor(3))!._deleted, 0, 'a duplicate delete is refused too');
    const lines = readFileSync(rejectsPath, 'utf8').trim().split('\n').slice(1);
    assert.deepEqual(
      lines.map((l) => l.split(',').slice(0, 2).join(',')),
      ['12,id_no', '13,id_no', '14,id_no', '15,age'],
    );
    assert.equal(lines[0], '12,id_no,主键与第 2 行重复：保留第 2 行，本行未导入,duplicate key: same as row 2 (row 2 is kept; this row is not imported)');
    assert.match(lines[1]!, /第 11 行.*same as row 11/);
    assert.match(lines[2]!, /第 5 行.*same as row 5/);
    db.close();
  });

  it('re-running a file with a duplicate key changes nothing: unchanged, same versions, the duplicate refused again', async () => {
    const db = fresh();
    const records = [...people(0, 10), Object.assign(personValues(4), { 1: '另一个名字' })];
    const first = await run(db, rowsOf(records));
    assert.deepEqual([first.inserted, first.updated, first.rejected], [10, 0, 1]);
    const before = versions(db);
    const counter = db.prepare('SELECT value FROM frontend_versions').pluck().get();
    const again = await run(db, rowsOf(records));
    assert.deepEqual([again.inserted, again.updated, again.unchanged, again.rejected], [0, 0, 10, 1]);
    assert.deepEqual(versions(db), before);
    assert.equal(db.prepare('SELECT value FROM frontend_versions').pluck().get(), counter);
    db.close();
  });

  it('duplicates are found across a resume: the keys of committed batches are kept with the import, and dropped when it finishes', async () => {
    // 20 people, then people 1 and 15 again: the interrupted run commits rows of two batches (14) and the
    // 3 read before the fault; the resumed run meets the duplicates.
    const all = [...people(0, 20), Object.assign(personValues(1), { 1: '重复一' }), Object.assign(personValues(15), { 1: '重复二' })];
    const rows: SourceRow[] = all.map((r, i) => ({ rowNumber: i + 2, record: r }));
    async function* failing(): AsyncGenerator<SourceRow> {
      for (const [i, r] of rows.entries()) {
        if (i === 17) throw new Error('disk went away');
        yield r;
      }
    }
    const keyBatches = (d: Db) => d.prepare("SELECT COUNT(*) FROM frontend_import_keys WHERE import_id = 'dup-resume'").pluck().get();
    const db = fresh();
    await assert.rejects(run(db, failing(), { importId: 'dup-resume' }), /disk went away/);
    assert.equal(keyBatches(db), 3, 'the keys of the three committed batches survive the failure');
    const resumed = await run(db, rowsOf(rows), { importId: 'dup-resume' });
    assert.equal(resumed.resumedFrom, 17);
    assert.equal(keyBatches(db), 0, 'and are dropped when the import finishes');
    const db2 = fresh();
    const straight = await run(db2, rowsOf(rows), { importId: 'dup-straight' });
    assert.deepEqual([straight.inserted, straight.updated, straight.rejected], [20, 0, 2]);
    const strip = (s: typeof resumed) => ({ ...s, importId: '', resumedFrom: 0, batches: 0, schema: '' });
    assert.deepEqual(strip(resumed), strip(straight));
    const content = (d: Db) => table(d).map(({ _version, _updated_at, ...rest }) => rest);
    assert.deepEqual(content(db), content(db2));
    const rejects = (d: Db, id: string) => d.prepare('SELECT row_number, column_code, reason_en FROM frontend_import_rejects WHERE import_id = ? ORDER BY id').all(id);
    assert.deepEqual(rejects(db, 'dup-resume'), rejects(db2, 'dup-straight'));
    assert.deepEqual(
      (rejects(db, 'dup-resume') as { row_number: number }[]).map((r) => r.row_number),
      [22, 23],
    );
    db.close();
    db2.close();
  });

  it('an interrupted import resumes after its last committed batch and ends as an uninterrupted one', async () => {
    const all = people(0, 40);
    all[12]![0] = breakCheckChar(all[12]![0]!);
    const rows: SourceRow[] = all.map((r, i) => ({ rowNumber: i + 2, record: r }));
    async function* failing(): AsyncGenerator<SourceRow> {
      for (const [i, r] of rows.entries()) {
        if (i === 17) throw new Error('disk went away');
        yield r;
      }
    }
    const db = fresh();
    await assert.rejects(run(db, failing(), { importId: 'resume-me', fileSha256: 'a'.repeat(64) }), /disk went away/);
    const partial = db.prepare("SELECT committed_rows, status FROM frontend_imports WHERE import_id = 'resume-me'").get() as { committed_rows: number; status: string };
    // 14 rows in two batches of 7, then the 3 read before the fault.
    assert.deepEqual(partial, { committed_rows: 17, status: 'failed' });
    assert.equal(table(db).length, 16);
    const resumed = await run(db, rowsOf(rows), { importId: 'resume-me', fileSha256: 'a'.repeat(64) });
    assert.equal(resumed.resumedFrom, 17);

    const db2 = fresh();
    const straight = await run(db2, rowsOf(rows), { importId: 'straight' });
    const strip = (s: typeof resumed) => ({ ...s, importId: '', resumedFrom: 0, batches: 0, schema: '' });
    assert.deepEqual(strip(resumed), strip(straight));
    const content = (d: Db) => table(d).map(({ _version, _updated_at, ...rest }) => rest);
    assert.deepEqual(content(db), content(db2));
    const rejects = (d: Db, id: string) => d.prepare('SELECT row_number, column_code FROM frontend_import_rejects WHERE import_id = ? ORDER BY id').all(id);
    assert.deepEqual(rejects(db, 'resume-me'), rejects(db2, 'straight'));
    db.close();
    db2.close();
  });

  it('refuses to resume a finished import or one of another file', async () => {
    const db = fresh();
    await run(db, rowsOf(people(0, 3)), { importId: 'x', fileSha256: 'a'.repeat(64) });
    await assert.rejects(run(db, rowsOf(people(0, 3)), { importId: 'x' }), (e: AppError) => e.code === 'CONFLICT' && /already finished/.test(e.en));
    async function* boom(): AsyncGenerator<SourceRow> {
      yield* rowsOf(people(0, 8));
      throw new Error('stop');
    }
    await assert.rejects(run(db, boom(), { importId: 'y', fileSha256: 'b'.repeat(64) }), /stop/);
    await assert.rejects(run(db, rowsOf(people(0, 3)), { importId: 'y', fileSha256: 'c'.repeat(64) }), /different file/);
    db.close();
  });

  it('records one audit event per import with the counts', async () => {
    const db = fresh();
    const clock = fixedClock();
    const audit = new AuditLog(db, clock, { actions: FRONTEND_AUDIT_ACTIONS });
    const s = await new FrontendImporter(db, clock, audit).run({
      entryId: ENTRY,
      items: PERSON_ITEMS,
      source: rowsOf(people(0, 4)),
      importId: 'audited',
      actor: { name: 'dept-ga', role: 'dept_operator', department: 'GA' },
    });
    const { records } = audit.search({ action: 'frontend.import' });
    assert.equal(records.length, 1);
    assert.equal(records[0]!.resource, ENTRY);
    assert.equal(records[0]!.actor, 'dept-ga');
    assert.equal(records[0]!.department, 'GA');
    assert.deepEqual((records[0]!.detail as Record<string, unknown>).inserted, s.inserted);
    assert.ok(audit.verify().ok);
    db.close();
  });

  it('reading on a worker thread gives exactly what reading on this thread gives', async () => {
    const file = join(dir, 'people.csv');
    await writePersonCsv(file, 3000, { badEvery: 50, chineseHeader: true });
    const dbA = fresh();
    const dbB = fresh();
    const clock = fixedClock();
    const a = await importFile(dbA, clock, { entryId: ENTRY, items: PERSON_ITEMS, file, batchSize: 500, importId: 'p', rejectsPath: join(dir, 'a.csv') });
    const b = await importFile(dbB, clock, { entryId: ENTRY, items: PERSON_ITEMS, file, batchSize: 500, importId: 'p', rejectsPath: join(dir, 'b.csv'), parallel: false });
    assert.deepEqual(a, { ...b, rejectsPath: a.rejectsPath });
    assert.deepEqual([a.read, a.inserted, a.rejected], [3000, 2940, 60]);
    assert.deepEqual(table(dbA), table(dbB));
    assert.equal(readFileSync(join(dir, 'a.csv'), 'utf8'), readFileSync(join(dir, 'b.csv'), 'utf8'));
    dbA.close();
    dbB.close();
  });

  it('imports NDJSON with deletes through a file, and resumes an interrupted file import by its hash', async () => {
    const db = fresh();
    await run(db, rowsOf(people(6, 7)));
    const file = join(dir, 'people.ndjson');
    const lines = people(0, 6).map((v) => JSON.stringify(Object.fromEntries(PERSON_ITEMS.map((it, i) => [it.code, v[i]]))));
    lines.push(JSON.stringify({ _delete: true, 公民身份号码: citizenIdFor(6) }));
    writeFileSync(file, lines.join('\n') + '\n');
    const s = await importFile(db, fixedClock(), { entryId: ENTRY, items: PERSON_ITEMS, file });
    assert.deepEqual([s.inserted, s.deleted, s.rejected], [6, 1, 0]);
    // A failed import of the same file is found by hash and resumed without naming it.
    db.prepare("UPDATE frontend_imports SET status = 'failed', committed_rows = 4 WHERE import_id = ?").run(s.importId);
    const r = await importFile(db, fixedClock(), { entryId: ENTRY, items: PERSON_ITEMS, file });
    assert.equal(r.importId, s.importId);
    assert.equal(r.resumedFrom, 4);
    db.close();
  });

  it('imports a GB18030 CSV with Chinese headers and an XLSX sheet through the worker, to the same rows as UTF-8', async () => {
    const utf8 = join(dir, 'utf8.csv');
    await writePersonCsv(utf8, 200, { chineseHeader: true });
    const gbk = join(dir, 'gbk.csv');
    writeFileSync(gbk, iconv.encode(readFileSync(utf8, 'utf8'), 'gb18030'));
    const xlsx = join(dir, 'people.xlsx');
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('人口');
    ws.addRow(PERSON_ITEMS.map((i) => i.name));
    for (let i = 0; i < 200; i++) ws.addRow(personValues(i));
    await wb.xlsx.writeFile(xlsx);

    const dump = (d: Db) => table(d).map(({ _updated_at, ...rest }) => rest);
    const results = [];
    for (const file of [utf8, gbk, xlsx]) {
      const db = fresh();
      let encoding = '';
      const s = await importFile(db, fixedClock(), { entryId: ENTRY, items: PERSON_ITEMS, file, onEncoding: (e) => (encoding = e) });
      assert.deepEqual([s.inserted, s.rejected], [200, 0], file);
      if (file === gbk) assert.equal(encoding, 'gb18030');
      results.push(dump(db));
      db.close();
    }
    assert.deepEqual(results[1], results[0]);
    assert.deepEqual(results[2], results[0]);
  });
});
