// Writes protocol/schema/<name>.schema.json for every schema in protocol/schemas.ts (`--check`: verify only).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { schemas } from '../protocol/schemas.ts';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'protocol', 'schema');
const check = process.argv.includes('--check');

/** Recursively sorts object keys (arrays keep their order) so output is stable across zod versions. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
  return out;
}

/** JSON Schema text for one registry entry. Refinements (superRefine rules) are not represented. */
export function renderSchema(name: string, schema: z.ZodType): string {
  // io 'input': fields with defaults are optional, matching what a sender may omit.
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return JSON.stringify(sortKeys({ title: name, ...json }), null, 2) + '\n';
}

mkdirSync(outDir, { recursive: true });
let stale = 0;
for (const [name, schema] of Object.entries(schemas)) {
  const file = join(outDir, `${name}.schema.json`);
  const text = renderSchema(name, schema);
  if (check) {
    let old = '';
    try { old = readFileSync(file, 'utf8'); } catch { /* missing counts as stale */ }
    if (old !== text) { stale++; console.error(`stale: ${file}`); }
  } else {
    writeFileSync(file, text);
    console.log(`wrote ${file}`);
  }
}
if (stale > 0) process.exit(1);
