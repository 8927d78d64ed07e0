/** @module Checks the golden wire vectors (protocol/vectors/envelopes.json) against the implementation, and that they regenerate byte for byte. */
import { nkeyAuthenticator, nkeys } from '@nats-io/transport-node';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import * as Y from 'yjs';
import { GENESIS_HASH, hashRecord, recordBytes, type AuditRecord } from '../../engine/audit/chain.ts';
import { ndjsonLine } from '../../engine/audit/format.ts';
import { generateVectors, VECTORS_FILE, type VectorsFile } from '../../scripts/make-vectors.ts';
import { AuditCheckpoint, checkpointSignedBytes, verifyCheckpoint } from '../../protocol/audit-checkpoint.ts';
import { canonicalStateVector, docStateVector, loadEntryDoc, parseStateVector, readRoot } from '../../protocol/catalog-doc.ts';
import { CatalogReview, REVIEW_KEYS } from '../../protocol/catalog-entry.ts';
import { contentHash } from '../../protocol/catalog-view.ts';
import { EnrollRequest, verifyEnrollProof } from '../../protocol/enrollment.ts';
import { verifyEnvelope, type KeyLookup } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { acceptedKeys, KeyDirectory, KeyRotation, verifyRotationProof } from '../../protocol/key-directory.ts';
import { decodePublicKey, signingKeyPairFromSeed } from '../../protocol/keys.ts';
import { fromBase64, loadSodium, sodium, toBase64 } from '../../protocol/sodium.ts';
import { rangeDigest } from '../../protocol/sync.ts';

const text = readFileSync(VECTORS_FILE, 'utf8');
const vectors = JSON.parse(text) as VectorsFile;
const utf8 = (t: string) => new TextEncoder().encode(t);
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bodyOf = (name: string) => {
  const v = vectors.envelopes.find((e) => e.name === name);
  assert.ok(v, `no envelope vector "${name}"`);
  return JSON.parse(v.bodyJson!) as { type: string; from: string; payload: unknown };
};

