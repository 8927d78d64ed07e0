/** @module Checks the golden wire vectors (protocol/vectors/envelopes.json) against the implementation, and that they regenerate byte for byte. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import * as Y from 'yjs';
import { generateVectors, VECTORS_FILE, type VectorsFile } from '../scripts/make-vectors.ts';
import { canonicalStateVector, docStateVector, loadEntryDoc, readRoot } from './catalog-doc.ts';
import { verifyEnvelope } from './envelope.ts';
import { ProtocolError } from './errors.ts';
import { decodePublicKey, signingKeyPairFromSeed } from './keys.ts';
import { fromBase64, loadSodium, sodium, toBase64 } from './sodium.ts';
import { rangeDigest } from './sync.ts';

const text = readFileSync(VECTORS_FILE, 'utf8');
const vectors = JSON.parse(text) as VectorsFile;

function outcome(bytes: Uint8Array, lookup: (id: string) => Uint8Array | undefined): string {
  try {
    verifyEnvelope(bytes, lookup);
    return 'valid';
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${String(err)}`);
    return err.code;
  }
}

describe('test vectors', () => {
  let lookup: (id: string) => Uint8Array | undefined;
  before(async () => {
    await loadSodium();
    const keys = new Map(Object.entries(vectors.registeredSenders).map(([id, key]) => [id, decodePublicKey(key)]));
    lookup = (id) => keys.get(id);
  });

  it('cover every message type and every envelope rejection code that a fixed-size file can show', () => {
    const validTypes = vectors.envelopes.filter((v) => v.expect === 'valid').map((v) => JSON.parse(v.bodyJson!).type);
    assert.deepEqual(new Set(validTypes), new Set(['catalog.update', 'catalog.sync.digest', 'catalog.sync.digest.reply', 'catalog.sync.pull', 'catalog.sync.pull.reply', 'error']));
    assert.deepEqual(
      new Set(vectors.envelopes.map((v) => v.expect)),
      new Set(['valid', 'ENVELOPE_MALFORMED', 'ENVELOPE_BAD_MAGIC', 'ENVELOPE_UNSUPPORTED_VERSION', 'ENVELOPE_BAD_SIGNATURE', 'ENVELOPE_UNKNOWN_SENDER', 'MESSAGE_UNKNOWN_TYPE', 'MESSAGE_INVALID']),
    );
    assert.equal(vectors.signingContext, 'jilian/envelope/v1\0');
  });

  it('seeds derive the listed public keys', () => {
    for (const v of vectors.envelopes) {
      const kp = signingKeyPairFromSeed(sodium().from_hex(v.seedHex));
      assert.equal(toBase64(kp.publicKey), v.publicKeyBase64, v.name);
    }
  });

  for (const v of vectors.envelopes) {
    it(`${v.name} → ${v.expect}`, () => {
      const bytes = sodium().from_hex(v.envelopeHex);
      assert.equal(outcome(bytes, lookup), v.expect);
      if (v.bodyJson !== null) assert.equal(new TextDecoder().decode(bytes.subarray(67)), v.bodyJson);
      if (v.expect === 'valid') {
        // The verified envelope is exactly the body JSON (schemas are strict and have no defaults).
        assert.deepEqual(verifyEnvelope(bytes, lookup), JSON.parse(v.bodyJson!));
        // The signature is a plain Ed25519 detached signature over context ‖ body, by the listed key.
        const signed = new Uint8Array([...new TextEncoder().encode(vectors.signingContext), ...bytes.subarray(67)]);
        assert.ok(sodium().crypto_sign_verify_detached(bytes.subarray(3, 67), signed, fromBase64(v.publicKeyBase64)));
        assert.deepEqual([...bytes.subarray(0, 3)], [0x4a, 0x4c, 0x01]);
      }
    });
  }

  it('yjs steps replay to the listed state vectors and root contents', () => {
    const doc = loadEntryDoc(999);
    for (const step of vectors.yjs.steps) {
      Y.applyUpdate(doc, fromBase64(step.updateBase64), 'remote');
      assert.equal(docStateVector(doc), step.stateVectorAfter);
      assert.deepEqual(readRoot(doc, step.root), step.rootAfter);
      for (const s of Y.decodeUpdate(fromBase64(step.updateBase64)).structs) assert.equal(s.id.client, step.clientId);
    }
    const carried = vectors.envelopes.filter((v) => v.expect === 'valid' && JSON.parse(v.bodyJson!).type === 'catalog.update');
    assert.deepEqual(
      carried.map((v) => JSON.parse(v.bodyJson!).payload.updates[0].update),
      vectors.yjs.steps.map((s) => s.updateBase64),
    );
  });

  it('state vector canonical forms', () => {
    assert.ok(vectors.stateVectors.cases.length >= 4);
    for (const c of vectors.stateVectors.cases) assert.equal(canonicalStateVector(new Map(c.clients)), c.canonical);
  });

  it('range digests', () => {
    assert.ok(vectors.rangeDigests.cases.length >= 3);
    for (const c of vectors.rangeDigests.cases) {
      assert.equal(rangeDigest(c.lines), c.digestHex);
      assert.equal(c.lines.map((l) => `${l.id}\t${l.sv}\n`).join(''), c.hashedText);
      // The same digest as one-shot BLAKE2b-256 over the hashed text: what an integrator computes.
      assert.equal(sodium().to_hex(sodium().crypto_generichash(32, new TextEncoder().encode(c.hashedText), null)), c.digestHex);
    }
  });

  it('regenerate byte for byte', async () => {
    assert.equal(await generateVectors(), text);
  });
});
