/**
 * @module Generates protocol/vectors/envelopes.json, the golden wire fixtures for integrators
 * (PROTOCOL.md §Test vectors). Everything is derived from fixed seeds, fixed timestamps and fixed
 * Yjs client ids; Ed25519 signatures, X25519 seed key pairs, BLAKE2b and Yjs v1 encoding are
 * deterministic, so re-running gives byte-identical output. `npx tsx scripts/make-vectors.ts` writes
 * the file; `--check` only compares.
 *
 * Valid envelopes are produced by `encodeEnvelope`. Invalid ones that must still carry a good
 * signature (unknown type, payload with an extra field, …) are signed here with libsodium directly,
 * mirroring the layout, because `encodeEnvelope` refuses to produce them.
 *
 * Besides envelopes (types 1–9) the file holds the enrollment proof, the rotation proof, audit
 * checkpoint signatures, the audit hash chain and `acceptedKeys` of a key directory, each computed
 * through the reference functions (`signEnrollProof`, `signRotationProof`, `signCheckpoint`,
 * `hashRecord`, `acceptedKeys`) and checked by them before the file is written. The enrollment and
 * rotation signed bytes are not exported by protocol/, so they are rebuilt here from PROTOCOL.md and
 * confirmed by verifying the reference signature over them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as Y from 'yjs';
import { GENESIS_HASH, hashRecord, recordBytes, type AuditRecord, type ChainedFields } from '../engine/audit/chain.ts';
import { ndjsonLine } from '../engine/audit/format.ts';
import { checkpointSignedBytes, keySigner, signCheckpoint, verifyCheckpoint, type AuditCheckpoint } from '../protocol/audit-checkpoint.ts';
import { CONTENT_ROOT, canonicalStateVector, docStateVector, loadEntryDoc, parseStateVector, readRoot, REVIEW_ROOT, writeRoot, type EntryRoot } from '../protocol/catalog-doc.ts';
import { contentHash } from '../protocol/catalog-view.ts';
import { EnrollRequest, signEnrollProof, verifyEnrollProof, type ProofFields } from '../protocol/enrollment.ts';
import { encodeEnvelope, ENVELOPE_HEADER_BYTES, verifyEnvelope, type Envelope, type KeyLookup } from '../protocol/envelope.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { acceptedKeys, KeyDirectory, signRotationProof, verifyRotationProof, type KeyRotation } from '../protocol/key-directory.ts';
import { encodePublicKey, signingKeyPairFromSeed, type SigningKeyPair } from '../protocol/keys.ts';
import type { MessageType } from '../protocol/messages.ts';
import { fromBase64, loadSodium, sodium, toBase64, toHex } from '../protocol/sodium.ts';
import { rangeDigest, type VectorLine } from '../protocol/sync.ts';

export const VECTORS_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'protocol', 'vectors', 'envelopes.json');

const SIGNING_CONTEXT = 'jilian/envelope/v1\0';
const MUNICIPALITY = '140500';
const COUNTY = '140525';
const COUNTY_NODE = `county-${COUNTY}`;
const HUB_NODE = `hub-${MUNICIPALITY}`;
const COUNTY_CLIENT_ID = 1234567;
const HUB_CLIENT_ID = 7654321;
const ENTRY_ID = `${COUNTY}-0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b`;
const OTHER_ENTRY_ID = `${COUNTY}-7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6`;

/** Seed bytes start..start+31: 0 county, 32 hub, 64 county's next key, 96/128/160/192 other nodes, 224 NATS nkey. */
const seed = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => start + i);
/** 32 copies of one byte: X25519 seeds, the second NATS nkey. */
const fill = (byte: number) => new Uint8Array(32).fill(byte);

const ROTATE_CONTEXT = 'jilian/rotate/v1\0';
const ENROLL_CONTEXT = 'jilian/enroll/v1\0';
const CHECKPOINT_CONTEXT = 'jilian/audit-checkpoint/v1\0';
/** Other nodes of the key directory: one rotated long ago (never revoked), one revoked; county-140526 stays unknown. */
const NODE_522 = 'county-140522';
const NODE_524 = 'county-140524';
const UNKNOWN_NODE = 'county-140526';
/** When the hub applied the county's rotation and published the directory; the grace period (72 h) ends at GRACE_END. */
const ROTATED_AT = '2025-01-02T03:04:06.000Z';
const GRACE_END = '2025-01-05T03:04:06.000Z';

/** One envelope vector. `expect` is "valid" or the ProtocolError code verification must throw. */
export interface EnvelopeVector {
  name: string;
  description: string;
  /** The key that produced the signature (hex seed → Ed25519 key pair). */
  seedHex: string;
  publicKeyBase64: string;
  /** The body bytes as UTF-8 text, when they are valid UTF-8. */
  bodyJson: string | null;
  envelopeHex: string;
  expect: 'valid' | ProtocolError['code'];
  /**
   * Valid `keys.rotate` / `audit.checkpoint` only: whether the signature inside the payload verifies
   * (the rotation proof with `newSigningKey`; the checkpoint signature with the sender's key in
   * `registeredSenders`). Absent for every other vector.
   */
  payloadSignatureValid?: boolean;
}

/** A key the vectors use: its seed and what the seed derives. */
export interface KeyVector {
  name: string;
  /** Ed25519 (crypto_sign_seed_keypair), X25519 (crypto_box_seed_keypair), or nkey (Ed25519 key as a NATS user nkey). */
  algorithm: 'Ed25519' | 'X25519' | 'nkey';
  seedHex: string;
  /** key32 base64, or for an nkey the "U…" public nkey. */
  publicKey: string;
  /** nkey only: the "SU…" seed text nats.js `nkeys.fromSeed` reads. */
  nkeySeed?: string;
}

export interface EnrollmentCase {
  name: string;
  description: string;
  request: EnrollRequest;
  /** What a verifier rebuilds from `request`: the context ‖ UTF-8(token ‖ 0 ‖ nodeId ‖ 0 ‖ county ‖ 0 ‖ encryptionKey ‖ 0 ‖ natsNkey), as text and hex. */
  signedText: string;
  signedBytesHex: string;
  /** Whether `proof` verifies with `signingKey` over signedBytesHex (false → the hub answers 401 PROOF_INVALID). */
  verifies: boolean;
}

