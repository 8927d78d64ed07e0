/**
 * @module Data packages (protocol/PACKAGES.md): one snapshot or delta of one resource as a node-signed
 * header and a body of independently encrypted chunks. Pure: no I/O and no compression (engine/package/
 * compresses and runs the bulk work on worker threads).
 *
 * Construction, version 1 — a STREAM-style chunked AEAD, not crypto_secretstream:
 *   K            32 random bytes per package (the content key), sealed to each recipient with crypto_box_seal
 *   subkey(id)   crypto_kdf_derive_from_key(32, id, "jilianpk", K):  1 chunk key, 2 plaintext MAC key, 3 key commitment
 *   nonce_i      noncePrefix (16 random bytes, in the header) ‖ BE64(i)                      (24 bytes)
 *   AD_i         "jilian/package-chunk/v1\0" ‖ packageId (16 bytes) ‖ BE64(i) ‖ u8(isLast)    (49 bytes)
 *   chunk_i      crypto_aead_xchacha20poly1305_ietf_encrypt(compress(P_i), AD_i, nonce_i, subkey(1))
 *   cipherHash   BLAKE2b-256(BLAKE2b-256(chunk_0) ‖ … ‖ BLAKE2b-256(chunk_n-1))
 *   contentHash  BLAKE2b-256(MAC(P_0) ‖ … ‖ MAC(P_n-1)),  MAC = BLAKE2b-256 keyed with subkey(2)
 * where P_i is the i-th `chunkSize`-byte slice of the NDJSON row stream. Why not secretstream: its state
 * is sequential, so a receiver cannot check chunk i without chunks 0..i-1 and a sender cannot restart at
 * chunk i without replaying the stream. Here every chunk verifies on its own (resume = fetch the missing
 * indices), the index in nonce and AD stops reordering, the authenticated last flag and the signed
 * chunkCount stop truncation, and packageId in AD plus a fresh key stop splicing between packages.
 * AEAD tags only prove "made by a holder of K" — every recipient holds K — so the node signs cipherHash
 * (no recipient can forge chunks) and keyCommitment (every recipient gets the same K, so the same rows).
 * Recipients are outside the signature: an entry is valid iff it opens to a key matching keyCommitment,
 * so the hub can add one later (re-seal) without the node and without touching the body.
 */
import { z } from 'zod';
import { key32, sig64 } from './base64-schemas.ts';
import { canonicalJson } from './canonical-json.ts';
import { RESOURCE_CODE_RE, type DataItem } from './catalog-entry.ts';
import type { KeyLookup } from './keys.ts';
import { PackageError } from './errors.ts';
import { entryId } from './identifiers.ts';
import { fromBase64, randomBytes, sealBox, sodium, toBase64, toHex } from './sodium.ts';
import { NODE_ID_RE } from './subjects.ts';
import { formatZodIssues } from './validation-error.ts';

export const PACKAGE_VERSION = 1;
export const PACKAGE_SIGNING_CONTEXT = 'jilian/package/v1\0';
export const CHUNK_AD_CONTEXT = 'jilian/package-chunk/v1\0';
/** crypto_kdf context (exactly 8 bytes) and subkey ids. */
export const PACKAGE_KDF_CONTEXT = 'jilianpk';
export const SUBKEY_CHUNK = 1;
export const SUBKEY_MAC = 2;
export const SUBKEY_COMMITMENT = 3;
export const CONTENT_KEY_BYTES = 32;
export const NONCE_PREFIX_BYTES = 16;
/** crypto_box_seal of a 32-byte key: ephemeral public key (32) ‖ ciphertext (32) ‖ MAC (16). */
export const SEALED_KEY_BYTES = 80;
export const CHUNK_TAG_BYTES = 16;
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
export const MIN_CHUNK_SIZE = 64;
export const MAX_CHUNK_SIZE = 512 * 1024;
export const MAX_CHUNK_COUNT = 1 << 20;
export const MAX_RECIPIENTS = 256;
export const PACKAGE_KINDS = ['snapshot', 'delta'] as const;
export const PACKAGE_COMPRESSIONS = ['deflate-raw', 'none'] as const;

// The package error class and its codes live with the other protocol errors (errors.ts).
export { PACKAGE_ERROR_CODES, PackageError, type PackageErrorCode } from './errors.ts';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits');
const uint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Exactly 16 / 80 bytes, canonical base64 (see base64-schemas.ts). */
const nonce16 = z.string().regex(/^[A-Za-z0-9+/]{21}[AQgw]==$/, '16 bytes, canonical base64');
const sealed80 = z.string().regex(/^[A-Za-z0-9+/]{106}[AEIMQUYcgkosw048]=$/, '80-byte sealed key, canonical base64');

