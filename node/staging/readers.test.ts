import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import type { AppError } from '../../engine/errors.ts';
import { openReader, readCsv, readNdjson, readXlsx, type SourceRow } from './readers/index.ts';
import type { FrontendItem } from './row-validator.ts';

const ITEMS: FrontendItem[] = [
  { name: '公民身份号码', code: 'id_no', type: 'string', primaryKey: true },
  { name: '姓名', code: 'name', type: 'string', required: true },
  { name: '出生日期', code: 'birth', type: 'date' },
  { name: '备注', code: 'note', type: 'string' },
];

/** `buf` as an async byte stream cut into `size`-byte chunks (cuts land inside multibyte characters). */
async function* chunks(buf: Uint8Array, size = 1 << 16): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function all(rows: AsyncIterable<SourceRow>): Promise<SourceRow[]> {
  const out: SourceRow[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

const csv = (text: string, size?: number, items = ITEMS) => all(readCsv(chunks(Buffer.from(text, 'utf8'), size), items));

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'jilian-fe-readers-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('CSV reader', () => {
  const body = '公民身份号码,姓名,出生日期,备注\r\n1,张三,2024-01-02,"逗号,引号""与\n换行"\r\n2,李四,,\r\n';

  it('maps Chinese headers, keeps RFC 4180 quoting, reports rows as a spreadsheet numbers them', async () => {
    const rows = await csv(body);
    assert.deepEqual(rows, [
      { rowNumber: 2, record: ['1', '张三', '2024-01-02', '逗号,引号"与\n换行'] },
      { rowNumber: 3, record: ['2', '李四', '', ''] },
    ]);
  });

  it('UTF-8 with a BOM and without give the same rows; so do 1-byte chunks (characters cut in half)', async () => {
    const plain = await csv(body);
    assert.deepEqual(await csv(`\uFEFF${body}`), plain);
    assert.deepEqual(await csv(body, 1), plain);
    assert.deepEqual(await csv(`\uFEFF${body}`, 2), plain);
  });

  it('GB18030 (as Chinese Excel saves CSV) is detected and decoded, headers in Chinese', async () => {
    const bytes = iconv.encode(`${body}3,王五𠀀,1999/9/9,鹤壁\r\n`, 'gb18030');
    assert.notDeepEqual(bytes, Buffer.from(body, 'utf8'));
    let encoding = '';
    const rows = await all(readCsv(chunks(bytes), ITEMS, { onEncoding: (e) => (encoding = e) }));
    assert.equal(encoding, 'gb18030');
    assert.deepEqual(
      rows.map((r) => r.record),
      [
        ['1', '张三', '2024-01-02', '逗号,引号"与\n换行'],
        ['2', '李四', '', ''],
        ['3', '王五𠀀', '1999/9/9', '鹤壁'],
      ],
    );
    // A two- or four-byte GB18030 character cut by every chunk boundary.
    assert.deepEqual(await all(readCsv(chunks(bytes, 1), ITEMS)), rows);
    assert.deepEqual(await all(readCsv(chunks(bytes, 3), ITEMS)), rows);
  });

  it('a multibyte UTF-8 character split across chunks is decoded once, whole', async () => {
    const text = 'id_no,name\n1,鹤\n';
    const bytes = Buffer.from(text, 'utf8');
    const at = bytes.indexOf(Buffer.from('鹤')) + 1; // cut inside 鹤 (3 bytes)
    async function* two(): AsyncGenerator<Uint8Array> {
      yield bytes.subarray(0, at);
      yield bytes.subarray(at);
    }
    const rows = await all(readCsv(two(), ITEMS.slice(0, 2)));
    assert.deepEqual(rows[0]!.record, ['1', '鹤']);
  });

  it('columns may come in any order and optional ones may be absent (NULL)', async () => {
    const rows = await csv('备注,name,id_no\nx,甲,1\n');
    assert.deepEqual(rows[0]!.record, ['1', '甲', undefined, 'x']);
  });

  it('refuses unknown and duplicate columns and missing required ones, naming them', async () => {
    await assert.rejects(csv('id_no,姓名,籍贯,phone\n1,a,b,c\n'), (err: AppError) => {
      assert.equal(err.code, 'INVALID_REQUEST');
      assert.match(err.zh, /籍贯、phone/);
      assert.match(err.en, /unknown columns in the header: 籍贯, phone/);
      return true;
    });
    await assert.rejects(csv('id_no,name,姓名\n'), /columns appear twice in the header: 姓名/);
    await assert.rejects(csv('id_no,备注\n1,x\n'), (err: AppError) => /required columns are missing: name \(姓名\)/.test(err.en) && /缺少必填列：姓名\(name\)/.test(err.zh));
  });

  it('a record of the wrong width is a row problem, not a failed file; blank lines are skipped', async () => {
    const rows = await csv('id_no,name\n1,a\n\n2,b,extra\n3,c\n', undefined, ITEMS.slice(0, 2));
    assert.deepEqual(
      rows.map((r) => [r.rowNumber, r.problem?.reasonEn ?? r.record.join('|')]),
      [
        [2, '1|a'],
        [4, '3 columns where the header has 2'],
        [5, '3|c'],
      ],
    );
  });

  it('an optional _delete column marks explicit deletes', async () => {
    const rows = await csv('id_no,name,_delete\n1,a,\n2,,1\n3,,true\n4,d,0\n5,e,maybe\n', undefined, ITEMS.slice(0, 2));
    assert.deepEqual(
      rows.map((r) => [r.rowNumber, r.delete === true, r.problem?.column]),
      [
        [2, false, undefined],
        [3, true, undefined],
        [4, true, undefined],
        [5, false, undefined],
        [6, false, '_delete'],
      ],
    );
  });

  it('refuses UTF-16, and a file announced as UTF-8 (BOM) that is not', async () => {
    await assert.rejects(all(readCsv(chunks(Buffer.from('\uFEFFid_no\n1\n', 'utf16le')), ITEMS)), /UTF-16/);
    const bad = Buffer.concat([Buffer.from('\uFEFFid_no,name\n1,', 'utf8'), iconv.encode('张三', 'gbk'), Buffer.from('\n')]);
    await assert.rejects(all(readCsv(chunks(bad), ITEMS.slice(0, 2))), /not valid UTF-8/);
  });

  it('UTF-8 that turns invalid after the sniffed prefix is refused, not garbled', async () => {
    const head = Buffer.from(`id_no,name\n${'1,鹤\n'.repeat(30_000)}`, 'utf8');
    const bad = Buffer.concat([head, iconv.encode('2,张三\n', 'gbk')]);
    await assert.rejects(all(readCsv(chunks(bad), ITEMS.slice(0, 2))), (err: AppError) => err.code === 'INVALID_REQUEST' && /not valid UTF-8/.test(err.en));
  });

  it('malformed quoting fails with the row number', async () => {
    await assert.rejects(csv('id_no,name\n1,"a"b\n'), /malformed CSV near row 2/);
    await assert.rejects(csv('id_no,name\n1,"abc\n'), /unclosed quote/);
  });
});

