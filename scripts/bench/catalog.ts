/**
 * @module Catalog figures (issue 2): replication latency A write → visible in B search (p50/p99 over
 * 1,000 edits), bulk 10,000 entries → visible at hub and B, and in the same run the bare JetStream
 * baseline (publish → consume through one stream, same message count and sizes), plus the stored
 * Yjs size for 10,000 entries after 100,000 edits against plain JSON.
 */
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { sampleCatalogContents } from '../../test/helpers/catalog-samples.ts';
import { CONTENT_ROOT, encodeEntryState, loadEntryDoc, readRoot, REVIEW_ROOT, writeRoot } from '../../protocol/catalog-doc.ts';
import { call, percentile, report, startBenchCluster, type Figure } from './harness.ts';

const MUNI = '410800';
const A = '410802';
const B = '410803';

export async function benchCatalog(opts: { edits: number; bulk: number }): Promise<Figure[]> {
  const figures: Figure[] = [];
  const c = await startBenchCluster(MUNI, [A, B]);
  try {
    const [a, b] = c.nodes as [(typeof c.nodes)[0], (typeof c.nodes)[0]];
    const sample = { ...sampleCatalogContents()[0]!, provider: { code: a.dept, name: 'A公安局' } };
    const entry = await call(a.svc.url, a.token, 'POST', '/api/v1/catalog/entries', sample);
    const visibleAtB = async (q: string, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await call(b.svc.url, b.token, 'GET', `/api/v1/catalog/entries?limit=1&q=${q}`);
        if (r.total > 0) return;
        if (Date.now() > deadline) throw new Error(`${q} not visible at B`);
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    await visibleAtB(encodeURIComponent('人口'));

    // 1. Latency: one edit at a time, each making a unique word searchable at B.
    const lat: number[] = [];
    let envelopeBytes = 0;
    for (let i = 0; i < opts.edits; i++) {
      const word = `edit${i}x${Math.random().toString(36).slice(2, 8)}`;
      const abstract = `${sample.abstract} ${word}`;
      envelopeBytes += abstract.length + 200;
      const t0 = performance.now();
      await call(a.svc.url, a.token, 'PATCH', `/api/v1/catalog/entries/${entry.id}`, { abstract });
      await visibleAtB(word);
      lat.push(performance.now() - t0);
    }
    lat.sort((x, y) => x - y);

    // 2. Bulk: 10,000 new entries in batches of 500 → all visible at the hub and at B.
    const t1 = performance.now();
    for (let i = 0; i < opts.bulk; i += 500) {
      const batch = Array.from({ length: Math.min(500, opts.bulk - i) }, (_, k) => ({ ...sample, name: `批量目录${i + k}` }));
      await call(a.svc.url, a.token, 'POST', '/api/v1/catalog/batch', { entries: batch });
    }
    const count = async (url: string, token: string) => (await call(url, token, 'GET', `/api/v1/catalog/entries?limit=1&county=${A}`)).total as number;
    for (;;) {
      if ((await count(c.hub.url, c.hubToken)) >= opts.bulk + 1 && (await count(b.svc.url, b.token)) >= opts.bulk + 1) break;
      if (performance.now() - t1 > 120_000) throw new Error('bulk did not converge in 120 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    const bulkMs = performance.now() - t1;

    // 3. Baseline in the same run: bare JetStream publish → consume, same counts and sizes.
    const base = await bareJetStream(c.nats.url, opts.edits, Math.round(envelopeBytes / opts.edits), opts.bulk, 1200);
    figures.push(report({ name: 'catalog.replication.p50_ms', value: percentile(lat, 50), unit: 'ms', baseline: base.p50, goal: '< 50', edits: opts.edits }));
    figures.push(report({ name: 'catalog.replication.p99_ms', value: percentile(lat, 99), unit: 'ms', baseline: base.p99, goal: '< 200', edits: opts.edits }));
    figures.push(report({ name: 'catalog.bulk10k.ms', value: bulkMs, unit: 'ms', baseline: base.bulkMs, goal: '< 5000', entries: opts.bulk }));
  } finally {
    await c.stop();
  }
  figures.push(storageFigure(10_000, 100_000));
  return figures;
}

/** Sequential publish→receive latency for `n` messages of `size` bytes, and time to publish+consume `bulk` messages of `bulkSize`. */
async function bareJetStream(url: string, n: number, size: number, bulk: number, bulkSize: number) {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: 'BASELINE', subjects: ['baseline.>'] });
  await jsm.consumers.add('BASELINE', { durable_name: 'b', ack_policy: AckPolicy.Explicit });
  const consumer = await js.consumers.get('BASELINE', 'b');
  const messages = await consumer.consume({ max_messages: 512 });
  let waiting = (): void => undefined;
  let received = 0;
  void (async () => {
    for await (const m of messages) {
      m.ack();
      received++;
      waiting();
    }
  })();
  const payload = new Uint8Array(size).fill(0x61);
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const target = received + 1;
    const t0 = performance.now();
    const got = new Promise<void>((r) => (waiting = () => received >= target && r()));
    await js.publish('baseline.lat', payload);
    await got;
    lat.push(performance.now() - t0);
  }
  lat.sort((x, y) => x - y);
  const start = received;
  const big = new Uint8Array(bulkSize).fill(0x62);
  const t1 = performance.now();
  const done = new Promise<void>((r) => (waiting = () => received >= start + bulk && r()));
  const acks = [];
  for (let i = 0; i < bulk; i++) acks.push(js.publish('baseline.bulk', big));
  await Promise.all(acks);
  await done;
  const bulkMs = performance.now() - t1;
  await messages.close();
  await jsm.streams.delete('BASELINE');
  await nc.close();
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), bulkMs };
}