/** Chunks needed for `plainBytes` bytes: at least one (an empty package has one empty last chunk). */
export function expectedChunkCount(plainBytes: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(plainBytes / chunkSize));
}

/** Largest chunk a receiver accepts: deflate's worst case (stored blocks) plus the tag, with margin. */
export function maxChunkBytes(chunkSize: number): number {
  return chunkSize + (chunkSize >>> 10) + 64 + CHUNK_TAG_BYTES;
}

/** The node-signed header: what the package contains and the hashes that bind its body. */
export const PackageHeader = z
  .strictObject({
    v: z.literal(PACKAGE_VERSION),
    packageId: z.string().regex(UUID_RE, 'lower-case RFC 9562 UUID'),
    sender: z.string().regex(NODE_ID_RE),
    resource: entryId,
    resourceCode: z.string().regex(RESOURCE_CODE_RE).nullable(),
    schemaHash: hex64,
    kind: z.enum(PACKAGE_KINDS),
    baseVersion: uint.nullable(),
    newVersion: uint.min(1),
    createdAt: z.iso.datetime(),
    rowCount: uint,
    plainBytes: uint,
    chunkSize: z.number().int().min(MIN_CHUNK_SIZE).max(MAX_CHUNK_SIZE),
    chunkCount: z.number().int().min(1).max(MAX_CHUNK_COUNT),
    cipherBytes: uint,
    compression: z.enum(PACKAGE_COMPRESSIONS),
    noncePrefix: nonce16,
    keyCommitment: hex64,
    contentHash: hex64,
    cipherHash: hex64,
    /**
     * Present only on a grant package (§10a): the rows were shaped by the provider for this one grant
     * (its items, row filter and desensitization), so the package may go to that grant's consumer only.
     */
    grantId: z.string().regex(UUID_RE, 'lower-case RFC 9562 UUID').optional(),
  })
  .superRefine((h, ctx) => {
    const bad = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (h.grantId !== undefined && h.kind !== 'snapshot') bad('kind', 'a grant package is a snapshot');
    if (h.kind === 'snapshot' && h.baseVersion !== null) bad('baseVersion', 'a snapshot has baseVersion null');
    if (h.kind === 'delta' && (h.baseVersion === null || h.baseVersion >= h.newVersion)) bad('baseVersion', 'a delta needs baseVersion < newVersion');
    if (h.chunkCount !== expectedChunkCount(h.plainBytes, h.chunkSize)) bad('chunkCount', 'chunkCount must be max(1, ceil(plainBytes / chunkSize))');
    if ((h.rowCount === 0) !== (h.plainBytes === 0) || h.rowCount > h.plainBytes) bad('rowCount', 'rowCount does not fit plainBytes');
    if (h.cipherBytes < h.chunkCount * CHUNK_TAG_BYTES || h.cipherBytes > h.chunkCount * maxChunkBytes(h.chunkSize)) bad('cipherBytes', 'cipherBytes out of range');
  });
export type PackageHeader = z.infer<typeof PackageHeader>;

/** The content key sealed to one recipient's X25519 key. Not signed: valid iff it opens to a key matching keyCommitment. */
export const PackageRecipient = z.strictObject({ nodeId: z.string().regex(NODE_ID_RE), publicKey: key32, sealedKey: sealed80 });
export type PackageRecipient = z.infer<typeof PackageRecipient>;

/** What travels and is stored: the header, the sender's signature over it, and the recipient entries. */
export const SignedPackageHeader = z.strictObject({ header: PackageHeader, signature: sig64, recipients: z.array(PackageRecipient).min(1).max(MAX_RECIPIENTS) }).superRefine((s, ctx) => {
  if (new Set(s.recipients.map((r) => r.publicKey)).size !== s.recipients.length) {
    ctx.addIssue({ code: 'custom', path: ['recipients'], message: 'one entry per recipient key' });
  }
});
export type SignedPackageHeader = z.infer<typeof SignedPackageHeader>;

/** Hex BLAKE2b-256 of canonicalJson(dataItems): the schema the rows follow. */
export function schemaHashOf(dataItems: unknown): string {
  return toHex(sodium().crypto_generichash(32, new TextEncoder().encode(canonicalJson(dataItems)), null));
}

