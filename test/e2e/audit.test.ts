/**
 * The audit log end to end: changes and refusals are recorded at the node, the auditor searches
 * them over the API, the node's signed chain head reaches the hub, and a node that rewinds history
 * it already vouched for is caught.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { keySigner, signCheckpoint } from '../../protocol/audit-checkpoint.ts';
import { encodeEnvelope } from '../../protocol/envelope.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { upSubject } from '../../protocol/subjects.ts';
import { readKeyFile } from '../../engine/identity.ts';
import { AUDIT_SEAL_TRIGGERS, AUDIT_TRIGGERS } from '../../engine/audit/log.ts';
import { openDatabase } from '../../engine/storage/db.ts';
import { NODE_MIGRATIONS } from '../../node/storage/migrations.ts';
import { api, Cluster, deptOf, MUNI, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const A = '410802';

describe('audit log', () => {
  let c: Cluster;
  before(async () => {
    await loadSodium();
    c = await Cluster.start([A]);
  });
  after(async () => {
    await c.stop();
  });

  it('records changes with who, department, resource and fields, and refusals; the auditor searches them', async () => {
    const a = c.node(A);
    const created = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 0));
    await api(a.running!.url, a.token, 'PATCH', `/api/v1/catalog/entries/${created.body.id}`, { abstract: '修改摘要' });
    const foreign = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor('OTHER01', 0));
    assert.equal(foreign.status, 403);
    assert.equal((await api(a.running!.url, 'not-a-token', 'GET', '/api/v1/catalog/entries')).status, 401);

    const auditor = c.token(A, 'auditor');
    const byResource = await api(a.running!.url, auditor, 'GET', `/api/v1/audit?resource=${created.body.id}`);
    assert.equal(byResource.status, 200);
    const actions = byResource.body.records.map((r: { action: string }) => r.action).sort();
    assert.deepEqual(actions, ['catalog.create', 'catalog.update']);
    const update = byResource.body.records.find((r: { action: string }) => r.action === 'catalog.update');
    assert.equal(update.actor, `dept-${deptOf(A)}`);
    assert.equal(update.department, deptOf(A));
    assert.deepEqual(update.fields, ['abstract']);
    const denied = await api(a.running!.url, auditor, 'GET', '/api/v1/audit?action=access.denied');
    assert.ok(denied.body.records.some((r: { actor: string }) => r.actor === 'anonymous'));
    const refused = await api(a.running!.url, auditor, 'GET', `/api/v1/audit?action=catalog.create&department=${deptOf(A)}`);
    assert.ok(refused.body.records.some((r: { result: string }) => r.result === 'denied'));
    const verify = await api(a.running!.url, auditor, 'GET', '/api/v1/audit/verify');
    assert.equal(verify.body.ok, true);
    // The department operator may not read the audit log.
    assert.equal((await api(a.running!.url, a.token, 'GET', '/api/v1/audit')).status, 403);
  });

  it('the node’s signed chain head reaches the hub; a rewound history is refused and recorded', async () => {
    const a = c.node(A).running!;
    a.checkpointAudit();
    const head = a.audit.head();
    const nodeId = `county-${A}`;
    await waitFor('checkpoint at the hub', () => c.hub!.checkpoints.latest(nodeId)?.seq === head.seq);

    // A node that rewrote its log would send an older head (or the same seq with another hash).
    const secret = readKeyFile(join(c.node(A).dir, 'keys/signing.json')).secretKey;
    const rewound = signCheckpoint({ seq: head.seq, hash: 'f'.repeat(64) }, keySigner(nodeId, secret), new Date());
    const nc = await connect({ servers: c.nats.url });
    try {
      const env = encodeEnvelope({ type: 'audit.checkpoint', from: nodeId, seq: 8_000_000, ts: new Date().toISOString(), payload: rewound }, secret);
      await jetstream(nc).publish(upSubject(MUNI, A, 'audit.checkpoint'), env, { msgID: randomUUID() });
    } finally {
      await nc.close();
    }
    await waitFor('history rewrite detected', () => c.hub!.rejections.recent(50).some((r) => r.code === 'AUDIT_HISTORY_REWRITTEN' && r.sender === nodeId));
    assert.equal(c.hub!.checkpoints.latest(nodeId)?.hash, head.hash, 'the vouched-for head stays');
    const hubAudit = c.hub!.audit.search({ action: 'wire.rejected' });
    assert.ok(hubAudit.records.some((r) => r.actor === nodeId));
  });

  it('a node whose oldest audit rows were deleted behind a faked anchor is refused at its next checkpoint and fails verify (issue 10)', async () => {
    const node = c.node(A);
    const a = node.running!;
    const nodeId = `county-${A}`;
    a.checkpointAudit();
    await waitFor('checkpoint at the hub', () => c.hub!.checkpoints.latest(nodeId)?.seq === a.audit.head().seq);
    assert.equal(c.hub!.checkpoints.latest(nodeId)?.firstSeq, 1, 'the checkpoint names the purge anchor (none yet)');
    // Whoever holds the database file: drop the guards, delete the oldest rows, write an anchor that chains.
    const db = openDatabase(join(node.dir, 'jilian.db'), NODE_MIGRATIONS);
    for (const t of [...AUDIT_TRIGGERS, ...AUDIT_SEAL_TRIGGERS]) db.exec(`DROP TRIGGER IF EXISTS ${t}`);
    const h3 = (db.prepare('SELECT hash FROM audit_log WHERE seq = 3').get() as { hash: Uint8Array }).hash;
    db.prepare('DELETE FROM audit_log WHERE seq <= 3').run();
    db.prepare('INSERT INTO audit_meta VALUES (1, 4, ?, 3, ?, ?, NULL)').run(h3, new Date().toISOString(), new Date().toISOString());
    db.close();
    const auditor = c.token(A, 'auditor');
    const local = await api(a.url, auditor, 'GET', '/api/v1/audit/verify');
    assert.equal(local.body.ok, false);
    assert.equal(local.body.reason, 'anchor-unsigned');
    await api(a.url, auditor, 'GET', '/api/v1/audit?limit=1'); // an audited search: the head moves on, so a checkpoint goes out
    a.checkpointAudit();
    await waitFor('moved anchor refused', () =>
      c.hub!.rejections.recent(50).some((r) => r.code === 'AUDIT_HISTORY_REWRITTEN' && r.sender === nodeId && /without a signed purge record/.test(r.message)),
    );
    assert.equal(c.hub!.checkpoints.latest(nodeId)?.firstSeq, 1, 'the hub keeps the anchor it was shown before');
  });
});
