/** @module Tests of Chinese-aware search tokens, alone and through CatalogStore's FTS5 table. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleCatalogContents } from '../../test/helpers/catalog-samples.ts';
import { entryView, type EntryView } from '../../protocol/catalog-view.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { CatalogStore } from './catalog-store.ts';
import { ENGINE_TEST_MIGRATIONS as NODE_MIGRATIONS } from '../../test/helpers/migrations.ts';
import { openDatabase, type Db } from '../storage/db.ts';
import { indexTokens, matchExpression } from './search-text.ts';

describe('indexTokens', () => {
  it('indexes overlapping bigrams of Han runs and every Han character once', () => {
    const t = indexTokens('人口基础信息');
    assert.equal(t.bi, '人口 口基 基础 础信 信息');
    assert.equal(t.uni, '人 口 基 础 信 息');
  });

  it('keeps a one-character Han run as itself and lower-cases Latin/digit words', () => {
    const t = indexTokens('人 GB/T 2261.1 Jc-GAJ');
    assert.equal(t.bi, '人 gb t 2261 1 jc gaj');
    assert.equal(t.uni, '人');
  });

  it('splits Han runs at punctuation and normalises full-width forms (NFKC)', () => {
    const t = indexTokens('社保，参保（ＧＢ）');
    assert.equal(t.bi, '社保 参保 gb');
    assert.deepEqual(t.uni.split(' ').sort(), ['保', '参', '社'].sort());
  });

  it('returns empty columns for text without words', () => {
    assert.deepEqual(indexTokens('，。！？ --- ()'), { bi: '', uni: '' });
  });
});

describe('matchExpression', () => {
  it('turns a Han run into a phrase of its bigrams in the bi column', () => {
    assert.equal(matchExpression('人口'), 'bi : "人口"');
    assert.equal(matchExpression('人口基础'), 'bi : "人口 口基 基础"');
  });

  it('searches a single Han character in the uni column', () => {
    assert.equal(matchExpression('人'), 'uni : "人"');
  });

  it('ANDs terms, Latin words as lower-case prefixes', () => {
    assert.equal(matchExpression('不动产 登记'), 'bi : "不动 动产" AND bi : "登记"');
    assert.equal(matchExpression('GB'), 'bi : "gb"*');
  });

  it('is null when the query has no searchable token', () => {
    for (const q of ['', '   ', '，。！？', '"', '*', '()', '-:^']) assert.equal(matchExpression(q), null, JSON.stringify(q));
  });

  it('never lets FTS5 syntax through: operators become quoted terms', () => {
    assert.equal(matchExpression('人口 NEAR 法人'), 'bi : "人口" AND bi : "near"* AND bi : "法人"');
    assert.equal(matchExpression('"人口" OR (社保*)'), 'bi : "人口" AND bi : "or"* AND bi : "社保"');
  });
});

describe('full-text search through CatalogStore (FTS5)', () => {
  let dir: string;
  let db: Db;
  let store: CatalogStore;
  const ids = new Map<string, string>();
  const names = (items: EntryView[]) => items.map((v) => v.content.name as string).sort();
  const find = (q: string) => names(store.search({ q, limit: 100, offset: 0 }).items);

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-search-'));
    db = openDatabase(join(dir, 'test.db'), NODE_MIGRATIONS);
    store = new CatalogStore(db);
    sampleCatalogContents().forEach((content, i) => {
      const id = `41080${2 + (i % 2)}-0000000${i}-0000-4000-8000-000000000000`;
      ids.set(content.name, id);
      // One approved entry carries a code, one a Latin standard name in its abstract.
      const review = i === 0 ? { status: 'approved', code: '410800-410802-J-jc-gaj-000001' } : {};
      const c = i === 3 ? { ...content, abstract: `${content.abstract}编码遵循 GB/T 2260。` } : content;
      store.put(entryView(id, c as Record<string, unknown>, review), { state: Uint8Array.of(0, 0), sv: '' }, `2024-05-0${i + 1}T00:00:00.000Z`);
    });
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two-character queries find the entries that contain them', () => {
    assert.deepEqual(find('人口'), ['人口基础信息']);
    assert.deepEqual(find('社保'), ['社保参保信息']);
    assert.deepEqual(find('法人'), ['法人基础信息']);
  });

  it('a single character matches the last character of a run (人 finds 法人), and only entries containing it', () => {
    const found = find('人');
    assert.ok(found.includes('法人基础信息'));
    assert.equal(found.length, 7);
    assert.ok(!found.includes('婚姻登记信息'), '婚姻登记信息 has no 人');
  });

  it('several terms are ANDed', () => {
    assert.equal(find('登记').length, 3, '登记 alone: 法人, 不动产, 婚姻');
    assert.deepEqual(find('不动产 登记'), ['不动产登记信息']);
    assert.deepEqual(find('婚姻 不动产'), []);
  });

  it('a phrase must be contiguous: 人口基础 matches, 口础 does not', () => {
    assert.deepEqual(find('人口基础'), ['人口基础信息']);
    assert.deepEqual(find('口础'), []);
    assert.deepEqual(find('人基'), ['法人基础信息'], '法人基础 does contain 人基');
  });

  it('Latin queries match codes and standard names, case-insensitively and by prefix', () => {
    assert.deepEqual(find('jc-gaj'), ['人口基础信息']);
    assert.deepEqual(find('JC-GA'), ['人口基础信息']);
    assert.deepEqual(find('GB'), ['不动产登记信息']);
    assert.deepEqual(find('GB 不动产'), ['不动产登记信息']);
    assert.deepEqual(find('GB 人口'), []);
  });

  it('a punctuation-only query returns nothing without throwing', () => {
    for (const q of ['，。！？', '"', '***', '()']) assert.deepEqual(store.search({ q, limit: 10, offset: 0 }), { total: 0, items: [] }, q);
  });

  it('FTS5 special characters and operators in a query do not throw', () => {
    const queries = [
      '"人口',
      '人口"',
      '人口*',
      '*人口',
      '(人口',
      '人口)',
      'NEAR',
      'NEAR(人口 法人)',
      '人口 AND',
      'OR 人口',
      'NOT',
      '-人口',
      'bi:人口',
      'uni : 人',
      '^人口',
      '{bi uni}: 人口',
      '人口 + 法人',
    ];
    for (const q of queries) {
      const r = store.search({ q, limit: 10, offset: 0 });
      assert.equal(r.total, r.items.length, q);
    }
    assert.deepEqual(find('"人口'), ['人口基础信息']);
    assert.deepEqual(find('bi:人口'), [], 'bi is a search word here, not a column filter');
  });

  it('search combines with county, department and status filters and reports the total', () => {
    const byCounty = store.search({ q: '人', county: '410802', limit: 100, offset: 0 });
    assert.ok(byCounty.items.every((v) => v.county === '410802'));
    assert.equal(byCounty.total, byCounty.items.length);
    assert.deepEqual(names(store.search({ q: '信息', dept: 'jc-scjgj', limit: 100, offset: 0 }).items), ['法人基础信息', '营业执照信息']);
    assert.deepEqual(names(store.search({ q: '人', status: 'approved', limit: 100, offset: 0 }).items), ['人口基础信息']);
    const page = store.search({ q: '人', limit: 2, offset: 0 });
    assert.equal(page.total, 7);
    assert.equal(page.items.length, 2);
    assert.equal(ids.size, 8);
  });
});
