/**
 * @module Generates protocol/vectors/packages.json, the data-package test vectors (protocol/PACKAGES.md
 * §Test vectors). `npx tsx scripts/make-package-vectors.ts` writes it; `--check` only compares.
 *
 * Deterministic throughout: fixed seeds, content key, nonce prefixes, package ids and timestamps. Two
 * things are normally random or platform-dependent and are pinned here instead:
 * - crypto_box_seal draws an ephemeral key pair; the vectors seal with an ephemeral pair from a fixed seed,
 *   using libsodium's own construction (epk ‖ crypto_box_easy(K, BLAKE2b-192(epk ‖ pk), pk, esk)), and
 *   check that crypto_box_seal_open opens each entry. A real sender MUST use crypto_box_seal.
 * - deflate output differs between zlib builds, so the compressed slices of the deflate package are
 *   constants below, checked to inflate to the slices.
 * Packages 1 and 2 share one content key ONLY to show that splicing fails even then; never reuse a key.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import {
  CHUNK_AD_CONTEXT,
  chunkAd,
  chunkHash,
  chunkNonce,
  decryptChunk,
  deriveSubkey,
  encryptChunk,
  expectedChunkCount,
  hashRoot,
  headerSignedBytes,
  keyCommitment,
  PACKAGE_KDF_CONTEXT,
  PACKAGE_SIGNING_CONTEXT,
  PackageHeader,
  plainMac,
  schemaHashOf,
  signHeader,
  SUBKEY_CHUNK,
  SUBKEY_COMMITMENT,
  SUBKEY_MAC,
  unsealPackageKey,
  verifyHeader,
  type PackageRecipient,
  type SignedPackageHeader,
} from '../protocol/data-package.ts';
import { keySigner } from '../protocol/audit-checkpoint.ts';
import { signingKeyPairFromSeed } from '../protocol/keys.ts';
import { loadSodium, sodium, toBase64, toHex } from '../protocol/sodium.ts';

export const PACKAGE_VECTORS_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'protocol', 'vectors', 'packages.json');

const SENDER = 'county-140525';
const HUB = 'hub-140500';
const CONSUMER = 'county-140523';
const OUTSIDER = 'county-140526';
const RESOURCE = '140525-0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b';
const seed = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => start + i);
const fill = (byte: number) => new Uint8Array(32).fill(byte);
const bytes = (start: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

const DATA_ITEMS = [
  { name: '姓名', code: 'XM', type: 'string', length: 50 },
  { name: '公民身份号码', code: 'GMSFHM', type: 'string', length: 18 },
  { name: '户籍地址', code: 'HJDZ', type: 'string', length: 200 },
];

/** Package 2's slices compressed once with zlib (deflateRawSync, level 9); checked to inflate to the slices. */
const DEFLATED = [
  'ab56ca2f50b2522a2d284e2d2a51d251ca4ead54b25232343130353235b4b434303034303434303050d2512aca2f57b2aa567aba7cf2d309bd4a564a2fb66e7ddaba564947e959c7f6e71b7b9fced9f0746e839295d2d38d1b5f2cddff7c4ee3b399dd4fe7f73dddd1f46cf3dea7dbe73deddbffb477fab3b9135f4e6d57aaade5aa26ce6a43ec563fd9d14c73ab8d70f97a35cdad36c6e1eb9d73a96b3500',
  'b35232343130353235b4b434303034303434303051d2512aca2f57b2aa567aba7cf2d309bd4a564a2fb66e7ddadba8a4a3f4ac63fbf38dbd4fe76c783ab741c94ae9e9c68d2f96ee7f3ea7f1d9cceea7f3fb9eee687ab679efd3edf39ef6ed7fda3bfdd9dc892fa7b62bd5d672552be517285929a5a4e6a496a42ae92865a7562a59615a6d0ab33aaf3427a7960b00',
];

interface Keys {
  pk: Uint8Array;
  sk: Uint8Array;
}

/** crypto_box_seal with a fixed ephemeral key pair (vectors only; see the module header). */
function sealFixed(contentKey: Uint8Array, to: Uint8Array, ephemeralSeed: Uint8Array): Uint8Array {
  const s = sodium();
  const eph = s.crypto_box_seed_keypair(ephemeralSeed);
  const nonce = s.crypto_generichash(24, new Uint8Array([...eph.publicKey, ...to]), null);
  return new Uint8Array([...eph.publicKey, ...s.crypto_box_easy(contentKey, nonce, to, eph.privateKey)]);
}

