/** End to end over a real nats-server: county A → hub → county B, review back to A, and the HTTP contract. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, Cluster, deptOf, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const A = '410802';
const B = '410803';

describe('catalog replication: 1 hub + 2 counties', () => {
  let c: Cluster;
  before(async () => {
    c = await Cluster.start([A, B]);
  });
  after(async () => {
    await c.stop();
  });

  it('an entry created at A is found by search at B and at the hub, and the approval with its code reaches A', async () => {
    const a = c.node(A);
    const created = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 0));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id: string = created.body.id;
    assert.match(id, /^410802-/);
    assert.equal(created.body.status, 'pending');

    const b = c.node(B);
    const atB = await waitFor('entry searchable at B by 人口', async () => {
      const r = await api(b.running!.url, b.token, 'GET', `/api/v1/catalog/entries?q=${encodeURIComponent('人口')}`);
      return r.body.items.find((e: { id: string }) => e.id === id);
    });
    assert.equal(atB.content.name, '人口基础信息');
    const atHub = await waitFor('entry searchable at the hub', async () => {
      const r = await api(c.hub!.url, c.hubToken, 'GET', `/api/v1/catalog/entries?q=${encodeURIComponent('人口基础')}`);
      return r.body.items.find((e: { id: string }) => e.id === id);
    });
    assert.equal(atHub.county, A);

    const reviewed = await api(c.hub!.url, c.hubToken, 'POST', `/api/v1/catalog/entries/${id}/review`, { decision: 'approve' });
    assert.equal(reviewed.status, 200, JSON.stringify(reviewed.body));
    assert.equal(reviewed.body.status, 'approved');
    assert.match(reviewed.body.code, /^410800-410802-J-GA410802-\d{6}$/);

    const atA = await waitFor('approval visible at A', async () => {
      const r = await api(a.running!.url, a.token, 'GET', `/api/v1/catalog/entries/${id}`);
      return r.body.status === 'approved' && r.body;
    });
    assert.equal(atA.code, reviewed.body.code);
    assert.equal(atA.review.reviewer, 'reviewer', 'the first hub account is named after its role');
  });

  it('a rejection needs a reason, and the reason reaches the county', async () => {
    const a = c.node(A);
    const created = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 4));
    const id = created.body.id;
    await waitFor('entry at hub', async () => (await api(c.hub!.url, c.hubToken, 'GET', `/api/v1/catalog/entries/${id}`)).status === 200);
    const noReason = await api(c.hub!.url, c.hubToken, 'POST', `/api/v1/catalog/entries/${id}/review`, { decision: 'reject' });
    assert.equal(noReason.status, 400);
    assert.equal(noReason.body.error.fields[0].path, 'reason');
    const rejected = await api(c.hub!.url, c.hubToken, 'POST', `/api/v1/catalog/entries/${id}/review`, { decision: 'reject', reason: '缺少法律依据 / legal basis missing' });
    assert.equal(rejected.body.status, 'rejected');
    await waitFor('rejection at A', async () => (await api(a.running!.url, a.token, 'GET', `/api/v1/catalog/entries/${id}`)).body.review?.reason === '缺少法律依据 / legal basis missing');
  });

  it('a department may change only its own entries, and B may not change A’s', async () => {
    const a = c.node(A);
    const b = c.node(B);
    const created = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 1));
    const id = created.body.id;
    const other = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor('SJ410802', 1));
    assert.equal(other.status, 403);
    assert.equal(other.body.error.code, 'FORBIDDEN');
    await waitFor('entry at B', async () => (await api(b.running!.url, b.token, 'GET', `/api/v1/catalog/entries/${id}`)).status === 200);
    const cross = await api(b.running!.url, b.token, 'PATCH', `/api/v1/catalog/entries/${id}`, { abstract: '篡改' });
    assert.equal(cross.status, 403);
    assert.ok(cross.body.error.message['zh-CN'].length > 0 && cross.body.error.message.en.length > 0);
  });

  it('invalid entries get 400 with field paths; oversized bodies 413; missing token 401', async () => {
    const a = c.node(A);
    const conditional = sampleFor(deptOf(A), 3, { sharing: { attribute: 'conditional', scope: '仅限办理不动产业务' } as never });
    const r1 = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', conditional);
    assert.equal(r1.status, 400);
    assert.equal(r1.body.error.code, 'INVALID_ENTRY');
    assert.ok(
      r1.body.error.fields.some((f: { path: string }) => f.path === 'sharing.legalBasis'),
      JSON.stringify(r1.body),
    );

    const badCredit = sampleFor(deptOf(A), 2);
    (badCredit.provider as { creditCode?: string }).creditCode = '91350100M000100Y44';
    const r2 = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', badCredit);
    assert.equal(r2.status, 400);
    assert.ok(r2.body.error.fields.some((f: { path: string }) => f.path === 'provider.creditCode'));

    const huge = { ...sampleFor(deptOf(A), 0), abstract: 'x'.repeat(2 * 1024 * 1024) };
    const r3 = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', huge);
    assert.equal(r3.status, 413);
    assert.equal(r3.body.error.code, 'PAYLOAD_TOO_LARGE');

    const r4 = await api(a.running!.url, 'nope', 'GET', '/api/v1/catalog/entries');
    assert.equal(r4.status, 401);
    const openapi = await fetch(`${a.running!.url}/api/v1/openapi.json`).then((r) => r.json());
    assert.equal(openapi.openapi, '3.1.0');
    assert.ok(openapi.paths['/api/v1/catalog/entries'].post);
    // Every catalog and sharing route the node serves is in the document.
    const documented = (r: { method: string; path: string }) => openapi.paths[r.path.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()];
    const missing = a.running!.routes.filter((r) => /^\/api\/v1\/(catalog|sharing)\//.test(r.path) && !documented(r));
    assert.deepEqual(
      missing.map((r) => `${r.method} ${r.path}`),
      [],
    );
  });
});
