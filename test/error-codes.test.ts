/** @module The documents name only error codes the status table knows: README, ARCHITECTURE, PROTOCOL.md §12, PACKAGES.md, the node's OpenAPI. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERROR_STATUS, isErrorCode } from '../engine/errors.ts';
import { nodeOpenApi } from '../node/http/openapi.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const DOCS = ['README.md', 'ARCHITECTURE.md', 'protocol/PROTOCOL.md', 'protocol/PACKAGES.md'];

describe('documented error codes', () => {
  it('every "code": "X" in the documents is in ERROR_STATUS', () => {
    let seen = 0;
    for (const doc of DOCS) {
      for (const m of read(doc).matchAll(/"code":\s*"([A-Z][A-Z0-9_]*)"/g)) {
        seen++;
        assert.ok(isErrorCode(m[1]), `${doc} names ${m[1]}, which has no status`);
      }
    }
    assert.ok(seen > 0);
  });

  it('every code of the PROTOCOL.md §12 error table is in ERROR_STATUS', () => {
    const text = read('protocol/PROTOCOL.md');
    const section = text.slice(text.indexOf('## 12. Error handling'), text.indexOf('## 13.'));
    const codes = [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]!);
    assert.ok(codes.length >= 14, codes.join());
    for (const code of codes) assert.ok(isErrorCode(code), `PROTOCOL.md §12 lists ${code}, which has no status`);
  });

  it('every PACKAGE_* refusal PACKAGES.md names is in ERROR_STATUS', () => {
    const constants = new Set(['PACKAGE_COMPRESSIONS', 'PACKAGE_KDF_CONTEXT', 'PACKAGE_SIGNING_CONTEXT', 'PACKAGE_VERSION', 'PACKAGE_KINDS']);
    const codes = new Set([...read('protocol/PACKAGES.md').matchAll(/`(PACKAGE_[A-Z0-9_]+)`/g)].map((m) => m[1]!).filter((c) => !constants.has(c)));
    assert.ok(codes.size >= 10, [...codes].join());
    for (const code of codes) assert.ok(isErrorCode(code), `PACKAGES.md names ${code}, which has no status`);
  });

  it('the OpenAPI error schema lists exactly the table’s codes', () => {
    const doc = nodeOpenApi() as { components: { schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } } } };
    assert.deepEqual(doc.components.schemas.Error.properties.error.properties.code.enum, Object.keys(ERROR_STATUS));
  });
});
