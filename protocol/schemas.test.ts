/** The published JSON Schemas (protocol/schema/) must be what the zod schemas generate: `npm run protocol:schema` after a change. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderSchema, schemas } from './schemas.ts';

test('every JSON Schema file is up to date with its zod schema', () => {
  for (const [name, schema] of Object.entries(schemas)) {
    const file = new URL(`./schema/${name}.schema.json`, import.meta.url);
    assert.equal(readFileSync(file, 'utf8'), renderSchema(name, schema), `${name}.schema.json is stale: run npm run protocol:schema`);
  }
});