interface ChunkTrace {
  index: number;
  isLast: boolean;
  nonceHex: string;
  adHex: string;
  plainHex: string;
  aeadPlaintextHex: string;
  chunkHex: string;
  chunkHashHex: string;
  plainMacHex: string;
}

interface Built {
  signed: SignedPackageHeader;
  chunks: Uint8Array[];
  trace: ChunkTrace[];
  ndjson: string;
  rows: object[];
}

function assemble(p: {
  packageId: string;
  kind: 'snapshot' | 'delta';
  baseVersion: number | null;
  newVersion: number;
  createdAt: string;
  rows: object[];
  chunkSize: number;
  compression: 'deflate-raw' | 'none';
  compressed?: string[];
  contentKey: Uint8Array;
  noncePrefix: Uint8Array;
  recipients: PackageRecipient[];
  signerSeed: Uint8Array;
}): Built {
  const ndjson = p.rows.map((r) => JSON.stringify(r) + '\n').join('');
  const plain = new TextEncoder().encode(ndjson);
  const n = expectedChunkCount(plain.length, p.chunkSize);
  const ctx = { packageId: p.packageId, noncePrefix: toBase64(p.noncePrefix) };
  const chunks: Uint8Array[] = [];
  const trace: ChunkTrace[] = [];
  for (let i = 0; i < n; i++) {
    const slice = plain.subarray(i * p.chunkSize, Math.min(plain.length, (i + 1) * p.chunkSize));
    const body = p.compression === 'none' ? slice : sodium().from_hex(p.compressed![i]!);
    if (p.compression === 'deflate-raw' && toHex(inflateRawSync(body)) !== toHex(slice)) throw new Error(`DEFLATED[${i}] does not inflate to slice ${i}`);
    const isLast = i === n - 1;
    const chunk = encryptChunk(p.contentKey, ctx, i, isLast, body);
    chunks.push(chunk);
    trace.push({
      index: i,
      isLast,
      nonceHex: toHex(chunkNonce(ctx, i)),
      adHex: toHex(chunkAd(ctx, i, isLast)),
      plainHex: toHex(slice),
      aeadPlaintextHex: toHex(body),
      chunkHex: toHex(chunk),
      chunkHashHex: toHex(chunkHash(chunk)),
      plainMacHex: toHex(plainMac(p.contentKey, slice)),
    });
  }
  const leaves = (key: keyof ChunkTrace) => sodium().from_hex(trace.map((t) => t[key]).join(''));
  const header = PackageHeader.parse({
    v: 1,
    packageId: p.packageId,
    sender: SENDER,
    resource: RESOURCE,
    resourceCode: 'HB.140525.GA.0001',
    schemaHash: schemaHashOf(DATA_ITEMS),
    kind: p.kind,
    baseVersion: p.baseVersion,
    newVersion: p.newVersion,
    createdAt: p.createdAt,
    rowCount: p.rows.length,
    plainBytes: plain.length,
    chunkSize: p.chunkSize,
    chunkCount: n,
    cipherBytes: chunks.reduce((a, c) => a + c.length, 0),
    compression: p.compression,
    noncePrefix: ctx.noncePrefix,
    keyCommitment: keyCommitment(p.contentKey),
    contentHash: hashRoot(leaves('plainMacHex')),
    cipherHash: hashRoot(leaves('chunkHashHex')),
  });
  const signer = keySigner(SENDER, signingKeyPairFromSeed(p.signerSeed).secretKey);
  return { signed: { header, signature: signHeader(header, signer), recipients: p.recipients }, chunks, trace, ndjson, rows: p.rows };
}

export interface PackageCase {
  name: string;
  description: string;
  signedHeader: unknown;
  /** Chunk bytes by index (hex); null = not available to the receiver. */
  chunksHex: (string | null)[];
  recipient: 'hub' | 'consumer' | 'outsider';
  expect: 'valid' | string;
  rows?: object[];
}

export interface PackageVectorsFile {
  description: string;
  contexts: { signing: string; chunkAd: string; kdf: string; subkeyIds: Record<string, number> };
  senders: Record<string, string>;
  keys: { name: string; nodeId: string; algorithm: string; seedHex: string; publicKey: string; secretKeyHex?: string }[];
  dataItems: unknown;
  packages: {
    name: string;
    description: string;
    contentKeyHex: string;
    subkeys: { chunkHex: string; macHex: string; commitmentHex: string };
    signedHeader: SignedPackageHeader;
    signedText: string;
    signedBytesHex: string;
    ndjson: string;
    rows: object[];
    chunks: ChunkTrace[];
  }[];
  cases: PackageCase[];
}

