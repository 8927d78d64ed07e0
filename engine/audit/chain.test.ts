/** @module Golden vectors of the audit chain's byte layout (cross-checked with Python hashlib.blake2b(digest_size=32)). */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadSodium } from '../../protocol/sodium.ts';
import { chainHash, GENESIS_HASH, hashRecord, recordBytes, type ChainedFields } from './chain.ts';

const R1: ChainedFields = {
  seq: 1,
  at: '2024-05-01T08:00:00.000Z',
  actor: '张三',
  actorRole: 'department',
  department: 'hs-gaj',
  action: 'data.use',
  resource: 'entry-1',
  fields: ['姓名', '身份证号'],
  purpose: '户籍核验',
  result: 'ok',
  detail: { b: 1, a: 'x' },
};
const R2: ChainedFields = { ...R1, seq: 2, department: null, resource: null, purpose: null, fields: [], detail: {} };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('audit chain', () => {
  before(loadSodium);

  it('record bytes are canonical JSON of the fixed member list, keys sorted, raw UTF-8', () => {
    assert.equal(
      new TextDecoder().decode(recordBytes(R1)),
      '{"action":"data.use","actor":"张三","actorRole":"department","at":"2024-05-01T08:00:00.000Z","department":"hs-gaj","detail":{"a":"x","b":1},"fields":["姓名","身份证号"],"purpose":"户籍核验","resource":"entry-1","result":"ok","seq":1}',
    );
    assert.equal(
      new TextDecoder().decode(recordBytes(R2)),
      '{"action":"data.use","actor":"张三","actorRole":"department","at":"2024-05-01T08:00:00.000Z","department":null,"detail":{},"fields":[],"purpose":null,"resource":null,"result":"ok","seq":2}',
    );
  });

  it('extra properties (e.g. the stored hashes) are not hashed', () => {
    assert.deepEqual(recordBytes({ ...R1, hash: 'ff', prevHash: '00' } as ChainedFields), recordBytes(R1));
  });

  it('hash = BLAKE2b-256(prevHash ‖ recordBytes), genesis prevHash = 32 zero bytes (golden vectors)', () => {
    assert.equal(hex(GENESIS_HASH), '0'.repeat(64));
    const h1 = hashRecord(GENESIS_HASH, R1);
    assert.equal(hex(h1), 'eb3ab69bf72fa50115f53ac4d746a7351fad8a799e61baddb9eb89978a25dc7f');
    assert.equal(hex(hashRecord(h1, R2)), 'f68841e6885205d847f62facaa7f6a0229e51289200ae6d015cb47db56c70f78');
  });

  it('any change of content, position or predecessor changes the hash', () => {
    const h = hex(hashRecord(GENESIS_HASH, R1));
    assert.notEqual(hex(hashRecord(GENESIS_HASH, { ...R1, seq: 2 })), h);
    assert.notEqual(hex(hashRecord(GENESIS_HASH, { ...R1, fields: ['姓名'] })), h);
    assert.notEqual(hex(hashRecord(GENESIS_HASH, { ...R1, detail: { a: 'x', b: 2 } })), h);
    assert.notEqual(hex(hashRecord(new Uint8Array(32).fill(1), R1)), h);
  });

  it('refuses a prev hash that is not 32 bytes', () => {
    assert.throws(() => chainHash(new Uint8Array(31), new Uint8Array(1)), /32 bytes/);
  });
});
