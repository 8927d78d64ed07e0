/**
 * @module Anti-entropy digests (PROTOCOL.md §10.2).
 *
 * A range digest is BLAKE2b-256 over the lines `<entry id> TAB <canonical state vector> LF` of every
 * entry in the range, sorted by id (byte order). Equal digests mean both sides hold the same entries
 * with the same state vectors, so nothing needs to move. The state vector text is the canonical form
 * of §10.1 (`canonicalStateVector` / the strict `parseStateVector` in catalog-doc.ts): it has one
 * spelling per vector, so equal vectors always hash alike.
 */
import { sodium, toHex } from './sodium.ts';

export interface VectorLine {
  id: string;
  sv: string;
}

/** Hex BLAKE2b-256 digest of sorted (id, sv) lines. The caller passes lines already sorted by id. */
export function rangeDigest(lines: Iterable<VectorLine>): string {
  const s = sodium();
  const state = s.crypto_generichash_init(null, 32);
  const enc = new TextEncoder();
  for (const { id, sv } of lines) s.crypto_generichash_update(state, enc.encode(`${id}\t${sv}\n`));
  return toHex(s.crypto_generichash_final(state, 32));
}
