/**
 * @module One catalog entry as a Yjs document (PROTOCOL.md §Catalog documents).
 *
 * Each entry is its own Y.Doc with two root maps, split by owner so that permission checks are
 * structural: `content` is written only by the owning county's node, `review` only by the hub.
 * Every field is one map key holding a plain JSON value (last writer wins per field, ties broken by
 * Yjs client id, so all replicas pick the same value). Keys are never deleted, only set to null:
 * a key deletion would change the delete set without changing the state vector, and anti-entropy
 * compares state vectors. Because values are replaced whole (no Y.Text), an overwritten value leaves
 * only a small tombstone (client, clock, length) behind; its content is garbage-collected.
 */
import * as Y from 'yjs';
import { ProtocolError } from './errors.ts';

export const CONTENT_ROOT = 'content';
export const REVIEW_ROOT = 'review';
export type EntryRoot = typeof CONTENT_ROOT | typeof REVIEW_ROOT;

/** Load (or create) an entry doc that will write as `clientId`. The id must be stable per replica and unique. */
export function loadEntryDoc(clientId: number, state?: Uint8Array | null): Y.Doc {
  // A fixed guid: the entry id lives outside the doc, and generating a random guid costs ~50 µs per doc.
  const doc = new Y.Doc({ gc: true, guid: 'jilian-entry' });
  // Load first, then take the id: Yjs abandons a client id whose clock a non-local transaction advanced.
  if (state && state.length > 0) Y.applyUpdate(doc, state, 'storage');
  doc.clientID = clientId;
  return doc;
}

/** Plain JSON of one root map with null (cleared) fields dropped. */
export function readRoot(doc: Y.Doc, root: EntryRoot): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc.getMap(root).toJSON())) if (value !== null && value !== undefined) out[key] = value;
  return out;
}

/**
 * Set fields of one root in a single transaction and return the Yjs update it produced
 * (null when nothing changed). Unchanged values are not rewritten, so no-op edits leave no tombstones.
 */
export function writeRoot(doc: Y.Doc, root: EntryRoot, fields: Record<string, unknown>, origin: unknown = 'local'): Uint8Array | null {
  const map = doc.getMap(root);
  let update: Uint8Array | null = null;
  const capture = (u: Uint8Array) => {
    update = update ? Y.mergeUpdates([update, u]) : u;
  };
  doc.on('update', capture);
  try {
    doc.transact(() => {
      for (const [key, raw] of Object.entries(fields)) {
        const value = raw === undefined ? null : raw;
        const current = map.get(key);
        if (JSON.stringify(current ?? null) === JSON.stringify(value)) continue;
        map.set(key, value as never);
      }
    }, origin);
  } finally {
    doc.off('update', capture);
  }
  return update;
}

/** The whole document as one update (what is stored, and what a replica with nothing needs). */
export function encodeEntryState(doc: Y.Doc, remoteStateVector?: Uint8Array): Uint8Array {
  return Y.encodeStateAsUpdate(doc, remoteStateVector);
}

/**
 * Canonical text form of a state vector (PROTOCOL.md §10.1): `client:clock` pairs with clock > 0,
 * sorted by client numerically, comma separated, decimal without leading zeros. Yjs's binary vector
 * lists clients in insertion order, which differs between replicas; digests need one spelling.
 */
export function canonicalStateVector(sv: Map<number, number>): string {
  return [...sv.entries()]
    .filter(([, clock]) => clock > 0)
    .sort((a, b) => a[0] - b[0])
    .map(([client, clock]) => `${client}:${clock}`)
    .join(',');
}

export function docStateVector(doc: Y.Doc): string {
  return canonicalStateVector(Y.decodeStateVector(Y.encodeStateVector(doc)));
}

/** Largest client id and clock a state vector may hold: 2^53 − 1, what Yjs (lib0 varuint) decodes. */
export const MAX_STATE_VECTOR_NUMBER = Number.MAX_SAFE_INTEGER;

/** One pair of the §10.1 grammar: client `0` or without a leading zero, clock ≥ 1 without a leading zero, both ≤ 16 digits. */
const SV_PAIR_RE = /^(0|[1-9][0-9]{0,15}):([1-9][0-9]{0,15})$/;

/**
 * Parse the canonical text form, strictly: exactly the texts `canonicalStateVector` produces are
 * accepted, so each vector has one spelling (PROTOCOL.md §10.1). Refused with ProtocolError
 * MESSAGE_INVALID: a malformed pair (`01:2`, `1:01`, `+1:2`, `1:2 `, empty), a zero clock (`1:0`: the
 * canonical form omits such clients), a number above 2^53 − 1, a repeated client (`1:2,1:3`) and
 * clients out of ascending order (`2:1,1:1`).
 */
