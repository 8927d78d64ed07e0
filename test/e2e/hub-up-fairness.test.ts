/**
 * The hub's UP side under load and at start-up: one county flooding its subjects does not hold back
 * another county's message (per-county consumers served round-robin, hub/sync/up-consumers.ts); the
 * streams carry size limits from the hub config; a start logs each stream's creation once and no
 * publish races the stream's creation (JetStreamNotEnabled).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { CONTENT_ROOT, loadEntryDoc, writeRoot } from '../../protocol/catalog-doc.ts';
import { encodeEnvelope } from '../../protocol/envelope.ts';
import { loadSodium, toBase64 } from '../../protocol/sodium.ts';
import { streamNames, upStreamSubjects, upSubject } from '../../protocol/subjects.ts';
import { readKeyFile } from '../../engine/identity.ts';
import { ensureStream } from '../../engine/nats/streams.ts';
import { HubConfig } from '../../hub/config.ts';
import { upConsumerName } from '../../hub/bus/up-consumers.ts';
import { Cluster, deptOf, MUNI, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const A = '410802';
const B = '410803';
const FLOOD = 5_000;
const names = streamNames(MUNI);

describe('hub UP stream: fairness, limits, start-up', () => {
  let c: Cluster;
  let nc: NatsConnection;
  before(async () => {
    await loadSodium();
    c = await Cluster.start([A, B]);
    nc = await connect({ servers: c.nats.url });
  });
  after(async () => {
    await nc.close();
    await c.stop();
  });

  it('a start logs one stream.created per stream and no JetStreamNotEnabled warning', async () => {
    // Several stream checks (every 300 ms here) and the first publishes (key directory) happen meanwhile.
    await new Promise((r) => setTimeout(r, 1_500));
    const lines = readFileSync(c.logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const created = lines.filter((l) => l.event === 'stream.created').map((l) => l.stream);
    assert.deepEqual([...created].sort(), [names.down, names.pkg, names.up].sort(), 'each stream created (and logged) exactly once');
    const raced = lines.filter((l) => /JetStreamNotEnabled|jetstream is not enabled/i.test(JSON.stringify(l)));
    assert.deepEqual(raced, [], 'nothing published before its stream existed');
    assert.deepEqual(
      lines.filter((l) => l.event === 'stream.ensure_failed'),
      [],
    );
  });

  it('the streams carry the size limits of the hub config (and an existing stream gets them)', async () => {
    const jsm = await jetstreamManager(nc);
    const defaults = HubConfig.parse({ role: 'hub', nodeId: 'hub-x', municipality: MUNI, municipalityName: 'x', nats: ['x'], http: { port: 0 }, yjsClientId: 1 });
    const up = (await jsm.streams.info(names.up)).config;
    assert.equal(up.max_bytes, defaults.upStreamMaxBytes);
    assert.equal(up.max_msgs_per_subject, defaults.upStreamMaxMsgsPerSubject);
    assert.equal(up.discard, 'old');
    assert.ok(up.max_bytes > 0 && up.max_msgs_per_subject > 0, 'the UP stream is bounded by default');
    const down = (await jsm.streams.info(names.down)).config;
    assert.equal(down.max_bytes, defaults.downStreamMaxBytes);
    assert.ok(down.max_bytes > 0);
    const pkg = (await jsm.streams.info(names.pkg)).config;
    assert.equal(pkg.max_msgs_per_subject, 1);

    // A stream created before limits existed is brought to them.
    const spec = { name: 'JL_LIMITS_TEST', subjects: ['limits.test.>'], maxAgeMs: 60_000, duplicateWindowMs: 10_000 };
    assert.equal(await ensureStream(jsm, spec), true);
    assert.equal((await jsm.streams.info(spec.name)).config.max_bytes, -1);
    let updated: string[] = [];
    const limits = { maxBytes: 1024 * 1024, maxMsgsPerSubject: 10, discard: 'old' as const };
    assert.equal(await ensureStream(jsm, { ...spec, limits }, (f) => (updated = f)), false);
    assert.deepEqual(updated.sort(), ['max_bytes', 'max_msgs_per_subject']);
    const got = (await jsm.streams.info(spec.name)).config;
    assert.equal(got.max_bytes, 1024 * 1024);
    assert.equal(got.max_msgs_per_subject, 10);
    updated = [];
    await ensureStream(jsm, { ...spec, limits }, (f) => (updated = f));
    assert.deepEqual(updated, [], 'unchanged limits are left alone');
    await jsm.streams.delete(spec.name);
  });

  it('a county flooding the UP stream does not hold back another county’s message', { timeout: 120_000 }, async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    // Only the hub reads UP here; the county nodes stay out of the way.
    for (const n of c.nodes) {
      await n.running?.close();
      n.running = null;
    }
    const hubId = c.hub!.config.nodeId;
    await c.hub!.close();
    c.hub = null;

    // As left by a hub before per-county consumers: one consumer over the whole stream, everything so far acknowledged.
    for (const county of [A, B]) await jsm.consumers.delete(names.up, upConsumerName(hubId, county)).catch(() => undefined);
    await jsm.consumers.add(names.up, { durable_name: hubId, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subjects: upStreamSubjects(MUNI) });
    const lastSeq = (await jsm.streams.info(names.up)).state.last_seq;
    assert.ok(lastSeq > 0, 'the nodes published something before');
    const legacy = await js.consumers.get(names.up, hubId);
    while ((await jsm.consumers.info(names.up, hubId)).ack_floor.stream_seq < lastSeq) {
      for await (const m of await legacy.fetch({ max_messages: 100, expires: 1_000 })) await m.ackAck();
    }

    const keyOf = (county: string) => readKeyFile(join(c.node(county).dir, 'keys/signing.json')).secretKey;
    const now = new Date().toISOString();
    let seq = 5_000_000;
    // A document update does not name its entry, so one per county serves every new entry.
    const updates = new Map<string, string>();
    const envelope = (county: string) => {
      const entryId = `${county}-${randomUUID()}`;
      let update = updates.get(county);
      if (!update) updates.set(county, (update = toBase64(writeRoot(loadEntryDoc(424242), CONTENT_ROOT, sampleFor(deptOf(county), 0) as never)!)));
      const bytes = encodeEnvelope({ type: 'catalog.update', from: `county-${county}`, seq: seq++, ts: now, payload: { origin: county, updates: [{ entryId, update }] } }, keyOf(county));
      return { entryId, bytes };
    };
    const flood: string[] = [];
    for (let i = 0; i < FLOOD; i += 250) {
      await Promise.all(
        Array.from({ length: Math.min(250, FLOOD - i) }, () => {
          const e = envelope(A);
          flood.push(e.entryId);
          return js.publish(upSubject(MUNI, A, 'catalog.update'), e.bytes, { msgID: randomUUID() });
        }),
      );
    }
    const b = envelope(B);
    await js.publish(upSubject(MUNI, B, 'catalog.update'), b.bytes, { msgID: randomUUID() });

    const hub = await c.startHub();
    const count = (county: string) => (hub.db.prepare('SELECT COUNT(*) AS n FROM entries WHERE county = ?').get(county) as { n: number }).n;
    await waitFor('B’s entry applied', () => count(B) === 1, 60_000, 20);

    // Entries get their rowid when first stored: how many of A's were stored before B's.
    const rowid = hub.db.prepare('SELECT rowid AS r FROM entries WHERE id = ?');
    const rowOf = (id: string) => (rowid.get(id) as { r: number } | undefined)?.r;
    const bRow = rowOf(b.entryId)!;
    const aheadOfB = flood.filter((id) => (rowOf(id) ?? Infinity) < bRow).length;
    assert.ok(aheadOfB < 500, `B's message waited behind ${aheadOfB} of A's ${FLOOD}`);
    // A's own messages keep their order: what is stored so far is a prefix of the flood, in order.
    await waitFor('more of the flood applied', () => count(A) >= aheadOfB + 500, 60_000, 20);
    const rows = flood.map(rowOf); // one synchronous read: a consistent snapshot
    const k = rows.filter((r) => r !== undefined).length;
    assert.ok(
      rows.slice(0, k).every((r, i) => r !== undefined && (i === 0 || r > rows[i - 1]!)),
      'A’s messages applied in the order published',
    );

    // The legacy consumer was replaced by per-county ones starting after its floor: nothing re-read.
    await assert.rejects(jsm.consumers.info(names.up, hubId));
    for (const county of [A, B]) assert.ok(await jsm.consumers.info(names.up, upConsumerName(hubId, county)));
    const inbound = (hub.status() as { inbound: { duplicates: number; rejected: number } }).inbound;
    assert.equal(inbound.duplicates, 0, 'nothing the old consumer had acknowledged was read again');
    assert.equal(inbound.rejected, 0);
  });
});