/** Stored Yjs state of 10,000 entries after 100,000 field edits, against the plain JSON of the same data. */
function storageFigure(entries: number, edits: number): Figure {
  const samples = sampleCatalogContents();
  const county = 1_000_001;
  const hub = 2_000_002;
  const docs = Array.from({ length: entries }, (_, i) => {
    const d = loadEntryDoc(county);
    writeRoot(d, CONTENT_ROOT, { ...samples[i % samples.length]!, name: `目录${i}` } as Record<string, unknown>);
    return d;
  });
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed / 0x7fffffff);
  for (let e = 0; e < edits; e++) {
    const i = Math.floor(rnd() * entries);
    const d = docs[i]!;
    const r = rnd();
    if (r < 0.1) {
      d.clientID = hub;
      writeRoot(d, REVIEW_ROOT, { status: r < 0.05 ? 'approved' : 'rejected', reason: `理由${e}`, reviewedAt: new Date(e * 1000).toISOString() });
      d.clientID = county;
    } else if (r < 0.6) writeRoot(d, CONTENT_ROOT, { abstract: `修改后的摘要 第${e}次编辑：${samples[e % samples.length]!.abstract}` });
    else if (r < 0.8) writeRoot(d, CONTENT_ROOT, { updateCycle: ['daily', 'weekly', 'monthly', 'realtime'][e % 4] });
    else writeRoot(d, CONTENT_ROOT, { name: `目录${i} 第${e}版` });
  }
  let stateBytes = 0;
  let jsonBytes = 0;
  for (const d of docs) {
    stateBytes += encodeEntryState(d).length;
    jsonBytes += Buffer.byteLength(JSON.stringify({ content: readRoot(d, CONTENT_ROOT), review: readRoot(d, REVIEW_ROOT) }));
  }
  return report({ name: 'catalog.storage.yjs_bytes', value: stateBytes, unit: 'bytes', baseline: jsonBytes, entries, edits, note: 'baseline = plain JSON of the same content and review' });
}