export interface RotationCase {
  name: string;
  description: string;
  nodeId: string;
  newSigningKey: string;
  /** The seed of the key that made `proof` (the new key's seed when it is made correctly). */
  proofSeedHex: string;
  signedText: string;
  signedBytesHex: string;
  proof: string;
  /** Whether `proof` verifies with newSigningKey (false → the hub refuses with UPDATE_FORBIDDEN). */
  verifies: boolean;
  /** The envelope vector whose payload is { newSigningKey, proof }. */
  envelope: string;
}

export interface CheckpointCase {
  name: string;
  description: string;
  /** The key a verifier checks `signature` with. */
  publicKeyBase64: string;
  checkpoint: AuditCheckpoint;
  /** What a verifier rebuilds from `checkpoint` (checkpointSignedBytes), as text and hex. */
  signedText: string;
  signedBytesHex: string;
  /** Whether `signature` verifies over signedBytesHex (false → the hub refuses with MESSAGE_INVALID, stores nothing). */
  verifies: boolean;
  /** The envelope vector whose payload is `checkpoint`, or null. */
  envelope: string | null;
}

export interface VectorsFile {
  description: string;
  signingContext: string;
  /** The receiver's key table: node id → base64 public key. Every other sender is unknown. */
  registeredSenders: Record<string, string>;
  envelopes: EnvelopeVector[];
  keys: { description: string; keys: KeyVector[] };
  yjs: {
    description: string;
    entryId: string;
    steps: { clientId: number; root: EntryRoot; fields: Record<string, unknown>; updateBase64: string; stateVectorAfter: string; rootAfter: Record<string, unknown> }[];
  };
  natsLogin: {
    description: string;
    /** The nkey user that logs in (an entry of `keys`), its seed text and the server's INFO nonce. */
    nkey: string;
    nkeySeed: string;
    nonce: string;
    /** base64 (RFC 4648 §4, padded) of Ed25519-Sign(seed, UTF-8(nonce)): CONNECT `sig` as nats.js sends it. */
    sigBase64: string;
    /** The same signature as base64url without padding, which nats-server also accepts. */
    sigBase64Url: string;
  };
  stateVectors: {
    description: string;
    cases: { clients: [number, number][]; canonical: string }[];
    /** Texts a receiver parses (§10.1): `valid` with the pairs in order, or the refusal code (clients null). */
    parseCases: { text: string; expect: 'valid' | 'MESSAGE_INVALID'; clients: [number, number][] | null }[];
  };
  rangeDigests: { description: string; cases: { lines: VectorLine[]; hashedText: string; digestHex: string }[] };
  enrollment: { description: string; context: string; cases: EnrollmentCase[] };
  rotationProofs: { description: string; context: string; cases: RotationCase[] };
  auditCheckpoints: { description: string; context: string; cases: CheckpointCase[] };
  auditChain: {
    description: string;
    genesisHash: string;
    /** Each record as exported (NDJSON member order), with the exact hashed text of its eleven members. */
    records: { record: AuditRecord; recordText: string }[];
    /** The same records as an NDJSON export (`jilian … audit export --format ndjson`). */
    ndjson: string;
  };
  acceptedKeys: {
    description: string;
    /** The `keys.directory` payload of the envelope vector "keys.directory". */
    directory: KeyDirectory;
    times: {
      now: string;
      /** nodeId → acceptedKeys(directory, nodeId, now) as base64, in order. */
      keys: Record<string, string[]>;
      /** envelope vector name → outcome of verifying it with acceptedKeys(directory, ·, now) as the key lookup. */
      envelopes: Record<string, 'valid' | ProtocolError['code']>;
    }[];
  };
}

/** RFC 4648 base32 without padding, as NATS nkeys use it. */
function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(acc << (5 - bits)) & 31];
  return out;
}

/** CRC-16/XMODEM (poly 0x1021, init 0), the nkey checksum. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** nkey text: base32(prefix ‖ payload ‖ crc16 little-endian). */
function nkeyText(prefix: number[], payload: Uint8Array): string {
  const raw = new Uint8Array(prefix.length + payload.length + 2);
  raw.set(prefix, 0);
  raw.set(payload, prefix.length);
  const crc = crc16(raw.subarray(0, prefix.length + payload.length));
  raw[raw.length - 2] = crc & 0xff;
  raw[raw.length - 1] = crc >> 8;
  return base32(raw);
}

/** The NATS user nkey of an Ed25519 seed: public "U…" (prefix byte 20 << 3) and seed "SU…" (seed 18 << 3, role user). */
function userNkey(seedBytes: Uint8Array): { publicKey: string; seed: string } {
  const user = 20 << 3;
  const seedPrefix = 18 << 3;
  return {
    publicKey: nkeyText([user], sodium().crypto_sign_seed_keypair(seedBytes).publicKey),
    seed: nkeyText([seedPrefix | (user >> 5), (user & 31) << 3], seedBytes),
  };
}

/** The same base64 text with non-zero unused bits: the last data character moved one step up the alphabet. */
function nonCanonical(key: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const i = key.length - 2;
  return key.slice(0, i) + alphabet[alphabet.indexOf(key[i]!) + 1] + key.slice(i + 1);
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Frame `body` (raw bytes) with magic, version and a signature made with `secretKey`. */
function signRaw(body: Uint8Array, secretKey: Uint8Array, version = 1): Uint8Array {
  const context = new TextEncoder().encode(SIGNING_CONTEXT);
  const signed = new Uint8Array(context.length + body.length);
  signed.set(context, 0);
  signed.set(body, context.length);
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + body.length);
  out.set([0x4a, 0x4c, version], 0);
  out.set(sodium().crypto_sign_detached(signed, secretKey), 3);
  out.set(body, ENVELOPE_HEADER_BYTES);
  return out;
}

/** Body text in the order `encodeEnvelope` writes it: type, from, seq, ts, payload. */
function bodyText(type: string, from: string, seq: number, ts: string, payload: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type, from, seq, ts, payload, ...extra });
}

const decodeUtf8 = (bytes: Uint8Array): string | null => {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
};

