/**
 * @module Generates protocol/vectors/envelopes.json, the golden wire fixtures for integrators
 * (PROTOCOL.md §Test vectors). Everything is derived from fixed seeds, fixed timestamps and fixed
 * Yjs client ids; Ed25519 signatures and Yjs v1 encoding are deterministic, so re-running gives
 * byte-identical output. `npx tsx scripts/make-vectors.ts` writes the file; `--check` only compares.
 *
 * Valid envelopes are produced by `encodeEnvelope`. Invalid ones that must still carry a good
 * signature (unknown type, payload with an extra field, …) are signed here with libsodium directly,
 * mirroring the layout, because `encodeEnvelope` refuses to produce them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as Y from 'yjs';
import { CONTENT_ROOT, canonicalStateVector, docStateVector, loadEntryDoc, readRoot, REVIEW_ROOT, writeRoot, type EntryRoot } from '../protocol/catalog-doc.ts';
import { encodeEnvelope, ENVELOPE_HEADER_BYTES, verifyEnvelope, type Envelope } from '../protocol/envelope.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { encodePublicKey, signingKeyPairFromSeed, type SigningKeyPair } from '../protocol/keys.ts';
import type { MessageType } from '../protocol/messages.ts';
import { loadSodium, sodium, toBase64, toHex } from '../protocol/sodium.ts';
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

/** Seed bytes 0..31 (county node) and 32..63 (hub). */
const seed = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => start + i);

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
}

