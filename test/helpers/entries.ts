/** @module Sample catalog content for tests, re-homed to the department that creates it. */
import { sampleCatalogContents } from './catalog-samples.ts';
import type { CatalogContent } from '../../protocol/catalog-entry.ts';

/** Sample entry `i` (cycling through the samples) provided by department `dept`. */
export function sampleFor(dept: string, i = 0, overrides: Partial<CatalogContent> = {}): CatalogContent {
  const samples = sampleCatalogContents();
  const s = samples[i % samples.length]!;
  const { creditCode: _drop, ...provider } = s.provider;
  return { ...s, provider: { ...provider, code: dept }, ...overrides };
}
