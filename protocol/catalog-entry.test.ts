// Tests for catalog entry schemas: samples, regulation-derived rules and their error paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { readFileSync } from 'node:fs';
import { CATALOG_RULES, CatalogContent, CatalogContentPatch, CatalogEntryView, CatalogReview, deriveEntryStatus, mergeCatalogContent, REVIEW_KEYS, type CatalogContentInput } from './catalog-entry.ts';
import { sampleCatalogContents } from '../test/helpers/catalog-samples.ts';
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
  assert.deepEqual(
    all.map((c) => c.name),
    ['人口基础信息', '法人基础信息', '营业执照信息', '不动产登记信息', '社保参保信息', '公积金缴存信息', '婚姻登记信息', '企业纳税信用等级'],
  );
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
  assert.deepEqual(
    formatZodIssues(r.error!).map((i) => [i.path, i.code]),
    [['dataItems', 'too_small']],
  );
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
    {
      item: 'gender',
      values: [
        { code: '1', label: '男' },
        { code: '1', label: '女' },
      ],
    },
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
  assert.deepEqual(
    formatZodIssues(bad.error!).map((i) => i.path),
    ['sharing.legalBasis'],
  );

  const withdrawn = mergeCatalogContent(base, { withdrawn: true });
  assert.equal(withdrawn.data!.withdrawn, true);
  assert.equal(mergeCatalogContent(withdrawn.data!, { name: '改名' }).data!.withdrawn, true, 'omitting withdrawn keeps it');
});

