/**
 * @module Real entry views (what `entryView` folds from a document the node and the hub wrote) are valid
 * under the published JSON Schema `protocol/schema/CatalogEntryView.schema.json` and under the zod schema:
 * pending (empty review root), approved, rejected, withdrawn, and after a JSON round trip (what the API sends).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { CONTENT_ROOT, encodeEntryState, loadEntryDoc, readRoot, REVIEW_ROOT, writeRoot } from './catalog-doc.ts';
import { CatalogContent, CatalogEntryView, CatalogReview } from './catalog-entry.ts';
import { sampleCatalogContents } from '../test/helpers/catalog-samples.ts';
import { contentHash, entryView } from './catalog-view.ts';
import { loadSodium } from './sodium.ts';

type Schema = Record<string, any>;

/**
 * A JSON Schema 2020-12 validator for the keywords protocol/schema/ uses (no $ref). Patterns are
 * ECMA-262 with the `u` flag, as JSON Schema prescribes; lengths count code points. Returns the
 * failing instance paths (empty: valid).
 */
function validateJson(schema: Schema, value: unknown, path = ''): string[] {
  const fail = (why: string) => [`${path || '(root)'}: ${why}`];
  const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);
  if (schema.anyOf) {
    const ok = (schema.anyOf as Schema[]).some((s) => validateJson(s, value, path).length === 0);
    if (!ok) return fail('matches no anyOf branch');
  }
  if (schema.oneOf) {
    const n = (schema.oneOf as Schema[]).filter((s) => validateJson(s, value, path).length === 0).length;
    if (n !== 1) return fail(`matches ${n} oneOf branches`);
  }
  if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) return fail('const');
  if (schema.enum && !(schema.enum as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(value))) return fail('enum');
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return fail(`type ${t}, expected ${types.join('|')}`);
  }
  const errors: string[] = [];
  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) errors.push(...fail('minLength'));
    if (schema.maxLength !== undefined && length > schema.maxLength) errors.push(...fail('maxLength'));
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) errors.push(...fail(`pattern ${schema.pattern}`));
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(...fail('minimum'));
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(...fail('maximum'));
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) errors.push(...fail('exclusiveMinimum'));
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(...fail('minItems'));
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(...fail('maxItems'));
    const prefix = (schema.prefixItems ?? []) as Schema[];
    value.forEach((v, i) => {
      const s = i < prefix.length ? prefix[i] : schema.items;
      if (s) errors.push(...validateJson(s, v, `${path}/${i}`));
    });
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k of (schema.required ?? []) as string[]) if (!(k in obj)) errors.push(...fail(`required ${k}`));
    for (const [k, v] of Object.entries(obj)) {
      if (schema.propertyNames) errors.push(...validateJson(schema.propertyNames, k, `${path}/${k} (name)`));
      const s = schema.properties?.[k];
      if (s) errors.push(...validateJson(s, v, `${path}/${k}`));
      else if (schema.additionalProperties === false) errors.push(...fail(`additional property ${k}`));
      else if (typeof schema.additionalProperties === 'object') errors.push(...validateJson(schema.additionalProperties, v, `${path}/${k}`));
    }
  }
  return errors;
}

const viewSchema = JSON.parse(readFileSync(new URL('./schema/CatalogEntryView.schema.json', import.meta.url), 'utf8')) as Schema;

const COUNTY_CLIENT = 1234567;
const HUB_CLIENT = 7654321;
const ID = '140525-01943a2b-7c3d-7e2f-9a7b-1c2d3e4f5a6b';
const UPDATED_AT = '2025-01-02T03:04:05.678Z';

/** What the hub writes on a decision (hub/catalog/total-catalog.ts `review`): every review key, null when absent. */
function hubDecision(doc: ReturnType<typeof loadEntryDoc>, decision: 'approve' | 'reject', reason?: string): void {
  const previous = readRoot(doc, REVIEW_ROOT);
  const code = decision === 'approve' ? (typeof previous.code === 'string' ? previous.code : '140500-140525-B-zz-mzj-000001') : (previous.code ?? null);
  const review = CatalogReview.parse({
    status: decision === 'approve' ? 'approved' : 'rejected',
    reason: reason ?? undefined,
    reviewer: '市大数据局 张三',
    reviewedAt: '2025-01-02T03:04:05.000Z',
    code: code ?? undefined,
    contentHash: contentHash(readRoot(doc, CONTENT_ROOT)),
  });
  writeRoot(doc, REVIEW_ROOT, { reason: null, ...review }, 'hub');
}

