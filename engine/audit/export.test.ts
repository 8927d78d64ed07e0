/** @module Tests of the audit export: CSV (RFC 4180, UTF-8 BOM, Chinese text) and NDJSON, time range, back-pressure. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadSodium } from '../../protocol/sodium.ts';
import { openDatabase, type Db } from '../storage/db.ts';
import type { AuditRecord } from './chain.ts';
import { CSV_COLUMNS, csvCell } from './format.ts';
import { AUDIT_SCHEMA_SQL, AuditLog } from './log.ts';
import { FakeClock } from './testing.ts';

const T0 = new Date('2024-05-01T08:00:00.000Z');
const MIN = 60_000;

/** A writable that collects text; with `slow`, it accepts one chunk per tick and asks for drains. */
function sink(slow = false): { out: Writable; text: () => string; drains: () => number } {
  const chunks: Buffer[] = [];
  let drains = 0;
  const out = new Writable({
    highWaterMark: slow ? 1 : 16_384,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      if (slow) setImmediate(cb);
      else cb();
    },
  });
  out.on('drain', () => drains++);
  return { out, text: () => Buffer.concat(chunks).toString('utf8'), drains: () => drains };
}

/** Minimal RFC 4180 reader for the round-trip check (quoted fields, doubled quotes, CRLF rows). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    else cell += c;
  }
  return rows;
}

describe('AuditLog.export', () => {
  let dir: string;
  let db: Db;
  let clock: FakeClock;
  let log: AuditLog;
  let n = 0;

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-audit-export-'));
  });
  beforeEach(() => {
    db?.close();
    db = openDatabase(join(dir, `export-${n++}.db`), [{ version: 1, name: 'audit', sql: AUDIT_SCHEMA_SQL }]);
    clock = new FakeClock(T0);
    log = new AuditLog(db, clock);
    log.append({
      actor: '张三',
      actorRole: 'department',
      department: '鹤山区公安分局',
      action: 'data.use',
      resource: '人口基础信息',
      fields: ['姓名', '身份证号'],
      purpose: '户籍核验，"紧急"\r\n第二行',
      result: 'ok',
      detail: { note: 'a,b' },
    });
    clock.advance(MIN);
    log.append({ actor: 'operator-1', actorRole: 'operator', action: 'catalog.review', resource: 'entry-1', result: 'rejected', purpose: 'plain' });
    clock.advance(MIN);
    log.append({ actor: '李四', actorRole: 'department', action: 'access.denied', result: 'denied' });
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('csvCell quotes only when RFC 4180 requires it', () => {
    assert.equal(csvCell('人口'), '人口');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('a\nb'), '"a\nb"');
    assert.equal(csvCell('a\rb'), '"a\rb"');
    assert.equal(csvCell(''), '');
  });

  it('CSV: BOM, header, CRLF rows, quoting of commas, quotes and newlines, Chinese intact', async () => {
    const s = sink();
    const count = await log.export(T0, new Date(T0.getTime() + 2 * MIN), 'csv', s.out);
    assert.equal(count, 2, 'to is exclusive');
    const text = s.text();
    assert.ok(text.startsWith('\uFEFFseq,at,actor,actor_role,department,action,resource,fields,purpose,result,detail,prev_hash,hash\r\n'));
    const first = text.split('\r\n')[1]!;
    assert.ok(first.startsWith('1,2024-05-01T08:00:00.000Z,张三,department,鹤山区公安分局,data.use,人口基础信息,"[""姓名"",""身份证号""]","户籍核验，""紧急""'));
    const rows = parseCsv(text.slice(1));
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    assert.equal(rows.length, 3);
    const [r1, r2] = [rows[1]!, rows[2]!];
    assert.equal(r1[8], '户籍核验，"紧急"\r\n第二行');
    assert.deepEqual(JSON.parse(r1[7]!), ['姓名', '身份证号']);
    assert.deepEqual(JSON.parse(r1[10]!), { note: 'a,b' });
    assert.deepEqual(r2.slice(0, 10), ['2', '2024-05-01T08:01:00.000Z', 'operator-1', 'operator', '', 'catalog.review', 'entry-1', '[]', 'plain', 'rejected']);
    assert.equal(r2[11], r1[12], 'prev_hash of row 2 is the hash of row 1');
  });

  it('NDJSON: no BOM, one record per line, equal to what search returns', async () => {
    const s = sink();
    const count = await log.export(T0, new Date(T0.getTime() + 10 * MIN), 'ndjson', s.out);
    assert.equal(count, 3);
    const text = s.text();
    assert.notEqual(text.charCodeAt(0), 0xfeff);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    const bySearch = log.search({ limit: 10 }).records.reverse();
    assert.deepEqual(lines, bySearch);
    assert.equal(lines[0]!.purpose, '户籍核验，"紧急"\r\n第二行');
  });

  it('an empty range writes only the CSV header', async () => {
    const s = sink();
    assert.equal(await log.export(new Date('2030-01-01'), new Date('2031-01-01'), 'csv', s.out), 0);
    assert.equal(s.text(), `\uFEFF${CSV_COLUMNS.join(',')}\r\n`);
  });

  it('pages through large ranges and waits for a slow reader to drain, while the log stays usable', async () => {
    db.transaction(() => {
      for (let i = 0; i < 2500; i++) log.append({ actor: `u${i}`, actorRole: 'department', action: 'data.use', result: 'ok' });
    })();
    const s = sink(true);
    // Between pages the connection is free: appending while the export waits must not throw "connection is busy".
    let during: AuditRecord | undefined;
    s.out.once('drain', () => (during = log.append({ actor: 'during', actorRole: 'department', action: 'data.use', result: 'ok' })));
    const count = await log.export(T0, new Date(T0.getTime() + 10 * MIN), 'ndjson', s.out);
    assert.equal(during?.seq, 2504);
    assert.equal(count, 2504);
    assert.ok(s.drains() > 0, 'back-pressure was honoured');
    const seqs = s
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as AuditRecord).seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 2504 }, (_, i) => i + 1),
    );
  });
});
