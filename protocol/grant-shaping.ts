/**
 * @module What a grant lets leave the provider, row by row (DOMAIN.md R5: minimum necessary; the issue's
 * "desensitization applied at the provider before data leaves it"). Used by the provider's answers and
 * by the grant packages it builds for batch grants (PACKAGES.md §10a).
 *
 * A batch grant is served in one of two ways:
 *  - it covers every data item of the resource, all rows, nothing masked: the resource's own packages,
 *    re-sealed by the hub to the grantee (§10) — nothing is withheld, so nothing needs shaping;
 *  - otherwise (`batchNeedsShaping`): only grant packages, snapshots the provider builds from the rows
 *    `shapeRow` lets through, so withheld items, filtered rows and unmasked values never leave it.
 */
import { desensitizeRow } from './desensitization.ts';
import type { Grant } from './grant.ts';
import { matchesFilter } from './row-filter.ts';

/** Whether the grant withholds anything of the resource (items, rows or clear values). */
export function batchNeedsShaping(grant: Pick<Grant, 'items' | 'rowFilter' | 'desensitization'>, resourceItems: readonly string[]): boolean {
  if (grant.rowFilter && grant.rowFilter.all.length > 0) return true;
  if (grant.items.some((i) => (grant.desensitization[i] ?? 'hide') !== 'none')) return true;
  const granted = new Set(grant.items);
  return resourceItems.some((i) => !granted.has(i));
}

/**
 * One provider row as the grant lets it leave: `null` when the grant's row filter excludes it, else the
 * granted items only (missing ones as null), each masked by its profile. The filter sees the clear
 * values, before masking, as the provider's own query does.
 */
export function shapeRow(row: Record<string, unknown>, grant: Pick<Grant, 'items' | 'rowFilter' | 'desensitization'>): Record<string, unknown> | null {
  if (grant.rowFilter && !matchesFilter(row, grant.rowFilter)) return null;
  return desensitizeRow(Object.fromEntries(grant.items.map((i) => [i, row[i] ?? null])), grant.desensitization);
}
