/**
 * @module Catalog rules that differ by city, so they depend on the `Policy` and live outside the
 * content schema (which every node and hub shares whatever its preset). Pure: the node checks them when a
 * department saves an entry, the hub when its reviewer approves one.
 */
import type { CatalogContent } from './catalog-entry.ts';
import type { Policy } from './policy.ts';

export interface CatalogPolicyIssue {
  path: string;
  code: string;
  zh: string;
  en: string;
}

/** What `content` breaks under `policy`; empty when it is acceptable. */
export function catalogPolicyIssues(content: Pick<CatalogContent, 'classification' | 'sharing'>, policy: Pick<Policy, 'sharingFlow'>): CatalogPolicyIssue[] {
  const issues: CatalogPolicyIssue[] = [];
  // Yaohai §13: thematic data (健康保障、安全生产 …) 应当 … 实现无条件共享或有条件共享 — never "not shared".
  if (policy.sharingFlow.thematicMustBeShared && content.classification === 'thematic' && content.sharing.attribute === 'not_shared') {
    issues.push({
      path: 'sharing.attribute',
      code: 'thematic_must_be_shared',
      zh: '主题数据应当无条件共享或有条件共享，不得列为不予共享（瑶海 §13）',
      en: 'thematic data must be shared unconditionally or conditionally, never "not shared" (Yaohai §13)',
    });
  }
  return issues;
}
