/**
 * The second wall behind the generated nats-server config: a message that nats-server lets through
 * (a county's own subject, or a revoked node still in a stale config) but that is signed by an
 * unknown or revoked key is rejected by the running hub, and nothing of it is stored.
 *
 * Hub and nodes log in with their own nkeys under the generated configuration (Cluster natsAuth);
 * the attackers log in with the real county nkeys read from the nodes' data directories.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { CONTENT_ROOT, loadEntryDoc, writeRoot } from '../../protocol/catalog-doc.ts';
import { encodeEnvelope, verifyEnvelope } from '../../protocol/envelope.ts';
import { decodePublicKey, generateSigningKeyPair } from '../../protocol/keys.ts';
import type { PayloadOf } from '../../protocol/messages.ts';
import { loadSodium, toBase64 } from '../../protocol/sodium.ts';
import { rpcSubject, upSubject } from '../../protocol/subjects.ts';
import { readKeyFile } from '../../engine/identity.ts';
import { nkeyConnectOptions, nodeInboxPrefix, readSeedFile } from '../../engine/nats/auth.ts';
import { api, Cluster, deptOf, MUNI, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const A = '410802';
const C = '410804'; // revoked at the hub in the last test, but still a user in the (stale) nats-server config

describe('signature checks behind the nats-server permissions', () => {
  let c: Cluster;
  const clients: NatsConnection[] = [];
  let seq = 5_000_000;

  before(async () => {
    await loadSodium();
    c = await Cluster.start([A, C], { natsAuth: true });
  });
  after(async () => {
    for (const nc of clients) await nc.close();
    await c?.stop();
  });

  const login = async (county: string) => {
    const seed = readSeedFile(join(c.node(county).dir, 'keys/nats.seed'));
    const nc = await connect({ servers: c.nats.url, ...nkeyConnectOptions(seed, nodeInboxPrefix(`county-${county}`)), maxReconnectAttempts: 0, timeout: 5_000 });
    clients.push(nc);
    return nc;
  };
  const update = (county: string, from: string, secretKey: Uint8Array) => {
    const entryId = `${county}-${randomUUID()}`;
    const u = toBase64(writeRoot(loadEntryDoc(313_131), CONTENT_ROOT, sampleFor(deptOf(county), 0) as never)!);
    const bytes = encodeEnvelope({ type: 'catalog.update', from, seq: seq++, ts: new Date().toISOString(), payload: { origin: county, updates: [{ entryId, update: u }] } }, secretKey);
    return { entryId, bytes };
  };
  const rejected = (code: string, sender: string) => waitFor(`hub rejects ${sender} with ${code}`, () => c.hub!.rejections.recent(500).some((r) => r.code === code && r.sender === sender));

  it('with every party logged in under the generated permissions, an entry at A replicates to the hub and to C', async () => {
    const a = c.node(A);
    const created = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 0));
    assert.equal(created.status, 201);
    await waitFor('entry at the hub and at C over authenticated NATS', () => c.snapshot('hub').has(created.body.id) && c.snapshot(C).has(created.body.id), 15_000);
  });

  it('a data package travels under the same permissions: raw chunks on A’s PKG subjects, fetched by the hub', async () => {
    const sender = c.node(A).running!.packages!;
    const rows = Array.from({ length: 3_000 }, (_, i) => ({ id: i, name: `行${i}` }));
    const { packageId } = await sender.send(rows, {
      resource: `${A}-0190a5e2-7c4b-7def-8123-456789abcdef`,
      resourceCode: null,
      schemaHash: 'ab'.repeat(32),
      kind: 'snapshot',
      baseVersion: null,
      newVersion: 1,
      chunkSize: 16 * 1024,
    });
    await waitFor('package stored over authenticated NATS', () => sender.state(packageId)?.state === 'stored', 15_000);
  });

  it('nats-server refuses A publishing under C’s subject', async () => {
    const nc = await login(A);
    const forged = update(C, `county-${C}`, generateSigningKeyPair().secretKey);
    await assert.rejects(jetstream(nc, { timeout: 3_000 }).publish(upSubject(MUNI, C, 'catalog.update'), forged.bytes, { msgID: randomUUID() }), /permission|violation|timeout/i);
  });

  it('a county’s own subject carries a message signed by an unknown key: the server acks it, the hub rejects it', async () => {
    const nc = await login(A);
    const js = jetstream(nc, { timeout: 5_000 });
    const forged = update(A, `county-${A}`, generateSigningKeyPair().secretKey);
    const ack = await js.publish(upSubject(MUNI, A, 'catalog.update'), forged.bytes, { msgID: randomUUID() });
    assert.ok(ack.seq > 0, 'nats-server let it through');
    await rejected('ENVELOPE_BAD_SIGNATURE', `county-${A}`);
    const stranger = update(A, 'county-999999', generateSigningKeyPair().secretKey);
    await js.publish(upSubject(MUNI, A, 'catalog.update'), stranger.bytes, { msgID: randomUUID() });
    await rejected('ENVELOPE_UNKNOWN_SENDER', 'county-999999');
    assert.equal(c.snapshot('hub').has(forged.entryId) || c.snapshot('hub').has(stranger.entryId), false);

    // The same over RPC: the hub answers with a signed error, not with data.
    const request = encodeEnvelope(
      { type: 'catalog.sync.digest', from: `county-${A}`, seq: seq++, ts: new Date().toISOString(), payload: { from: '', to: null, count: 0, digest: '0'.repeat(64) } },
      generateSigningKeyPair().secretKey,
    );
    const reply = await nc.request(rpcSubject(MUNI, A, 'catalog.sync'), request, { timeout: 5_000 });
    const env = verifyEnvelope(reply.data, (id) => (id === c.hub!.config.nodeId ? decodePublicKey(c.hubKey) : undefined));
    assert.equal(env.type, 'error');
    assert.equal((env.payload as PayloadOf<'error'>).code, 'ENVELOPE_BAD_SIGNATURE');
  });

  it('a revoked node still present in a stale nats config gets through nats-server, and the hub rejects it', async () => {
    // Log in before the revocation, so this connection still works for the moment before the reload.
    const nc = await login(C);
    c.hub!.directory.revoke(`county-${C}`, '测试 / test'); // what POST /api/v1/nodes/:id/revoke does
    assert.equal(c.hub!.registry.get(`county-${C}`), undefined);
    const genuine = update(C, `county-${C}`, readKeyFile(join(c.node(C).dir, 'keys/signing.json')).secretKey);
    const ack = await jetstream(nc, { timeout: 5_000 }).publish(upSubject(MUNI, C, 'catalog.update'), genuine.bytes, { msgID: randomUUID() });
    assert.ok(ack.seq > 0, 'nats-server let it through');
    await rejected('ENVELOPE_UNKNOWN_SENDER', `county-${C}`);
    assert.equal(c.snapshot('hub').has(genuine.entryId), false);
  });

  it('revocation removes NATS access: the hub rewrites the authorization, nats-server reloads, the node is cut off', async () => {
    const a = c.node(A).running!;
    assert.equal(a.link.state.connected, true);
    const res = await api(c.hub!.url, c.token('hub', 'secadmin'), 'POST', `/api/v1/nodes/county-${A}/revoke`, { reason: '吊销测试 / revocation test' });
    assert.equal(res.status, 200);
    await waitFor('A disconnected by nats-server', () => !a.link.state.connected, 15_000);
    const seed = readSeedFile(join(c.node(A).dir, 'keys/nats.seed'));
    await assert.rejects(connect({ servers: c.nats.url, ...nkeyConnectOptions(seed, nodeInboxPrefix(`county-${A}`)), maxReconnectAttempts: 0, timeout: 3_000 }), /authorization|permission|violation/i);
  });
});