export async function generatePackageVectors(): Promise<string> {
  await loadSodium();
  const s = sodium();
  const senderKp = signingKeyPairFromSeed(seed(0));
  const box = (s32: Uint8Array): Keys => {
    const kp = s.crypto_box_seed_keypair(s32);
    return { pk: kp.publicKey, sk: kp.privateKey };
  };
  const hub = box(fill(0xe0));
  const consumer = box(fill(0xe3));
  const outsider = box(fill(0xe6));
  const contentKey = bytes(0x40, 32);
  const entry = (nodeId: string, to: Keys, key: Uint8Array, eph: number): PackageRecipient => {
    const sealed = sealFixed(key, to.pk, fill(eph));
    if (toHex(s.crypto_box_seal_open(sealed, to.pk, to.sk)) !== toHex(key)) throw new Error('fixed seal does not open');
    return { nodeId, publicKey: toBase64(to.pk), sealedKey: toBase64(sealed) };
  };

  const snapshotRows = [
    { 姓名: '张三', 公民身份号码: '11010519491231002X', 户籍地址: '山西省晋城市泽州县 1 号' },
    { 姓名: '李四', 公民身份号码: '440524188001010014', 户籍地址: 'Line "quoted" \\ slash 😀' },
    { 姓名: '王五', 公民身份号码: '130503670401001', 户籍地址: '' },
  ];
  const deltaRows = Array.from({ length: 6 }, (_, i) => ({
    op: i === 5 ? 'delete' : 'upsert',
    key: `14052519900101${String(1000 + i)}`,
    row: i === 5 ? null : { 姓名: `赵${'六七八九十'[i % 5]}`, 户籍地址: '山西省晋城市泽州县南村镇' },
  }));

  const p1 = assemble({
    packageId: '01943a5c-7b3c-7d4e-8f50-1a2b3c4d5e6f',
    kind: 'snapshot',
    baseVersion: null,
    newVersion: 3,
    createdAt: '2025-01-02T03:04:05.000Z',
    rows: snapshotRows,
    chunkSize: 64,
    compression: 'none',
    contentKey,
    noncePrefix: bytes(0x60, 16),
    recipients: [entry(HUB, hub, contentKey, 0xa1)],
    signerSeed: seed(0),
  });
  const p2 = assemble({
    packageId: '01943a5d-0000-7000-8000-000000000002',
    kind: 'delta',
    baseVersion: 3,
    newVersion: 4,
    createdAt: '2025-01-02T04:00:00.000Z',
    rows: deltaRows,
    chunkSize: 512,
    compression: 'deflate-raw',
    compressed: DEFLATED,
    contentKey,
    noncePrefix: bytes(0x70, 16),
    recipients: [entry(HUB, hub, contentKey, 0xa2)],
    signerSeed: seed(0),
  });
  const k3 = bytes(0x80, 32);
  const p3 = assemble({
    packageId: '01943a5e-0000-7000-8000-000000000003',
    kind: 'snapshot',
    baseVersion: null,
    newVersion: 1,
    createdAt: '2025-01-02T05:00:00.000Z',
    rows: [],
    chunkSize: 64,
    compression: 'none',
    contentKey: k3,
    noncePrefix: bytes(0x90, 16),
    recipients: [entry(HUB, hub, k3, 0xa3)],
    signerSeed: seed(0),
  });

  // Check the reference verifier accepts all three before writing anything.
  for (const p of [p1, p2, p3]) {
    const v = verifyHeader(p.signed, senderKp.publicKey);
    const key = unsealPackageKey(v, { publicKey: hub.pk, secretKey: hub.sk });
    p.chunks.forEach((c, i) => decryptChunk(key, v.header, i, i === p.chunks.length - 1, c));
  }

  const hex = (cs: (Uint8Array | null)[]) => cs.map((c) => (c ? toHex(c) : null));
  const resealed: SignedPackageHeader = { ...p1.signed, recipients: [...p1.signed.recipients, entry(CONSUMER, consumer, contentKey, 0xb3)] };
  const flipped = p1.chunks.map((c) => c.slice());
  flipped[2]![5]! ^= 0x01;
  const forged = p1.chunks.slice();
  const forgedPlain = new TextEncoder().encode('{"姓名":"伪造","公民身份号码":"000000000000000000"}\n'.padEnd(64, ' ')).subarray(0, 64);
  forged[1] = encryptChunk(contentKey, p1.signed.header, 1, false, forgedPlain);
  const badSeal = { ...p1.signed, recipients: [entry(HUB, hub, bytes(0xc0, 32), 0xa4)] };
  const cases: PackageCase[] = [
    { name: 'snapshot opened by the hub', description: 'Package 1 with its own chunks.', signedHeader: p1.signed, chunksHex: hex(p1.chunks), recipient: 'hub', expect: 'valid', rows: p1.rows },
    {
      name: 'snapshot opened by a consumer after re-sealing',
      description: 'The hub opened its entry and sealed the same key to the consumer (entry appended; the signature is unchanged). Same chunks.',
      signedHeader: resealed,
      chunksHex: hex(p1.chunks),
      recipient: 'consumer',
      expect: 'valid',
      rows: p1.rows,
    },
    { name: 'delta with deflate-raw', description: 'Package 2.', signedHeader: p2.signed, chunksHex: hex(p2.chunks), recipient: 'hub', expect: 'valid', rows: p2.rows },
    {
      name: 'empty snapshot',
      description: 'Package 3: no rows, one empty last chunk (the tag only).',
      signedHeader: p3.signed,
      chunksHex: hex(p3.chunks),
      recipient: 'hub',
      expect: 'valid',
      rows: [],
    },
    { name: 'chunk byte flipped', description: 'Package 1, bit 0 of byte 5 of chunk 2 flipped.', signedHeader: p1.signed, chunksHex: hex(flipped), recipient: 'hub', expect: 'PACKAGE_CHUNK_INVALID' },
    {
      name: 'chunks swapped',
      description: 'Package 1 with chunks 0 and 1 exchanged.',
      signedHeader: p1.signed,
      chunksHex: hex([p1.chunks[1]!, p1.chunks[0]!, ...p1.chunks.slice(2)]),
      recipient: 'hub',
      expect: 'PACKAGE_CHUNK_INVALID',
    },
    {
      name: 'last chunk missing',
      description: 'Package 1 without its last chunk.',
      signedHeader: p1.signed,
      chunksHex: hex([...p1.chunks.slice(0, -1), null]),
      recipient: 'hub',
      expect: 'PACKAGE_TRUNCATED',
    },
    {
      name: 'chunk spliced from another package',
      description: 'Chunk 0 of package 2 (same content key, same index) in place of chunk 0 of package 1.',
      signedHeader: p1.signed,
      chunksHex: hex([p2.chunks[0]!, ...p1.chunks.slice(1)]),
      recipient: 'hub',
      expect: 'PACKAGE_CHUNK_INVALID',
    },
    {
      name: 'header field altered',
      description: 'Package 1 with newVersion 4 instead of 3.',
      signedHeader: { ...p1.signed, header: { ...p1.signed.header, newVersion: 4 } },
      chunksHex: hex(p1.chunks),
      recipient: 'hub',
      expect: 'PACKAGE_BAD_SIGNATURE',
    },
    {
      name: 'header with an extra member',
      description: 'Package 1 with header.note added.',
      signedHeader: { ...p1.signed, header: { ...p1.signed.header, note: 'x' } },
      chunksHex: hex(p1.chunks),
      recipient: 'hub',
      expect: 'PACKAGE_MALFORMED',
    },
    {
      name: 'unknown sender',
      description: 'Package 1 with header.sender county-140523, which is not in senders.',
      signedHeader: { ...p1.signed, header: { ...p1.signed.header, sender: CONSUMER } },
      chunksHex: hex(p1.chunks),
      recipient: 'hub',
      expect: 'PACKAGE_UNKNOWN_SENDER',
    },
    {
      name: 'not a recipient',
      description: 'Package 1 opened with the outsider key, which has no entry.',
      signedHeader: p1.signed,
      chunksHex: hex(p1.chunks),
      recipient: 'outsider',
      expect: 'PACKAGE_NOT_RECIPIENT',
    },
    {
      name: 'sealed key does not match keyCommitment',
      description: 'Package 1 whose hub entry seals another key (bytes 0xc0..0xdf): it opens, but fails keyCommitment.',
      signedHeader: badSeal,
      chunksHex: hex(p1.chunks),
      recipient: 'hub',
      expect: 'PACKAGE_KEY_MISMATCH',
    },
    {
      name: 'chunk forged by a key holder',
      description: 'Package 1 with chunk 1 replaced by other rows encrypted correctly under the content key (as any recipient could): every chunk authenticates, cipherHash does not match.',
      signedHeader: p1.signed,
      chunksHex: hex(forged),
      recipient: 'hub',
      expect: 'PACKAGE_HASH_MISMATCH',
    },
  ];

  const trace = (name: string, description: string, p: Built, key: Uint8Array) => {
    const signedBytes = headerSignedBytes(p.signed.header);
    return {
      name,
      description,
      contentKeyHex: toHex(key),
      subkeys: { chunkHex: toHex(deriveSubkey(key, SUBKEY_CHUNK)), macHex: toHex(deriveSubkey(key, SUBKEY_MAC)), commitmentHex: toHex(deriveSubkey(key, SUBKEY_COMMITMENT)) },
      signedHeader: p.signed,
      signedText: new TextDecoder().decode(signedBytes),
      signedBytesHex: toHex(signedBytes),
      ndjson: p.ndjson,
      rows: p.rows,
      chunks: p.trace,
    };
  };
  const file: PackageVectorsFile = {
    description:
      "Data package vectors (protocol/PACKAGES.md). Generated by scripts/make-package-vectors.ts. Sealed keys use a fixed ephemeral key (libsodium's crypto_box_seal construction) so " +
      'the file regenerates byte for byte; open them with crypto_box_seal_open. Packages 1 and 2 share a content key only to show that splicing still fails. ' +
      "A case passes when opening it (PACKAGES.md §Receiver checks) with senders as the key table and the named recipient's X25519 key yields exactly rows, or fails with expect.",
    contexts: { signing: PACKAGE_SIGNING_CONTEXT, chunkAd: CHUNK_AD_CONTEXT, kdf: PACKAGE_KDF_CONTEXT, subkeyIds: { chunk: SUBKEY_CHUNK, mac: SUBKEY_MAC, commitment: SUBKEY_COMMITMENT } },
    senders: { [SENDER]: toBase64(senderKp.publicKey) },
    keys: [
      { name: 'sender signing', nodeId: SENDER, algorithm: 'Ed25519', seedHex: toHex(seed(0)), publicKey: toBase64(senderKp.publicKey) },
      { name: 'hub', nodeId: HUB, algorithm: 'X25519', seedHex: toHex(fill(0xe0)), publicKey: toBase64(hub.pk), secretKeyHex: toHex(hub.sk) },
      { name: 'consumer', nodeId: CONSUMER, algorithm: 'X25519', seedHex: toHex(fill(0xe3)), publicKey: toBase64(consumer.pk), secretKeyHex: toHex(consumer.sk) },
      { name: 'outsider', nodeId: OUTSIDER, algorithm: 'X25519', seedHex: toHex(fill(0xe6)), publicKey: toBase64(outsider.pk), secretKeyHex: toHex(outsider.sk) },
    ],
    dataItems: DATA_ITEMS,
    packages: [
      trace('snapshot, no compression, 64-byte slices', 'Rows cross slice boundaries, one inside a multi-byte character.', p1, contentKey),
      trace('delta, deflate-raw, 512-byte slices', 'aeadPlaintextHex is the raw DEFLATE (RFC 1951) of plainHex.', p2, contentKey),
      trace('empty snapshot', 'rowCount 0, plainBytes 0, one empty last chunk.', p3, k3),
    ],
    cases,
  };
  return JSON.stringify(file, null, 2) + '\n';
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const text = await generatePackageVectors();
  if (process.argv.includes('--check')) {
    let old = '';
    try {
      old = readFileSync(PACKAGE_VECTORS_FILE, 'utf8');
    } catch {
      /* missing counts as stale */
    }
    if (old !== text) {
      console.error(`stale: ${PACKAGE_VECTORS_FILE} (run npx tsx scripts/make-package-vectors.ts)`);
      process.exit(1);
    }
    console.log(`up to date: ${PACKAGE_VECTORS_FILE}`);
  } else {
    writeFileSync(PACKAGE_VECTORS_FILE, text);
    console.log(`wrote ${PACKAGE_VECTORS_FILE}`);
  }
}
