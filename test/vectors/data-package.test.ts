/** @module Data package format: round trip, every refusal, re-sealing, and the golden vectors (protocol/vectors/packages.json). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { generatePackageVectors, PACKAGE_VECTORS_FILE, type PackageVectorsFile } from '../../scripts/make-package-vectors.ts';
import { keySigner } from '../../protocol/audit-checkpoint.ts';
import {
  ChunkLedger,
  chunkHash,
  chunkPlainLength,
  decryptChunk,
  encryptChunk,
  expectedChunkCount,
  generateContentKey,
  generateNoncePrefix,
  hashRoot,
  keyCommitment,
  PackageError,
  PackageHeader,
  plainMac,
  recipientEntry,
  resealForRecipient,
  schemaHashOf,
  signHeader,
  unsealPackageKey,
  verifyHeader,
  withRecipient,
  type BoxKeys,
  type PackageErrorCode,
  type SenderKeys,
  type SignedPackageHeader,
} from '../../protocol/data-package.ts';
import { signingKeyPairFromSeed, type SigningKeyPair } from '../../protocol/keys.ts';
import { fromBase64, loadSodium, sodium, toBase64 } from '../../protocol/sodium.ts';

const NODE = 'county-410802';
const RESOURCE = '410802-0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b';
const enc = new TextEncoder();

let sender: SigningKeyPair;
let hub: BoxKeys;
let consumer: BoxKeys;
let outsider: BoxKeys;

const boxKeys = (): BoxKeys => {
  const kp = sodium().crypto_box_keypair();
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
};

interface Made {
  signed: SignedPackageHeader;
  chunks: Uint8Array[];
  key: Uint8Array;
}

/** A package built with the pure functions only (compression "none"). */
function make(rows: object[], opts: { chunkSize?: number; key?: Uint8Array; packageId?: string; recipients?: BoxKeys[] } = {}): Made {
  const chunkSize = opts.chunkSize ?? 64;
  const key = opts.key ?? generateContentKey();
  const plain = enc.encode(rows.map((r) => JSON.stringify(r) + '\n').join(''));
  const n = expectedChunkCount(plain.length, chunkSize);
  const ctx = { packageId: opts.packageId ?? crypto.randomUUID(), noncePrefix: toBase64(generateNoncePrefix()) };
  const chunks: Uint8Array[] = [];
  const macs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const slice = plain.subarray(i * chunkSize, (i + 1) * chunkSize);
    chunks.push(encryptChunk(key, ctx, i, i === n - 1, slice));
    macs.push(plainMac(key, slice));
  }
  const header = PackageHeader.parse({
    v: 1,
    ...ctx,
    sender: NODE,
    resource: RESOURCE,
    resourceCode: null,
    schemaHash: schemaHashOf([{ name: '姓名' }]),
    kind: 'snapshot',
    baseVersion: null,
    newVersion: 1,
    createdAt: '2025-01-02T03:04:05.000Z',
    rowCount: rows.length,
    plainBytes: plain.length,
    chunkSize,
    chunkCount: n,
    cipherBytes: chunks.reduce((a, c) => a + c.length, 0),
    compression: 'none',
    keyCommitment: keyCommitment(key),
    contentHash: hashRoot(concat(macs)),
    cipherHash: hashRoot(concat(chunks.map(chunkHash))),
  });
  const recipients = (opts.recipients ?? [hub]).map((r, i) => recipientEntry(key, { nodeId: i === 0 ? 'hub-410800' : `county-41080${i}`, publicKey: r.publicKey }));
  return { signed: { header, signature: signHeader(header, keySigner(NODE, sender.secretKey)), recipients }, chunks, key };
}

/** A reference receiver (PACKAGES.md §Receiver checks), in order; returns the rows. */
function open(signed: unknown, chunks: (Uint8Array | null | undefined)[], me: BoxKeys, senderKeys: SenderKeys): object[] {
  const s = verifyHeader(signed, senderKeys);
  const h = s.header;
  const key = unsealPackageKey(s, me);
  const ledger = new ChunkLedger(h);
  chunks.forEach((c, i) => {
    if (!c || i >= h.chunkCount) return;
    decryptChunk(key, h, i, i === h.chunkCount - 1, c);
    ledger.record(i, c.length, chunkHash(c));
  });
  ledger.finish();
  const slices = chunks.slice(0, h.chunkCount).map((c, i) => {
    const body = decryptChunk(key, h, i, i === h.chunkCount - 1, c!);
    const plain = h.compression === 'none' ? body : new Uint8Array(inflateRawSync(body));
    assert.equal(plain.length, chunkPlainLength(h, i));
    return plain;
  });
  if (hashRoot(concat(slices.map((p) => plainMac(key, p)))) !== h.contentHash) throw new PackageError('PACKAGE_HASH_MISMATCH', 'contentHash');
  const text = new TextDecoder('utf-8', { fatal: true }).decode(concatAny(slices));
  const rows =
    text === ''
      ? []
      : text
          .slice(0, -1)
          .split('\n')
          .map((l) => JSON.parse(l) as object);
  assert.equal(rows.length, h.rowCount);
  return rows;
}