/** A data item as far as the rows of a front-end package are concerned. */
export type SchemaItem = Pick<DataItem, 'name' | 'code' | 'type'> & Partial<Pick<DataItem, 'length' | 'required' | 'primaryKey' | 'identifier'>>;

/**
 * The fields of each data item that shape a front-end table and its rows (a node stores exactly these,
 * node/frontend/table-schema.ts): `schemaHashOf(schemaItemsOf(entry's dataItems))` is the `schemaHash`
 * of the entry's packages, so the hub can tell whether a stored package has the entry's current items.
 */
export function schemaItemsOf(items: readonly SchemaItem[]): SchemaItem[] {
  return items.map((i) => ({
    name: i.name,
    code: i.code,
    type: i.type,
    ...(i.length !== undefined ? { length: i.length } : {}),
    required: i.required === true || i.primaryKey === true,
    primaryKey: i.primaryKey === true,
    identifier: i.identifier ?? null,
  }));
}

// ------------------------------------------------------------------------------ signature

/** The exact bytes the sender signs: context ‖ UTF-8(canonicalJson(header)). */
export function headerSignedBytes(header: PackageHeader): Uint8Array {
  return concat(new TextEncoder().encode(PACKAGE_SIGNING_CONTEXT), new TextEncoder().encode(canonicalJson(header)));
}

/** Signs with the node's Ed25519 key (engine/identity.ts `Identity` fits). */
export interface PackageSigner {
  readonly nodeId: string;
  signDetached(message: Uint8Array): Uint8Array;
}

/** Validate and sign a header; returns the base64 signature. The signer must be the header's sender. */
export function signHeader(header: PackageHeader, signer: PackageSigner): string {
  const parsed = PackageHeader.parse(header);
  if (parsed.sender !== signer.nodeId) throw new Error(`header sender ${parsed.sender} is not the signer ${signer.nodeId}`);
  return toBase64(signer.signDetached(headerSignedBytes(parsed)));
}

/** The sender's accepted Ed25519 key(s), or a lookup by node id (as for envelopes). */
export type SenderKeys = Uint8Array | readonly Uint8Array[] | KeyLookup;

/** Parse and authenticate a signed header: PACKAGE_MALFORMED, PACKAGE_UNKNOWN_SENDER, PACKAGE_BAD_SIGNATURE. */
export function verifyHeader(signed: unknown, senderKeys: SenderKeys): SignedPackageHeader {
  const parsed = SignedPackageHeader.safeParse(signed);
  if (!parsed.success) throw new PackageError('PACKAGE_MALFORMED', 'package header is invalid', { issues: formatZodIssues(parsed.error) });
  const { header } = parsed.data;
  const found = typeof senderKeys === 'function' ? senderKeys(header.sender) : senderKeys;
  const keys = found === undefined ? [] : found instanceof Uint8Array ? [found] : found;
  if (keys.length === 0) throw new PackageError('PACKAGE_UNKNOWN_SENDER', `sender ${header.sender} is not registered`, { sender: header.sender });
  const message = headerSignedBytes(header);
  const signature = fromBase64(parsed.data.signature);
  if (!keys.some((k) => sodium().crypto_sign_verify_detached(signature, message, k))) {
    throw new PackageError('PACKAGE_BAD_SIGNATURE', `package ${header.packageId} is not signed by ${header.sender}`, { packageId: header.packageId });
  }
  return parsed.data;
}

// ------------------------------------------------------------------------------ keys

/** A fresh random content key; one per package, never reused. */
export function generateContentKey(): Uint8Array {
  return randomBytes(CONTENT_KEY_BYTES);
}

export function generateNoncePrefix(): Uint8Array {
  return randomBytes(NONCE_PREFIX_BYTES);
}

/** subkey(id) = BLAKE2b-256(key = K, message = empty, salt = LE64(id) ‖ 0^8, personal = "jilianpk" ‖ 0^8). */
export function deriveSubkey(contentKey: Uint8Array, id: number): Uint8Array {
  if (contentKey.length !== CONTENT_KEY_BYTES) throw new PackageError('PACKAGE_KEY_MISMATCH', 'a content key has 32 bytes');
  return sodium().crypto_kdf_derive_from_key(32, id, PACKAGE_KDF_CONTEXT, contentKey);
}

/** Hex commitment to K that the sender signs; a recipient compares it right after unsealing. */
export function keyCommitment(contentKey: Uint8Array): string {
  return toHex(deriveSubkey(contentKey, SUBKEY_COMMITMENT));
}