function outcome(bytes: Uint8Array, lookup: KeyLookup): string {
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
    assert.deepEqual(
      new Set(validTypes),
      new Set(['catalog.update', 'catalog.sync.digest', 'catalog.sync.digest.reply', 'catalog.sync.pull', 'catalog.sync.pull.reply', 'error', 'keys.directory', 'keys.rotate', 'audit.checkpoint']),
    );
    assert.equal(new Set(vectors.envelopes.map((v) => v.name)).size, vectors.envelopes.length, 'names are unique');
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
      // Inner signatures: present exactly on the valid keys.rotate / audit.checkpoint vectors.
      const type = v.expect === 'valid' ? (JSON.parse(v.bodyJson!) as { type: string }).type : null;
      if (type === 'keys.rotate' || type === 'audit.checkpoint') {
        const env = verifyEnvelope(bytes, lookup);
        const inner = env.type === 'keys.rotate' ? verifyRotationProof(env.from, KeyRotation.parse(env.payload)) : verifyCheckpoint(env.payload, lookup(env.from) as Uint8Array);
        assert.equal(inner, v.payloadSignatureValid);
      } else {
        assert.equal(v.payloadSignatureValid, undefined);
      }
    });
  }

  it('NATS login: the CONNECT signature over the nonce is what nats.js sends (§4.1)', () => {
    const l = vectors.natsLogin;
    const auth = nkeyAuthenticator(utf8(l.nkeySeed))(l.nonce) as { nkey: string; sig: string };
    assert.deepEqual(auth, { nkey: l.nkey, sig: l.sigBase64 });
    assert.ok(vectors.keys.keys.some((k) => k.algorithm === 'nkey' && k.publicKey === l.nkey && k.nkeySeed === l.nkeySeed));
    const raw = nkeys.fromPublic(l.nkey);
    assert.ok(raw.verify(utf8(l.nonce), fromBase64(l.sigBase64)));
    assert.deepEqual(Buffer.from(l.sigBase64Url, 'base64url'), Buffer.from(l.sigBase64, 'base64'));
    assert.match(l.sigBase64Url, /^[A-Za-z0-9_-]{86}$/);
  });

  it('keys derive from their seeds', () => {
    for (const k of vectors.keys.keys) {
      const s = sodium().from_hex(k.seedHex);
      if (k.algorithm === 'Ed25519') assert.equal(toBase64(signingKeyPairFromSeed(s).publicKey), k.publicKey, k.name);
      else if (k.algorithm === 'X25519') assert.equal(toBase64(sodium().crypto_box_seed_keypair(s).publicKey), k.publicKey, k.name);
      else {
        // nats.js agrees: the seed text yields the public nkey, whose raw key is the seed's Ed25519 key.
        const kp = nkeys.fromSeed(utf8(k.nkeySeed!));
        assert.equal(kp.getPublicKey(), k.publicKey, k.name);
        assert.deepEqual(nkeys.fromPublic(k.publicKey).getPublicKey(), k.publicKey);
        // …and an nkey signature verifies with the Ed25519 key of seedHex.
        const msg = utf8('nonce');
        assert.ok(sodium().crypto_sign_verify_detached(kp.sign(msg), msg, signingKeyPairFromSeed(s).publicKey));
        assert.match(k.publicKey, /^U[A-Z2-7]{55}$/);
      }
    }
    const derived = new Set(vectors.keys.keys.map((k) => k.publicKey));
    for (const key of Object.values(vectors.registeredSenders)) assert.ok(derived.has(key));
    for (const v of vectors.envelopes)
      assert.ok(
        vectors.keys.keys.some((k) => k.seedHex === v.seedHex && k.publicKey === v.publicKeyBase64),
        v.name,
      );
  });

  it('enrollment proofs', () => {
    assert.equal(vectors.enrollment.context, 'jilian/enroll/v1\0');
    const [good, swapped] = vectors.enrollment.cases;
    assert.ok(good && swapped && good.verifies && !swapped.verifies);
    for (const c of vectors.enrollment.cases) {
      const r = EnrollRequest.parse(c.request);
      assert.deepEqual(r, c.request, 'the request is schema-valid as it stands');
      // The signed bytes, rebuilt from PROTOCOL.md §6.3 rather than by the implementation.
      const rebuilt: string = `${vectors.enrollment.context}${r.token}\0${r.nodeId}\0${r.county}\0${r.encryptionKey}\0${r.natsNkey}`;
      assert.equal(c.signedText, rebuilt, c.name);
      assert.equal(c.signedBytesHex, hexOf(utf8(rebuilt)), c.name);
      assert.equal(verifyEnrollProof(r), c.verifies, c.name);
      assert.equal(sodium().crypto_sign_verify_detached(fromBase64(r.proof), sodium().from_hex(c.signedBytesHex), fromBase64(r.signingKey)), c.verifies, c.name);
    }
    // The negative differs from the valid request only in natsNkey, and its proof is the one made over the valid bytes.
    assert.deepEqual({ ...swapped.request, natsNkey: good.request.natsNkey }, good.request);
    assert.notEqual(swapped.request.natsNkey, good.request.natsNkey);
    // Ed25519 is deterministic: the listed signing key's seed reproduces the proof.
    const seed = vectors.keys.keys.find((k) => k.algorithm === 'Ed25519' && k.publicKey === good.request.signingKey)!.seedHex;
    assert.equal(toBase64(sodium().crypto_sign_detached(sodium().from_hex(good.signedBytesHex), signingKeyPairFromSeed(sodium().from_hex(seed)).secretKey)), good.request.proof);
  });

  it('rotation proofs', () => {
    assert.equal(vectors.rotationProofs.context, 'jilian/rotate/v1\0');
    assert.deepEqual(
      vectors.rotationProofs.cases.map((c) => c.verifies),
      [true, false],
    );
    for (const c of vectors.rotationProofs.cases) {
      const rebuilt: string = `${vectors.rotationProofs.context}${c.nodeId}\0${c.newSigningKey}`;
      assert.equal(c.signedText, rebuilt);
      assert.equal(c.signedBytesHex, hexOf(utf8(rebuilt)));
      const proofKey = signingKeyPairFromSeed(sodium().from_hex(c.proofSeedHex));
      assert.equal(toBase64(sodium().crypto_sign_detached(utf8(rebuilt), proofKey.secretKey)), c.proof, `${c.name}: made by the listed seed`);
      assert.equal(verifyRotationProof(c.nodeId, { newSigningKey: c.newSigningKey, proof: c.proof }), c.verifies, c.name);
      assert.equal(sodium().crypto_sign_verify_detached(fromBase64(c.proof), utf8(rebuilt), fromBase64(c.newSigningKey)), c.verifies, c.name);
      const body = bodyOf(c.envelope);
      assert.equal(body.type, 'keys.rotate');
      assert.equal(body.from, c.nodeId);
      assert.deepEqual(body.payload, { newSigningKey: c.newSigningKey, proof: c.proof });
    }
  });

  it('audit checkpoint signatures', () => {
    assert.equal(vectors.auditCheckpoints.context, 'jilian/audit-checkpoint/v1\0');
    assert.deepEqual(
      vectors.auditCheckpoints.cases.map((c) => c.verifies),
      [true, false, true],
    );
    for (const c of vectors.auditCheckpoints.cases) {
      const cp = AuditCheckpoint.parse(c.checkpoint);
      const rebuilt: string = `${vectors.auditCheckpoints.context}{"at":${JSON.stringify(cp.at)},"hash":${JSON.stringify(cp.hash)},"nodeId":${JSON.stringify(cp.nodeId)},"seq":${cp.seq}}`;
      assert.equal(c.signedText, rebuilt, c.name);
      assert.equal(c.signedBytesHex, hexOf(utf8(rebuilt)), c.name);
      assert.equal(hexOf(checkpointSignedBytes(cp)), c.signedBytesHex, c.name);
      const key = decodePublicKey(c.publicKeyBase64);
      assert.equal(verifyCheckpoint(cp, key), c.verifies, c.name);
      assert.equal(sodium().crypto_sign_verify_detached(fromBase64(cp.signature), utf8(rebuilt), key), c.verifies, c.name);
      if (c.envelope !== null) {
        const body = bodyOf(c.envelope);
        assert.equal(body.type, 'audit.checkpoint');
        assert.equal(vectors.registeredSenders[body.from], c.publicKeyBase64);
        assert.deepEqual(body.payload, c.checkpoint);
      }
    }
    const empty = vectors.auditCheckpoints.cases[2]!.checkpoint;
    assert.deepEqual([empty.seq, empty.hash], [0, '0'.repeat(64)]);
    // The valid checkpoint vouches for the head of the auditChain vectors.
    const head = vectors.auditChain.records.at(-1)!.record;
    assert.deepEqual([vectors.auditCheckpoints.cases[0]!.checkpoint.seq, vectors.auditCheckpoints.cases[0]!.checkpoint.hash], [head.seq, head.hash]);
  });

  it('audit chain', () => {
    assert.equal(vectors.auditChain.genesisHash, hexOf(GENESIS_HASH));
    assert.equal(vectors.auditChain.records.length, 3);
    let prev = sodium().from_hex(vectors.auditChain.genesisHash);
    for (const { record, recordText } of vectors.auditChain.records) {
      assert.equal(new TextDecoder().decode(recordBytes(record)), recordText);
      assert.equal(record.prevHash, hexOf(prev));
      assert.equal(hexOf(hashRecord(prev, record)), record.hash);
      // What an integrator computes: one-shot BLAKE2b-256 over prevHash ‖ UTF-8(recordText).
      assert.equal(hexOf(sodium().crypto_generichash(32, new Uint8Array([...prev, ...utf8(recordText)]), null)), record.hash);
      prev = sodium().from_hex(record.hash);
    }
    // The NDJSON export: one line per record, as the reference writes it, recomputable line by line.
    assert.equal(vectors.auditChain.ndjson, vectors.auditChain.records.map((r) => ndjsonLine(r.record)).join(''));
    const lines = vectors.auditChain.ndjson.split('\n');
    assert.equal(lines.pop(), '');
    let prevHex = vectors.auditChain.genesisHash;
    for (const [i, line] of lines.entries()) {
      const r = JSON.parse(line) as AuditRecord;
      assert.equal(r.seq, i + 1);
      assert.equal(r.prevHash, prevHex);
      assert.equal(hexOf(hashRecord(sodium().from_hex(r.prevHash), r)), r.hash);
      prevHex = r.hash;
    }
    // The third record's detail pins the key order (UTF-16 code units, not code points) and number formatting.
    assert.ok(vectors.auditChain.records[2]!.recordText.includes(String.raw`"detail":{"Z":1e+21,"a":1.5,"path":"/api/v1/audit?q=\"x\"","😀":"astral","ｚ":"fullwidth"}`));
  });

  it('accepted keys of a directory with a rotation in its grace period and a revoked node', () => {
    const dir = KeyDirectory.parse(vectors.acceptedKeys.directory);
    assert.deepEqual(dir, vectors.acceptedKeys.directory);
    assert.deepEqual(bodyOf('keys.directory').payload, vectors.acceptedKeys.directory);
    const keyTables = vectors.acceptedKeys.times.map((t) => t.keys);
    const rotated = dir.nodes.find((n) => n.previousValidUntil !== null && n.status === 'active' && Date.parse(n.previousValidUntil) > Date.parse(vectors.acceptedKeys.times[0]!.now))!;
    assert.deepEqual(keyTables[0]![rotated.nodeId], [rotated.signingKey, rotated.previousSigningKey]);
    assert.equal(vectors.acceptedKeys.times[1]!.now, rotated.previousValidUntil, 'the second time is the boundary');
    assert.ok(dir.nodes.some((n) => n.status === 'revoked'));
    for (const t of vectors.acceptedKeys.times) {
      const now = new Date(t.now);
      for (const [id, expected] of Object.entries(t.keys)) assert.deepEqual(acceptedKeys(dir, id, now).map(toBase64), expected, `${id} at ${t.now}`);
      for (const [name, expected] of Object.entries(t.envelopes)) {
        const v = vectors.envelopes.find((e) => e.name === name)!;
        assert.equal(
          outcome(sodium().from_hex(v.envelopeHex), (id) => acceptedKeys(dir, id, now)),
          expected,
          `${name} at ${t.now}`,
        );
      }
    }
  });

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

  it('state vector parsing: canonical texts are accepted, every other spelling refused (§10.1)', () => {
    const cases = vectors.stateVectors.parseCases;
    assert.ok(cases.some((c) => c.expect === 'valid') && cases.some((c) => c.text === '1:0' && c.expect === 'MESSAGE_INVALID'));
    assert.ok(cases.some((c) => c.text === '01:2' && c.expect === 'MESSAGE_INVALID'));
    for (const c of cases) {
      if (c.expect === 'valid') {
        assert.deepEqual([...parseStateVector(c.text)], c.clients, c.text);
        assert.equal(canonicalStateVector(new Map(c.clients)), c.text, `${c.text} is its own canonical form`);
      } else {
        assert.equal(c.clients, null);
        assert.throws(
          () => parseStateVector(c.text),
          (e: unknown) => e instanceof ProtocolError && e.code === c.expect,
          JSON.stringify(c.text),
        );
      }
    }
    for (const c of vectors.stateVectors.cases) assert.deepEqual(parseStateVector(c.canonical), new Map(c.clients.filter(([, clock]) => clock > 0)));
  });

  it('the review step is what the hub writes: a valid CatalogReview of the content it approved (§7.5)', () => {
    const [content, review] = vectors.yjs.steps;
    assert.equal(review!.root, 'review');
    assert.deepEqual(Object.keys(review!.fields).sort(), [...REVIEW_KEYS].sort());
    assert.ok(CatalogReview.safeParse(review!.rootAfter).success);
    assert.equal(review!.rootAfter['contentHash'], contentHash(content!.rootAfter));
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

  it('every member name of the file is named in PROTOCOL.md §15', () => {
    const spec = readFileSync(new URL('../../protocol/PROTOCOL.md', import.meta.url), 'utf8');
    const start = spec.indexOf('## 15. Test vectors');
    const section = spec.slice(start, spec.indexOf('## 16.', start));
    const named = new Set([...section.matchAll(/`([A-Za-z][A-Za-z0-9]*)`/g)].map((m) => m[1]!));
    // Members whose values are data (payloads, roots, records, key tables by node id) are not walked.
    const opaque = new Set(['registeredSenders', 'fields', 'rootAfter', 'directory', 'record', 'request', 'checkpoint']);
    const missing: string[] = [];
    const walk = (value: unknown, path: string, parentKey: string): void => {
      if (Array.isArray(value)) {
        for (const v of value) walk(v, path, parentKey);
        return;
      }
      if (value === null || typeof value !== 'object') return;
      for (const [key, v] of Object.entries(value)) {
        if (!named.has(key)) missing.push(`${path}.${key}`);
        if (!opaque.has(key) && !opaque.has(`${parentKey}.${key}`)) walk(v, `${path}.${key}`, key);
      }
    };
    walk(vectors, '', '');
    // acceptedKeys.times[].keys / .envelopes are maps keyed by node id / vector name, not members.
    assert.deepEqual(
      [...new Set(missing)].filter((p) => !/^\.acceptedKeys\.times\.(keys|envelopes)\./.test(p)),
      [],
    );
  });

  it('regenerate byte for byte', async () => {
    assert.equal(await generateVectors(), text);
  });
});
