/** kill -9 of a county node right after an API write returned success: after restart the write reaches the hub. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, Cluster, deptOf, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';
import { spawnService, type ChildService } from '../helpers/process.ts';

const A = '410802';

describe('crash safety of acknowledged writes', () => {
  let c: Cluster;
  let proc: ChildService | null = null;
  before(async () => {
    c = await Cluster.start([]);
  });
  after(async () => {
    await proc?.kill9();
    await c.stop();
  });

  it('a write acknowledged while the link was down survives kill -9 and reaches the hub after restart', async () => {
    const a = await c.addNode(A);
    await c.nats.stop();
    proc = await spawnService('node', a.dir);
    const created = await api(proc.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 0));
    assert.equal(created.status, 201);
    await proc.kill9();
    proc = null;

    await c.nats.restart();
    proc = await spawnService('node', a.dir);
    const atHub = await waitFor(
      'write reached the hub',
      async () => {
        const r = await api(c.hub!.url, c.hubToken, 'GET', `/api/v1/catalog/entries/${created.body.id}`);
        return r.status === 200 && r.body;
      },
      20_000,
    );
    assert.equal(atHub.content.name, created.body.content.name);
  });

  it('kill -9 immediately after a burst of acknowledged writes with the link up: all of them reach the hub exactly once', async () => {
    const a = c.node(A);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await api(proc!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), i));
      assert.equal(r.status, 201);
      ids.push(r.body.id);
    }
    await proc!.kill9();
    proc = await spawnService('node', a.dir);
    await waitFor('all 20 writes at the hub', () => ids.every((id) => c.snapshot('hub').has(id)), 20_000);
    const count = c.hub!.db.prepare('SELECT COUNT(*) AS n FROM entries WHERE county = ?').get(A) as { n: number };
    assert.equal(count.n, 21);
  });
});
