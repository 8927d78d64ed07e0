/**
 * @module Unified resource codes (Jincheng §13: the data authority assigns each resource a unified
 * code). The format is a configurable template so each municipality can follow its own standard.
 *
 * Placeholders: {muni} municipality code, {county} owning county code, {dept} provider department
 * code, {class} classification letter (base J, thematic Z, department B: 基础/主题/部门), {year} 4-digit
 * year of approval, {seq:N} a per-prefix counter zero-padded to N digits (the prefix is everything
 * the template renders before {seq}).
 */
import type { Db } from '../../engine/storage/db.ts';
import { RESOURCE_CODE_RE } from '../../protocol/catalog-entry.ts';

export const DEFAULT_CODE_TEMPLATE = '{muni}-{county}-{class}-{dept}-{seq:6}';

const CLASS_LETTER: Record<string, string> = { base: 'J', thematic: 'Z', department: 'B' };

export interface CodeFields {
  muni: string;
  county: string;
  dept: string;
  classification: string;
  year: number;
}

/** Check a template once at start-up: exactly one {seq:N}, only known placeholders. */
export function validateCodeTemplate(template: string): void {
  const placeholders = template.match(/\{[^}]*\}/g) ?? [];
  const seq = placeholders.filter((p) => /^\{seq:[1-9][0-9]?\}$/.test(p));
  if (seq.length !== 1) throw new Error(`code template "${template}" needs exactly one {seq:N}`);
  for (const p of placeholders) {
    if (!/^\{(muni|county|dept|class|year|seq:[1-9][0-9]?)\}$/.test(p)) throw new Error(`code template "${template}" has unknown placeholder ${p}`);
  }
  // The literal text must also fit the code format every replica validates (CatalogReview.code).
  const sample = template.replace(/\{seq:(\d+)\}/, (_, n: string) => '1'.padStart(Number(n), '0')).replace(/\{[a-z]+\}/g, 'X1');
  if (!RESOURCE_CODE_RE.test(sample)) throw new Error(`code template "${template}" renders codes like "${sample}", which do not match ${RESOURCE_CODE_RE}`);
}

export class CodeAllocator {
  constructor(
    private readonly db: Db,
    private readonly template: string,
  ) {
    validateCodeTemplate(template);
  }

  /** Render the next code; call inside the transaction that stores it, so a counter value is never reused. */
  next(fields: CodeFields): string {
    const render = (s: string) =>
      s
        .replaceAll('{muni}', fields.muni)
        .replaceAll('{county}', fields.county)
        .replaceAll('{dept}', fields.dept)
        .replaceAll('{class}', CLASS_LETTER[fields.classification] ?? 'X')
        .replaceAll('{year}', String(fields.year));
    const m = /\{seq:(\d+)\}/.exec(this.template)!;
    const prefix = render(this.template.slice(0, m.index));
    const suffix = render(this.template.slice(m.index + m[0].length));
    const row = this.db.prepare('INSERT INTO code_counters (prefix, next) VALUES (?, 2) ON CONFLICT(prefix) DO UPDATE SET next = next + 1 RETURNING next - 1 AS n').get(prefix) as { n: number };
    return `${prefix}${String(row.n).padStart(Number(m[1]), '0')}${suffix}`;
  }
}
