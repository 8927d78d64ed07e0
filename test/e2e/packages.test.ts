/**
 * Data packages over NATS: a county node sends a signed, encrypted package; the hub fetches the
 * chunks, verifies them against the signed header and stores the version; missing chunks are asked
 * for again and re-sent from the node's spool; a tampered chunk or a replayed offer is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { openPackage } from '../../engine/package/builder.ts';
import { schemaHashOf } from '../../protocol/data-package.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { packageChunkSubject, streamNames } from '../../protocol/subjects.ts';
import { createBoxKeyFile, readBoxKeyFile } from '../../engine/identity.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Cluster, MUNI, waitFor } from '../helpers/cluster.ts';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { uuidv7 } from '../../protocol/uuid7.ts';

const A = '410802';
const RESOURCE = `${A}-0190a5e2-7c4b-7def-8123-456789abcdef`;

function* rows(n: number, tag = '') {
  for (let i = 0; i < n; i++) yield { citizen_id: `11010519491231${String(i % 1000).padStart(3, '0')}X`, name: `姓名${tag}${i}`, address: `测试市测试区第${i}号`, amount: i * 1.5 };
}

describe('data packages county → hub', () => {
  let c: Cluster;
  before(async () => {
    await loadSodium();
    c = await Cluster.start([A]);
  });
  after(async () => {
    await c.stop();
  });

  const base = (v: number) => ({
    resource: RESOURCE,
    resourceCode: null,
    schemaHash: schemaHashOf([{ code: 'citizen_id' }]),
    kind: 'snapshot' as const,
    baseVersion: null,
    newVersion: v,
    chunkSize: 64 * 1024,
  });
  const hubKeys = () => readBoxKeyFile(join(c.hubDir, 'keys/encryption.json'));

  it('a package is stored at the hub, which can open it to exactly the rows sent', async () => {
    const sender = c.node(A).running!.packages!;
    const { packageId, chunks } = await sender.send(rows(20_000), base(1));
    assert.ok(chunks > 5);
    await waitFor('package stored', () => sender.state(packageId)?.state === 'stored', 20_000);
    const stored = c.hub!.packages.stored(packageId)!;
    const out: Record<string, unknown>[] = [];
    for await (const r of openPackage(stored.signed, stored.chunk, hubKeys(), { senderKeys: c.hub!.registry.get(`county-${A}`)!.keys })) out.push(r);
    assert.equal(out.length, 20_000);
    assert.deepEqual(out[12_345], [...rows(20_000)][12_345]);
    assert.equal((c.node(A).running!.db.prepare('SELECT COUNT(*) AS n FROM package_spool').get() as { n: number }).n, 0, 'spool emptied');
    const audit = c.hub!.audit.search({ action: 'data.provide' });
    assert.ok(audit.records.some((r) => (r.detail as { packageId?: string }).packageId === packageId));
  });

  it('chunks the hub cannot find are asked for again and re-sent from the spool', async () => {
    const sender = c.node(A).running!.packages!;
    const { packageId } = await sender.send(rows(8_000, 'r'), { ...base(2), holdBack: new Set([1, 3]) });
    await waitFor('package stored after resume', () => sender.state(packageId)?.state === 'stored', 20_000);
  });

  it('a chunk replaced on the stream is detected against the signed header and the package refused', async () => {
    await c.hub!.close();
    c.hub = null;
    const sender = c.node(A).running!.packages!;
    const { packageId } = await sender.send(rows(5_000, 't'), base(3));
    const nc = await connect({ servers: c.nats.url });
    try {
      const subject = packageChunkSubject(MUNI, A, packageId, 1);
      const jsm = await jetstreamManager(nc);
      const original = await jsm.direct.getMessage(streamNames(MUNI).pkg, { last_by_subj: subject });
      const forged = Uint8Array.from(original!.data);
      forged[10] = forged[10]! ^ 0xff;
      await jetstream(nc).publish(subject, forged, { msgID: randomUUID() });
    } finally {
      await nc.close();
    }
    await c.startHub();
    await waitFor('package refused', () => sender.state(packageId)?.state === 'refused', 20_000);
    assert.equal(sender.state(packageId)?.code, 'PACKAGE_HASH_MISMATCH');
    assert.ok(c.hub!.rejections.recent(20).some((r) => r.message.includes(packageId)));
  });

  it('an offer for a version the hub already stores (a replay) is refused', async () => {
    const sender = c.node(A).running!.packages!;
    const before = c.hub!.rejections.recent(100).length;
    const { packageId } = await sender.send(rows(100, 'old'), base(2));
    await waitFor('stale version refused', () => c.hub!.rejections.recent(100).length > before && c.hub!.rejections.recent(1)[0]!.message.includes('already stores'), 20_000);
    await waitFor('the sender is told', () => sender.state(packageId)?.state === 'refused', 20_000);
    assert.equal(sender.state(packageId)?.code, 'PACKAGE_STALE');
  });

  it('a grant package (PACKAGES.md §10a) naming a grant the hub never issued is refused, and is no delta', async () => {
    const sender = c.node(A).running!.packages!;
    const before = c.hub!.rejections.recent(100).length;
    const { packageId } = await sender.send(rows(10, 'g'), { ...base(50), grantId: uuidv7() });
    await waitFor(
      'grant package refused',
      () => c.hub!.rejections.recent(100).length > before && c.hub!.rejections.recent(5).some((r) => r.message.includes('may not send a package for grant')),
      20_000,
    );
    assert.equal(c.hub!.packages.stored(packageId), undefined);
    await waitFor('the sender is told', () => sender.state(packageId)?.state === 'refused', 20_000);
    assert.equal(sender.state(packageId)?.code, 'PACKAGE_NOT_ALLOWED');
    await assert.rejects(sender.send(rows(1, 'd'), { ...base(51), kind: 'delta', baseVersion: 50, grantId: uuidv7() }), /grant package is a snapshot/);
  });

  it('the hub re-seals a stored package for a consumer without re-encrypting; others still cannot read it', async () => {
    const sender = c.node(A).running!.packages!;
    const { packageId } = await sender.send(rows(3_000, 's'), base(10));
    await waitFor('package stored', () => sender.state(packageId)?.state === 'stored', 20_000);
    const dir = mkdtempSync(join(tmpdir(), 'jl-consumer-'));
    const consumer = createBoxKeyFile(join(dir, 'consumer.json'));
    const outsider = createBoxKeyFile(join(dir, 'outsider.json'));
    const before = c.hub!.packages.stored(packageId)!;
    const chunkBytes = Array.from({ length: before.signed.header.chunkCount }, (_, i) => Buffer.from(before.chunk(i)!).toString('hex'));
    const shared = c.hub!.packages.reseal(packageId, { nodeId: 'county-410803', publicKey: consumer.publicKey }, 'grant test');
    const senderKeys = c.hub!.registry.get(`county-${A}`)!.keys;
    const out: Record<string, unknown>[] = [];
    for await (const r of openPackage(shared, before.chunk, consumer, { senderKeys })) out.push(r);
    assert.equal(out.length, 3_000);
    assert.deepEqual(out[42], [...rows(3_000, 's')][42]);
    assert.deepEqual(
      Array.from({ length: before.signed.header.chunkCount }, (_, i) => Buffer.from(c.hub!.packages.stored(packageId)!.chunk(i)!).toString('hex')),
      chunkBytes,
      'the body is untouched',
    );
    await assert.rejects(
      async () => {
        for await (const _ of openPackage(shared, before.chunk, outsider, { senderKeys })) void _;
      },
      (e: { code?: string }) => e.code === 'PACKAGE_NOT_RECIPIENT',
    );
    // Idempotent, and audited once.
    c.hub!.packages.reseal(packageId, { nodeId: 'county-410803', publicKey: consumer.publicKey }, 'grant test');
    assert.equal(c.hub!.audit.search({ action: 'data.provide' }).records.filter((r) => (r.detail as { resealedTo?: string }).resealedTo === 'county-410803').length, 1);
  });
});