test('CatalogReview: reason when rejected, code when approved (Jincheng §13)', () => {
  assert.equal(CatalogReview.safeParse({ status: 'pending' }).success, true);
  assert.deepEqual(paths(CatalogReview, { status: 'rejected' }), ['reason']);
  assert.deepEqual(paths(CatalogReview, { status: 'approved' }), ['code']);
  assert.equal(
    CatalogReview.safeParse({
      status: 'approved',
      code: '140500/GAJ-00001',
      reviewer: '市大数据应用局 张三',
      reviewedAt: '2024-03-02T09:30:00+08:00',
    }).success,
    true,
  );
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
  const view = { id: '140525-01943a2b-7c3d-7e2f-9a7b-1c2d3e4f5a6b', county: '140525', content, review, status: 'approved', code: '140500/GAJ-00001', updatedAt: '2024-03-02T01:30:00Z' };
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

// --------------------------------------------------------------- rule ids (PROTOCOL.md §7.4, §7.5, §7.7)

type Mutable = Record<string, any>;
/** Issues whose message and params name `rule`, as [path, message] pairs. */
function ruleIssues(schema: z.ZodType, value: unknown, rule: string): string[] {
  const r = schema.safeParse(value);
  assert.equal(r.success, false, `${rule}: expected a validation error`);
  const named = r.error!.issues.filter((i) => (i as { params?: { rule?: string } }).params?.rule === rule);
  for (const i of named) assert.ok(i.message.startsWith(`[${rule}] `), `${rule}: message names the rule: ${i.message}`);
  // The API's formatting keeps the id: formatZodIssues rows carry the message.
  const rows = formatZodIssues(r.error!).filter((row) => row.message.startsWith(`[${rule}] `));
  assert.equal(rows.length, named.length);
  return rows.map((row) => row.path);
}

/** One violation per rule, built from a valid sample; the path is where the issue is reported. */
const VIOLATIONS: Record<string, { path: string; make: () => Mutable; schema?: z.ZodType }> = {
  'CE-1': {
    path: 'dataItems.1.name',
    make: () => {
      const c: Mutable = population();
      c.dataItems[1].name = c.dataItems[0].name;
      return c;
    },
  },
  'CE-2': {
    path: 'dataItems.1.code',
    make: () => {
      const c: Mutable = population();
      c.dataItems[1].code = c.dataItems[0].code;
      return c;
    },
  },
  'CE-3': {
    path: 'dataItems.0.type',
    make: () => {
      const c: Mutable = population();
      c.dataItems[0].type = 'integer';
      return c;
    },
  },
  'CE-4': {
    path: 'dataItems.0.length',
    make: () => {
      const c: Mutable = population();
      c.dataItems[0].length = 15;
      return c;
    },
  },
  'CE-5': {
    path: 'sharing.legalBasis',
    make: () => {
      const c: Mutable = realEstate();
      c.sharing.legalBasis = ' \u3000';
      return c;
    },
  },
  'CE-6': {
    path: 'sharing.scope',
    make: () => {
      const c: Mutable = realEstate();
      delete c.sharing.scope;
      delete c.sharing.conditions;
      return c;
    },
  },
  'CE-7': {
    path: 'sharingMethods.1',
    make: () => {
      const c: Mutable = population();
      c.sharingMethods = ['api', 'api'];
      return c;
    },
  },
  'CE-8': {
    path: 'sharingMethods',
    make: () => {
      const c: Mutable = realEstate();
      c.sharingMethods = [];
      return c;
    },
  },
  'CE-9': {
    path: 'open.basis',
    make: () => {
      const c: Mutable = realEstate();
      c.open = { attribute: 'not_open' };
      return c;
    },
  },
  'CE-10': {
    path: 'open.conditions',
    make: () => {
      const c: Mutable = realEstate();
      c.open = { attribute: 'conditional', basis: '依申请', methods: ['api'] };
      return c;
    },
  },
  'CE-11': {
    path: 'open.methods',
    make: () => {
      const c: Mutable = realEstate();
      c.open.methods = ['api'];
      return c;
    },
  },
  'CE-12': {
    path: 'open.methods',
    make: () => {
      const c: Mutable = population();
      c.sharing = { attribute: 'unconditional' };
      c.open = { attribute: 'unconditional' };
      return c;
    },
  },
  'CE-13': {
    path: 'open.methods.1',
    make: () => {
      const c: Mutable = population();
      c.open = { attribute: 'unconditional', methods: ['api', 'api'] };
      return c;
    },
  },
  'CE-14': {
    path: 'open.attribute',
    make: () => {
      const c: Mutable = realEstate();
      c.open = { attribute: 'unconditional', methods: ['download'] };
      return c;
    },
  },
  'CE-15': {
    path: 'baseCategory',
    make: () => {
      const c: Mutable = population();
      delete c.baseCategory;
      return c;
    },
  },
  'CE-16': {
    path: 'sharing.attribute',
    make: () => {
      const c: Mutable = population();
      c.sharing = { attribute: 'not_shared', legalBasis: '《保密法》' };
      c.sharingMethods = [];
      return c;
    },
  },
  'CE-17': {
    path: 'dataItems',
    make: () => {
      const c: Mutable = population();
      c.dataItems[0].identifier = null;
      return c;
    },
  },
  'CE-18': {
    path: 'baseCategory',
    make: () => {
      const c: Mutable = realEstate();
      c.baseCategory = 'population';
      return c;
    },
  },
  'CE-19': {
    path: 'grading',
    make: () => {
      const c: Mutable = population();
      c.grading = 'L2';
      return c;
    },
  },
  'CE-20': {
    path: 'dataDictionary.1.item',
    make: () => {
      const c: Mutable = population();
      c.dataDictionary.push({ ...c.dataDictionary[0] });
      return c;
    },
  },
  'CE-21': {
    path: 'dataDictionary.0.item',
    make: () => {
      const c: Mutable = population();
      c.dataDictionary[0].item = 'no_such_item';
      return c;
    },
  },
  'CE-22': {
    path: 'dataDictionary.0.values.1.code',
    make: () => {
      const c: Mutable = population();
      c.dataDictionary[0].values[1].code = c.dataDictionary[0].values[0].code;
      return c;
    },
  },
  'CE-23': {
    path: 'sharing.platformAuthorized',
    make: () => {
      const c: Mutable = population();
      c.sharing.platformAuthorized = true; // population base data is unconditional: nothing to authorise
      return c;
    },
  },
  'CR-1': { path: 'reason', schema: CatalogReview, make: () => ({ status: 'rejected', reason: '\u3000', reviewer: 'a', reviewedAt: '2025-01-02T03:04:05.000Z', code: null, contentHash: null }) },
  'CR-2': { path: 'code', schema: CatalogReview, make: () => ({ status: 'approved', reason: null, reviewer: 'a', reviewedAt: '2025-01-02T03:04:05.000Z', code: null }) },
  'CV-1': { path: 'status', schema: CatalogEntryView, make: () => ({ ...approvedView(), status: 'pending' }) },
  'CV-2': { path: 'code', schema: CatalogEntryView, make: () => ({ ...approvedView(), code: 'OTHER-1' }) },
  'CV-3': { path: 'county', schema: CatalogEntryView, make: () => ({ ...approvedView(), county: '140526' }) },
};

function approvedView(): Mutable {
  return {
    id: '140525-01943a2b-7c3d-7e2f-9a7b-1c2d3e4f5a6b',
    county: '140525',
    content: CatalogContent.parse(population()),
    review: { status: 'approved', code: '140500/GAJ-00001' },
    status: 'approved',
    code: '140500/GAJ-00001',
    reviewStale: false,
    updatedAt: '2024-03-02T01:30:00.000Z',
  };
}

test('every cross-field rule has a stable id, and its violation yields an issue naming it', () => {
  assert.deepEqual(Object.keys(VIOLATIONS), Object.keys(CATALOG_RULES), 'one violation case per rule, in id order');
  for (const [rule, v] of Object.entries(VIOLATIONS)) {
    const schema = v.schema ?? CatalogContent;
    const paths = ruleIssues(schema, v.make(), rule);
    assert.deepEqual(paths, [v.path], `${rule} is reported once, at ${v.path}`);
  }
  // No rule fires on the valid samples (their issues would name a rule).
  for (const c of sampleCatalogContents()) assert.ok(CatalogContent.safeParse(c).success, c.name);
});

test('blank means empty after ECMAScript trim: U+3000 and U+00A0 count as white space (CE-5, CE-6, CE-9, CE-10, CR-1)', () => {
  const c: Mutable = realEstate();
  c.sharing.legalBasis = '\u00a0\u3000\t\n';
  assert.deepEqual(ruleIssues(CatalogContent, c, 'CE-5'), ['sharing.legalBasis']);
  c.sharing.legalBasis = '\u200b'; // ZERO WIDTH SPACE is not white space to String.prototype.trim
  assert.ok(CatalogContent.safeParse(c).success);
});

test('PROTOCOL.md lists exactly the rule ids of CATALOG_RULES, in order', () => {
  const spec = readFileSync(new URL('./PROTOCOL.md', import.meta.url), 'utf8');
  const ids = [...spec.matchAll(/^\| `(C[ERV]-\d+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(ids, Object.keys(CATALOG_RULES));
});

test('REVIEW_KEYS are the members of CatalogReview, and PROTOCOL.md §7.5 lists exactly them', () => {
  assert.deepEqual([...REVIEW_KEYS].sort(), Object.keys(CatalogReview.shape).sort());
  const spec = readFileSync(new URL('./PROTOCOL.md', import.meta.url), 'utf8');
  const section = spec.slice(spec.indexOf('### 7.5 `review`'), spec.indexOf('### 7.6'));
  const keys = [...section.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(keys, [...REVIEW_KEYS]);
});
