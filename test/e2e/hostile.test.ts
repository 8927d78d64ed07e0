/**
 * Hostile and broken input on the wire: forged signatures, unknown senders, malformed and oversized
 * envelopes, a county touching another county's entry or the hub's review, a message on another
 * county's subject, and a message replayed after JetStream's duplicate window. Each is refused and
 * logged; nothing changes; the hub keeps serving.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { CONTENT_ROOT, loadEntryDoc, REVIEW_ROOT, writeRoot } from '../../protocol/catalog-doc.ts';
import { encodeEnvelope } from '../../protocol/envelope.ts';
import { generateSigningKeyPair } from '../../protocol/keys.ts';
import { loadSodium, toBase64 } from '../../protocol/sodium.ts';
import { streamNames, upSubject } from '../../protocol/subjects.ts';
import { readKeyFile } from '../../engine/identity.ts';
import { api, Cluster, deptOf, MUNI, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const A = '410802';
const B = '410803';

describe('hostile wire input at the hub', () => {
  let c: Cluster;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let seq = 1_000_000;
  before(async () => {
    await loadSodium();
    // max_payload above the envelope limit, so an oversized envelope can reach the hub's own check.
    c = await Cluster.start([A, B], { natsConfig: 'max_payload: 4MB' });
    nc = await connect({ servers: c.nats.url });
    js = jetstream(nc);
  });
  after(async () => {
    await nc.close();
    await c.stop();
  });

  const rejectedCodes = async () => (await api(c.hub!.url, c.token('hub', 'auditor'), 'GET', '/api/v1/rejections')).body.rejections.map((r: { code: string }) => r.code);
  const keyOf = (county: string) => readKeyFile(join(c.node(county).dir, 'keys/signing.json')).secretKey;
  const update = (entryId: string, root: typeof CONTENT_ROOT | typeof REVIEW_ROOT, fields: Record<string, unknown>) => {
    const doc = loadEntryDoc(424242);
    return { entryId, update: toBase64(writeRoot(doc, root, fields)!) };
  };
  const publish = (subject: string, bytes: Uint8Array) => js.publish(subject, bytes, { msgID: randomUUID() });

  it('refuses and logs each kind of bad message, and keeps serving', async () => {
    const subjA = upSubject(MUNI, A, 'catalog.update');
    const now = new Date().toISOString();
    const good = { origin: A, updates: [update(`${A}-${randomUUID()}`, CONTENT_ROOT, sampleFor(deptOf(A), 0) as never)] };

    await publish(subjA, encodeEnvelope({ type: 'catalog.update', from: `county-${A}`, seq: seq++, ts: now, payload: good }, generateSigningKeyPair().secretKey));
    await publish(subjA, encodeEnvelope({ type: 'catalog.update', from: 'county-999999', seq: seq++, ts: now, payload: good }, generateSigningKeyPair().secretKey));
    await publish(subjA, new TextEncoder().encode(JSON.stringify({ not: 'an envelope', padding: 'x'.repeat(100) })));
    await publish(subjA, Uint8Array.from([0x4a, 0x4c, 0x01, ...new Array(80).fill(7)]));
    await publish(subjA, new Uint8Array(1_500_000).fill(0x20));
    // Genuinely signed by A, but: on B's subject; an entry of B; the hub's review map.
    await publish(upSubject(MUNI, B, 'catalog.update'), encodeEnvelope({ type: 'catalog.update', from: `county-${A}`, seq: seq++, ts: now, payload: good }, keyOf(A)));
    const foreign = { origin: A, updates: [update(`${B}-${randomUUID()}`, CONTENT_ROOT, sampleFor(deptOf(B), 0) as never)] };
    await publish(subjA, encodeEnvelope({ type: 'catalog.update', from: `county-${A}`, seq: seq++, ts: now, payload: foreign }, keyOf(A)));
    const reviewForgery = { origin: A, updates: [update(`${A}-${randomUUID()}`, REVIEW_ROOT, { status: 'approved', code: 'FAKE' })] };
    await publish(subjA, encodeEnvelope({ type: 'catalog.update', from: `county-${A}`, seq: seq++, ts: now, payload: reviewForgery }, keyOf(A)));

    const expected = ['ENVELOPE_BAD_SIGNATURE', 'ENVELOPE_UNKNOWN_SENDER', 'ENVELOPE_BAD_MAGIC', 'ENVELOPE_MALFORMED', 'ENVELOPE_TOO_LARGE', 'MESSAGE_WRONG_SUBJECT', 'UPDATE_FORBIDDEN'];
    await waitFor('all bad messages rejected', async () => {
      const codes = await rejectedCodes();
      return codes.length >= 8 && expected.every((code) => codes.includes(code));
    });
    const codes = await rejectedCodes();
    assert.equal(codes.filter((x: string) => x === 'UPDATE_FORBIDDEN').length, 2, 'another county’s entry and the review map');
    assert.equal(c.snapshot('hub').size, 0, 'nothing from a refused message was stored');
    await waitFor('the refusal in the structured log', () => /"event":"wire.rejected"/.test(readFileSync(c.logFile, 'utf8')));

    // The hub still serves: a genuine write from A replicates to the hub and to B.
    const a = c.node(A);
    const created = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 1));
    await waitFor('genuine write replicated after the attacks', () => c.snapshot('hub').has(created.body.id) && c.snapshot(B).has(created.body.id));
  });

  it('a message replayed beyond the duplicate window (new JetStream msg id) is not applied twice', async () => {
    const jsm = await jetstreamManager(nc);
    const a = c.node(A);
    const created = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 2));
    await waitFor('hub has the entry', () => c.snapshot('hub').has(created.body.id));
    const original = await jsm.streams.getMessage(streamNames(MUNI).up, { last_by_subj: upSubject(MUNI, A, 'catalog.update') });
    const hubOutboxDepth = () => (c.hub!.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    // Let everything already queued (the entry's broadcast) go out first, so only the replay is measured.
    await waitFor('hub outbox drained', () => hubOutboxDepth() === 0);
    const before = c.hub!.status() as { inbound: { duplicates: number }; outbox: { published: number } };
    const hubOutboxRows = () => (c.hub!.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    await publish(original!.subject, original!.data);
    await waitFor('replay counted as duplicate', () => (c.hub!.status() as { inbound: { duplicates: number } }).inbound.duplicates === before.inbound.duplicates + 1);
    assert.equal(hubOutboxRows(), 0, 'no re-broadcast');
    assert.equal((c.hub!.status() as { outbox: { published: number } }).outbox.published, before.outbox.published);
  });
});
