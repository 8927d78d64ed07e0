/**
 * @module Cascaded access figures (issue 5), real processes (nats-server, hub, county A, county B):
 *  - `query.cascaded.*`: a department's HTTP query at its node A for 1 row of a 10-item resource held at
 *    county B (A → hub → B → hub → A: signed envelopes, the hub's grant check, B's grant check, SQLite
 *    lookup, desensitization, sealed box to A, A's open and audit at all three), at concurrency 32, from a
 *    keep-alive node:http client in the benchmark's own process;
 *  - `verify.cascaded.*`: the same for a cross-verification of 3 claimed values.
 * Baseline, same run, same nats-server: bare core-NATS request/reply at concurrency 32 with payloads of the
 * same sizes as the real request and answer envelopes (one hop, a responder that replies at once).
 * Context figures: the same query one at a time (`unloaded_*`, against bare request/reply one at a time),
 * and the CPU time one call costs summed over every process (hub, A, B, nats-server, this load
 * generator; Linux /proc), against the bare round trip's — on 2 cores, that sum bounds the rate.
 */
import { connect } from '@nats-io/transport-node';
import { randomBytes, sealBox, sodium } from '../../protocol/sodium.ts';
import { waitFor } from '../../test/helpers/cluster.ts';
import { PERSON_ITEMS, citizenIdFor, writePersonCsv } from '../../test/helpers/frontend.ts';
import { sampleFor } from '../../test/helpers/entries.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, callFast, percentile, report, startBenchCluster, type BenchCluster, type Figure } from './harness.ts';

const CONCURRENCY = 32;

/** User + system CPU seconds of each process so far (Linux /proc; 0 where unreadable). */
function cpuSeconds(pids: Record<string, number | undefined>): Record<string, number> {
  const tick = 100; // USER_HZ on Linux
  return Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return [k, (Number(fields[11]) + Number(fields[12])) / tick];
      } catch {
        return [k, 0];
      }
    }),
  );
}

/** µs of bare libsodium per cascaded query: A signs; the hub verifies, signs the forward; B verifies, seals, signs; hub and A verify; A opens. */
function cryptoFloor(reqBytes: number, replyBytes: number, n = 1_000): number {
  const s = sodium();
  const signer = s.crypto_sign_keypair();
  const box = s.crypto_box_keypair();
  const req = randomBytes(reqBytes);
  const fwd = randomBytes(reqBytes + 600);
  const ans = randomBytes(replyBytes);
  const result = randomBytes(Math.round(((replyBytes - 317) * 3) / 4));
  const one = () => {
    const s1 = s.crypto_sign_detached(req, signer.privateKey);
    s.crypto_sign_verify_detached(s1, req, signer.publicKey);
    const s2 = s.crypto_sign_detached(fwd, signer.privateKey);
    s.crypto_sign_verify_detached(s2, fwd, signer.publicKey);
    const sealed = sealBox(result, box.publicKey);
    const s3 = s.crypto_sign_detached(ans, signer.privateKey);
    s.crypto_sign_verify_detached(s3, ans, signer.publicKey);
    s.crypto_sign_verify_detached(s3, ans, signer.publicKey);
    s.crypto_box_seal_open(sealed, box.publicKey, box.privateKey);
  };
  for (let i = 0; i < 100; i++) one();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) one();
  return ((performance.now() - t0) / n) * 1000;
}

/** Run `total` calls with `concurrency` in flight; per-call latencies (ms) and calls per second. */
async function load(total: number, concurrency: number, one: (i: number) => Promise<void>): Promise<{ lat: number[]; perS: number }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const s = performance.now();
        await one(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { lat, perS: total / secs };
}

async function bareRequestReply(c: BenchCluster, reqBytes: number, replyBytes: number, total: number, concurrency = CONCURRENCY): Promise<{ lat: number[]; perS: number }> {
  const server = await connect({ servers: c.nats.url });
  const client = await connect({ servers: c.nats.url });
  const reply = new Uint8Array(replyBytes).fill(7);
  const payload = new Uint8Array(reqBytes).fill(3);
  server.subscribe('bench.rr', { callback: (_err, msg) => void msg.respond(reply) });
  await server.flush();
  try {
    for (let i = 0; i < 200; i++) await client.request('bench.rr', payload, { timeout: 5_000 });
    return await load(total, concurrency, async () => {
      await client.request('bench.rr', payload, { timeout: 5_000 });
    });
  } finally {
    await client.close();
    await server.close();
  }
}

