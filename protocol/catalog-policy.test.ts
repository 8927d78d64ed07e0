/** @module Tests of the city-dependent catalog rules. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalogPolicyIssues } from './catalog-policy.ts';
import { loadPolicy, POLICY_PRESETS } from './policy.ts';

const notShared = { attribute: 'not_shared', legalBasis: '《中华人民共和国保守国家秘密法》' } as const;

describe('catalog rules per city', () => {
  it('Yaohai §13: a thematic resource may not be catalogued as not shared', () => {
    const issues = catalogPolicyIssues({ classification: 'thematic', sharing: notShared }, loadPolicy('yaohai'));
    assert.deepEqual(
      issues.map((i) => [i.path, i.code]),
      [['sharing.attribute', 'thematic_must_be_shared']],
    );
    assert.match(issues[0]!.zh, /瑶海 §13/);
    // Conditional thematic data, and not-shared department data, are fine.
    assert.deepEqual(catalogPolicyIssues({ classification: 'thematic', sharing: { attribute: 'conditional', conditions: '仅限', legalBasis: '依据' } }, loadPolicy('yaohai')), []);
    assert.deepEqual(catalogPolicyIssues({ classification: 'department', sharing: notShared }, loadPolicy('yaohai')), []);
  });

  it('the other cities have no such rule', () => {
    for (const name of Object.keys(POLICY_PRESETS).filter((n) => n !== 'yaohai')) {
      assert.deepEqual(catalogPolicyIssues({ classification: 'thematic', sharing: notShared }, loadPolicy(name)), [], name);
    }
  });
});