function code(fn: () => unknown): PackageErrorCode | 'valid' {
  try {
    fn();
    return 'valid';
  } catch (err) {
    assert.ok(err instanceof PackageError, `not a PackageError: ${String(err)}`);
    return err.code;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  return concatAny(parts);
}

function concatAny(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}

const ROWS = [
  { 姓名: '张三', 公民身份号码: '11010519491231002X', 地址: '河南省焦作市解放区 1 号' },
  { 姓名: '李四', note: 'a "quoted" \\ line 😀' },
  { 姓名: '王五', n: 3, nested: { a: [1, 2, null] } },
];

before(async () => {
  await loadSodium();
  sender = signingKeyPairFromSeed(new Uint8Array(32).fill(7));
  hub = boxKeys();
  consumer = boxKeys();
  outsider = boxKeys();
});

describe('data package', () => {
  it('round-trips rows across chunk boundaries, and an empty package', () => {
    const p = make(ROWS);
    assert.ok(p.chunks.length >= 3);
    assert.deepEqual(open(p.signed, p.chunks, hub, sender.publicKey), ROWS);
    const empty = make([]);
    assert.equal(empty.signed.header.chunkCount, 1);
    assert.equal(empty.chunks[0]!.length, 16);
    assert.deepEqual(open(empty.signed, empty.chunks, hub, sender.publicKey), []);
  });

  it('refuses a tampered chunk byte: PACKAGE_CHUNK_INVALID', () => {
    const p = make(ROWS);
    for (const at of [0, 10, p.chunks[1]!.length - 1]) {
      const chunks = p.chunks.map((c) => c.slice());
      chunks[1]![at]! ^= 0x80;
      assert.equal(
        code(() => open(p.signed, chunks, hub, sender.publicKey)),
        'PACKAGE_CHUNK_INVALID',
      );
    }
  });

  it('refuses reordered chunks and a wrong last flag: PACKAGE_CHUNK_INVALID', () => {
    const p = make(ROWS);
    const swapped = [p.chunks[1]!, p.chunks[0]!, ...p.chunks.slice(2)];
    assert.equal(
      code(() => open(p.signed, swapped, hub, sender.publicKey)),
      'PACKAGE_CHUNK_INVALID',
    );
    const n = p.chunks.length;
    // The flag is authenticated: the last chunk does not verify as "not last", nor chunk 0 as "last".
    assert.equal(
      code(() => decryptChunk(p.key, p.signed.header, n - 1, false, p.chunks[n - 1]!)),
      'PACKAGE_CHUNK_INVALID',
    );
    assert.equal(
      code(() => decryptChunk(p.key, p.signed.header, 0, true, p.chunks[0]!)),
      'PACKAGE_CHUNK_INVALID',
    );
  });

  it('refuses a package whose last chunk (or any) is missing: PACKAGE_TRUNCATED, with the ranges to resume', () => {
    const p = make(ROWS);
    const n = p.chunks.length;
    assert.equal(
      code(() => open(p.signed, p.chunks.slice(0, -1), hub, sender.publicKey)),
      'PACKAGE_TRUNCATED',
    );
    const ledger = new ChunkLedger(p.signed.header);
    for (const i of [0, 2]) ledger.record(i, p.chunks[i]!.length, chunkHash(p.chunks[i]!));
    assert.deepEqual(
      ledger.missing(),
      n > 3
        ? [
            [1, 1],
            [3, n - 1],
          ]
        : [[1, 1]],
    );
    assert.equal(
      code(() => ledger.finish()),
      'PACKAGE_TRUNCATED',
    );
  });

  it('refuses a chunk spliced from another package with the same key and index: PACKAGE_CHUNK_INVALID', () => {
    const a = make(ROWS);
    const b = make([...ROWS].reverse(), { key: a.key });
    const spliced = [b.chunks[0]!, ...a.chunks.slice(1)];
    assert.equal(
      code(() => open(a.signed, spliced, hub, sender.publicKey)),
      'PACKAGE_CHUNK_INVALID',
    );
    // Even with the same nonce prefix, packageId in the AD keeps them apart.
    const sameNonce = { packageId: b.signed.header.packageId, noncePrefix: a.signed.header.noncePrefix };
    const c0 = encryptChunk(a.key, sameNonce, 0, false, enc.encode('x'.repeat(64)));
    assert.equal(
      code(() => decryptChunk(a.key, a.signed.header, 0, false, c0)),
      'PACKAGE_CHUNK_INVALID',
    );
  });

  it('refuses a non-recipient: PACKAGE_NOT_RECIPIENT, also for an entry that claims its key but was sealed to another', () => {
    const p = make(ROWS);
    assert.equal(
      code(() => open(p.signed, p.chunks, outsider, sender.publicKey)),
      'PACKAGE_NOT_RECIPIENT',
    );
    const claimed = { ...p.signed.recipients[0]!, nodeId: 'county-410899', publicKey: toBase64(outsider.publicKey) };
    const signed = withRecipient(p.signed, claimed);
    assert.equal(
      code(() => unsealPackageKey(signed, outsider)),
      'PACKAGE_NOT_RECIPIENT',
    );
  });

  it('refuses a sealed key that does not match keyCommitment: PACKAGE_KEY_MISMATCH', () => {
    const p = make(ROWS);
    const signed = withRecipient(p.signed, recipientEntry(generateContentKey(), { nodeId: 'hub-410800', publicKey: hub.publicKey }));
    assert.equal(
      code(() => unsealPackageKey(signed, hub)),
      'PACKAGE_KEY_MISMATCH',
    );
  });

  it('refuses any altered header field: PACKAGE_BAD_SIGNATURE; unknown sender and bad shape have their own codes', () => {
    const p = make(ROWS);
    const h = p.signed.header;
    const altered: Partial<PackageHeader>[] = [
      { rowCount: h.rowCount + 1 },
      { newVersion: 2 },
      { resource: '410802-0f8e4b1a-6c3d-4e2f-9a7b-000000000000' },
      { resourceCode: 'X1' },
      { createdAt: '2025-01-02T03:04:06.000Z' },
      { cipherHash: '0'.repeat(64) },
      { contentHash: 'f'.repeat(64) },
      { keyCommitment: keyCommitment(generateContentKey()) },
      { noncePrefix: toBase64(generateNoncePrefix()) },
    ];
    for (const change of altered) {
      assert.equal(
        code(() => verifyHeader({ ...p.signed, header: { ...h, ...change } }, sender.publicKey)),
        'PACKAGE_BAD_SIGNATURE',
        JSON.stringify(change),
      );
    }
    assert.equal(
      code(() => verifyHeader(p.signed, signingKeyPairFromSeed(new Uint8Array(32)).publicKey)),
      'PACKAGE_BAD_SIGNATURE',
    );
    assert.equal(
      code(() => verifyHeader(p.signed, () => undefined)),
      'PACKAGE_UNKNOWN_SENDER',
    );
    assert.equal(
      code(() => verifyHeader({ ...p.signed, header: { ...h, extra: 1 } }, sender.publicKey)),
      'PACKAGE_MALFORMED',
    );
    assert.equal(
      code(() => verifyHeader({ ...p.signed, header: { ...h, chunkCount: h.chunkCount + 1 } }, sender.publicKey)),
      'PACKAGE_MALFORMED',
    );
    assert.equal(
      code(() => verifyHeader({ ...p.signed, header: { ...h, baseVersion: 0 } }, sender.publicKey)),
      'PACKAGE_MALFORMED',
    );
    assert.equal(
      code(() => verifyHeader({ ...p.signed, recipients: [] }, sender.publicKey)),
      'PACKAGE_MALFORMED',
    );
    assert.equal(
      code(() => verifyHeader(p.signed, [signingKeyPairFromSeed(new Uint8Array(32)).publicKey, sender.publicKey])),
      'valid',
    );
  });

  it('refuses chunks forged by another key holder: every chunk authenticates, cipherHash does not match', () => {
    const p = make(ROWS, { recipients: [hub, consumer] });
    const stolen = unsealPackageKey(verifyHeader(p.signed, sender.publicKey), consumer);
    const forged = p.chunks.slice();
    forged[1] = encryptChunk(stolen, p.signed.header, 1, false, enc.encode('{"姓名":"伪造"}\n'.padEnd(64, ' ')).subarray(0, 64));
    assert.equal(
      code(() => open(p.signed, forged, hub, sender.publicKey)),
      'PACKAGE_HASH_MISMATCH',
    );
    const ledger = new ChunkLedger(p.signed.header);
    ledger.record(1, p.chunks[1]!.length, chunkHash(p.chunks[1]!));
    assert.equal(
      code(() => ledger.record(1, forged[1]!.length, chunkHash(forged[1]!))),
      'PACKAGE_HASH_MISMATCH',
    );
  });

  it('re-seals the content key for a new recipient without touching the body or the signature', () => {
    const p = make(ROWS);
    const before = p.chunks.map((c) => toBase64(c));
    assert.equal(
      code(() => open(p.signed, p.chunks, consumer, sender.publicKey)),
      'PACKAGE_NOT_RECIPIENT',
    );
    const entry = resealForRecipient(verifyHeader(p.signed, sender.publicKey), hub, { nodeId: 'county-410803', publicKey: consumer.publicKey });
    const signed = withRecipient(p.signed, entry);
    assert.equal(signed.signature, p.signed.signature);
    assert.deepEqual(open(signed, p.chunks, consumer, sender.publicKey), ROWS);
    assert.deepEqual(open(signed, p.chunks, hub, sender.publicKey), ROWS);
    assert.deepEqual(
      p.chunks.map((c) => toBase64(c)),
      before,
    );
    // A party that only saw the header cannot re-seal.
    assert.equal(
      code(() => resealForRecipient(signed, outsider, { nodeId: 'county-410804', publicKey: outsider.publicKey })),
      'PACKAGE_NOT_RECIPIENT',
    );
  });
});

describe('package test vectors', () => {
  const text = readFileSync(PACKAGE_VECTORS_FILE, 'utf8');
  const vectors = JSON.parse(text) as PackageVectorsFile;

  it('regenerate byte for byte', async () => {
    assert.equal(await generatePackageVectors(), text);
  });

  it('every case opens to its rows or fails with its code', () => {
    const keyOf = (name: string): BoxKeys => {
      const k = vectors.keys.find((x) => x.name === name)!;
      return { publicKey: fromBase64(k.publicKey), secretKey: sodium().from_hex(k.secretKeyHex!) };
    };
    const lookup = (id: string) => (vectors.senders[id] ? fromBase64(vectors.senders[id]) : undefined);
    assert.ok(vectors.cases.length >= 12);
    for (const c of vectors.cases) {
      const chunks = c.chunksHex.map((h) => (h === null ? null : sodium().from_hex(h)));
      let rows: object[] | undefined;
      const got = code(() => (rows = open(c.signedHeader, chunks, keyOf(c.recipient), lookup)));
      assert.equal(got, c.expect, c.name);
      if (c.expect === 'valid') assert.deepEqual(rows, c.rows, c.name);
    }
  });

  it('traces: nonces, AD, subkeys, chunk hashes and the signed bytes recompute from the listed inputs', () => {
    const s = sodium();
    for (const p of vectors.packages) {
      const key = s.from_hex(p.contentKeyHex);
      const h = p.signedHeader.header;
      assert.equal(s.to_hex(s.crypto_kdf_derive_from_key(32, 1, vectors.contexts.kdf, key)), p.subkeys.chunkHex);
      assert.equal(keyCommitment(key), h.keyCommitment);
      assert.equal(new TextDecoder().decode(s.from_hex(p.signedBytesHex)), p.signedText);
      assert.ok(s.crypto_sign_verify_detached(fromBase64(p.signedHeader.signature), s.from_hex(p.signedBytesHex), fromBase64(vectors.senders[h.sender]!)));
      for (const c of p.chunks) {
        const nonce = s.from_hex(c.nonceHex);
        assert.equal(s.to_hex(nonce), s.to_hex(fromBase64(h.noncePrefix)) + c.index.toString(16).padStart(16, '0'));
        const aead = s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, s.from_hex(c.chunkHex), s.from_hex(c.adHex), nonce, s.from_hex(p.subkeys.chunkHex));
        assert.equal(s.to_hex(aead), c.aeadPlaintextHex);
        assert.equal(s.to_hex(s.crypto_generichash(32, s.from_hex(c.chunkHex), null)), c.chunkHashHex);
        assert.equal(s.to_hex(s.crypto_generichash(32, s.from_hex(c.plainHex), s.from_hex(p.subkeys.macHex))), c.plainMacHex);
      }
      assert.equal(hashRoot(s.from_hex(p.chunks.map((c) => c.chunkHashHex).join(''))), h.cipherHash);
      assert.equal(new TextDecoder().decode(s.from_hex(p.chunks.map((c) => c.plainHex).join(''))), p.ndjson);
    }
  });
});
