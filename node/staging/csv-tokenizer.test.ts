import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { mulberry32, type Prng } from '../../test/helpers/prng.ts';
import { CsvTokenizer } from './readers/csv-tokenizer.ts';

function tokenize(text: string, rnd: Prng): string[][] {
  const t = new CsvTokenizer();
  const out: string[][] = [];
  let i = 0;
  while (i < text.length) {
    const n = 1 + rnd.int(rnd.chance(0.5) ? 8 : 4000);
    t.push(text.slice(i, i + n), (f) => out.push(f));
    i += n;
  }
  t.end((f) => out.push(f));
  return out;
}

const PIECES = ['a', 'bc', '鹤壁', '𠀀', ' ', '1', ',', '"', '\n', '\r\n', '""'];

function field(rnd: Prng): string {
  let s = '';
  const len = rnd.int(6);
  for (let i = 0; i < len; i++) s += rnd.pick(PIECES);
  return s;
}

/** A CSV file as spreadsheets and scripts write them: fields with specials quoted, some others too. */
function file(rnd: Prng): string {
  const eol = rnd.chance(0.5) ? '\n' : '\r\n';
  const width = 1 + rnd.int(5);
  const lines: string[] = [];
  const records = rnd.int(40);
  for (let r = 0; r < records; r++) {
    const cells: string[] = [];
    for (let c = 0; c < width; c++) {
      const f = field(rnd);
      cells.push(/[",\r\n]/.test(f) || rnd.chance(0.2) ? `"${f.replace(/"/g, '""')}"` : f);
    }
    lines.push(cells.join(','));
  }
  return lines.join(eol) + (records > 0 && rnd.chance(0.7) ? eol : '');
}

describe('CSV tokenizer', () => {
  it('yields the same records as csv-parse for 2,000 random files, whatever the chunking', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const rnd = mulberry32(seed);
      const text = file(rnd);
      const expected = parse(text, { relax_column_count: true }) as string[][];
      assert.deepEqual(tokenize(text, rnd), expected, `seed ${seed}: ${JSON.stringify(text)}`);
    }
  });

  it('handles CRLF, a last line without line end, empty fields and quoted line breaks', () => {
    const rnd = mulberry32(7);
    assert.deepEqual(tokenize('a,b\r\n,"x\r\ny"\r\n"",\r\nlast,1', rnd), [
      ['a', 'b'],
      ['', 'x\r\ny'],
      ['', ''],
      ['last', '1'],
    ]);
  });

  it('refuses text after a closing quote and an unclosed quote at the end', () => {
    const rnd = mulberry32(8);
    assert.throws(() => tokenize('h\n"a"b\n', rnd), /malformed CSV near row 2/);
    assert.throws(() => tokenize('h\nx\n"abc', rnd), /unclosed quote/);
  });
});