export interface VectorsFile {
  description: string;
  signingContext: string;
  /** The receiver's key table: node id → base64 public key. Every other sender is unknown. */
  registeredSenders: Record<string, string>;
  envelopes: EnvelopeVector[];
  yjs: {
    description: string;
    entryId: string;
    steps: { clientId: number; root: EntryRoot; fields: Record<string, unknown>; updateBase64: string; stateVectorAfter: string; rootAfter: Record<string, unknown> }[];
  };
  stateVectors: { description: string; cases: { clients: [number, number][]; canonical: string }[] };
  rangeDigests: { description: string; cases: { lines: VectorLine[]; hashedText: string; digestHex: string }[] };
}

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
  const county = signingKeyPairFromSeed(seed(0));
  const hub = signingKeyPairFromSeed(seed(32));
  const keyOf = (kp: SigningKeyPair) => (kp === county ? seed(0) : seed(32));
  const registeredSenders: Record<string, string> = { [COUNTY_NODE]: encodePublicKey(county.publicKey), [HUB_NODE]: encodePublicKey(hub.publicKey) };

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
  const review = {
    status: 'approved',
    reason: null,
    reviewer: 'admin',
    reviewedAt: '2025-01-02T03:04:05.000Z',
    code: '140500-140525-B-zz-mzj-000001',
    contentHash: '0'.repeat(64),
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

  const svCases = ([
    [],
    [[COUNTY_CLIENT_ID, 12]],
    [[10, 1], [9, 4], [100, 2]],
    [[HUB_CLIENT_ID, 6], [42, 0], [COUNTY_CLIENT_ID, 3]],
    [[4294967295, 300], [1, 1]],
  ] as [number, number][][]).map((clients) => ({ clients, canonical: canonicalStateVector(new Map(clients)) }));

  // ------------------------------------------------------------------ envelopes
  const envelopes: EnvelopeVector[] = [];
  const add = (name: string, description: string, kp: SigningKeyPair, bytes: Uint8Array, expect: EnvelopeVector['expect']) => {
    envelopes.push({
      name,
      description,
      seedHex: toHex(keyOf(kp)),
      publicKeyBase64: encodePublicKey(kp.publicKey),
      bodyJson: bytes.length >= ENVELOPE_HEADER_BYTES ? decodeUtf8(bytes.subarray(ENVELOPE_HEADER_BYTES)) : null,
      envelopeHex: toHex(bytes),
      expect,
    });
    return bytes;
  };
  const valid = <T extends MessageType>(name: string, description: string, kp: SigningKeyPair, env: Envelope<T>) =>
    add(name, description, kp, encodeEnvelope(env, kp.secretKey), 'valid');

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

  const mutate = (bytes: Uint8Array, f: (b: Uint8Array) => void) => {
    const copy = Uint8Array.from(bytes);
    f(copy);
    return copy;
  };
  const enc = (s: string) => new TextEncoder().encode(s);
  const updatePayload = { origin: COUNTY, updates: [{ entryId: ENTRY_ID, update: toBase64(contentUpdate) }] };

  add('signature bit flipped', 'catalog.update with the lowest bit of signature byte 0 (offset 3) flipped', county, mutate(update, (b) => (b[3]! ^= 0x01)), 'ENVELOPE_BAD_SIGNATURE');
  const marker = errorEnv.indexOf(0x63, ENVELOPE_HEADER_BYTES + errorText.indexOf('catalog.sync.pull is')); // the "c" of "catalog" in the message text
  add('body byte flipped', `error with body byte ${marker - ENVELOPE_HEADER_BYTES} ("c" → "b" inside the message string): still valid JSON, signature no longer matches`, hub, mutate(errorEnv, (b) => (b[marker]! ^= 0x01)), 'ENVELOPE_BAD_SIGNATURE');
  add('wrong magic', 'catalog.update with byte 0 changed from 0x4A to 0x4B', county, mutate(update, (b) => (b[0] = 0x4b)), 'ENVELOPE_BAD_MAGIC');
  add('version 2', 'catalog.update with version byte 0x02 (signed as version 1; the version is checked first)', county, mutate(update, (b) => (b[2] = 0x02)), 'ENVELOPE_UNSUPPORTED_VERSION');
  add('truncated header', 'the first 40 bytes of catalog.update: shorter than header + 2', county, update.slice(0, 40), 'ENVELOPE_MALFORMED');
  add('truncated body', 'catalog.update without its last byte: the body is no longer JSON', county, update.slice(0, update.length - 1), 'ENVELOPE_MALFORMED');
  add('body not UTF-8', 'a validly signed body containing the byte 0xFF', county, signRaw(Uint8Array.from([...enc('{"type":"error"'), 0xff, ...enc('}')]), county.secretKey), 'ENVELOPE_MALFORMED');
  add('body not JSON', 'a validly signed body that is not JSON', county, signRaw(enc('type=catalog.update'), county.secretKey), 'ENVELOPE_MALFORMED');
  add('body extra field', 'a validly signed body with an extra top-level member "extra"', county, signRaw(enc(bodyText('catalog.update', COUNTY_NODE, 2, ts, updatePayload, { extra: 1 })), county.secretKey), 'ENVELOPE_MALFORMED');
  add('ts with offset', 'a validly signed body whose ts has a +08:00 offset: ts must be UTC with "Z"', county, signRaw(enc(bodyText('catalog.update', COUNTY_NODE, 2, '2025-01-02T11:04:05.678+08:00', updatePayload)), county.secretKey), 'ENVELOPE_MALFORMED');
  add('unknown sender', 'catalog.update from county-140526, which the receiver has no key for (signed with the county key)', county, signRaw(enc(bodyText('catalog.update', 'county-140526', 1, ts, updatePayload)), county.secretKey), 'ENVELOPE_UNKNOWN_SENDER');
  add('wrong key', 'catalog.update from county-140525 signed with the hub’s key', hub, signRaw(enc(bodyText('catalog.update', COUNTY_NODE, 2, ts, updatePayload)), hub.secretKey), 'ENVELOPE_BAD_SIGNATURE');
  add('unknown type', 'a validly signed body with type "catalog.delete"', county, signRaw(enc(bodyText('catalog.delete', COUNTY_NODE, 2, ts, { entryId: ENTRY_ID })), county.secretKey), 'MESSAGE_UNKNOWN_TYPE');
  add('payload extra field', 'a validly signed catalog.sync.digest whose payload has an extra member "page"', county, signRaw(enc(bodyText('catalog.sync.digest', COUNTY_NODE, 1735787045679, ts, { from: '', to: null, count: 2, digest: digestCases[2]!.digestHex, page: 1 })), county.secretKey), 'MESSAGE_INVALID');
  add('payload bad entry id', 'a validly signed catalog.update whose entry id has upper-case hex', county, signRaw(enc(bodyText('catalog.update', COUNTY_NODE, 2, ts, { origin: COUNTY, updates: [{ entryId: ENTRY_ID.toUpperCase(), update: toBase64(contentUpdate) }] })), county.secretKey), 'MESSAGE_INVALID');

  // Self-check: every vector must verify (or fail) as it says, or the file is not written.
  const lookup = (id: string) => (registeredSenders[id] ? sodium().from_base64(registeredSenders[id]!, sodium().base64_variants.ORIGINAL) : undefined);
  for (const v of envelopes) {
    let got: string;
    try {
      verifyEnvelope(sodium().from_hex(v.envelopeHex), lookup);
      got = 'valid';
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      got = err.code;
    }
    if (got !== v.expect) throw new Error(`vector "${v.name}": expected ${v.expect}, got ${got}`);
  }

  const file: VectorsFile = {
    description:
      'Jilian wire test vectors (PROTOCOL.md §Test vectors). Generated by scripts/make-vectors.ts; do not edit by hand. ' +
      'Hex is lower-case; base64 is RFC 4648 §4 with padding. Verify each envelope with registeredSenders as the only known keys.',
    signingContext: SIGNING_CONTEXT,
    registeredSenders,
    envelopes,
    yjs: {
      description: 'The Yjs v1 updates carried by the catalog.update vectors: step 1 by the county client into "content" of an empty doc, step 2 by the hub client into "review" on top of step 1.',
      entryId: ENTRY_ID,
      steps,
    },
    stateVectors: {
      description: 'Canonical state vector text: client:clock pairs, zero clocks omitted, sorted by client numerically, comma separated. `clients` is in arbitrary (Yjs) order.',
      cases: svCases,
    },
    rangeDigests: {
      description: 'BLAKE2b-256 (crypto_generichash, 32 bytes, no key) over hashedText = the lines "<id>\\t<sv>\\n", sorted by id.',
      cases: digestCases,
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