/** crypto_box_seal(K, recipient X25519 public key): 80 bytes, randomized. */
export function sealContentKey(contentKey: Uint8Array, recipientPk: Uint8Array): Uint8Array {
  return sealBox(contentKey, recipientPk);
}

/** crypto_box_seal_open; PACKAGE_NOT_RECIPIENT when it does not open with this key pair. */
export function openContentKey(sealed: Uint8Array, recipientPk: Uint8Array, recipientSk: Uint8Array): Uint8Array {
  let key: Uint8Array;
  try {
    key = sodium().crypto_box_seal_open(sealed, recipientPk, recipientSk);
  } catch {
    throw new PackageError('PACKAGE_NOT_RECIPIENT', 'sealed key does not open with this key pair');
  }
  if (key.length !== CONTENT_KEY_BYTES) throw new PackageError('PACKAGE_KEY_MISMATCH', 'sealed content key is not 32 bytes');
  return key;
}

/** An X25519 key pair (engine/identity.ts `BoxKeyPair`). */
export interface BoxKeys {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** A recipient entry sealing K to `to`. */
export function recipientEntry(contentKey: Uint8Array, to: { nodeId: string; publicKey: Uint8Array }): PackageRecipient {
  return { nodeId: to.nodeId, publicKey: toBase64(to.publicKey), sealedKey: toBase64(sealContentKey(contentKey, to.publicKey)) };
}

/** K for `me`: my entry (by public key), opened, checked against the signed keyCommitment. */
export function unsealPackageKey(signed: SignedPackageHeader, me: BoxKeys): Uint8Array {
  const pk = toBase64(me.publicKey);
  const entry = signed.recipients.find((r) => r.publicKey === pk);
  const packageId = signed.header.packageId;
  if (!entry) throw new PackageError('PACKAGE_NOT_RECIPIENT', `package ${packageId} is not sealed to this key`, { packageId });
  const key = openContentKey(fromBase64(entry.sealedKey), me.publicKey, me.secretKey);
  if (!sodium().memcmp(deriveSubkey(key, SUBKEY_COMMITMENT), sodium().from_hex(signed.header.keyCommitment))) {
    throw new PackageError('PACKAGE_KEY_MISMATCH', `sealed key of package ${packageId} does not match its keyCommitment`, { packageId });
  }
  return key;
}

/** Re-seal K (opened with the holder's key pair, e.g. the hub's) for a new recipient; the body is untouched. */
export function resealForRecipient(signed: SignedPackageHeader, holder: BoxKeys, to: { nodeId: string; publicKey: Uint8Array }): PackageRecipient {
  return recipientEntry(unsealPackageKey(signed, holder), to);
}

/** The signed header with `entry` added (replacing an entry for the same key). The signature stays valid. */
export function withRecipient(signed: SignedPackageHeader, entry: PackageRecipient): SignedPackageHeader {
  const recipients = [...signed.recipients.filter((r) => r.publicKey !== entry.publicKey), PackageRecipient.parse(entry)];
  if (recipients.length > MAX_RECIPIENTS) throw new PackageError('PACKAGE_MALFORMED', `at most ${MAX_RECIPIENTS} recipients`);
  return { ...signed, recipients };
}

// ------------------------------------------------------------------------------ chunks

/** What chunk encryption needs from the header; known before the first chunk (a header satisfies it). */
export interface ChunkContext {
  packageId: string;
  noncePrefix: string;
}

function be64(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`chunk index ${n} is not a non-negative integer`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

export function chunkNonce(ctx: ChunkContext, index: number): Uint8Array {
  return concat(fromBase64(ctx.noncePrefix), be64(index));
}

export function chunkAd(ctx: ChunkContext, index: number, isLast: boolean): Uint8Array {
  return concat(new TextEncoder().encode(CHUNK_AD_CONTEXT), sodium().from_hex(ctx.packageId.replaceAll('-', '')), be64(index), Uint8Array.of(isLast ? 1 : 0));
}

/** Encrypt one chunk's (already compressed) bytes; output = ciphertext ‖ 16-byte tag. */
export function encryptChunk(contentKey: Uint8Array, ctx: ChunkContext, index: number, isLast: boolean, plaintext: Uint8Array): Uint8Array {
  const key = deriveSubkey(contentKey, SUBKEY_CHUNK);
  return sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, chunkAd(ctx, index, isLast), null, chunkNonce(ctx, index), key);
}

/** Authenticate and decrypt chunk `index`; PACKAGE_CHUNK_INVALID if it was not made for this package, key, index and flag. */
export function decryptChunk(contentKey: Uint8Array, ctx: ChunkContext, index: number, isLast: boolean, chunk: Uint8Array): Uint8Array {
  const key = deriveSubkey(contentKey, SUBKEY_CHUNK);
  try {
    return sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(null, chunk, chunkAd(ctx, index, isLast), chunkNonce(ctx, index), key);
  } catch {
    throw new PackageError('PACKAGE_CHUNK_INVALID', `chunk ${index} of package ${ctx.packageId} does not authenticate`, { packageId: ctx.packageId, index });
  }
}

/** BLAKE2b-256 of one encrypted chunk: the leaf of cipherHash. */
export function chunkHash(chunk: Uint8Array): Uint8Array {
  return sodium().crypto_generichash(32, chunk, null);
}

/** BLAKE2b-256 keyed with subkey(2) of one plaintext slice: the leaf of contentHash (keyed so non-recipients cannot test guesses). */
export function plainMac(contentKey: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return sodium().crypto_generichash(32, plaintext, deriveSubkey(contentKey, SUBKEY_MAC));
}

/** Hex BLAKE2b-256 over the concatenated 32-byte leaves, in chunk order. */
export function hashRoot(leaves: Uint8Array): string {
  return toHex(sodium().crypto_generichash(32, leaves, null));
}

/** Plaintext bytes slice `index` must decompress to. */
export function chunkPlainLength(header: Pick<PackageHeader, 'plainBytes' | 'chunkSize' | 'chunkCount'>, index: number): number {
  return index < header.chunkCount - 1 ? header.chunkSize : header.plainBytes - (header.chunkCount - 1) * header.chunkSize;
}

/**
 * A receiver's record of verified chunks (resume state): which indices it holds and their hashes. Record a
 * chunk only after decryptChunk accepted it; `finish` then checks completeness and the signed cipherHash.
 */
export class ChunkLedger {
  private readonly leaves: Uint8Array;
  private readonly have: Uint8Array;
  private count = 0;
  private bytes = 0;

