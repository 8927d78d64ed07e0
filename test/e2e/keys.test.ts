/** The hub-signed key directory reaches every node; a node rotates its key; a revoked node is refused everywhere. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { CONTENT_ROOT, loadEntryDoc, writeRoot } from '../../protocol/catalog-doc.ts';
import { encodeEnvelope, verifyEnvelope } from '../../protocol/envelope.ts';
import { loadSodium, toBase64 } from '../../protocol/sodium.ts';
import { upSubject } from '../../protocol/subjects.ts';
import { readKeyFile } from '../../engine/identity.ts';
import { api, Cluster, deptOf, MUNI, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/jilian.mjs', import.meta.url));
const A = '410802';
const B = '410803';

describe('key directory, rotation and revocation', () => {
  let c: Cluster;
  before(async () => {
    await loadSodium();
    c = await Cluster.start([A, B]);
  });
  after(async () => {
    await c.stop();
  });

  const signedByA = (secretKey: Uint8Array, name: string) => {
    const doc = loadEntryDoc(777_000 + name.length);
    const entryId = `${A}-${randomUUID()}`;
    const update = toBase64(writeRoot(doc, CONTENT_ROOT, { ...sampleFor(deptOf(A), 0), name } as never)!);
    return {
      entryId,
      bytes: encodeEnvelope(
        { type: 'catalog.update', from: `county-${A}`, seq: 900_000 + name.length, ts: new Date().toISOString(), payload: { origin: A, updates: [{ entryId, update }] } },
        secretKey,
      ),
    };
  };

  it('every node holds the hub-signed directory with the other nodes’ keys', async () => {
    const b = c.node(B).running!;
    await waitFor('A’s key in B’s directory', () => b.directory.keysOf(`county-${A}`, new Date()).length === 1);
    assert.equal(toBase64(b.directory.keysOf(`county-${A}`, new Date())[0]!), c.node(A).publicKey);
  });

  it('rotate-keys: announced with the old key, promoted when the hub confirms; the old key is honoured during the grace period', async () => {
    const a = c.node(A);
    const oldSecret = readKeyFile(join(a.dir, 'keys/signing.json')).secretKey;
    const { stdout } = await run(process.execPath, [BIN, 'node', 'rotate-keys', '--dir', a.dir]);
    const newKey = /new public key: (\S+)/.exec(stdout)![1]!;
    await waitFor(
      'A switched to the new key',
      () => a.running!.directory.current()?.nodes.find((n) => n.nodeId === `county-${A}`)?.signingKey === newKey && toBase64(readKeyFile(join(a.dir, 'keys/signing.json')).publicKey) === newKey,
    );
    assert.equal(toBase64(readKeyFile(join(a.dir, 'keys/signing.prev.json')).publicKey), a.publicKey);

    const created = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 1));
    await waitFor('entry signed with the new key accepted at the hub', () => c.snapshot('hub').has(created.body.id));

    const nc = await connect({ servers: c.nats.url });
    try {
      const late = signedByA(oldSecret, '轮换宽限期内旧密钥签名');
      await jetstream(nc).publish(upSubject(MUNI, A, 'catalog.update'), late.bytes, { msgID: randomUUID() });
      await waitFor('message signed with the old key accepted within the grace period', () => c.snapshot('hub').has(late.entryId));
    } finally {
      await nc.close();
    }
  });

  it('a revoked node is refused by the hub and by the other nodes', async () => {
    const a = c.node(A);
    const revoked = await api(c.hub!.url, c.token('hub', 'secadmin'), 'POST', `/api/v1/nodes/county-${A}/revoke`, { reason: '设备丢失 / device lost' });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    const b = c.node(B).running!;
    await waitFor('B learns of the revocation', () => b.directory.keysOf(`county-${A}`, new Date()).length === 0);
    const msg = signedByA(readKeyFile(join(a.dir, 'keys/signing.json')).secretKey, '吊销后');
    assert.throws(() => verifyEnvelope(msg.bytes, (id) => b.directory.keysOf(id, new Date())), { code: 'ENVELOPE_UNKNOWN_SENDER' });

    const before = c.hub!.rejections.recent(500).length;
    const created = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 2));
    assert.equal(created.status, 201, 'the county keeps working locally');
    await waitFor('hub refused the revoked node', () =>
      c
        .hub!.rejections.recent(500)
        .slice(0, c.hub!.rejections.recent(500).length - before)
        .some((r) => r.code === 'ENVELOPE_UNKNOWN_SENDER' && r.sender === `county-${A}`),
    );
    assert.equal(c.snapshot('hub').has(created.body.id), false);
    await waitFor('the refusal in the structured log', () => /"event":"wire.rejected"/.test(readFileSync(c.logFile, 'utf8')));
  });
});