/** A view as the store keeps and the API returns it: entryView + updatedAt, through JSON. */
function viewOf(doc: ReturnType<typeof loadEntryDoc>): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ ...entryView(ID, readRoot(doc, CONTENT_ROOT), readRoot(doc, REVIEW_ROOT)), updatedAt: UPDATED_AT }));
}

function assertValidView(view: Record<string, unknown>, label: string): void {
  assert.deepEqual(validateJson(viewSchema, view), [], `${label}: valid under CatalogEntryView.schema.json`);
  const parsed = CatalogEntryView.safeParse(view);
  assert.ok(parsed.success, `${label}: valid under the zod schema: ${JSON.stringify(parsed.error?.issues)}`);
}

describe('CatalogEntryView of real entries', () => {
  before(loadSodium);

  it('pending, approved, rejected, withdrawn: every view validates under the JSON Schema and zod', () => {
    for (const sample of sampleCatalogContents()) {
      const doc = loadEntryDoc(COUNTY_CLIENT);
      writeRoot(doc, CONTENT_ROOT, CatalogContent.parse(sample) as Record<string, unknown>);
      const pending = viewOf(doc);
      assert.equal(pending.status, 'pending');
      assert.deepEqual(pending.review, {}, 'a pending entry has an empty review root');
      assertValidView(pending, `${sample.name} pending`);

      // The hub's copy of the entry, as it stores it, writing under its own client id.
      const Y = loadEntryDoc(HUB_CLIENT, encodeEntryState(doc));
      hubDecision(Y, 'reject', '信息项描述不完整');
      const rejected = viewOf(Y);
      assert.equal(rejected.status, 'rejected');
      assert.equal(rejected.code, null);
      assertValidView(rejected, `${sample.name} rejected`);

      hubDecision(Y, 'approve');
      const approved = viewOf(Y);
      assert.equal(approved.status, 'approved');
      assert.equal(approved.reviewStale, false);
      assert.deepEqual(Object.keys(approved.review as object).sort(), ['code', 'contentHash', 'reviewedAt', 'reviewer', 'status']);
      assertValidView(approved, `${sample.name} approved`);

      writeRoot(Y, CONTENT_ROOT, { withdrawn: true });
      const withdrawn = viewOf(Y);
      assert.equal(withdrawn.status, 'withdrawn');
      assert.equal(withdrawn.reviewStale, true, 'the content changed after the approval');
      assertValidView(withdrawn, `${sample.name} withdrawn`);
    }
  });

  it('withdrawn before any review is a valid view with an empty review', () => {
    const doc = loadEntryDoc(COUNTY_CLIENT);
    writeRoot(doc, CONTENT_ROOT, { ...(CatalogContent.parse(sampleCatalogContents()[0]) as Record<string, unknown>), withdrawn: true });
    const view = viewOf(doc);
    assert.equal(view.status, 'withdrawn');
    assertValidView(view, 'withdrawn, never reviewed');
  });

  it('the JSON Schema refuses what is not a view: a review without status, an extra member, a wrong county', () => {
    const doc = loadEntryDoc(COUNTY_CLIENT);
    writeRoot(doc, CONTENT_ROOT, CatalogContent.parse(sampleCatalogContents()[0]) as Record<string, unknown>);
    const view = viewOf(doc);
    assert.notDeepEqual(validateJson(viewSchema, { ...view, review: { reason: 'x' } }), []);
    assert.notDeepEqual(validateJson(viewSchema, { ...view, extra: 1 }), []);
    assert.notDeepEqual(validateJson(viewSchema, { ...view, county: '01234' }), []);
    assert.notDeepEqual(validateJson(viewSchema, { ...view, id: 'e-1' }), []);
    // CV-3 (county = first six characters of id) is a zod rule the JSON Schema cannot express.
    assert.deepEqual(validateJson(viewSchema, { ...view, county: '140526' }), []);
    assert.equal(CatalogEntryView.safeParse({ ...view, county: '140526' }).success, false);
  });
});