export async function benchSharing(opts: { requests?: number } = {}): Promise<Figure[]> {
  const total = opts.requests ?? Number(process.env.BENCH_SHARING_REQUESTS ?? 3_000);
  const root = mkdtempSync(join(tmpdir(), 'jilian-bench-sharing-'));
  // The grant's verification rate limit would otherwise (rightly) stop the load at 600 per minute.
  const c = await startBenchCluster('410800', ['410802', '410803'], { hubConfig: { verifyRatePerMinute: 100_000 } });
  try {
    const [a, b] = c.nodes as [BenchCluster['nodes'][0], BenchCluster['nodes'][0]];
    // B provides a 10-item population resource with 10,000 rows in its front-end table.
    const dataItems = PERSON_ITEMS.map((i) => ({ ...i, sensitive: i.code === 'name' || i.code === 'address', identifier: i.identifier ?? null }));
    const entry = await call(b.svc.url, b.token, 'POST', '/api/v1/catalog/entries', sampleFor(b.dept, 0, { dataItems, sharingMethods: ['api', 'table', 'verification'], updateCycle: 'irregular' }));
    const csv = join(root, 'people.csv');
    await writePersonCsv(csv, 10_000);
    const res = await fetch(`${b.svc.url}/api/v1/frontend/${entry.id}/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${b.token}`, 'content-type': 'text/csv' },
      body: readFileSync(csv),
    });
    if (!res.ok) throw new Error(`import: ${res.status} ${await res.text()}`);
    await waitFor('entry at the hub', () => call(c.hub.url, c.hubToken, 'GET', `/api/v1/catalog/entries/${entry.id}`), 30_000);

    const now = Date.now();
    const app = await call(a.svc.url, a.token, 'POST', '/api/v1/sharing/applications', {
      resource: entry.id,
      items: PERSON_ITEMS.map((i) => i.code),
      purpose: '基准测试',
      scenario: '跨区县查询与核验',
      methods: ['query', 'verify'],
      period: { from: new Date(now - 60_000).toISOString(), until: new Date(now + 86_400_000).toISOString() },
    });
    await waitFor('application at the hub', () => call(c.hub.url, c.hubToken, 'GET', `/api/v1/sharing/applications/${app.id}`), 30_000);
    const granted = await call(c.hub.url, c.hubToken, 'POST', `/api/v1/sharing/applications/${app.id}/decision`, { type: 'compliance_approve' });
    const grantId = granted.grantId as string;
    await waitFor('grant at A', async () => (await call(a.svc.url, a.token, 'GET', '/api/v1/sharing/grants')).grants.some((g: { grantId: string }) => g.grantId === grantId), 30_000);
    await waitFor('grant at B', async () => (await call(b.svc.url, b.token, 'GET', '/api/v1/sharing/grants')).grants.some((g: { grantId: string }) => g.grantId === grantId), 30_000);

    const query = (i: number) => ({ where: { all: [{ item: 'id_no', op: 'eq', value: citizenIdFor(i % 10_000) }] }, limit: 1 });
    const verify = (i: number) => ({ subject: { item: 'id_no', value: citizenIdFor(i % 10_000) }, claims: { gender: '1', age: 30, active: true } });
    const one = (path: string, body: unknown) => callFast(a.svc.url, a.token, 'POST', `/api/v1/sharing/grants/${grantId}/${path}`, body);
    const sample = await one('query', query(1));
    if (sample.result.rows.length !== 1 || Object.keys(sample.result.rows[0]).length !== 10) throw new Error(`unexpected answer ${JSON.stringify(sample).slice(0, 300)}`);
    for (let i = 0; i < 200; i++) await one('query', query(i));

    // Envelope sizes for the baseline: an access.request and an access.answer of this shape.
    const reqBytes =
      67 +
      Buffer.byteLength(
        JSON.stringify({
          type: 'access.request',
          from: 'county-410802',
          seq: Date.now(),
          ts: new Date().toISOString(),
          payload: { requestId: '0'.repeat(36), grantId, actor: { id: 'x', department: a.dept }, ask: { method: 'query', ...query(1) } },
        }),
      );
    const replyBytes = 67 + 250 + Math.ceil(((Buffer.byteLength(JSON.stringify(sample.result)) + 48) * 4) / 3);

    const procs = { hub: c.hub.child.pid, a: a.svc.child.pid, b: b.svc.child.pid, nats: c.nats.pid, bench: process.pid };
    const cpu0 = cpuSeconds(procs);
    const q = await load(total, CONCURRENCY, async (i) => void (await one('query', query(i))));
    const cpu1 = cpuSeconds(procs);
    const v = await load(total, CONCURRENCY, async (i) => void (await one('verify', verify(i))));
    const cpu2 = cpuSeconds(procs);
    const bare = await bareRequestReply(c, reqBytes, replyBytes, total);
    const cpu3 = cpuSeconds(procs);
    // Unloaded: one call at a time, so the latency is the path itself without queueing on the 2 cores.
    const unloadedN = Math.min(500, total);
    const q1 = await load(unloadedN, 1, async (i) => void (await one('query', query(i))));
    const bare1 = await bareRequestReply(c, reqBytes, replyBytes, unloadedN, 1);
    // CPU per call (µs) in each process: where a cascaded call's cost goes, against the bare round trip's.
    const perCall = (x: Record<string, number>, y: Record<string, number>) => Object.fromEntries(Object.keys(x).map((k) => [k, Math.round(((y[k]! - x[k]!) / total) * 1e6)]));
    const sum = (o: Record<string, number>) => Object.values(o).reduce((t, n) => t + n, 0);
    const cpuQuery = perCall(cpu0, cpu1);
    const cpuVerify = perCall(cpu1, cpu2);
    const cpuBare = perCall(cpu2, cpu3);
    const floor = cryptoFloor(reqBytes, replyBytes);
    const common = { concurrency: CONCURRENCY, requests: total, rows: 10_000, items: 10, requestBytes: reqBytes, answerBytes: replyBytes };
    return [
      report({ name: 'query.cascaded.p50_ms', value: percentile(q.lat, 50), unit: 'ms', baseline: percentile(bare.lat, 50), goal: '—', ...common }),
      report({ name: 'query.cascaded.p99_ms', value: percentile(q.lat, 99), unit: 'ms', baseline: percentile(bare.lat, 99), goal: '< 30', ...common }),
      report({ name: 'query.cascaded.per_s', value: q.perS, unit: 'req/s', baseline: bare.perS, goal: 'ratio ≥ 0.5', ...common }),
      report({ name: 'verify.cascaded.p99_ms', value: percentile(v.lat, 99), unit: 'ms', baseline: percentile(bare.lat, 99), goal: '< 30', ...common }),
      report({ name: 'verify.cascaded.per_s', value: v.perS, unit: 'req/s', baseline: bare.perS, goal: 'ratio ≥ 0.5', ...common }),
      report({ name: 'query.cascaded.unloaded_p50_ms', value: percentile(q1.lat, 50), unit: 'ms', baseline: percentile(bare1.lat, 50), ...common, concurrency: 1, requests: unloadedN }),
      report({ name: 'query.cascaded.unloaded_p99_ms', value: percentile(q1.lat, 99), unit: 'ms', baseline: percentile(bare1.lat, 99), ...common, concurrency: 1, requests: unloadedN }),
      report({ name: 'query.cascaded.cpu_us_per_call', value: sum(cpuQuery), unit: 'µs', baseline: sum(cpuBare), byProcess: cpuQuery, bareByProcess: cpuBare, ...common }),
      // The signatures and sealed box one cascaded query needs, in bare libsodium in this process: even
      // with nothing else, 2 cores could do at most 2e6 / this many per second.
      report({
        name: 'query.cascaded.crypto_floor_us',
        value: floor,
        unit: 'µs',
        baseline: sum(cpuBare),
        ops: '3 sign, 4 verify, 1 seal, 1 open',
        maxPerSecondOn2Cores: Math.round(2e6 / floor),
        ...common,
      }),
      report({ name: 'verify.cascaded.cpu_us_per_call', value: sum(cpuVerify), unit: 'µs', baseline: sum(cpuBare), byProcess: cpuVerify, ...common }),
    ];
  } finally {
    await c.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
