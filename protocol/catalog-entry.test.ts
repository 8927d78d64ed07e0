// Tests for catalog entry schemas: samples, regulation-derived rules and their error paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import {
  CatalogContent, CatalogContentPatch, CatalogEntryView, CatalogReview, deriveEntryStatus, mergeCatalogContent,
  type CatalogContentInput,
} from './catalog-entry.ts';
import { sampleCatalogContents } from './catalog-samples.ts';
import { schemas } from './schemas.ts';
import { formatZodIssues } from './validation-error.ts';

/** Dotted paths of the issues `schema` reports for `value` (fails if it parses). */
function paths(schema: z.ZodType, value: unknown): string[] {
  const r = schema.safeParse(value);
  assert.equal(r.success, false, 'expected a validation error');
  return formatZodIssues(r.error!).map((i) => i.path);
}

const sample = (name: string): CatalogContentInput => {
  const found = sampleCatalogContents().find((c) => c.name === name);
  assert.ok(found, name);
  return found;
};
const population = (): CatalogContentInput => sample('人口基础信息');
const realEstate = (): CatalogContentInput => sample('不动产登记信息');

test('all samples are valid and cover the eight named resources', () => {
  const all = sampleCatalogContents();
  assert.deepEqual(all.map((c) => c.name), [
    '人口基础信息', '法人基础信息', '营业执照信息', '不动产登记信息', '社保参保信息', '公积金缴存信息', '婚姻登记信息', '企业纳税信用等级',
  ]);
  for (const c of all) {
    const r = CatalogContent.safeParse(c);
    assert.ok(r.success, `${c.name}: ${JSON.stringify(r.error && formatZodIssues(r.error))}`);
    assert.deepEqual(r.data, c, `${c.name} is already in output form`);
  }
  assert.notEqual(sampleCatalogContents()[0], sampleCatalogContents()[0], 'fresh objects per call');
});

test('营业执照信息 from 市场监督管理局 carries a valid provider credit code', () => {
  const c = CatalogContent.parse(sample('营业执照信息'));
  assert.equal(c.provider.name, '晋城市市场监督管理局');
  assert.equal(c.provider.creditCode, '111405000125380271');
});

test('defaults: sensitive=false, identifier=null, withdrawn=false', () => {
  const input = population();
  delete input.withdrawn;
  input.dataItems = input.dataItems.map(({ sensitive: _s, identifier: _i, ...rest }) => rest);
  input.dataItems[0]!.identifier = 'citizen_id';
  input.grading = 'L3';
  const c = CatalogContent.parse(input);
  assert.equal(c.withdrawn, false);
  assert.equal(c.dataItems[1]!.sensitive, false);
  assert.equal(c.dataItems[1]!.identifier, null);
});

test('conditional sharing needs a legal basis (Jiyuan §14, Hebi §14, Jincheng §23)', () => {
  const c = realEstate();
  delete c.sharing.legalBasis;
  assert.deepEqual(paths(CatalogContent, c), ['sharing.legalBasis']);
  c.sharing.legalBasis = '   ';
  assert.deepEqual(paths(CatalogContent, c), ['sharing.legalBasis']);
});

test('not-shared needs a legal basis; it may have no sharing method', () => {
  const c = realEstate();
  c.sharing = { attribute: 'not_shared' };
  c.sharingMethods = [];
  assert.deepEqual(paths(CatalogContent, c), ['sharing.legalBasis']);
  c.sharing.legalBasis = '《中华人民共和国保守国家秘密法》';
  assert.equal(CatalogContent.safeParse(c).success, true);
});

test('conditional sharing needs a scope or conditions (Jincheng §23)', () => {
  const c = realEstate();
  delete c.sharing.scope;
  assert.deepEqual(paths(CatalogContent, c), ['sharing.scope']);
  c.sharing.conditions = '仅提供核验结果';
  assert.equal(CatalogContent.safeParse(c).success, true);
});

test('sharing methods: non-empty for shared data, unique', () => {
  const c = population();
  c.sharingMethods = [];
  assert.deepEqual(paths(CatalogContent, c), ['sharingMethods']);
  c.sharingMethods = ['api', 'api'];
  assert.deepEqual(paths(CatalogContent, c), ['sharingMethods.1']);
  c.sharingMethods = ['ftp' as never];
  assert.deepEqual(paths(CatalogContent, c), ['sharingMethods.0']);
});

test('bad provider credit code is rejected at provider.creditCode', () => {
  const c = population();
  c.provider.creditCode = '111405000125378177';
  assert.deepEqual(paths(CatalogContent, c), ['provider.creditCode']);
  c.provider.creditCode = '11140500012537817O';
  assert.deepEqual(paths(CatalogContent, c), ['provider.creditCode']);
});

