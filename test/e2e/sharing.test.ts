/**
 * Sharing end to end (issue 5) with real NATS, hub and two county nodes: a department of county A
 * applies for county B's population resource; the hub's reviewer passes the compliance review
 * (unconditional, Jincheng §30(1)); the signed grant reaches both nodes; A queries B through the hub
 * and gets only the granted items, desensitized at B; an ungranted item is refused and audited;
 * cross-verification answers match / no_match without values; revoked, suspended and expired grants
 * are refused by B on its own with the hub stopped; B offline → a bounded "provider offline" error, or
 * with a batch grant an answer from the hub's latest package marked with its version. Batch: a grant that
 * withholds anything gets only packages B shaped for it (checked in the bytes A holds); a grant of the
 * whole resource gets B's own packages re-sealed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signGrant, type SignedGrant } from '../../protocol/grant.ts';
import { fromBase64, loadSodium } from '../../protocol/sodium.ts';
import Database from 'better-sqlite3';
import { openPackage } from '../../engine/package/builder.ts';
import { readConfig } from '../../engine/cli/config-file.ts';
import { NodeConfig } from '../../node/config.ts';
import { readBoxKeyFile, readKeyFile, Identity } from '../../engine/identity.ts';
import { api, Cluster, deptOf, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';
import { citizenIdFor } from '../helpers/frontend.ts';
import { uuidv7 } from '../../protocol/uuid7.ts';
import { POLICY_PRESETS } from '../../protocol/policy.ts';

const A = '410802';
const B = '410803';
const HEADER = '公民身份号码,姓名,性别,民族,出生日期,户籍地址,户籍地行政区划代码,是否已注销户口';
const person = (i: number) => `${citizenIdFor(i)},张${'伟芳娜敏静'[i % 5]}${i},${(i % 2) + 1},01,1990-01-${String((i % 28) + 1).padStart(2, '0')},山西省晋城市泽州县金村镇${i}号,140525,否`;

/** Open a package a node received, with the node's own key file, bypassing its API (what the node holds). */
async function openReceived(dir: string, packageId: string, senderKey: string): Promise<Record<string, unknown>[]> {
  const config = readConfig(dir, NodeConfig);
  const keys = readBoxKeyFile(join(dir, config.encryptionKeyFile));
  const db = new Database(join(dir, config.database), { readonly: true });
  try {
    const row = db.prepare('SELECT signed_header AS h FROM received_packages WHERE package_id = ?').get(packageId) as { h: string };
    const signed = JSON.parse(row.h);
    const get = db.prepare('SELECT bytes FROM received_chunks WHERE package_id = ? AND idx = ?');
    const out: Record<string, unknown>[] = [];
    for await (const r of openPackage(signed, (i) => (get.get(packageId, i) as { bytes: Buffer } | undefined)?.bytes, keys, { senderKeys: fromBase64(senderKey) })) out.push(r);
    return out;
  } finally {
    db.close();
  }
}