describe('XLSX reader', () => {
  it('reads the first worksheet with exceljs streaming; dates, numbers, booleans and rich text as text', async () => {
    const file = join(dir, 'people.xlsx');
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('数据');
    ws.addRow(['姓名', '公民身份号码', '出生日期', '备注', '_delete']);
    ws.addRow(['张三', '410602199001010018', new Date(Date.UTC(1990, 0, 1)), 12.5, null]);
    ws.addRow([{ richText: [{ text: '李' }, { text: '四' }] }, 123456789012, new Date(Date.UTC(2001, 1, 3, 4, 5, 6)), true, null]);
    ws.addRow([]);
    ws.addRow([null, '410602199001010026', null, null, 1]);
    ws.getColumn(3).numFmt = 'yyyy-mm-dd';
    wb.addWorksheet('说明').addRow(['not', 'data']);
    await wb.xlsx.writeFile(file);

    const rows = await all(readXlsx(file, ITEMS));
    assert.deepEqual(rows, [
      { rowNumber: 2, record: ['410602199001010018', '张三', '1990-01-01', '12.5'] },
      { rowNumber: 3, record: ['123456789012', '李四', '2001-02-03 04:05:06', 'true'] },
      { rowNumber: 5, record: ['410602199001010026', undefined, undefined, undefined], delete: true },
    ]);
    // Also as a byte stream (the HTTP path).
    const { readFile } = await import('node:fs/promises');
    assert.deepEqual(await all(openReader('xlsx', chunks(await readFile(file), 4096), ITEMS)), rows);
  });

  it('keeps Chinese text whole where the sheet XML is cut into chunks (exceljs decodes each chunk alone)', async () => {
    const file = join(dir, 'chinese.xlsx');
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('数据');
    ws.addRow(['公民身份号码', '姓名', '备注']);
    const note = (i: number) => `河南省鹤壁市淇滨区九州路${i}号${'鹤壁淇滨'.repeat(1 + (i % 7))}`;
    for (let i = 0; i < 5000; i++) ws.addRow([String(i), `张${i}`, note(i)]);
    await wb.xlsx.writeFile(file);
    // This process loaded exceljs unpatched (above, to write); the reader must still decode correctly.
    const rows = await all(readXlsx(file, ITEMS));
    assert.equal(rows.length, 5000);
    const broken = rows.filter((r) => JSON.stringify(r.record).includes('\uFFFD'));
    assert.deepEqual(
      broken.map((r) => r.rowNumber),
      [],
    );
    assert.equal(rows[4321]!.record[3], note(4321));
  });

  it('refuses unknown headers in a sheet too', async () => {
    const file = join(dir, 'bad.xlsx');
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('s').addRow(['公民身份号码', '姓名', '电话']);
    await wb.xlsx.writeFile(file);
    await assert.rejects(all(readXlsx(file, ITEMS)), /unknown columns in the header: 电话/);
  });
});

