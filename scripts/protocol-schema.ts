// Writes protocol/schema/<name>.schema.json for every schema in protocol/schemas.ts (`--check`: verify only).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSchema, schemas } from '../protocol/schemas.ts';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'protocol', 'schema');
const check = process.argv.includes('--check');

mkdirSync(outDir, { recursive: true });
let stale = 0;
for (const [name, schema] of Object.entries(schemas)) {
  const file = join(outDir, `${name}.schema.json`);
  const text = renderSchema(name, schema);
  if (check) {
    let old = '';
    try {
      old = readFileSync(file, 'utf8');
    } catch {
      /* missing counts as stale */
    }
    if (old !== text) {
      stale++;
      console.error(`stale: ${file}`);
    }
  } else {
    writeFileSync(file, text);
    console.log(`wrote ${file}`);
  }
}
if (stale > 0) process.exit(1);