// Access does not depend on the preset, but each preset's policy (grant length, unused period, deadlines)
// must let every path through: the whole suite runs once per preset.
for (const preset of Object.keys(POLICY_PRESETS))
  describe(`sharing under the ${preset} preset: apply, grant, cascaded query, verification, batch`, () => {
    let c: Cluster;
    let resource = '';
    let grantId = '';
    let reviewer = '';
    const year = () => ({ from: new Date(Date.now() - 60_000).toISOString(), until: new Date(Date.now() + 365 * 86_400_000).toISOString() });

    before(async () => {
      await loadSodium();
      c = await Cluster.start([A, B], { hubPolicy: preset, hubConfig: { accessForwardTimeoutMs: 1_500, batchDistributeSeconds: 0.2 }, nodeConfig: { grantPackageMinSeconds: 0 } });
      reviewer = c.token('hub', 'reviewer');
      const b = c.node(B);
      const entry = await api(b.running!.url, b.token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(B), 0, { sharingMethods: ['api', 'table', 'verification'], updateCycle: 'irregular' }));
      assert.equal(entry.status, 201, JSON.stringify(entry.body));
      resource = entry.body.id;
      const res = await fetch(`${b.running!.url}/api/v1/frontend/${resource}/import`, {
        method: 'POST',
        headers: { authorization: `Bearer ${b.token}`, 'content-type': 'text/csv' },
        body: [HEADER, ...Array.from({ length: 50 }, (_, i) => person(i))].join('\n'),
      });
      assert.equal(res.status, 200, await res.text());
      await waitFor('entry at the hub', () => c.hub!.catalog.get(resource), 10_000);
    });
    after(async () => {
      await c.stop();
    });

    const apply = async (methods: string[], items = ['citizen_id', 'name', 'household_address']) => {
      const a = c.node(A);
      const r = await api(a.running!.url, a.token, 'POST', '/api/v1/sharing/applications', {
        resource,
        items,
        purpose: '办理社会救助资格审核',
        scenario: '低保申请人身份核实',
        methods,
        period: year(),
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return r.body.id as string;
    };
    const direct = POLICY_PRESETS[preset as keyof typeof POLICY_PRESETS].sharingFlow.unconditional === 'direct';
    const grantOf = async (appId: string) => {
      const app = await waitFor('application at the hub', () => c.hub!.sharing.get(appId), 10_000);
      let id: string;
      if (direct) {
        // Yaohai §14, Jiaozuo §19(1), Hebi §15: unconditional data is obtained directly, without review.
        assert.equal(app.state, 'granted');
        id = app.grantId!;
      } else {
        assert.equal(app.state, 'compliance_review');
        const ok = await api(c.hub!.url, reviewer, 'POST', `/api/v1/sharing/applications/${appId}/decision`, { type: 'compliance_approve' });
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.equal(ok.body.state, 'granted');
        id = ok.body.grantId as string;
      }
      await waitFor('grant at A', () => c.node(A).running!.sharing.grant(id), 10_000);
      await waitFor('grant at B', () => c.node(B).running!.sharing.grant(id), 10_000);
      return id;
    };
    const query = (body: unknown, id = grantId) => api(c.node(A).running!.url, c.node(A).token, 'POST', `/api/v1/sharing/grants/${id}/query`, body);

    it('an unconditional application is granted (after the compliance review, Jincheng §30(1), or directly, Yaohai §14 / Jiaozuo §19(1) / Hebi §15) and the signed grant reaches both counties', async () => {
      const appId = await apply(['query', 'verify']);
      grantId = await grantOf(appId);
      const atA = await waitFor('granted at A', async () => {
        const r = await api(c.node(A).running!.url, c.node(A).token, 'GET', `/api/v1/sharing/applications/${appId}`);
        return r.body.state === 'granted' ? r.body : undefined;
      });
      assert.equal(atA.view.grantId, grantId);
      assert.deepEqual(
        atA.view.history.map((h: { to: string }) => h.to),
        direct ? ['granted'] : ['compliance_review', 'granted'],
      );
      const atB = await api(c.node(B).running!.url, c.node(B).token, 'GET', '/api/v1/sharing/grants');
      assert.equal(atB.status, 200, JSON.stringify(atB.body));
      assert.equal(atB.body.grants[0].side, 'provider');
      assert.equal(atB.body.grants[0].desensitization.citizen_id, 'citizen_id');
    });

    it('a cascaded query returns only the granted items, desensitized by the provider, and is audited at all three', async () => {
      const r = await query({ where: { all: [{ item: 'citizen_id', op: 'eq', value: citizenIdFor(7) }] } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.source, 'provider');
      const rows = r.body.result.rows;
      assert.equal(rows.length, 1);
      assert.deepEqual(Object.keys(rows[0]).sort(), ['citizen_id', 'household_address', 'name']);
      assert.equal(rows[0].citizen_id, `${citizenIdFor(7).slice(0, 6)}********${citizenIdFor(7).slice(14)}`);
      assert.equal(rows[0].name, '张**');
      assert.doesNotMatch(JSON.stringify(rows), /1990-01/, 'ungranted items never leave the provider');
      const requestId = r.body.requestId;
      const has = (audit: { search(q: object): { records: { detail: unknown; result: string }[] } }, action: string) =>
        audit.search({ action }).records.some((x) => (x.detail as { requestId?: string }).requestId === requestId && x.result === 'ok');
      assert.ok(has(c.node(A).running!.audit, 'data.use'), 'consumer audits the use');
      assert.ok(has(c.hub!.audit, 'data.use'), 'hub audits the routing');
      assert.ok(has(c.node(B).running!.audit, 'data.provide'), 'provider audits the provision');
    });

    it('a query for an item outside the grant is refused and audited', async () => {
      const r = await query({ items: ['citizen_id', 'birth_date'] });
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'GRANT_ITEM_NOT_ALLOWED');
      const denied = c.hub!.audit.search({ action: 'data.use' }).records.filter((x) => x.result === 'denied');
      assert.ok(denied.some((x) => (x.detail as { code?: string }).code === 'GRANT_ITEM_NOT_ALLOWED'));
      const byWhere = await query({ where: { all: [{ item: 'birth_date', op: 'eq', value: '1990-01-08' }] } });
      assert.equal(byWhere.status, 403, 'filtering on an ungranted item would leak it');
    });

    it('cross-verification answers match / no_match per item and never returns a value', async () => {
      const a = c.node(A);
      const v = await api(a.running!.url, a.token, 'POST', `/api/v1/sharing/grants/${grantId}/verify`, {
        subject: { item: 'citizen_id', value: citizenIdFor(3) },
        claims: { name: '张敏3', household_address: '别处' },
      });
      assert.equal(v.status, 200, JSON.stringify(v.body));
      assert.deepEqual(v.body.result, { found: true, results: { name: 'match', household_address: 'no_match' } });
      assert.doesNotMatch(JSON.stringify(v.body), /金村镇/);
      const none = await api(a.running!.url, a.token, 'POST', `/api/v1/sharing/grants/${grantId}/verify`, { subject: { item: 'citizen_id', value: citizenIdFor(999) }, claims: { name: '张三' } });
      assert.deepEqual(none.body.result, { found: false, results: { name: 'no_match' } });
      // Issue 10: the subject is checked like an import (citizenIdFor(3) ends in X): a lower-case x finds the
      // record; an invalid number is a 400 naming subject.value, not a "not found".
      assert.ok(citizenIdFor(3).endsWith('X'));
      const lower = await api(a.running!.url, a.token, 'POST', `/api/v1/sharing/grants/${grantId}/verify`, {
        subject: { item: 'citizen_id', value: citizenIdFor(3).toLowerCase() },
        claims: { name: '张敏3' },
      });
      assert.deepEqual(lower.body.result, { found: true, results: { name: 'match' } }, JSON.stringify(lower.body));
      const invalid = await api(a.running!.url, a.token, 'POST', `/api/v1/sharing/grants/${grantId}/verify`, {
        subject: { item: 'citizen_id', value: `${citizenIdFor(3).slice(0, 17)}0` },
        claims: { name: '张敏3' },
      });
      assert.equal(invalid.status, 400, JSON.stringify(invalid.body));
      assert.equal(invalid.body.error.code, 'VERIFY_SUBJECT_INVALID');
      assert.equal(invalid.body.error.fields[0].path, 'subject.value');
    });

    it('another department of county A cannot use the grant', async () => {
      const other = c.token(A, 'dept_operator', 'OTHER01');
      const r = await api(c.node(A).running!.url, other, 'POST', `/api/v1/sharing/grants/${grantId}/query`, {});
      assert.equal(r.status, 404);
      assert.equal(r.body.error.code, 'GRANT_UNKNOWN');
    });

    it('revoked, suspended and expired grants are refused by the provider on its own, with the hub stopped', async () => {
      const b = c.node(B).running!;
      const hubIdentity = new Identity(c.hub!.config.nodeId, readKeyFile(join(c.hubDir, 'keys/signing.json')));
      const consumerBox = readBoxKeyFile(join(c.node(A).dir, 'keys/encryption.json'));
      const signed = c.hub!.sharing.grant(grantId)!;
      // The hub's routing is not authorization: a forward straight to B (as a compromised or absent hub
      // would send it) meets the same checks.
      const forward = (g: SignedGrant) =>
        hubIdentity.seal(
          'access.forward',
          Date.now(),
          {
            request: { requestId: uuidv7(), grantId: g.grant.grantId, actor: { id: 'tester', department: deptOf(A) }, ask: { method: 'query', where: null, limit: 10 } },
            grant: g,
            consumer: { nodeId: `county-${A}`, county: A, boxKey: Buffer.from(consumerBox.publicKey).toString('base64') },
          },
          new Date(),
        );
      const codeOf = (bytes: Uint8Array) => {
        const body = JSON.parse(new TextDecoder().decode(bytes.subarray(67)));
        return body.type === 'error' ? body.payload.code : body.type;
      };
      assert.equal(codeOf(await b.accessServer.answer(forward(signed))), 'access.answer', 'usable before');

      const sus = await api(c.hub!.url, reviewer, 'POST', `/api/v1/sharing/grants/${grantId}/revoke`, { kind: 'suspended', reason: '疑似超范围使用，暂停核查（济源 §36）' });
      assert.equal(sus.status, 200);
      await waitFor('suspension at B', () => b.sharing.revocations()?.list.entries.some((e) => e.grantId === grantId && e.kind === 'suspended'), 10_000);
      await c.hub!.close();
      c.hub = null;
      assert.equal(codeOf(await b.accessServer.answer(forward(signed))), 'GRANT_SUSPENDED');
      const q = await query({});
      assert.equal(q.status, 504, 'with the hub down the consumer gets a bounded error');
      await c.startHub();

      const rev = await api(c.hub!.url, reviewer, 'POST', `/api/v1/sharing/grants/${grantId}/revoke`, { kind: 'revoked', reason: '违规转授他人（晋城 §40）' });
      assert.equal(rev.status, 200, JSON.stringify(rev.body));
      await waitFor('revocation at B', () => b.sharing.revocations()?.list.entries.some((e) => e.grantId === grantId && e.kind === 'revoked'), 10_000);
      await c.hub!.close();
      c.hub = null;
      assert.equal(codeOf(await b.accessServer.answer(forward(signed))), 'GRANT_REVOKED');

      // Expiry is judged by the provider's own clock: a grant that ended yesterday is refused.
      const g = signed.grant;
      const expired = signGrant(
        {
          ...g,
          grantId: uuidv7(),
          validFrom: new Date(Date.now() - 3 * 86_400_000).toISOString(),
          validUntil: new Date(Date.now() - 86_400_000).toISOString(),
          issuedAt: new Date(Date.now() - 2 * 86_400_000).toISOString(),
        },
        hubIdentity,
      );
      assert.equal(codeOf(await b.accessServer.answer(forward(expired))), 'GRANT_EXPIRED');
      const denials = b.audit.search({ action: 'access.denied' }).records.map((r) => (r.detail as { code: string }).code);
      assert.ok(
        ['GRANT_SUSPENDED', 'GRANT_REVOKED', 'GRANT_EXPIRED'].every((code) => denials.includes(code)),
        denials.join(','),
      );
      await c.startHub();
    });

    it('provider offline: a bounded PROVIDER_OFFLINE error, or with batch the hub’s latest package, marked', async () => {
      const queryOnly = await grantOf(await apply(['query']));
      const batch = await grantOf(await apply(['query', 'batch']));
      // B's table reaches the hub as a package.
      const b = c.node(B);
      const sent = await b.running!.packager!.run(resource, { actor: 'test' });
      assert.equal(sent.status, 'sent');
      await waitFor('package stored', () => b.running!.packages!.state((sent as { packageId: string }).packageId)?.state === 'stored', 20_000);
      // The batch grant withholds items and masks values: B shapes a package for it on its own (scheduler pass).
      await waitFor('grant package stored', () => b.running!.grantPackager!.sent(batch)[0]?.state === 'stored', 20_000);
      await b.running!.close();
      b.running = null;

      const t0 = Date.now();
      const offline = await query({}, queryOnly);
      assert.equal(offline.status, 504);
      assert.equal(offline.body.error.code, 'PROVIDER_OFFLINE');
      assert.ok(Date.now() - t0 < 5_000, `answered within the bound (${Date.now() - t0} ms)`);

      const fromHub = await query({ where: { all: [{ item: 'citizen_id', op: 'eq', value: citizenIdFor(9) }] } }, batch);
      assert.equal(fromHub.status, 200, JSON.stringify(fromHub.body));
      assert.equal(fromHub.body.source, 'hub_package');
      assert.equal(typeof fromHub.body.packageVersion, 'number');
      assert.ok(fromHub.body.packageAgeSeconds >= 0);
      assert.equal(fromHub.body.result.rows.length, 1);
      assert.equal(fromHub.body.result.rows[0].name, '张**', 'desensitized as the provider would');
      const probing = await query({ where: { all: [{ item: 'citizen_id', op: 'prefix', value: citizenIdFor(9).slice(0, 10) }] } }, batch);
      assert.equal(probing.status, 403, 'a prefix search would recover a masked ID digit by digit');
      assert.equal(probing.body.error.code, 'FILTER_ITEM_MASKED');

      // Batch: the grantee's node receives only the package B shaped for the grant, re-sealed to it by the hub.
      const a = c.node(A);
      const received = await waitFor(
        'package received at A',
        async () => {
          const r = await api(a.running!.url, a.token, 'GET', `/api/v1/sharing/grants/${batch}/packages`);
          return r.body.packages?.find((p: { state: string }) => p.state === 'ready');
        },
        20_000,
      );
      assert.equal(received.shapedForGrant, true);
      const everything = (await api(a.running!.url, a.token, 'GET', `/api/v1/sharing/grants/${batch}/packages`)).body.packages as { shapedForGrant: boolean }[];
      assert.ok(
        everything.every((p) => p.shapedForGrant),
        'the resource’s own (unmasked) package never went to A',
      );
      // What A holds, opened with A's own key outside the API: masked before it left B.
      const plain = await openReceived(a.dir, received.packageId, b.publicKey);
      assert.equal(plain.length, 50);
      assert.deepEqual(Object.keys(plain[0]!).sort(), ['citizen_id', 'household_address', 'name']);
      assert.doesNotMatch(JSON.stringify(plain), /\d{18}|张[伟芳娜敏静]\d|1990-01/, 'no clear ID number, name or ungranted item in the bytes A received');
      const res = await fetch(`${a.running!.url}/api/v1/sharing/grants/${batch}/packages/${received.packageId}/rows`, { headers: { authorization: `Bearer ${a.token}` } });
      assert.equal(res.status, 200);
      const lines = (await res.text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(lines.length, 50);
      assert.deepEqual(Object.keys(lines[0]).sort(), ['citizen_id', 'household_address', 'name'], 'granted items only');
      assert.match(lines[0].citizen_id, /^\d{6}\*{8}/, 'desensitized');
      assert.ok(a.running!.audit.search({ action: 'data.use' }).records.some((r) => (r.detail as { packageId?: string }).packageId === received.packageId));
      assert.deepEqual((await api(a.running!.url, a.token, 'GET', `/api/v1/sharing/grants/${queryOnly}/packages`)).body.packages, [], 'no packages without batch');
      const other = c.token(A, 'dept_reader', 'OTHER02');
      assert.equal((await api(a.running!.url, other, 'GET', `/api/v1/sharing/grants/${batch}/packages`)).status, 404);

      // Revoked: the node stops serving the rows as soon as the signed list arrives.
      await api(c.hub!.url, reviewer, 'POST', `/api/v1/sharing/grants/${batch}/revoke`, { kind: 'revoked', reason: '项目结束' });
      await waitFor('revocation at A', () => a.running!.sharing.revocations()?.list.entries.some((e) => e.grantId === batch), 10_000);
      const refused = await api(a.running!.url, a.token, 'GET', `/api/v1/sharing/grants/${batch}/packages/${received.packageId}/rows`);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'GRANT_REVOKED');
      const listed = (await api(a.running!.url, a.token, 'GET', '/api/v1/sharing/grants')).body.grants as { grantId: string; status: { state: string; reason: string | null } }[];
      assert.deepEqual(listed.find((g) => g.grantId === batch)!.status.state, 'revoked');
      assert.equal(listed.find((g) => g.grantId === batch)!.status.reason, '项目结束', 'the department sees why');
      assert.equal(listed.find((g) => g.grantId === queryOnly)!.status.state, 'active');
      await c.startNode(b);
    });

    it('batch updates reach the grantee as a new shaped snapshot: a deleted row is gone, nothing clear left B', async () => {
      const grant = await grantOf(await apply(['batch']));
      const a = c.node(A);
      const b = c.node(B);
      const first = await waitFor(
        'first grant package at A',
        async () => {
          const r = await api(a.running!.url, a.token, 'GET', `/api/v1/sharing/grants/${grant}/packages`);
          return r.body.packages?.find((p: { state: string }) => p.state === 'ready');
        },
        20_000,
      );
      assert.equal(first.rows, 50);
      const del = await fetch(`${b.running!.url}/api/v1/frontend/${resource}/import`, {
        method: 'POST',
        headers: { authorization: `Bearer ${b.token}`, 'content-type': 'text/csv' },
        body: `${HEADER},_delete\n${person(4)},1\n`,
      });
      assert.equal(del.status, 200, await del.text());
      // The resource's own delta makes B shape a new snapshot for the grant.
      const delta = await b.running!.packager!.run(resource, { actor: 'test' });
      assert.equal(delta.status, 'sent');
      assert.equal((delta as { kind: string }).kind, 'delta');
      const got = await waitFor(
        'updated grant package at A',
        async () => {
          const r = await api(a.running!.url, a.token, 'GET', `/api/v1/sharing/grants/${grant}/packages`);
          return r.body.packages?.find((p: { state: string; newVersion: number }) => p.state === 'ready' && p.newVersion > first.newVersion);
        },
        20_000,
      );
      assert.equal(got.kind, 'snapshot');
      assert.equal(got.shapedForGrant, true);
      const text = await fetch(`${a.running!.url}/api/v1/sharing/grants/${grant}/packages/${got.packageId}/rows`, { headers: { authorization: `Bearer ${a.token}` } }).then((r) => r.text());
      const rows = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(rows.length, 49, 'the deleted person is gone (masked values cannot tell who)');
      assert.doesNotMatch(text, new RegExp(citizenIdFor(5)), 'masked');
      const provided = b.running!.audit.search({ action: 'data.provide' }).records.filter((r) => (r.detail as { grantId?: string }).grantId === grant);
      assert.ok(provided.length >= 2, 'B audits each package it shaped for the grant');
    });

    it('a grant of the whole resource with nothing masked gets the provider’s own packages, re-sealed', async () => {
      const b = c.node(B);
      const a = c.node(A);
      // A resource with no identifying or sensitive item: its grant withholds nothing.
      const dataItems = (sampleFor(deptOf(B), 0).dataItems as { code: string }[]).map((i) => ({ ...i, sensitive: false, identifier: null }));
      const entry = await api(
        b.running!.url,
        b.token,
        'POST',
        '/api/v1/catalog/entries',
        sampleFor(deptOf(B), 0, { dataItems, baseCategory: 'e_license', sharingMethods: ['table'], updateCycle: 'irregular' } as never),
      );
      assert.equal(entry.status, 201, JSON.stringify(entry.body));
      const open = entry.body.id as string;
      const imported = await fetch(`${b.running!.url}/api/v1/frontend/${open}/import`, {
        method: 'POST',
        headers: { authorization: `Bearer ${b.token}`, 'content-type': 'text/csv' },
        body: [HEADER, ...Array.from({ length: 20 }, (_, i) => person(i))].join('\n'),
      });
      assert.equal(imported.status, 200, await imported.text());
      await waitFor('entry at the hub', () => c.hub!.catalog.get(open), 10_000);
      const sent = await b.running!.packager!.run(open, { actor: 'test' });
      assert.equal(sent.status, 'sent');
      const r = await api(a.running!.url, a.token, 'POST', '/api/v1/sharing/applications', {
        resource: open,
        items: dataItems.map((i) => i.code),
        purpose: '统计分析',
        scenario: '全量库表交换',
        methods: ['batch'],
        period: year(),
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const grant = await grantOf(r.body.id);
      const got = await waitFor(
        'package at A',
        async () => {
          const l = await api(a.running!.url, a.token, 'GET', `/api/v1/sharing/grants/${grant}/packages`);
          return l.body.packages?.find((p: { state: string }) => p.state === 'ready');
        },
        20_000,
      );
      assert.equal(got.shapedForGrant, false, 'the resource’s own package');
      assert.equal(got.packageId, (sent as { packageId: string }).packageId, 're-sealed, not rebuilt');
      assert.deepEqual(b.running!.grantPackager!.sent(grant), [], 'B shaped nothing for it');
      const text = await fetch(`${a.running!.url}/api/v1/sharing/grants/${grant}/packages/${got.packageId}/rows`, { headers: { authorization: `Bearer ${a.token}` } }).then((x) => x.text());
      assert.match(text, new RegExp(citizenIdFor(3)), 'clear values: the grant masks nothing');

      // B drops an item. A new grant of every remaining item withholds nothing, yet the stored package
      // still holds the dropped item: the hub must wait for a package built with the current items.
      const fewer = dataItems.filter((i) => i.code !== 'birth_date');
      const patched = await api(b.running!.url, b.token, 'PATCH', `/api/v1/catalog/entries/${open}`, { dataItems: fewer });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      await waitFor('items changed at the hub', () => (c.hub!.catalog.get(open)?.content['dataItems'] as unknown[] | undefined)?.length === fewer.length, 10_000);
      const r2 = await api(a.running!.url, a.token, 'POST', '/api/v1/sharing/applications', {
        resource: open,
        items: fewer.map((i) => i.code),
        purpose: '统计分析',
        scenario: '全量库表交换',
        methods: ['batch'],
        period: year(),
      });
      assert.equal(r2.status, 202, JSON.stringify(r2.body));
      const grant2 = await grantOf(r2.body.id);
      const distributed = c.hub!.batch.distribute();
      assert.equal(distributed, 0, 'the package from before the change is not re-sealed to the new grant');
      assert.deepEqual((await api(a.running!.url, a.token, 'GET', `/api/v1/sharing/grants/${grant2}/packages`)).body.packages, []);
      const rebuilt = await b.running!.packager!.run(open, { actor: 'test' });
      assert.equal((rebuilt as { kind: string }).kind, 'snapshot', 'items changed: a snapshot');
      const got2 = await waitFor(
        'current package at A',
        async () => {
          const l = await api(a.running!.url, a.token, 'GET', `/api/v1/sharing/grants/${grant2}/packages`);
          return l.body.packages?.find((p: { state: string }) => p.state === 'ready');
        },
        20_000,
      );
      assert.equal(got2.packageId, (rebuilt as { packageId: string }).packageId);
      const rows2 = await fetch(`${a.running!.url}/api/v1/sharing/grants/${grant2}/packages/${got2.packageId}/rows`, { headers: { authorization: `Bearer ${a.token}` } }).then((x) => x.text());
      assert.doesNotMatch(rows2, /1990-01/, 'the dropped item never reached A under the new grant');
    });
  });