export function parseStateVector(text: string): Map<number, number> {
  const sv = new Map<number, number>();
  if (text === '') return sv;
  const refuse = (reason: string, pair: string): never => {
    throw new ProtocolError('MESSAGE_INVALID', `malformed state vector: ${reason}`, { pair: pair.slice(0, 40) });
  };
  let previous = -1;
  for (const pair of text.split(',')) {
    const m = SV_PAIR_RE.exec(pair);
    if (!m) {
      if (/^[0-9]+:0+$/.test(pair)) refuse('a zero clock is omitted, not written', pair);
      refuse('each pair is client:clock, decimal without leading zeros', pair);
    }
    const client = Number(m![1]);
    const clock = Number(m![2]);
    if (client > MAX_STATE_VECTOR_NUMBER || clock > MAX_STATE_VECTOR_NUMBER) refuse('number above 2^53 - 1', pair);
    if (client === previous) refuse('client listed twice', pair);
    if (client < previous) refuse('clients not in ascending order', pair);
    previous = client;
    sv.set(client, clock);
  }
  return sv;
}

/** True when `text` is a canonical state vector (§10.1), i.e. `parseStateVector` accepts it. */
export function isCanonicalStateVector(text: string): boolean {
  try {
    parseStateVector(text);
    return true;
  } catch {
    return false;
  }
}

/** Binary Yjs state vector from the canonical text form (for `Y.encodeStateAsUpdate`). */
export function encodeStateVectorText(text: string): Uint8Array {
  const sv = parseStateVector(text);
  // Y has no public encoder from a Map, so write the v1 varint layout directly: count, then client/clock pairs.
  const bytes: number[] = [];
  const varuint = (n: number) => {
    while (n > 0x7f) {
      bytes.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    bytes.push(n);
  };
  varuint(sv.size);
  for (const [client, clock] of sv) {
    varuint(client);
    varuint(clock);
  }
  return Uint8Array.from(bytes);
}

/** True if vector `a` has seen everything `b` has (a ≥ b for every client). */
export function covers(a: Map<number, number>, b: Map<number, number>): boolean {
  for (const [client, clock] of b) if ((a.get(client) ?? 0) < clock) return false;
  return true;
}

/** True if structs of `client` wait in the pending queue (they would integrate later, unchecked). */
function pendingFrom(doc: Y.Doc, client: number): boolean {
  const pending = doc.store.pendingStructs;
  return pending !== null && Y.decodeUpdate(pending.update).structs.some((s) => s.id.client === client);
}

/** Result of applying a remote update under an ownership rule. */
export interface CheckedApply {
  /** Roots the update changed. Empty means it was already known (a duplicate). */
  changedRoots: Set<string>;
}

/**
 * Apply a remote update, refusing it unless it only touches `allowedRoots` and carries no structs
 * written as one of `forbiddenClients`. The doc must be a scratch copy: on refusal it is left
 * half-applied and must be discarded, never stored.
 */
export function applyChecked(doc: Y.Doc, update: Uint8Array, allowedRoots: ReadonlySet<string>, forbiddenClients: ReadonlySet<number>, origin: unknown): CheckedApply {
  const clocksBefore = [...forbiddenClients].map((c) => Y.getState(doc.store, c));
  const changedRoots = new Set<string>();
  const rootNames = new Map<unknown, string>();
  const observe = (tr: Y.Transaction) => {
    for (const name of doc.share.keys()) rootNames.set(doc.share.get(name), name);
    for (const type of tr.changed.keys()) {
      let t: Y.AbstractType<any> = type;
      while (t._item?.parent) t = t._item.parent as Y.AbstractType<any>;
      changedRoots.add(rootNames.get(t) ?? '?');
    }
  };
  doc.on('afterTransaction', observe);
  try {
    Y.applyUpdate(doc, update, origin);
  } catch (cause) {
    throw new ProtocolError('UPDATE_INVALID', 'Yjs update could not be applied', {}, { cause });
  } finally {
    doc.off('afterTransaction', observe);
  }
  if ([...forbiddenClients].some((c, i) => Y.getState(doc.store, c) !== clocksBefore[i] || pendingFrom(doc, c))) {
    throw new ProtocolError('UPDATE_FORBIDDEN', 'update writes as a client it does not own', {});
  }
  for (const name of doc.share.keys()) if (!allowedRoots.has(name) && name !== CONTENT_ROOT && name !== REVIEW_ROOT) changedRoots.add(name);
  for (const root of changedRoots) {
    if (!allowedRoots.has(root)) throw new ProtocolError('UPDATE_FORBIDDEN', `update changes "${root}", which this sender does not own`, { root });
  }
  if (doc.store.pendingStructs || doc.store.pendingDs) {
    throw new ProtocolError('UPDATE_MISSING_DEPENDENCIES', 'update depends on changes not yet received', {});
  }
  return { changedRoots };
}