test('duplicate data item codes and names are rejected at the later item', () => {
  const c = population();
  c.dataItems[3]!.code = 'gender';
  assert.deepEqual(paths(CatalogContent, c), ['dataItems.3.code']);
  const d = population();
  d.dataItems[4]!.name = '姓名';
  assert.deepEqual(paths(CatalogContent, d), ['dataItems.4.name']);
});

test('unknown fields are rejected, at the root and nested', () => {
  const c = population() as Record<string, unknown>;
  c['colour'] = 'red';
  const r = CatalogContent.safeParse(c);
  assert.deepEqual(formatZodIssues(r.error!), [{ path: 'colour', code: 'unrecognized_keys', message: '未知字段 / unknown field "colour"' }]);
  const d = population();
  (d.dataItems[0] as Record<string, unknown>)['format'] = 'x';
  assert.deepEqual(paths(CatalogContent, d), ['dataItems.0.format']);
});

test('empty dataItems is rejected', () => {
  const c = realEstate();
  c.dataItems = [];
  c.dataDictionary = [];
  const r = CatalogContent.safeParse(c);
  assert.deepEqual(formatZodIssues(r.error!).map((i) => [i.path, i.code]), [['dataItems', 'too_small']]);
});

test('publishDate must be a real YYYY-MM-DD date', () => {
  for (const bad of ['2024-02-30', '2023-02-29', '2024/03/01', '2024-3-1', '2024-03-01T00:00:00Z']) {
    const c = population();
    c.publishDate = bad;
    assert.deepEqual(paths(CatalogContent, c), ['publishDate'], bad);
  }
  const ok = population();
  ok.publishDate = '2024-02-29';
  assert.equal(CatalogContent.safeParse(ok).success, true);
});

test('base entries are shared unconditionally (Jiyuan §15, §32; Hebi §14)', () => {
  const c = population();
  c.sharing = { attribute: 'conditional', scope: '公安', legalBasis: '《中华人民共和国居民身份证法》' };
  assert.deepEqual(paths(CatalogContent, c), ['sharing.attribute']);
});

test('baseCategory is required for base entries and only for them', () => {
  const c = population();
  delete c.baseCategory;
  assert.deepEqual(paths(CatalogContent, c), ['baseCategory']);
  const d = realEstate();
  d.baseCategory = 'natural_resources_geospatial';
  assert.deepEqual(paths(CatalogContent, d), ['baseCategory']);
});

test('population / legal-entity base entries need an identifier item (Jiyuan §20, Hebi §11)', () => {
  const c = population();
  c.dataItems[0]!.identifier = null;
  assert.deepEqual(paths(CatalogContent, c), ['dataItems']);
  const d = sample('法人基础信息');
  d.dataItems[0]!.identifier = 'citizen_id';
  assert.deepEqual(paths(CatalogContent, d), ['dataItems']);
});

test('identifier items are strings of length 18', () => {
  const c = population();
  c.dataItems[0]!.type = 'integer';
  c.dataItems[0]!.length = 20;
  assert.deepEqual(paths(CatalogContent, c), ['dataItems.0.type', 'dataItems.0.length']);
});

test('data item fields: code pattern, positive integer length', () => {
  const c = population();
  c.dataItems[1]!.code = 'Name';
  c.dataItems[2]!.length = 0;
  c.dataItems[3]!.length = 1.5;
  assert.deepEqual(paths(CatalogContent, c), ['dataItems.1.code', 'dataItems.2.length', 'dataItems.3.length']);
});

test('entries with sensitive items are graded L3+ (Jincheng §35, Hebi §26)', () => {
  const c = population();
  c.grading = 'L2';
  assert.deepEqual(paths(CatalogContent, c), ['grading']);
});

test('open attribute rules (Jiyuan §39, Hebi §18-19, Jincheng §9, §11)', () => {
  const c = population();
  c.open = { attribute: 'not_open' };
  assert.deepEqual(paths(CatalogContent, c), ['open.basis']);
  c.open = { attribute: 'not_open', basis: '个人隐私', methods: ['download'] };
  assert.deepEqual(paths(CatalogContent, c), ['open.methods']);
  const t = sample('企业纳税信用等级');
  t.open = { attribute: 'conditional', methods: ['download'] };
  assert.deepEqual(paths(CatalogContent, t), ['open.basis', 'open.conditions']);
  t.open = { attribute: 'unconditional' };
  assert.deepEqual(paths(CatalogContent, t), ['open.methods']);
  const r = realEstate();
  r.open = { attribute: 'unconditional', methods: ['api'] };
  assert.deepEqual(paths(CatalogContent, r), ['open.attribute']);
});

