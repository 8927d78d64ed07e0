/**
 * @module Trust figures (issue 3): signed-envelope verify throughput at the hub. `verifyEnvelope`
 * (frame, UTF-8 and JSON parse, body schema, key lookup, Ed25519, payload schema) on realistic
 * `catalog.update` envelopes of about 2 KB (one entry edit), against bare libsodium
 * `crypto_sign_verify_detached` over the very same signed byte strings, in the same run.
 */
import { sampleCatalogContents } from '../../test/helpers/catalog-samples.ts';
import { CONTENT_ROOT, loadEntryDoc, writeRoot } from '../../protocol/catalog-doc.ts';
import { encodeEnvelope, ENVELOPE_HEADER_BYTES, verifyEnvelope, type KeyLookup } from '../../protocol/envelope.ts';
import { signingKeyPairFromSeed, type SigningKeyPair } from '../../protocol/keys.ts';
import { loadSodium, sodium, toBase64 } from '../../protocol/sodium.ts';
import { report, type Figure } from './harness.ts';

const CONTEXT = new TextEncoder().encode('jilian/envelope/v1\0');

export interface TrustOptions {
  /** Envelopes per round (each distinct: own sender, seq and edit). */
  messages: number;
  /** Timed rounds per side; the best one counts. */
  rounds: number;
  /** Registered county nodes (the lookup table size; senders rotate over them). */
  nodes: number;
}

/** One county node as the hub's registry knows it. */
interface Sender {
  nodeId: string;
  county: string;
  keys: SigningKeyPair;
}

/** `messages` signed catalog.update envelopes, each an abstract edit of one entry (~2 KB on the wire). */
function buildEnvelopes(senders: Sender[], messages: number): Uint8Array[] {
  const sample = sampleCatalogContents()[0]!;
  const docs = senders.map((_s, i) => {
    const doc = loadEntryDoc(1_000_000 + i);
    writeRoot(doc, CONTENT_ROOT, sample as Record<string, unknown>);
    return doc;
  });
  const out: Uint8Array[] = [];
  for (let i = 0; i < messages; i++) {
    const k = i % senders.length;
    const s = senders[k]!;
    const abstract = `${sample.abstract}（第${i}次修订）${'本资源按季度更新，字段含义见数据字典。'.repeat(22)}`;
    const update = writeRoot(docs[k]!, CONTENT_ROOT, { abstract })!;
    const entryId = `${s.county}-0f8e4b1a-6c3d-4e2f-9a7b-${(i % 4096).toString(16).padStart(12, '0')}`;
    out.push(
      encodeEnvelope(
        { type: 'catalog.update', from: s.nodeId, seq: i + 1, ts: new Date(Date.UTC(2025, 0, 1) + i).toISOString(), payload: { origin: s.county, updates: [{ entryId, update: toBase64(update) }] } },
        s.keys.secretKey,
      ),
    );
  }
  return out;
}

/** Seconds for one pass of `fn` over every index. */
function timed(n: number, fn: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return (performance.now() - t0) / 1000;
}

export async function benchTrust(opts: TrustOptions = { messages: 20_000, rounds: 3, nodes: 100 }): Promise<Figure[]> {
  await loadSodium();
  const senders: Sender[] = Array.from({ length: opts.nodes }, (_, i) => {
    const county = String(410801 + i);
    return { nodeId: `county-${county}`, county, keys: signingKeyPairFromSeed(Uint8Array.from({ length: 32 }, (_, j) => (i * 7 + j) & 0xff)) };
  });
  // Registry-like lookup: node id → accepted keys, as NodeRegistry.get(id)?.keys returns them.
  const registry = new Map(senders.map((s) => [s.nodeId, [s.keys.publicKey]]));
  const lookup: KeyLookup = (id) => registry.get(id);
  const envelopes = buildEnvelopes(senders, opts.messages);
  const bytes = envelopes.reduce((n, e) => n + e.length, 0);

  // Bare baseline inputs: the same signatures over the same domain-separated bytes ("jilian/envelope/v1\0" ‖ body).
  const bare = envelopes.map((e, i) => {
    const body = e.subarray(ENVELOPE_HEADER_BYTES);
    const message = new Uint8Array(CONTEXT.length + body.length);
    message.set(CONTEXT);
    message.set(body, CONTEXT.length);
    return { signature: e.subarray(3, ENVELOPE_HEADER_BYTES), message, key: registry.get(senders[i % senders.length]!.nodeId)![0]! };
  });
  const s = sodium();
  let sink = 0;
  const viaEnvelope = (i: number) => {
    sink += verifyEnvelope(envelopes[i]!, lookup).seq;
  };
  const viaSodium = (i: number) => {
    const b = bare[i]!;
    if (!s.crypto_sign_verify_detached(b.signature, b.message, b.key)) throw new Error(`bare verify failed at ${i}`);
    sink++;
  };

  // Warm up both paths (JIT, wasm tier-up), then alternate timed rounds so drift hits both sides alike.
  const warm = Math.min(opts.messages, 3_000);
  timed(warm, viaEnvelope);
  timed(warm, viaSodium);
  let bestEnvelope = Infinity;
  let bestBare = Infinity;
  for (let r = 0; r < opts.rounds; r++) {
    bestEnvelope = Math.min(bestEnvelope, timed(opts.messages, viaEnvelope));
    bestBare = Math.min(bestBare, timed(opts.messages, viaSodium));
  }
  if (sink === 0) throw new Error('nothing verified');
  const value = opts.messages / bestEnvelope;
  const baseline = opts.messages / bestBare;
  return [
    report({
      name: 'envelope.verify.per_s',
      value,
      unit: 'msg/s',
      baseline,
      ratio: value / baseline,
      goal: '≥ 0.7',
      messages: opts.messages,
      envelopeBytes: Math.round(bytes / envelopes.length),
      rounds: opts.rounds,
      note: `baseline = bare crypto_sign_verify_detached on the same signed bytes; ${opts.nodes} registered senders, best of ${opts.rounds} rounds`,
    }),
  ];
}
