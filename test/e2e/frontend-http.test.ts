/** A department streams a multi-megabyte CSV with Chinese headers into its entry's front-end table over HTTP (beyond the JSON body limit). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { creditCodeCheckChar } from '../../protocol/ids.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { api, Cluster, deptOf } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const A = '410802';

function creditCode(i: number): string {
  const first17 = `91410802MA${String(i).padStart(7, '0')}`;
  return first17 + creditCodeCheckChar(first17);
}

describe('front-end import over HTTP', () => {
  let c: Cluster;
  before(async () => {
    await loadSodium();
    c = await Cluster.start([A]);
  });
  after(async () => {
    await c.stop();
  });

  it('imports a 3 MB CSV into an own entry, reports rejects, and refuses another department', async () => {
    const a = c.node(A);
    const entry = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 1));
    assert.equal(entry.status, 201);
    const lines = ['统一社会信用代码,市场主体名称,市场主体类型,法定代表人,注册资本(万元),成立日期,登记状态,住所,登记机关'];
    for (let i = 0; i < 20_000; i++) {
      const code = i === 7 ? '91410802MA00000070' : creditCode(i); // row 7: wrong check character
      lines.push(`${code},测试市场主体有限公司第${i}号,1100,张三${i},${(i * 10.5).toFixed(2)},2020-01-${String((i % 28) + 1).padStart(2, '0')},1,测试市测试区测试路${i}号,测试市市场监督管理局`);
    }
    const body = lines.join('\n') + '\n';
    assert.ok(Buffer.byteLength(body) > 2 * 1024 * 1024, 'larger than the JSON body limit');
    const res = await fetch(`${a.running!.url}/api/v1/frontend/${entry.body.id}/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.token}`, 'content-type': 'text/csv' },
      body,
    });
    const summary = (await res.json()) as { inserted: number; rejected: number; rejectsUrl: string };
    assert.equal(res.status, 200, JSON.stringify(summary));
    assert.equal(summary.inserted, 19_999);
    assert.equal(summary.rejected, 1);
    const rejects = await fetch(a.running!.url + summary.rejectsUrl, { headers: { authorization: `Bearer ${a.token}` } }).then((r) => r.text());
    assert.match(rejects, /校验码|check/);

    const other = c.token(A, 'dept_operator', 'OTHER01');
    const refused = await fetch(`${a.running!.url}/api/v1/frontend/${entry.body.id}/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other}`, 'content-type': 'text/csv' },
      body: lines.slice(0, 3).join('\n'),
    });
    assert.equal(refused.status, 403);
  });
});