describe('NDJSON reader', () => {
  const nd = (text: string, size?: number) => all(readNdjson(chunks(Buffer.from(text, 'utf8'), size), ITEMS));

  it('one object per line, keys by code or Chinese name, {"_delete": true} deletes', async () => {
    const text = [
      '{"id_no":"1","姓名":"张三","birth":"2024-01-02"}',
      '',
      '{"id_no":2,"name":"李四","note":null}\r',
      '{"_delete":true,"公民身份号码":"1"}',
      'not json',
      '[1,2]',
      '{"id_no":"3","phone":"138"}',
      '{"id_no":"4","name":"a","姓名":"b"}',
      '{"id_no":"5","name":"末行无换行"}',
    ].join('\n');
    const rows = await nd(text, 7);
    assert.deepEqual(
      rows.map((r) => [r.rowNumber, r.delete === true, r.problem?.reasonEn ?? r.record]),
      [
        [1, false, ['1', '张三', '2024-01-02', undefined]],
        [3, false, [2, '李四', undefined, null]],
        [4, true, ['1', undefined, undefined, undefined]],
        [5, false, 'not valid JSON'],
        [6, false, 'each line must be a JSON object'],
        [7, false, 'unknown keys: phone'],
        [8, false, 'item name given twice'],
        [9, false, ['5', '末行无换行', undefined, undefined]],
      ],
    );
  });

  it('is UTF-8 only', async () => {
    await assert.rejects(all(readNdjson(chunks(iconv.encode('{"姓名":"张三"}\n'.repeat(10), 'gb18030')), ITEMS)), /not valid UTF-8/);
  });
});
