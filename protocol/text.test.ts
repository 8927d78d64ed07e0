/** @module Lone UTF-16 surrogates are refused by every replicated text field (issue 10), with the field's path and a zh / en message. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { ApplicationEvent, ApplicationRequest } from './application.ts';
import { CatalogContent, CatalogContentPatch, CatalogReview } from './catalog-entry.ts';
import { sampleCatalogContents } from '../test/helpers/catalog-samples.ts';
import { Grant } from './grant.ts';
import { AccessVerify } from './sharing-messages.ts';
import { isWellFormedText, LONE_SURROGATE_MESSAGE, safeText } from './text.ts';

const LONE = ['\uD800', '\uDFFF', 'a\uDC00b', '前\uDBFF'];

/** Every string leaf of `v` with its path. */
function stringLeaves(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof v === 'string') return [path];
  if (Array.isArray(v)) return v.flatMap((x, i) => stringLeaves(x, [...path, i]));
  if (typeof v === 'object' && v !== null) return Object.entries(v).flatMap(([k, x]) => stringLeaves(x, [...path, k]));
  return [];
}

function setAt(root: unknown, path: (string | number)[], f: (s: string) => string): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  o[last] = f(o[last] as string);
  return copy;
}

function refusesAt(schema: z.ZodType, value: unknown, path: (string | number)[]): void {
  const r = schema.safeParse(value);
  assert.equal(r.success, false, `accepted a lone surrogate at ${path.join('.')}`);
  assert.ok(
    r.error!.issues.some((i) => i.path.join('.') === path.join('.')),
    `no issue at ${path.join('.')}: ${JSON.stringify(r.error!.issues)}`,
  );
}

describe('safe text', () => {
  it('isWellFormedText: lone surrogates are refused, pairs (emoji, CJK extension B) and plain text pass', () => {
    for (const s of LONE) assert.equal(isWellFormedText(s), false, JSON.stringify(s));
    for (const s of ['', 'abc', '人口基础信息', '😀', '𠀀𪚥', 'a\uD83D\uDE00b']) assert.equal(isWellFormedText(s), true, s);
    assert.equal(isWellFormedText('\uDE00\uD83D'), false, 'a reversed pair is two lone halves');
  });

  it('safeText: one custom issue with a zh / en message', () => {
    const r = safeText(10).safeParse('x\uD800');
    assert.equal(r.success, false);
    assert.deepEqual(
      r.error!.issues.map((i) => [i.code, i.message]),
      [['custom', LONE_SURROGATE_MESSAGE]],
    );
    assert.match(LONE_SURROGATE_MESSAGE, /代理项/);
    assert.match(LONE_SURROGATE_MESSAGE, /lone UTF-16 surrogate/);
  });

  it('CatalogContent and the patch refuse a lone surrogate in every string field, at its path', () => {
    for (const sample of sampleCatalogContents()) {
      const content = CatalogContent.parse(sample);
      const leaves = stringLeaves(content);
      assert.ok(leaves.length > 10);
      for (const path of leaves) {
        refusesAt(
          CatalogContent,
          setAt(content, path, (s) => `${s}\uD800`),
          path,
        );
        refusesAt(
          CatalogContentPatch,
          setAt(content, path, (s) => `${s}\uDC00`),
          path,
        );
      }
      // Well-formed astral text is fine.
      assert.equal(CatalogContent.safeParse({ ...content, abstract: `${content.abstract}😀𠀀` }).success, true);
    }
  });

  it('the free-text fields say why', () => {
    const content = CatalogContent.parse(sampleCatalogContents()[0]);
    for (const path of [['name'], ['abstract'], ['provider', 'name'], ['dataItems', 0, 'name'], ['sharing', 'legalBasis']]) {
      const bad = setAt({ ...content, sharing: { ...content.sharing, legalBasis: '依据' } }, path, (s) => `${s}\uD800`);
      const r = CatalogContent.safeParse(bad);
      assert.ok(
        r.error!.issues.some((i) => i.path.join('.') === path.join('.') && i.message === LONE_SURROGATE_MESSAGE),
        path.join('.'),
      );
    }
  });

  it('the review, applications, grants and verify claims refuse them too', () => {
    refusesAt(CatalogReview, { status: 'rejected', reason: '理由\uD800' }, ['reason']);
    const request = {
      resource: '410602-01950000-0000-7000-8000-000000000001',
      items: ['name'],
      purpose: '最低生活保障资格审核',
      scenario: '民政部门审核低保申请人',
      methods: ['query'],
      period: { from: '2025-01-01T00:00:00Z', until: '2025-06-01T00:00:00Z' },
    };
    assert.equal(ApplicationRequest.safeParse(request).success, true);
    refusesAt(ApplicationRequest, { ...request, purpose: '用途\uD800' }, ['purpose']);
    refusesAt(ApplicationRequest, { ...request, scenario: '\uDFFF场景' }, ['scenario']);
    refusesAt(ApplicationEvent, { type: 'provider_refuse', reason: '理由\uD800', basis: '依据' }, ['reason']);
    refusesAt(ApplicationEvent, { type: 'compliance_approve', note: '\uD800' }, ['note']);
    const grant = {
      grantId: '01950000-0000-7000-8000-0000000000a1',
      applicationId: 'app-1',
      consumer: { nodeId: 'county-410811', county: '410811', department: 'jc-mzj' },
      provider: { county: '410602', department: 'hb-gaj' },
      resource: '410602-01950000-0000-7000-8000-000000000001',
      resourceCode: null,
      items: ['name'],
      rowFilter: null,
      methods: ['query'],
      purpose: '用途',
      scenario: '场景',
      desensitization: { name: 'name' },
      validFrom: '2025-01-01T00:00:00Z',
      validUntil: '2026-01-01T00:00:00Z',
      verifyRatePerMinute: 60,
      issuedAt: '2024-12-31T00:00:00Z',
      issuer: 'hub-410600',
      policy: 'jincheng',
    };
    assert.equal(Grant.safeParse(grant).success, true);
    refusesAt(Grant, { ...grant, purpose: '用途\uD800' }, ['purpose']);
    refusesAt(AccessVerify, { method: 'verify', subject: { item: 'id_no', value: 'x' }, claims: { name: '张\uD800' } }, ['claims', 'name']);
  });
});