  constructor(readonly header: PackageHeader) {
    this.leaves = new Uint8Array(32 * header.chunkCount);
    this.have = new Uint8Array(header.chunkCount);
  }

  /** Record chunk `index` (its length and chunkHash). A second, different chunk for one index is a forgery by a key holder. */
  record(index: number, length: number, hash: Uint8Array): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.header.chunkCount) {
      throw new PackageError('PACKAGE_CHUNK_INVALID', `chunk index ${index} out of range`, { index });
    }
    if (length < CHUNK_TAG_BYTES || length > maxChunkBytes(this.header.chunkSize)) {
      throw new PackageError('PACKAGE_CHUNK_INVALID', `chunk ${index} has ${length} bytes`, { index, length });
    }
    if (this.have[index]) {
      if (!sodium().memcmp(this.leaves.subarray(32 * index, 32 * index + 32), hash)) {
        throw new PackageError('PACKAGE_HASH_MISMATCH', `two different chunks ${index}`, { index });
      }
      return;
    }
    this.leaves.set(hash, 32 * index);
    this.have[index] = 1;
    this.count++;
    this.bytes += length;
  }

  has(index: number): boolean {
    return this.have[index] === 1;
  }

  get complete(): boolean {
    return this.count === this.header.chunkCount;
  }

  /** Missing indices as inclusive [from, to] ranges, at most `limit` ranges: what a resume request asks for. */
  missing(limit = 64): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.header.chunkCount && out.length < limit; i++) {
      if (this.have[i]) continue;
      let j = i;
      while (j + 1 < this.header.chunkCount && !this.have[j + 1]) j++;
      out.push([i, j]);
      i = j;
    }
    return out;
  }

  /** PACKAGE_TRUNCATED if any chunk is missing; PACKAGE_HASH_MISMATCH unless cipherBytes and cipherHash match. */
  finish(): void {
    const { packageId } = this.header;
    if (!this.complete) throw new PackageError('PACKAGE_TRUNCATED', `package ${packageId} lacks chunks`, { packageId, missing: this.missing(8) });
    if (this.bytes !== this.header.cipherBytes || hashRoot(this.leaves) !== this.header.cipherHash) {
      throw new PackageError('PACKAGE_HASH_MISMATCH', `chunks of package ${packageId} are not the ones its sender signed`, { packageId });
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
