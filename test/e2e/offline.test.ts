/**
 * The WAN link fails: NATS stopped while county A and the hub keep editing, then restarted; and
 * JetStream streams wiped while nodes keep their state. Everything must converge with no edit lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { streamNames } from '../../protocol/subjects.ts';
import { api, Cluster, deptOf, MUNI, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const A = '410802';
const B = '410803';

describe('link failures', () => {
  let c: Cluster;
  before(async () => {
    c = await Cluster.start([A, B], { antiEntropyMs: 1_000 });
  });
  after(async () => {
    await c.stop();
  });

  it('NATS down: edits at A and at the hub both survive and all three replicas converge after restart', async () => {
    const a = c.node(A);
    const created = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 0));
    const id: string = created.body.id;
    await waitFor('entry replicated', () => c.converged() && c.snapshot(B).has(id));

    await c.nats.stop();
    await waitFor('A notices the link is down', () => !a.running!.link.state.connected);

    // Concurrent offline edits of the same entry: content at A, review + code at the hub.
    const edited = await api(a.running!.url, a.token, 'PATCH', `/api/v1/catalog/entries/${id}`, { abstract: '离线期间修改的摘要' });
    assert.equal(edited.status, 200);
    const approved = await api(c.hub!.url, c.hubToken, 'POST', `/api/v1/catalog/entries/${id}/review`, { decision: 'approve' });
    assert.equal(approved.status, 200);
    const offlineNew = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 5));
    assert.equal(offlineNew.status, 201);
    const status = await api(a.running!.url, c.token(A, 'sysadmin'), 'GET', '/api/v1/status');
    assert.ok(status.body.outbox.depth >= 2, 'edits wait in the outbox while the link is down');

    await c.nats.restart();
    await waitFor('all replicas converged after NATS restart', () => c.converged() && c.snapshot(B).has(offlineNew.body.id), 20_000);
    for (const side of ['hub', A, B]) {
      const v = JSON.parse(c.snapshot(side).get(id)!);
      assert.equal(v.content.abstract, '离线期间修改的摘要', `abstract at ${side}`);
      assert.equal(v.status, 'approved', `status at ${side}`);
      assert.equal(v.code, approved.body.code, `code at ${side}`);
    }
    await waitFor('A outbox drained', async () => (await api(a.running!.url, c.token(A, 'sysadmin'), 'GET', '/api/v1/status')).body.outbox.depth === 0);
  });

  it('streams wiped while NATS is up: anti-entropy restores equality in both directions', async () => {
    const a = c.node(A);
    const b = c.node(B);
    const nc = await connect({ servers: c.nats.url });
    const jsm = await jetstreamManager(nc);
    const names = streamNames(MUNI);
    try {
      // Down direction: B is away while A edits and the hub approves; then the DOWN stream is wiped.
      await b.running!.close();
      b.running = null;
      const e1 = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 2));
      await waitFor('hub has e1', () => c.snapshot('hub').has(e1.body.id));
      await api(c.hub!.url, c.hubToken, 'POST', `/api/v1/catalog/entries/${e1.body.id}/review`, { decision: 'approve' });
      await waitFor('hub outbox drained', async () => (await api(c.hub!.url, c.token('hub', 'sysadmin'), 'GET', '/api/v1/status')).body.outbox.depth === 0);
      await jsm.streams.delete(names.down);

      // Up direction: the hub is away while A edits; then the UP stream is wiped before the hub consumes it.
      await c.hub!.close();
      c.hub = null;
      const e2 = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 6));
      await waitFor('A published e2', async () => (await api(a.running!.url, c.token(A, 'sysadmin'), 'GET', '/api/v1/status')).body.outbox.depth === 0);
      await jsm.streams.delete(names.up);

      await c.startHub();
      await c.startNode(b);
      await waitFor('streams re-created by the hub', async () => (await jsm.streams.list().next()).length === 3);
      await waitFor('anti-entropy converged hub, A and B', () => c.converged() && c.snapshot(B).has(e1.body.id) && c.snapshot('hub').has(e2.body.id), 20_000);
      assert.equal(JSON.parse(c.snapshot(B).get(e1.body.id)!).status, 'approved');
      assert.ok(c.snapshot(B).has(e2.body.id));
    } finally {
      await nc.close();
    }
  });
});