test('data dictionary refers to existing items, once, with unique value codes (Jincheng §10)', () => {
  const c = population();
  c.dataDictionary = [
    { item: 'gender', values: [{ code: '1', label: '男' }, { code: '1', label: '女' }] },
    { item: 'nope', values: [{ code: '1', label: 'x' }] },
    { item: 'gender', values: [{ code: '2', label: '女' }] },
  ];
  assert.deepEqual(paths(CatalogContent, c), ['dataDictionary.2.item', 'dataDictionary.0.values.1.code', 'dataDictionary.1.item']);
});

test('garbage input yields issues, never a throw; root path is ""', () => {
  assert.deepEqual(paths(CatalogContent, 'x'), ['']);
  assert.ok(paths(CatalogContent, {}).includes('dataItems'));
  assert.ok(paths(CatalogContent, { dataItems: 'x', sharing: 5, open: null, dataDictionary: [null] }).length > 0);
});

test('CatalogContentPatch: partial, strict, no defaults; merged result revalidated', () => {
  assert.deepEqual(CatalogContentPatch.parse({}), {});
  assert.deepEqual(CatalogContentPatch.parse({ name: '人口基础信息(2024版)' }), { name: '人口基础信息(2024版)' });
  assert.deepEqual(paths(CatalogContentPatch, { bogus: 1 }), ['bogus']);

  const base = CatalogContent.parse(realEstate());
  const ok = mergeCatalogContent(base, { updateCycle: 'daily', publishDate: undefined });
  assert.equal(ok.success, true);
  assert.equal(ok.data!.updateCycle, 'daily');
  assert.equal('publishDate' in ok.data!, false, 'undefined removes the field');

  const bad = mergeCatalogContent(base, { sharing: { attribute: 'not_shared' } });
  assert.equal(bad.success, false);
  assert.deepEqual(formatZodIssues(bad.error!).map((i) => i.path), ['sharing.legalBasis']);

  const withdrawn = mergeCatalogContent(base, { withdrawn: true });
  assert.equal(withdrawn.data!.withdrawn, true);
  assert.equal(mergeCatalogContent(withdrawn.data!, { name: '改名' }).data!.withdrawn, true, 'omitting withdrawn keeps it');
});

test('CatalogReview: reason when rejected, code when approved (Jincheng §13)', () => {
  assert.equal(CatalogReview.safeParse({ status: 'pending' }).success, true);
  assert.deepEqual(paths(CatalogReview, { status: 'rejected' }), ['reason']);
  assert.deepEqual(paths(CatalogReview, { status: 'approved' }), ['code']);
  assert.equal(CatalogReview.safeParse({
    status: 'approved', code: '140500/GAJ-00001', reviewer: '市大数据应用局 张三', reviewedAt: '2024-03-02T09:30:00+08:00',
  }).success, true);
  assert.equal(CatalogReview.safeParse({ status: 'rejected', reason: '信息项描述不完整（晋城 §11）' }).success, true);
  assert.deepEqual(paths(CatalogReview, { status: 'pending', reviewedAt: '2024-03-02 09:30' }), ['reviewedAt']);
  assert.deepEqual(paths(CatalogReview, { status: 'pending', code: 'a b' }), ['code']);
  assert.deepEqual(paths(CatalogReview, { status: 'approved', code: null, reason: null }), ['code']);
  assert.equal(CatalogReview.safeParse({ status: 'approved', code: 'X1', reason: null, contentHash: 'ab'.repeat(32) }).success, true);
  assert.deepEqual(paths(CatalogReview, { status: 'pending', contentHash: 'AB' }), ['contentHash']);
});

test('CatalogEntryView: derived status and code must match', () => {
  const content = CatalogContent.parse(population());
  const review = CatalogReview.parse({ status: 'approved', code: '140500/GAJ-00001' });
  const view = { id: 'e-1', county: '140525', content, review, status: 'approved', code: '140500/GAJ-00001', updatedAt: '2024-03-02T01:30:00Z' };
  assert.equal(CatalogEntryView.parse(view).reviewStale, false);
  assert.deepEqual(paths(CatalogEntryView, { ...view, status: 'pending' }), ['status']);
  assert.deepEqual(paths(CatalogEntryView, { ...view, code: null }), ['code']);
  assert.deepEqual(paths(CatalogEntryView, { ...view, county: '14052' }), ['county']);
  const gone = { ...view, content: { ...content, withdrawn: true }, status: 'withdrawn' };
  assert.equal(CatalogEntryView.safeParse(gone).success, true);
  assert.equal(deriveEntryStatus({ withdrawn: true }, { status: 'rejected' }), 'withdrawn');
  assert.equal(deriveEntryStatus({ withdrawn: false }, { status: 'pending' }), 'pending');
});

test('every registry schema converts to JSON Schema without throwing', () => {
  for (const [name, schema] of Object.entries(schemas)) {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    assert.equal(json['type'], 'object', name);
  }
});