/** Build the whole vectors file (as text). Pure apart from awaiting libsodium. */
export async function generateVectors(): Promise<string> {
  await loadSodium();
  // ------------------------------------------------------------------ keys
  const keys: KeyVector[] = [];
  const seedOf = new Map<SigningKeyPair, Uint8Array>();
  const signing = (name: string, s: Uint8Array) => {
    const kp = signingKeyPairFromSeed(s);
    seedOf.set(kp, s);
    keys.push({ name, algorithm: 'Ed25519', seedHex: toHex(s), publicKey: encodePublicKey(kp.publicKey) });
    return kp;
  };
  const encryption = (name: string, s: Uint8Array) => {
    const publicKey = toBase64(sodium().crypto_box_seed_keypair(s).publicKey);
    keys.push({ name, algorithm: 'X25519', seedHex: toHex(s), publicKey });
    return publicKey;
  };
  const nats = (name: string, s: Uint8Array) => {
    const nk = userNkey(s);
    keys.push({ name, algorithm: 'nkey', seedHex: toHex(s), publicKey: nk.publicKey, nkeySeed: nk.seed });
    return nk.publicKey;
  };
  const county = signing(`${COUNTY_NODE} signing (current in registeredSenders; previous after its rotation)`, seed(0));
  const hub = signing(`${HUB_NODE} signing`, seed(32));
  const countyNext = signing(`${COUNTY_NODE} signing after its rotation (keys.rotate newSigningKey)`, seed(64));
  const node522 = signing(`${NODE_522} signing`, seed(96));
  const node522Prev = signing(`${NODE_522} signing before an earlier rotation`, seed(128));
  const node524 = signing(`${NODE_524} signing (revoked)`, seed(160));
  const node524Prev = signing(`${NODE_524} signing before an earlier rotation (revoked)`, seed(192));
  const hubEncryption = encryption(`${HUB_NODE} encryption`, fill(0xe0));
  const countyEncryption = encryption(`${COUNTY_NODE} encryption`, fill(0xe5));
  const node524Encryption = encryption(`${NODE_524} encryption`, fill(0xe4));
  const countyNkey = nats(`${COUNTY_NODE} NATS user`, seed(224));
  const otherNkey = nats('another NATS user (swapped into the enrollment negative)', fill(0x4e));
  const natsLogin = (() => {
    const nonce = 'dGhpcy1pcy1hLW5vbmNl';
    const sig = sodium().crypto_sign_detached(new TextEncoder().encode(nonce), sodium().crypto_sign_seed_keypair(seed(224)).privateKey);
    const sigBase64 = toBase64(sig);
    return { nkey: countyNkey, nkeySeed: userNkey(seed(224)).seed, nonce, sigBase64, sigBase64Url: sigBase64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') };
  })();
  const keyOf = (kp: SigningKeyPair) => seedOf.get(kp)!;
  const b64 = (kp: SigningKeyPair) => encodePublicKey(kp.publicKey);
  const registeredSenders: Record<string, string> = { [COUNTY_NODE]: b64(county), [HUB_NODE]: b64(hub) };

  // ------------------------------------------------------------------ Yjs updates of one entry
  const doc = loadEntryDoc(COUNTY_CLIENT_ID);
  const content = {
    name: '婚姻登记信息',
    abstract: '县民政局办理的结婚、离婚登记的证号、登记日期和登记机关。',
    provider: { code: 'zz-mzj', name: '泽州县民政局' },
    classification: 'department',
    grading: 'L3',
    dataFormat: 'database',
    dataItems: [
      { name: '登记证号', code: 'certificate_no', type: 'string', length: 20, sensitive: false, identifier: null },
      { name: '登记日期', code: 'registered_on', type: 'date', sensitive: false, identifier: null },
    ],
    sharing: { attribute: 'conditional', scope: '本市政务部门', legalBasis: '《婚姻登记条例》' },
    sharingMethods: ['api'],
    open: { attribute: 'not_open', basis: '涉及个人隐私' },
    updateCycle: 'daily',
    storageLevel: 'county',
    withdrawn: false,
  };
  const contentUpdate = writeRoot(doc, CONTENT_ROOT, content)!;
  const svAfterContent = docStateVector(doc);
  const contentAfter = readRoot(doc, CONTENT_ROOT);

  const hubDoc = loadEntryDoc(HUB_CLIENT_ID, Y.encodeStateAsUpdate(doc));
  // What the hub writes on a first approval (§7.5): every review key, contentHash of the content it approved.
  const review = {
    status: 'approved',
    reason: null,
    reviewer: 'admin',
    reviewedAt: '2025-01-02T03:04:05.000Z',
    code: '140500-140525-B-zz-mzj-000001',
    contentHash: contentHash(contentAfter),
  };
  const reviewUpdate = writeRoot(hubDoc, REVIEW_ROOT, review, 'hub')!;
  const steps: VectorsFile['yjs']['steps'] = [
    { clientId: COUNTY_CLIENT_ID, root: CONTENT_ROOT, fields: content, updateBase64: toBase64(contentUpdate), stateVectorAfter: svAfterContent, rootAfter: contentAfter },
    { clientId: HUB_CLIENT_ID, root: REVIEW_ROOT, fields: review, updateBase64: toBase64(reviewUpdate), stateVectorAfter: docStateVector(hubDoc), rootAfter: readRoot(hubDoc, REVIEW_ROOT) },
  ];

  // ------------------------------------------------------------------ digests
  const digestLines: VectorLine[] = [
    { id: ENTRY_ID, sv: svAfterContent },
    { id: OTHER_ENTRY_ID, sv: `${COUNTY_CLIENT_ID}:3,${HUB_CLIENT_ID}:6` },
  ];
  const digestCases = [[], [digestLines[0]!], digestLines].map((lines) => ({
    lines,
    hashedText: lines.map((l) => `${l.id}\t${l.sv}\n`).join(''),
    digestHex: rangeDigest(lines),
  }));

  const svCases = (
    [
      [],
      [[COUNTY_CLIENT_ID, 12]],
      [
        [10, 1],
        [9, 4],
        [100, 2],
      ],
      [
        [HUB_CLIENT_ID, 6],
        [42, 0],
        [COUNTY_CLIENT_ID, 3],
      ],
      [
        [4294967295, 300],
        [1, 1],
      ],
    ] as [number, number][][]
  ).map((clients) => ({ clients, canonical: canonicalStateVector(new Map(clients)) }));
  const svParseCases: VectorsFile['stateVectors']['parseCases'] = [
    '',
    '0:1',
    '9:4,10:1,100:2',
    `${COUNTY_CLIENT_ID}:3,${HUB_CLIENT_ID}:6`,
    '4294967295:300',
    '9007199254740991:9007199254740991',
    '1:0',
    '01:2',
    '1:02',
    '1:2,1:3',
    '10:1,9:4',
    '+1:2',
    '1:2 ',
    '1:2,',
    '9007199254740992:1',
  ].map((text) => {
    try {
      return { text, expect: 'valid' as const, clients: [...parseStateVector(text)] };
    } catch (err) {
      if (!(err instanceof ProtocolError) || err.code !== 'MESSAGE_INVALID') throw err;
      return { text, expect: 'MESSAGE_INVALID' as const, clients: null };
    }
  });

  // ------------------------------------------------------------------ audit chain of the county node
  const chainFields: ChainedFields[] = [
    {
      seq: 1,
      at: '2025-01-02T03:00:00.000Z',
      actor: '王五',
      actorRole: 'editor',
      department: 'zz-mzj',
      action: 'catalog.create',
      resource: ENTRY_ID,
      fields: [],
      purpose: null,
      result: 'ok',
      detail: { name: '婚姻登记信息' },
    },
    {
      seq: 2,
      at: '2025-01-02T03:01:00.000Z',
      actor: '张三',
      actorRole: 'department',
      department: 'zz-gaj',
      action: 'data.use',
      resource: ENTRY_ID,
      fields: ['登记证号', '登记日期'],
      purpose: '户籍核验',
      result: 'ok',
      detail: { rows: 12, ratio: 0.1, query: { to: '2024-12-31', from: '2024-01-01', exact: true, note: null }, ids: [3, 'x'] },
    },
    {
      seq: 3,
      at: '2025-01-02T03:02:00.500Z',
      actor: 'guest',
      actorRole: 'anonymous',
      department: null,
      action: 'access.denied',
      resource: null,
      fields: [],
      purpose: null,
      result: 'denied',
      // Member names sorted by UTF-16 code units: "Z" < "a" < "😀" (U+1F600, D83D DE00) < "ｚ" (U+FF5A);
      // a sort by code point puts "ｚ" before "😀". 1e21 is written "1e+21", as ECMAScript does.
      detail: { ｚ: 'fullwidth', '😀': 'astral', a: 1.5, Z: 1e21, path: '/api/v1/audit?q="x"' },
    },
  ];
  const chainRecords: VectorsFile['auditChain']['records'] = [];
  let prevHash = GENESIS_HASH;
  for (const f of chainFields) {
    const hash = hashRecord(prevHash, f);
    const record: AuditRecord = { ...f, prevHash: toHex(prevHash), hash: toHex(hash) };
    chainRecords.push({ record, recordText: new TextDecoder().decode(recordBytes(f)) });
    prevHash = hash;
  }
  const headHash = (seq: number) => chainRecords[seq - 1]!.record.hash;

  // ------------------------------------------------------------------ audit checkpoints
  const CHECKPOINT_AT = new Date('2025-01-02T03:04:05.500Z');
  const countySigner = keySigner(COUNTY_NODE, county.secretKey);
  const checkpoint = signCheckpoint({ seq: 3, hash: headHash(3) }, countySigner, CHECKPOINT_AT);
  // The valid signature of the seq-2 head, relabelled as seq 3: a node claiming a head it did not sign.
  const checkpointOtherHead: AuditCheckpoint = { ...signCheckpoint({ seq: 2, hash: headHash(2) }, countySigner, CHECKPOINT_AT), seq: 3, hash: headHash(3) };
  const checkpointEmpty = signCheckpoint({ seq: 0, hash: toHex(GENESIS_HASH) }, countySigner, new Date('2025-01-02T02:59:00.000Z'));

  // ------------------------------------------------------------------ key rotation
  const rotation: KeyRotation = { newSigningKey: b64(countyNext), proof: toBase64(signRotationProof(COUNTY_NODE, b64(countyNext), countyNext.secretKey)) };
  const rotationByOldKey: KeyRotation = { newSigningKey: b64(countyNext), proof: toBase64(signRotationProof(COUNTY_NODE, b64(countyNext), county.secretKey)) };
  const rotateText = `${ROTATE_CONTEXT}${COUNTY_NODE}\0${rotation.newSigningKey}`;

  // ------------------------------------------------------------------ key directory after the rotation
  const directory: KeyDirectory = KeyDirectory.parse({
    version: Date.parse(ROTATED_AT),
    issuedAt: ROTATED_AT,
    hub: { nodeId: HUB_NODE, signingKey: b64(hub), encryptionKey: hubEncryption },
    nodes: [
      {
        nodeId: NODE_522,
        county: '140522',
        status: 'active',
        signingKey: b64(node522),
        encryptionKey: null,
        previousSigningKey: b64(node522Prev),
        previousValidUntil: '2024-12-01T00:00:00.000Z',
        revokedAt: null,
      },
      {
        nodeId: NODE_524,
        county: '140524',
        status: 'revoked',
        signingKey: b64(node524),
        encryptionKey: node524Encryption,
        previousSigningKey: b64(node524Prev),
        previousValidUntil: '2025-01-04T00:00:00.000Z',
        revokedAt: '2025-01-02T02:00:00.000Z',
      },
      {
        nodeId: COUNTY_NODE,
        county: COUNTY,
        status: 'active',
        signingKey: b64(countyNext),
        encryptionKey: countyEncryption,
        previousSigningKey: b64(county),
        previousValidUntil: GRACE_END,
        revokedAt: null,
      },
    ],
  });

  // ------------------------------------------------------------------ enrollment proof
  const proofFields: ProofFields = {
    token: `jlj_${sodium().to_base64(seed(200), sodium().base64_variants.URLSAFE_NO_PADDING)}`,
    nodeId: COUNTY_NODE,
    county: COUNTY,
    encryptionKey: countyEncryption,
    natsNkey: countyNkey,
  };
  const enrollRequest: EnrollRequest = EnrollRequest.parse({
    token: proofFields.token,
    nodeId: proofFields.nodeId,
    county: proofFields.county,
    countyName: '泽州县',
    signingKey: b64(county),
    encryptionKey: proofFields.encryptionKey,
    natsNkey: proofFields.natsNkey,
    proof: toBase64(signEnrollProof(proofFields, county.secretKey)),
  });
  const enrollText = (r: ProofFields) => `${ENROLL_CONTEXT}${[r.token, r.nodeId, r.county, r.encryptionKey, r.natsNkey].join('\0')}`;
  const enrollCase = (name: string, description: string, request: EnrollRequest, verifies: boolean): EnrollmentCase => ({
    name,
    description,
    request,
    signedText: enrollText(request),
    signedBytesHex: toHex(utf8(enrollText(request))),
    verifies,
  });
  const enrollCases = [
    enrollCase('enrollment request', `${COUNTY_NODE} enrolls with its signing key (seed 0..31), encryption key and NATS nkey; the hub answers 201`, enrollRequest, true),
    enrollCase(
      'natsNkey swapped',
      'the same request and proof with natsNkey replaced after signing (as by a proxy in between): the proof no longer verifies; the hub answers 401 PROOF_INVALID',
      { ...enrollRequest, natsNkey: otherNkey },
      false,
    ),
  ];

  // ------------------------------------------------------------------ envelopes
  const envelopes: EnvelopeVector[] = [];
  const add = (name: string, description: string, kp: SigningKeyPair, bytes: Uint8Array, expect: EnvelopeVector['expect'], payloadSignatureValid?: boolean) => {
    envelopes.push({
      name,
      description,
      seedHex: toHex(keyOf(kp)),
      publicKeyBase64: encodePublicKey(kp.publicKey),
      bodyJson: bytes.length >= ENVELOPE_HEADER_BYTES ? decodeUtf8(bytes.subarray(ENVELOPE_HEADER_BYTES)) : null,
      envelopeHex: toHex(bytes),
      expect,
      ...(payloadSignatureValid === undefined ? {} : { payloadSignatureValid }),
    });
    return bytes;
  };
  const valid = <T extends MessageType>(name: string, description: string, kp: SigningKeyPair, env: Envelope<T>, payloadSignatureValid?: boolean) =>
    add(name, description, kp, encodeEnvelope(env, kp.secretKey), 'valid', payloadSignatureValid);

  const ts = '2025-01-02T03:04:05.678Z';
  const update = valid('catalog.update', 'tag 1, county → hub on UP: the content of a new entry, one Yjs v1 update written by client 1234567', county, {
    type: 'catalog.update',
    from: COUNTY_NODE,
    seq: 1,
    ts,
    payload: { origin: COUNTY, updates: [{ entryId: ENTRY_ID, update: toBase64(contentUpdate) }] },
  });
  valid('catalog.update (hub review)', 'tag 1, hub → all nodes on DOWN: the review decision, written by the hub client 7654321', hub, {
    type: 'catalog.update',
    from: HUB_NODE,
    seq: 1,
    ts,
    payload: { origin: 'hub', updates: [{ entryId: ENTRY_ID, update: toBase64(reviewUpdate) }] },
  });
  valid('catalog.sync.digest', 'tag 2, county → hub request: the whole id space as one range of 2 entries (rangeDigests case 3)', county, {
    type: 'catalog.sync.digest',
    from: COUNTY_NODE,
    seq: 1735787045678,
    ts,
    payload: { from: '', to: null, count: 2, digest: digestCases[2]!.digestHex },
  });
  valid('catalog.sync.digest.reply', 'tag 3, hub → county reply: the range differs; the hub lists its vectors, no further page', hub, {
    type: 'catalog.sync.digest.reply',
    from: HUB_NODE,
    seq: 1735787045690,
    ts,
    payload: { match: false, entries: [{ id: ENTRY_ID, sv: steps[1]!.stateVectorAfter }], next: null },
  });
  valid('catalog.sync.pull', 'tag 4, county → hub request: what the hub has beyond the county’s vector', county, {
    type: 'catalog.sync.pull',
    from: COUNTY_NODE,
    seq: 1735787045701,
    ts,
    payload: { entries: [{ id: ENTRY_ID, sv: svAfterContent }] },
  });
  valid('catalog.sync.pull.reply', 'tag 5, hub → county reply: the missing review update', hub, {
    type: 'catalog.sync.pull.reply',
    from: HUB_NODE,
    seq: 1735787045712,
    ts,
    payload: { updates: [{ entryId: ENTRY_ID, update: toBase64(reviewUpdate) }] },
  });
  const errorText = bodyText('error', HUB_NODE, 1735787045723, ts, { code: 'MESSAGE_INVALID', message: 'payload of catalog.sync.pull is invalid' });
  const errorEnv = valid('error', 'tag 6, hub → county reply: a request was refused', hub, {
    type: 'error',
    from: HUB_NODE,
    seq: 1735787045723,
    ts,
    payload: { code: 'MESSAGE_INVALID', message: 'payload of catalog.sync.pull is invalid' },
  });
  if (decodeUtf8(errorEnv.subarray(ENVELOPE_HEADER_BYTES)) !== errorText) throw new Error('encodeEnvelope changed its body layout');
  valid('keys.directory', `tag 7, hub → all nodes on DOWN: the directory after ${COUNTY_NODE}'s rotation (acceptedKeys.directory)`, hub, {
    type: 'keys.directory',
    from: HUB_NODE,
    seq: 2,
    ts: ROTATED_AT,
    payload: directory,
  });
  valid(
    'audit.checkpoint',
    "tag 9, county → hub on UP: the head of the county's audit chain (auditChain record 3), signed with the county key (auditCheckpoints case 1)",
    county,
    {
      type: 'audit.checkpoint',
      from: COUNTY_NODE,
      seq: 2,
      ts,
      payload: checkpoint,
    },
    true,
  );
  valid(
    'keys.rotate',
    'tag 8, county → hub on UP, signed with the current (old) key: the next key (seed 64..95) with its proof (rotationProofs case 1)',
    county,
    {
      type: 'keys.rotate',
      from: COUNTY_NODE,
      seq: 3,
      ts,
      payload: rotation,
    },
    true,
  );

  const mutate = (bytes: Uint8Array, f: (b: Uint8Array) => void) => {
    const copy = Uint8Array.from(bytes);
    f(copy);
    return copy;
  };
  const enc = (s: string) => new TextEncoder().encode(s);
  const updatePayload = { origin: COUNTY, updates: [{ entryId: ENTRY_ID, update: toBase64(contentUpdate) }] };

  add(
    'signature bit flipped',
    'catalog.update with the lowest bit of signature byte 0 (offset 3) flipped',
    county,
    mutate(update, (b) => (b[3]! ^= 0x01)),
    'ENVELOPE_BAD_SIGNATURE',
  );
  const marker = errorEnv.indexOf(0x63, ENVELOPE_HEADER_BYTES + errorText.indexOf('catalog.sync.pull is')); // the "c" of "catalog" in the message text
  add(
    'body byte flipped',
    `error with body byte ${marker - ENVELOPE_HEADER_BYTES} ("c" → "b" inside the message string): still valid JSON, signature no longer matches`,
    hub,
    mutate(errorEnv, (b) => (b[marker]! ^= 0x01)),
    'ENVELOPE_BAD_SIGNATURE',
  );
  add(
    'wrong magic',
    'catalog.update with byte 0 changed from 0x4A to 0x4B',
    county,
    mutate(update, (b) => (b[0] = 0x4b)),
    'ENVELOPE_BAD_MAGIC',
  );
  add(
    'version 2',
    'catalog.update with version byte 0x02 (signed as version 1; the version is checked first)',
    county,
    mutate(update, (b) => (b[2] = 0x02)),
    'ENVELOPE_UNSUPPORTED_VERSION',
  );
  add('truncated header', 'the first 40 bytes of catalog.update: shorter than header + 2', county, update.slice(0, 40), 'ENVELOPE_MALFORMED');
  add('truncated body', 'catalog.update without its last byte: the body is no longer JSON', county, update.slice(0, update.length - 1), 'ENVELOPE_MALFORMED');
  add('body not UTF-8', 'a validly signed body containing the byte 0xFF', county, signRaw(Uint8Array.from([...enc('{"type":"error"'), 0xff, ...enc('}')]), county.secretKey), 'ENVELOPE_MALFORMED');
  add('body not JSON', 'a validly signed body that is not JSON', county, signRaw(enc('type=catalog.update'), county.secretKey), 'ENVELOPE_MALFORMED');
  add(
    'body extra field',
    'a validly signed body with an extra top-level member "extra"',
    county,
    signRaw(enc(bodyText('catalog.update', COUNTY_NODE, 2, ts, updatePayload, { extra: 1 })), county.secretKey),
    'ENVELOPE_MALFORMED',
  );
  add(
    'ts with offset',
    'a validly signed body whose ts has a +08:00 offset: ts must be UTC with "Z"',
    county,
    signRaw(enc(bodyText('catalog.update', COUNTY_NODE, 2, '2025-01-02T11:04:05.678+08:00', updatePayload)), county.secretKey),
    'ENVELOPE_MALFORMED',
  );
  add(
    'unknown sender',
    'catalog.update from county-140526, which the receiver has no key for (signed with the county key)',
    county,
    signRaw(enc(bodyText('catalog.update', 'county-140526', 1, ts, updatePayload)), county.secretKey),
    'ENVELOPE_UNKNOWN_SENDER',
  );
  add(
    'wrong key',
    'catalog.update from county-140525 signed with the hub’s key',
    hub,
    signRaw(enc(bodyText('catalog.update', COUNTY_NODE, 2, ts, updatePayload)), hub.secretKey),
    'ENVELOPE_BAD_SIGNATURE',
  );
  add(
    'unknown type',
    'a validly signed body with type "catalog.delete"',
    county,
    signRaw(enc(bodyText('catalog.delete', COUNTY_NODE, 2, ts, { entryId: ENTRY_ID })), county.secretKey),
    'MESSAGE_UNKNOWN_TYPE',
  );
  add(
    'payload extra field',
    'a validly signed catalog.sync.digest whose payload has an extra member "page"',
    county,
    signRaw(enc(bodyText('catalog.sync.digest', COUNTY_NODE, 1735787045679, ts, { from: '', to: null, count: 2, digest: digestCases[2]!.digestHex, page: 1 })), county.secretKey),
    'MESSAGE_INVALID',
  );
  add(
    'payload bad entry id',
    'a validly signed catalog.update whose entry id has upper-case hex',
    county,
    signRaw(enc(bodyText('catalog.update', COUNTY_NODE, 2, ts, { origin: COUNTY, updates: [{ entryId: ENTRY_ID.toUpperCase(), update: toBase64(contentUpdate) }] })), county.secretKey),
    'MESSAGE_INVALID',
  );
  valid(
    'keys.rotate proof by old key',
    'a keys.rotate whose proof was made with the current (old) key instead of the new one: the envelope verifies, the proof does not (rotationProofs case 2); the hub refuses with UPDATE_FORBIDDEN',
    county,
    {
      type: 'keys.rotate',
      from: COUNTY_NODE,
      seq: 4,
      ts,
      payload: rotationByOldKey,
    },
    false,
  );
  valid(
    'audit.checkpoint signature of another head',
    "an audit.checkpoint for seq 3 carrying the county's valid signature of its seq-2 head: the envelope verifies, the checkpoint signature does not (auditCheckpoints case 2); the hub refuses with MESSAGE_INVALID",
    county,
    {
      type: 'audit.checkpoint',
      from: COUNTY_NODE,
      seq: 5,
      ts,
      payload: checkpointOtherHead,
    },
    false,
  );
  add(
    'keys.rotate non-canonical key',
    `a validly signed keys.rotate whose newSigningKey has non-zero unused bits ("${nonCanonical(rotation.newSigningKey)}" for "${rotation.newSigningKey}")`,
    county,
    signRaw(enc(bodyText('keys.rotate', COUNTY_NODE, 6, ts, { ...rotation, newSigningKey: nonCanonical(rotation.newSigningKey) })), county.secretKey),
    'MESSAGE_INVALID',
  );
  add(
    'keys.directory unpadded key',
    `a validly signed keys.directory whose ${COUNTY_NODE} signingKey lacks its "=" padding (43 characters)`,
    hub,
    signRaw(
      enc(bodyText('keys.directory', HUB_NODE, 3, ROTATED_AT, { ...directory, nodes: directory.nodes.map((n) => (n.nodeId === COUNTY_NODE ? { ...n, signingKey: n.signingKey.slice(0, -1) } : n)) })),
      hub.secretKey,
    ),
    'MESSAGE_INVALID',
  );
  add(
    'catalog.update with the next key',
    `catalog.update from ${COUNTY_NODE} signed with its next key (seed 64..95) after promotion: registeredSenders predates the rotation, so the key is not accepted here (see acceptedKeys, where it is)`,
    countyNext,
    encodeEnvelope(
      {
        type: 'catalog.update',
        from: COUNTY_NODE,
        seq: 7,
        ts: '2025-01-02T03:05:00.000Z',
        payload: updatePayload,
      },
      countyNext.secretKey,
    ),
    'ENVELOPE_BAD_SIGNATURE',
  );
  add(
    'revoked sender',
    `catalog.sync.pull from ${NODE_524} (revoked in the directory), signed with its key: unknown here and under acceptedKeys`,
    node524,
    encodeEnvelope(
      {
        type: 'catalog.sync.pull',
        from: NODE_524,
        seq: 1735787045800,
        ts,
        payload: { entries: [{ id: ENTRY_ID, sv: '' }] },
      },
      node524.secretKey,
    ),
    'ENVELOPE_UNKNOWN_SENDER',
  );

  // Self-check: every vector must verify (or fail) as it says, or the file is not written.
  const lookup = (id: string) => (registeredSenders[id] ? sodium().from_base64(registeredSenders[id]!, sodium().base64_variants.ORIGINAL) : undefined);
  const outcome = (hex: string, keysOf: KeyLookup): EnvelopeVector['expect'] => {
    try {
      verifyEnvelope(sodium().from_hex(hex), keysOf);
      return 'valid';
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      return err.code;
    }
  };
  const envelopeNamed = (name: string) => {
    const v = envelopes.find((e) => e.name === name);
    if (!v) throw new Error(`no envelope vector "${name}"`);
    return v;
  };
  for (const v of envelopes) {
    const got = outcome(v.envelopeHex, lookup);
    if (got !== v.expect) throw new Error(`vector "${v.name}": expected ${v.expect}, got ${got}`);
    if (got !== 'valid') continue;
    const env = verifyEnvelope(sodium().from_hex(v.envelopeHex), lookup);
    const inner =
      env.type === 'keys.rotate' ? verifyRotationProof(env.from, env.payload as KeyRotation) : env.type === 'audit.checkpoint' ? verifyCheckpoint(env.payload, lookup(env.from)!) : undefined;
    if (inner !== v.payloadSignatureValid) throw new Error(`vector "${v.name}": payload signature ${inner}, declared ${v.payloadSignatureValid}`);
  }
  const names = new Set(envelopes.map((v) => v.name));
  if (names.size !== envelopes.length) throw new Error('envelope vector names are not unique');

  for (const c of enrollCases) {
    // The rebuilt bytes are the signed ones: the reference proof of the valid case verifies over them.
    const signedOk = sodium().crypto_sign_verify_detached(fromBase64(c.request.proof), sodium().from_hex(c.signedBytesHex), fromBase64(c.request.signingKey));
    if (verifyEnrollProof(c.request) !== c.verifies || signedOk !== c.verifies) throw new Error(`enrollment case "${c.name}" does not verify as declared`);
  }

  const rotationCase = (name: string, description: string, r: KeyRotation, proofKey: SigningKeyPair, envelope: string): RotationCase => {
    const verifies = verifyRotationProof(COUNTY_NODE, r);
    const signedOk = sodium().crypto_sign_verify_detached(fromBase64(r.proof), utf8(rotateText), fromBase64(r.newSigningKey));
    if (signedOk !== verifies) throw new Error(`rotation case "${name}": rebuilt bytes disagree with verifyRotationProof`);
    const carried = JSON.parse(envelopeNamed(envelope).bodyJson!).payload;
    if (carried.proof !== r.proof || carried.newSigningKey !== r.newSigningKey) throw new Error(`rotation case "${name}" is not the payload of "${envelope}"`);
    return {
      name,
      description,
      nodeId: COUNTY_NODE,
      newSigningKey: r.newSigningKey,
      proofSeedHex: toHex(keyOf(proofKey)),
      signedText: rotateText,
      signedBytesHex: toHex(utf8(rotateText)),
      proof: r.proof,
      verifies,
      envelope,
    };
  };
  const rotationCases = [
    rotationCase('rotation proof', 'made with the new key (seed 64..95): verifies', rotation, countyNext, 'keys.rotate'),
    rotationCase('rotation proof by old key', 'the same bytes signed with the old key (seed 0..31): does not verify with newSigningKey', rotationByOldKey, county, 'keys.rotate proof by old key'),
  ];

  const checkpointCase = (name: string, description: string, cp: AuditCheckpoint, envelope: string | null): CheckpointCase => {
    const bytes = checkpointSignedBytes(cp);
    const verifies = verifyCheckpoint(cp, county.publicKey);
    if (envelope !== null && JSON.stringify(JSON.parse(envelopeNamed(envelope).bodyJson!).payload) !== JSON.stringify(cp))
      throw new Error(`checkpoint case "${name}" is not the payload of "${envelope}"`);
    return { name, description, publicKeyBase64: b64(county), checkpoint: cp, signedText: new TextDecoder().decode(bytes), signedBytesHex: toHex(bytes), verifies, envelope };
  };
  const checkpointCases = [
    checkpointCase('checkpoint', 'the county vouches for seq 3 of its audit chain (auditChain record 3): verifies', checkpoint, 'audit.checkpoint'),
    checkpointCase(
      'checkpoint signature of another head',
      'seq 3 and its hash, with the signature the county made for seq 2 (same at): does not verify',
      checkpointOtherHead,
      'audit.checkpoint signature of another head',
    ),
    checkpointCase('checkpoint of an empty log', 'seq 0 with 64 zeros as hash, as a node with an empty audit log signs it: verifies', checkpointEmpty, null),
  ];
  if (checkpointCases.map((c) => c.verifies).join() !== 'true,false,true') throw new Error('checkpoint cases do not verify as described');
  if (rotationCases.map((c) => c.verifies).join() !== 'true,false') throw new Error('rotation cases do not verify as described');

  const ndjson = chainRecords.map((r) => ndjsonLine(r.record)).join('');

  const directoryEnvelope = verifyEnvelope(sodium().from_hex(envelopeNamed('keys.directory').envelopeHex), lookup);
  if (JSON.stringify(directoryEnvelope.payload) !== JSON.stringify(directory)) throw new Error('the keys.directory envelope does not carry the directory');
  const acceptedNodes = [HUB_NODE, NODE_522, NODE_524, COUNTY_NODE, UNKNOWN_NODE];
  const acceptedEnvelopes = ['catalog.update (hub review)', 'keys.rotate', 'catalog.update with the next key', 'revoked sender', 'unknown sender'];
  const times = ['2025-01-03T00:00:00.000Z', GRACE_END, '2025-01-06T00:00:00.000Z'].map((now) => {
    const at = new Date(now);
    return {
      now,
      keys: Object.fromEntries(acceptedNodes.map((id) => [id, acceptedKeys(directory, id, at).map(toBase64)])),
      envelopes: Object.fromEntries(acceptedEnvelopes.map((name) => [name, outcome(envelopeNamed(name).envelopeHex, (id) => acceptedKeys(directory, id, at))])),
    };
  });

  const file: VectorsFile = {
    description:
      'Jilian wire test vectors (PROTOCOL.md §Test vectors). Generated by scripts/make-vectors.ts; do not edit by hand. ' +
      'Hex is lower-case; base64 is RFC 4648 §4 with padding. Verify each envelope with registeredSenders as the only known keys.',
    signingContext: SIGNING_CONTEXT,
    registeredSenders,
    envelopes,
    keys: {
      description:
        'Every key the vectors use, from its 32-byte seed: Ed25519 = crypto_sign_seed_keypair, X25519 = crypto_box_seed_keypair, nkey = the Ed25519 key of the seed as a NATS user nkey ' +
        '(base32 of 0xA0 ‖ public key ‖ CRC-16/XMODEM little-endian; nkeySeed the matching "SU…" seed).',
      keys,
    },
    natsLogin: {
      description:
        "NATS nkey login (PROTOCOL.md §4.1): the client signs the UTF-8 bytes of the INFO nonce with the nkey seed's Ed25519 key (no context string) and sends " +
        'CONNECT { nkey, sig }; sig is base64 of the 64-byte signature (nats.js: standard base64 with padding; nats-server also accepts base64url without padding).',
      ...natsLogin,
    },
    yjs: {
      description: 'The Yjs v1 updates carried by the catalog.update vectors: step 1 by the county client into "content" of an empty doc, step 2 by the hub client into "review" on top of step 1.',
      entryId: ENTRY_ID,
      steps,
    },
    stateVectors: {
      description:
        'Canonical state vector text (PROTOCOL.md §10.1): client:clock pairs, zero clocks omitted, sorted by client numerically, comma separated, decimal without leading zeros. ' +
        'cases: `clients` in arbitrary (Yjs) order → `canonical`. parseCases: a received text → `valid` with its pairs in order, or MESSAGE_INVALID ' +
        '(zero clock, leading zero, repeated or unsorted client, sign, trailing space or comma, above 2^53 - 1).',
      cases: svCases,
      parseCases: svParseCases,
    },
    rangeDigests: {
      description: 'BLAKE2b-256 (crypto_generichash, 32 bytes, no key) over hashedText = the lines "<id>\\t<sv>\\n", sorted by id.',
      cases: digestCases,
    },
    enrollment: {
      description:
        'Enrollment proof (PROTOCOL.md §6.3): Ed25519 over signedBytesHex = context ‖ UTF-8(token ‖ 0x00 ‖ nodeId ‖ 0x00 ‖ county ‖ 0x00 ‖ encryptionKey ‖ 0x00 ‖ natsNkey), ' +
        'verified with request.signingKey. signedText/signedBytesHex are what a verifier rebuilds from the request. verifies=false → 401 PROOF_INVALID.',
      context: ENROLL_CONTEXT,
      cases: enrollCases,
    },
    rotationProofs: {
      description:
        'Rotation proof (PROTOCOL.md §8.8): Ed25519 by the NEW key over signedBytesHex = context ‖ UTF-8(nodeId) ‖ 0x00 ‖ UTF-8(newSigningKey as its base64 text), ' +
        "verified with newSigningKey; nodeId is the envelope's from. verifies=false → the hub refuses with UPDATE_FORBIDDEN.",
      context: ROTATE_CONTEXT,
      cases: rotationCases,
    },
    auditCheckpoints: {
      description:
        'Audit checkpoint signature (PROTOCOL.md §8.9): Ed25519 over signedBytesHex = context ‖ UTF-8(canonicalJson({at, hash, nodeId, seq})), verified with publicKeyBase64. ' +
        'verifies=false → the hub refuses with MESSAGE_INVALID and stores nothing.',
      context: CHECKPOINT_CONTEXT,
      cases: checkpointCases,
    },
    auditChain: {
      description:
        'Audit hash chain (PROTOCOL.md §16) of the county node: hash = BLAKE2b-256(prevHash ‖ UTF-8(recordText)), recordText = canonicalJson of the eleven hashed members ' +
        '(sorted by UTF-16 code units, raw UTF-8), prevHash of seq 1 = genesisHash. ndjson is the same three records as an export; recompute each hash from its line.',
      genesisHash: toHex(GENESIS_HASH),
      records: chainRecords,
      ndjson,
    },
    acceptedKeys: {
      description:
        "acceptedKeys(directory, nodeId, now) (PROTOCOL.md §6.4) at three times: inside the county's grace period, exactly at previousValidUntil (no longer accepted: the comparison is strict) and after it. " +
        "county-140522 rotated long ago (its previous key expired), county-140524 is revoked (empty even though its previous key's grace period runs until 2025-01-04), county-140526 is not in the directory. " +
        'envelopes: the outcome of verifying those envelope vectors with acceptedKeys as the key table instead of registeredSenders.',
      directory,
      times,
    },
  };
  return JSON.stringify(file, null, 2) + '\n';
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const text = await generateVectors();
  if (process.argv.includes('--check')) {
    let old = '';
    try {
      old = readFileSync(VECTORS_FILE, 'utf8');
    } catch {
      /* missing counts as stale */
    }
    if (old !== text) {
      console.error(`stale: ${VECTORS_FILE} (run npx tsx scripts/make-vectors.ts)`);
      process.exit(1);
    }
    console.log(`up to date: ${VECTORS_FILE}`);
  } else {
    writeFileSync(VECTORS_FILE, text);
    console.log(`wrote ${VECTORS_FILE}`);
  }
}
