/**
 * Packages from a front-end table, end to end: `jilian node package` (a real CLI process) asks the
 * running node for a package; the first is a snapshot, later ones deltas carrying exactly the changed
 * rows and deletes; nothing changed → nothing sent; a change of the entry's data items → a snapshot
 * again; a realtime entry is packaged by the schedule without anyone asking; a key twice in one upload
 * is a reject and re-uploading the same file changes nothing, so nothing is packaged.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { openPackage } from '../../engine/package/builder.ts';
import { readBoxKeyFile } from '../../engine/identity.ts';
import { readConfig, writeConfig } from '../../engine/cli/config-file.ts';
import { creditCodeCheckChar } from '../../protocol/ids.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { NodeConfig } from '../../node/config.ts';
import { api, Cluster, deptOf, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const A = '410802';
const BIN = fileURLToPath(new URL('../../bin/jilian.mjs', import.meta.url));

function creditCode(i: number): string {
  const first17 = `91410802MA${String(i).padStart(7, '0')}`;
  return first17 + creditCodeCheckChar(first17);
}

const HEADER = '统一社会信用代码,市场主体名称,市场主体类型,法定代表人,注册资本(万元),成立日期,登记状态,住所,登记机关';
const line = (i: number, name = `测试市场主体有限公司第${i}号`) =>
  `${creditCode(i)},${name},1100,张三${i},${(i * 10.5).toFixed(2)},2020-01-${String((i % 28) + 1).padStart(2, '0')},1,测试市测试区测试路${i}号,测试市市场监督管理局`;

function cli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

describe('packages from a front-end table', () => {
  let c: Cluster;
  let entryId = '';
  before(async () => {
    await loadSodium();
    c = await Cluster.start([]);
    const n = await c.addNode(A);
    // Evaluate the update-cycle schedule often, so the realtime case below needs no long wait.
    writeConfig(n.dir, { ...readConfig(n.dir, NodeConfig), packageScheduleSeconds: 0.2 });
    await c.startNode(n);
  });
  after(async () => {
    await c.stop();
  });

  const importCsv = async (lines: string[], extraHeader = '') => {
    const a = c.node(A);
    const res = await fetch(`${a.running!.url}/api/v1/frontend/${entryId}/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.token}`, 'content-type': 'text/csv' },
      body: [HEADER + extraHeader, ...lines].join('\n') + '\n',
    });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as { inserted: number; updated: number; deleted: number };
  };
  const hubRows = async (packageId: string) => {
    const stored = c.hub!.packages.stored(packageId)!;
    const out: Record<string, unknown>[] = [];
    const keys = readBoxKeyFile(join(c.hubDir, 'keys/encryption.json'));
    for await (const r of openPackage(stored.signed, stored.chunk, keys, { senderKeys: c.hub!.registry.get(`county-${A}`)!.keys })) out.push(r);
    return { header: stored.signed.header, rows: out };
  };
  const packageOf = (out: string) => /包 package (\S+)/.exec(out)?.[1];

  it('the first package is a snapshot of every row, and the hub can open it', async () => {
    const a = c.node(A);
    // 'irregular': packaged only on request, so the schedule does not race this test.
    const entry = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 1, { updateCycle: 'irregular' }));
    assert.equal(entry.status, 201);
    entryId = entry.body.id;
    await importCsv(Array.from({ length: 2_000 }, (_, i) => line(i)));

    const r = await cli(['node', 'package', entryId, '-d', a.dir]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /枢纽已存储 \/ stored by the hub: 快照 snapshot/);
    const { header, rows } = await hubRows(packageOf(r.out)!);
    assert.equal(header.kind, 'snapshot');
    assert.equal(rows.length, 2_000);
    const row7 = rows.find((x) => x['credit_code'] === creditCode(7))!;
    assert.equal(row7['entity_name'], '测试市场主体有限公司第7号');
    assert.equal(row7['registered_capital'], '73.5');
    assert.equal(typeof row7['_version'], 'number');
    // The provision is audited at the node (who asked) and at the hub (what arrived).
    assert.ok(a.running!.audit.search({ action: 'data.provide' }).records.some((x) => x.resource === entryId && x.actor.startsWith('cli:')));
  });

  it('the next package is a delta with exactly the changed rows and the deletes', async () => {
    const a = c.node(A);
    const before = (a.running!.db.prepare("SELECT new_version AS v FROM packages_sent WHERE resource = ? AND state = 'stored'").get(entryId) as { v: number }).v;
    const s = await importCsv([line(5, '改名后的公司'), line(6, '另一个新名字'), line(2_000), line(1_999)]);
    assert.equal(s.inserted + s.updated, 3);
    // Explicit delete: the `_delete` column.
    const del = await importCsv([`${line(10)},1`], ',_delete');
    assert.equal(del.deleted, 1);

    const r = await cli(['node', 'package', entryId, '-d', a.dir]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /增量 delta/);
    const { header, rows } = await hubRows(packageOf(r.out)!);
    assert.equal(header.kind, 'delta');
    assert.equal(header.baseVersion, before);
    assert.equal(rows.length, 4);
    assert.deepEqual(rows.map((x) => x['credit_code']).sort(), [creditCode(5), creditCode(6), creditCode(2_000), creditCode(10)].sort());
    const tomb = rows.find((x) => x['credit_code'] === creditCode(10))!;
    assert.equal(tomb['_deleted'], true);
    assert.equal(tomb['entity_name'], undefined, 'a tombstone carries the key only');
    assert.equal(rows.find((x) => x['credit_code'] === creditCode(5))!['entity_name'], '改名后的公司');
  });

  it('with nothing changed, nothing is sent', async () => {
    const a = c.node(A);
    const count = () => (a.running!.db.prepare('SELECT COUNT(*) AS n FROM packages_sent WHERE resource = ?').get(entryId) as { n: number }).n;
    const n0 = count();
    const r = await cli(['node', 'package', entryId, '-d', a.dir]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /没有变化.*nothing changed/);
    assert.equal(count(), n0);
  });

  it('after the entry’s data items change, the next package is a snapshot again', async () => {
    const a = c.node(A);
    const current = await api(a.running!.url, a.token, 'GET', `/api/v1/catalog/entries/${entryId}`);
    const items = [...current.body.content.dataItems, { name: '联系电话', code: 'phone', type: 'string', length: 20, sensitive: false, identifier: null }];
    const upd = await api(a.running!.url, a.token, 'PATCH', `/api/v1/catalog/entries/${entryId}`, { dataItems: items });
    assert.equal(upd.status, 200, JSON.stringify(upd.body));
    const r = await cli(['node', 'package', entryId, '-d', a.dir]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /快照 snapshot/);
    const { rows } = await hubRows(packageOf(r.out)!);
    assert.equal(rows.length, 2_000, '2,001 rows imported, one deleted');
    assert.ok(rows.every((x) => 'phone' in x && x['phone'] === null));
  });

  it('a realtime entry is packaged by the schedule after an import, without a request', async () => {
    const a = c.node(A);
    const entry = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 1, { name: '实时共享的法人信息', updateCycle: 'realtime' }));
    assert.equal(entry.status, 201);
    const id = entry.body.id as string;
    const res = await fetch(`${a.running!.url}/api/v1/frontend/${id}/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.token}`, 'content-type': 'text/csv' },
      body: [HEADER, line(1), line(2)].join('\n'),
    });
    assert.equal(res.status, 200);
    const stored = await waitFor(
      'scheduled package stored',
      () => a.running!.db.prepare("SELECT package_id AS id FROM packages_sent WHERE resource = ? AND state = 'stored'").get(id) as { id: string } | undefined,
      20_000,
    );
    const { rows } = await hubRows(stored.id);
    assert.equal(rows.length, 2);
    assert.ok(a.running!.audit.search({ action: 'data.provide' }).records.some((x) => x.resource === id && x.actorRole === 'scheduler'));
  });

  it('a key twice in one upload is a reject naming both rows; uploading the same file again changes nothing and packages nothing', async () => {
    const a = c.node(A);
    const entry = await api(a.running!.url, a.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 1, { name: '去重测试的法人信息', updateCycle: 'irregular' }));
    assert.equal(entry.status, 201);
    const id = entry.body.id as string;
    // Rows 2..301 are companies 0..299; row 302 repeats company 7 under another name.
    const body = [HEADER, ...Array.from({ length: 300 }, (_, i) => line(i)), line(7, '重复的公司')].join('\n') + '\n';
    const upload = async () => {
      const res = await fetch(`${a.running!.url}/api/v1/frontend/${id}/import`, { method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'text/csv' }, body });
      assert.equal(res.status, 200, await res.clone().text());
      const s = (await res.json()) as { inserted: number; updated: number; unchanged: number; rejected: number; rejectsUrl: string };
      const res2 = await fetch(`${a.running!.url}${s.rejectsUrl}`, { headers: { authorization: `Bearer ${a.token}` } });
      const report = Buffer.from(await res2.arrayBuffer()).toString('utf8');
      return { ...s, report };
    };
    const first = await upload();
    assert.deepEqual([first.inserted, first.updated, first.unchanged, first.rejected], [300, 0, 0, 1]);
    assert.equal(
      first.report,
      '\uFEFFrow,column,reason_zh,reason_en\n302,credit_code,主键与第 9 行重复：保留第 9 行，本行未导入,duplicate key: same as row 9 (row 9 is kept; this row is not imported)\n',
    );
    const table = a.running!.db.prepare('SELECT table_name FROM frontend_tables WHERE entry_id = ?').pluck().get(id) as string;
    const rows = () =>
      a.running!.db.prepare(`SELECT credit_code, entity_name, _version FROM "${table}" ORDER BY credit_code`).all() as { credit_code: string; entity_name: string; _version: number }[];
    assert.equal(rows().find((r) => r.credit_code === creditCode(7))!.entity_name, '测试市场主体有限公司第7号', 'the first occurrence is kept');
    const p1 = await cli(['node', 'package', id, '-d', a.dir]);
    assert.equal(p1.code, 0, p1.out);
    assert.match(p1.out, /快照 snapshot/);

    const before = rows();
    const again = await upload();
    assert.deepEqual([again.inserted, again.updated, again.unchanged, again.rejected], [0, 0, 300, 1]);
    assert.match(again.report, /^\uFEFFrow,column,reason_zh,reason_en\n302,credit_code,.*same as row 9/);
    assert.deepEqual(rows(), before, 'no row got a new version');
    const sent = () => a.running!.db.prepare('SELECT COUNT(*) FROM packages_sent WHERE resource = ?').pluck().get(id);
    const n0 = sent();
    const p2 = await cli(['node', 'package', id, '-d', a.dir]);
    assert.equal(p2.code, 0, p2.out);
    assert.match(p2.out, /没有变化.*nothing changed/);
    assert.equal(sent(), n0);
  });

  it('an entry without a front-end table gets a clear CLI error', async () => {
    const a = c.node(A);
    const r = await cli(['node', 'package', `${A}-0190a5e2-7c4b-7def-8123-456789abcdef`, '-d', a.dir]);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /没有前置库表.*no front-end table/s);
  });
});
