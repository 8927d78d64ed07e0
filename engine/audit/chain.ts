/**
 * @module Hash chain of the audit log (pure). Byte layout, version 1:
 *
 *   recordBytes(r) = UTF-8( canonicalJson({
 *                      "action", "actor", "actorRole", "at", "department", "detail",
 *                      "fields", "purpose", "resource", "result", "seq" }) )
 *   hash(r)        = BLAKE2b-256( prevHash ‖ recordBytes(r) )        (crypto_generichash, 32-byte output, no key)
 *   prevHash       = hash of the record with seq − 1; for seq 1 (genesis) 32 zero bytes
 *
 * canonicalJson = ECMAScript JSON.stringify with object keys sorted by UTF-16 code units at every depth,
 * no whitespace, non-ASCII characters as raw UTF-8 (not \u escapes). All eleven keys are always present:
 * `seq` is an integer ≥ 1, `at` RFC 3339 UTC with milliseconds (`2024-05-01T08:00:00.000Z`), `fields` an array
 * of strings, `detail` a JSON object, the optional text members (`department`, `resource`, `purpose`) null
 * when absent. Including `seq` binds every record to its position, so swapping or renumbering rows breaks
 * the chain even when their contents are internally consistent.
 */
import { canonicalJson } from '../../protocol/canonical-json.ts';
import { sodium } from '../../protocol/sodium.ts';

export const HASH_BYTES = 32;
/** prevHash of the first record ever written. */
export const GENESIS_HASH: Uint8Array = new Uint8Array(HASH_BYTES);

/** The hashed content of one record: exactly the members listed in the module comment. */
export interface ChainedFields {
  seq: number;
  at: string;
  actor: string;
  actorRole: string;
  department: string | null;
  action: string;
  resource: string | null;
  fields: string[];
  purpose: string | null;
  result: string;
  detail: Record<string, unknown>;
}

const encoder = new TextEncoder();

/** UTF-8 canonical JSON of the fixed member list; extra properties of `r` are ignored. */
export function recordBytes(r: ChainedFields): Uint8Array {
  return encoder.encode(
    canonicalJson({
      seq: r.seq,
      at: r.at,
      actor: r.actor,
      actorRole: r.actorRole,
      department: r.department,
      action: r.action,
      resource: r.resource,
      fields: r.fields,
      purpose: r.purpose,
      result: r.result,
      detail: r.detail,
    }),
  );
}

/** BLAKE2b-256(prevHash ‖ recordBytes). */
export function chainHash(prevHash: Uint8Array, bytes: Uint8Array): Uint8Array {
  if (prevHash.length !== HASH_BYTES) throw new Error(`prev hash must have ${HASH_BYTES} bytes, got ${prevHash.length}`);
  const input = new Uint8Array(HASH_BYTES + bytes.length);
  input.set(prevHash, 0);
  input.set(bytes, HASH_BYTES);
  return sodium().crypto_generichash(HASH_BYTES, input, null);
}

/** Hash of one record given its predecessor's hash. */
export function hashRecord(prevHash: Uint8Array, r: ChainedFields): Uint8Array {
  return chainHash(prevHash, recordBytes(r));
}

/** Byte equality (hashes are public, so a constant-time compare is not needed). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One stored record as the API, exports and tests see it: the hashed fields plus both hashes in hex. */
export interface AuditRecord extends ChainedFields {
  prevHash: string;
  hash: string;
}
