/**
 * The conditional sharing workflow end to end, once per regulation preset, with real NATS, hub and two
 * county nodes and an injected hub clock: the provider department approves on its own node (narrowing
 * the items), refuses with reason and basis (a refusal without a basis is sent back), and stays silent —
 * silent consent grants only under Yaohai §14; the other presets flag the application overdue.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadSodium } from '../../protocol/sodium.ts';
import { POLICY_PRESETS } from '../../protocol/policy.ts';
import { api, Cluster, deptOf, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const A = '410802';
const B = '410803';

for (const preset of Object.keys(POLICY_PRESETS)) {
  describe(`conditional sharing under the ${preset} preset`, () => {
    let c: Cluster;
    let resource = '';
    let offsetMs = 0;
    before(async () => {
      await loadSodium();
      c = await Cluster.start([A, B], { hubPolicy: preset, hubClock: { now: () => new Date(Date.now() + offsetMs) }, hubConfig: { sharingTickSeconds: 3600 } });
      const b = c.node(B);
      // A department resource (base resources are always unconditional, Jiyuan §15).
      const { baseCategory: _base, ...content } = sampleFor(deptOf(B), 0, {
        name: '低保家庭成员户籍信息',
        classification: 'department',
        sharing: { attribute: 'conditional', conditions: '仅限社会救助审核', legalBasis: '《社会救助暂行办法》第十一条' },
        sharingMethods: ['api', 'table', 'verification'],
      });
      const entry = await api(b.running!.url, b.token, 'POST', '/api/v1/catalog/entries', content);
      assert.equal(entry.status, 201, JSON.stringify(entry.body));
      resource = entry.body.id;
      await waitFor('entry at the hub', () => c.hub!.catalog.get(resource), 10_000);
    });
    after(async () => {
      await c.stop();
    });

    const reviewer = () => c.token('hub', 'reviewer');
    const flow = POLICY_PRESETS[preset as keyof typeof POLICY_PRESETS].sharingFlow;
    /** County B publishes an entry; its id once the hub holds it. */
    const publish = async (content: unknown): Promise<string> => {
      const b = c.node(B);
      const entry = await api(b.running!.url, b.token, 'POST', '/api/v1/catalog/entries', content);
      assert.equal(entry.status, 201, JSON.stringify(entry.body));
      await waitFor('entry at the hub', () => c.hub!.catalog.get(entry.body.id), 10_000);
      return entry.body.id as string;
    };
    /** A department of county A applies to verify `items` of `res` for `days` days; the application as the hub holds it. */
    const applyFor = async (res: string, items: string[], purpose: string, scenario: string, days: number) => {
      const a = c.node(A);
      const r = await api(a.running!.url, a.token, 'POST', '/api/v1/sharing/applications', {
        resource: res,
        items,
        purpose,
        scenario,
        methods: ['verify'],
        period: { from: new Date(Date.now() + offsetMs).toISOString(), until: new Date(Date.now() + offsetMs + days * 86_400_000).toISOString() },
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return waitFor('application at the hub', () => c.hub!.sharing.get(r.body.id), 10_000);
    };
    const submitConditional = async () => (await applyFor(resource, ['citizen_id', 'name', 'household_address'], '核实低保申请人户籍', '社会救助资格审核', 180)).id;
    const toProvider = async () => {
      const id = await submitConditional();
      let ok: { body: any };
      if (flow.conditional === 'provider') {
        // Yaohai §14, Hebi §15: the request goes straight to the provider, no compliance review.
        ok = await api(c.hub!.url, reviewer(), 'GET', `/api/v1/sharing/applications/${id}`);
        assert.equal(ok.body.history.length, 1, JSON.stringify(ok.body));
      } else {
        ok = await api(c.hub!.url, reviewer(), 'POST', `/api/v1/sharing/applications/${id}/decision`, { type: 'compliance_approve' });
      }
      assert.equal(ok.body.state, 'provider_review', JSON.stringify(ok.body));
      // Not yet approved in the catalog, so not "published": the longer reply deadline applies (Jincheng §30(2)).
      assert.equal(ok.body.deadline.workingDays, POLICY_PRESETS[preset as keyof typeof POLICY_PRESETS].providerReplyWorkingDays.unpublished);
      assert.equal(ok.body.deadlineInfo.overdue, false);
      await waitFor('provider sees it', async () => (await api(c.node(B).running!.url, c.node(B).token, 'GET', `/api/v1/sharing/applications/${id}`)).body.state === 'provider_review', 10_000);
      return id;
    };
    const decide = (id: string, body: unknown) => api(c.node(B).running!.url, c.node(B).token, 'POST', `/api/v1/sharing/applications/${id}/decision`, body);

    it(
      flow.unconditional === 'direct'
        ? 'an unconditional resource is obtained directly, without review (Yaohai §14, Jiaozuo §19(1), Hebi §15)'
        : 'an unconditional resource is granted after the compliance review alone (Jincheng §30(1))',
      async () => {
        const app = await applyFor(await publish(sampleFor(deptOf(B), 1)), ['credit_code', 'entity_name'], '核验市场主体登记信息', '企业开办一网通办', 30);
        if (flow.unconditional === 'direct') {
          assert.equal(app.state, 'granted');
          assert.match(app.history[0]!.reason!, /直接获取/);
          const audited = c.hub!.audit.search({ action: 'sharing.apply' }).records.find((x) => (x.detail as { applicationId?: string }).applicationId === app.id);
          assert.equal((audited!.detail as { purpose?: string }).purpose, '核验市场主体登记信息', 'purpose and scenario recorded with the use');
          await waitFor('grant at A', () => c.node(A).running!.sharing.grant(app.grantId!), 10_000);
          return;
        }
        assert.equal(app.state, 'compliance_review');
        assert.equal(app.deadline!.workingDays, POLICY_PRESETS[preset as keyof typeof POLICY_PRESETS].reviewDeadlineWorkingDays);
        const ok = await api(c.hub!.url, reviewer(), 'POST', `/api/v1/sharing/applications/${app.id}/decision`, { type: 'compliance_approve' });
        assert.equal(ok.body.state, 'granted');
        await waitFor('grant at A', () => c.node(A).running!.sharing.grant(ok.body.grantId), 10_000);
      },
    );

    if (flow.platformAuthorization) {
      it('a resource its provider authorised to the platform is granted by the authority, without the provider (Jincheng §29)', async () => {
        const { baseCategory: _base, ...content } = sampleFor(deptOf(B), 0, {
          name: '低保家庭成员户籍信息（整体授权）',
          classification: 'department',
          sharing: { attribute: 'conditional', conditions: '仅限社会救助审核', legalBasis: '《社会救助暂行办法》第十一条', platformAuthorized: true },
          sharingMethods: ['api', 'verification'],
        });
        const app = await applyFor(await publish(content), ['citizen_id', 'name'], '核实低保申请人户籍', '社会救助资格审核', 30);
        assert.equal(app.approver, 'authority');
        const ok = await api(c.hub!.url, reviewer(), 'POST', `/api/v1/sharing/applications/${app.id}/decision`, { type: 'compliance_approve' });
        assert.equal(ok.body.state, 'granted', JSON.stringify(ok.body));
        await waitFor('grant at B', () => c.node(B).running!.sharing.grant(ok.body.grantId), 10_000);
      });
    }

    if (flow.conditional === 'authority') {
      it('the authority approves a conditional application and the provider has no say (Jiaozuo §19(1))', async () => {
        const id = await submitConditional();
        const app = c.hub!.sharing.get(id)!;
        assert.equal(app.state, 'compliance_review');
        assert.equal(app.approver, 'authority');
        const byProvider = await decide(id, { type: 'provider_approve' });
        assert.equal(byProvider.status, 202, 'the node forwards the decision; the hub refuses it');
        await waitFor('provider decision refused at the hub', () => c.hub!.rejections.recent(1000).some((x) => JSON.stringify(x).includes(id)), 10_000);
        assert.equal(c.hub!.sharing.get(id)!.state, 'compliance_review');
        const ok = await api(c.hub!.url, reviewer(), 'POST', `/api/v1/sharing/applications/${id}/decision`, { type: 'compliance_approve' });
        assert.equal(ok.body.state, 'granted', JSON.stringify(ok.body));
        await waitFor('grant at A', () => c.node(A).running!.sharing.grant(ok.body.grantId), 10_000);
        await waitFor('grant at B', () => c.node(B).running!.sharing.grant(ok.body.grantId), 10_000);
      });
      return;
    }

    it('the provider approves on its own node, narrowing the items; the grant carries only those', async () => {
      const id = await toProvider();
      assert.equal((await decide(id, { type: 'provider_approve', items: ['citizen_id', 'name'] })).status, 202);
      const app = await waitFor('granted', () => (c.hub!.sharing.get(id)?.state === 'granted' ? c.hub!.sharing.get(id) : undefined), 10_000);
      const grant = await waitFor('grant at A', () => c.node(A).running!.sharing.grant(app.grantId!), 10_000);
      assert.deepEqual(grant.grant.items, ['citizen_id', 'name']);
      assert.equal(grant.grant.policy, preset);
    });

    it('a refusal needs a reason and a basis (Jincheng §30(2)); with them the consumer sees both', async () => {
      const id = await toProvider();
      const noBasis = await decide(id, { type: 'provider_refuse', reason: '不符合' });
      assert.equal(noBasis.status, 400, 'refused at the node, before anything is sent');
      assert.ok(noBasis.body.error.fields.some((f: { path: string }) => f.path === 'basis'));
      assert.equal(c.hub!.sharing.get(id)!.state, 'provider_review');
      await decide(id, { type: 'provider_refuse', reason: '申请用途超出共享条件', basis: '《社会救助暂行办法》第十一条；晋城 §30(2)' });
      const atA = await waitFor(
        'refused at A',
        async () => {
          const r = await api(c.node(A).running!.url, c.node(A).token, 'GET', `/api/v1/sharing/applications/${id}`);
          return r.body.state === 'refused' ? r.body : undefined;
        },
        10_000,
      );
      const last = atA.view.history.at(-1);
      assert.equal(last.reason, '申请用途超出共享条件');
      assert.match(last.basis, /第十一条/);
    });

    it('a grant unused for the policy period is withdrawn with notice, and the provider refuses it (Jincheng §31)', async () => {
      const id = await toProvider();
      await decide(id, { type: 'provider_approve' });
      const app = await waitFor('granted', () => (c.hub!.sharing.get(id)?.state === 'granted' ? c.hub!.sharing.get(id) : undefined), 10_000);
      const days = POLICY_PRESETS[preset as keyof typeof POLICY_PRESETS].revokeUnusedAfterDays;
      offsetMs += (days + 1) * 86_400_000;
      c.hub!.sharingTick();
      const g = c.hub!.sharing.grants().find((x) => x.grantId === app.grantId)!;
      assert.equal(g.revocation?.kind, 'expired_unused');
      assert.match(g.revocation!.reason, /晋城 §31/);
      await waitFor(
        'withdrawal at the provider',
        () =>
          c
            .node(B)
            .running!.sharing.revocations()
            ?.list.entries.some((e) => e.grantId === app.grantId && e.kind === 'expired_unused'),
        10_000,
      );
      assert.ok(c.hub!.audit.search({ action: 'sharing.revoke' }).records.some((r) => (r.detail as { grantId?: string }).grantId === app.grantId));
      // The notice the consumer department sees at its own node: the grant's status and the hub's reason.
      const notice = await waitFor(
        'withdrawal shown at A',
        async () => {
          const r = await api(c.node(A).running!.url, c.node(A).token, 'GET', '/api/v1/sharing/grants');
          const mine = r.body.grants?.find((x: { grantId: string }) => x.grantId === app.grantId);
          return mine?.status.state === 'expired_unused' ? mine.status : undefined;
        },
        10_000,
      );
      assert.match(notice.reason, /晋城 §31/);
    });

    it(preset === 'yaohai' ? 'silence past the deadline is consent (Yaohai §14)' : 'silence past the deadline flags the application overdue, without consent', async () => {
      const id = await toProvider();
      offsetMs += 30 * 86_400_000; // 30 calendar days: past every preset's deadline, whatever the holidays
      c.hub!.sharingTick();
      const app = c.hub!.sharing.get(id)!;
      if (preset === 'yaohai') {
        assert.equal(app.state, 'granted');
        assert.equal(app.history.at(-1)!.actor, 'system');
        assert.match(app.history.at(-1)!.reason!, /瑶海 §14/);
        await waitFor('grant at B', () => c.node(B).running!.sharing.grant(app.grantId!), 10_000);
      } else {
        assert.equal(app.state, 'provider_review');
        assert.equal(app.overdue, true);
        const shown = await api(c.hub!.url, reviewer(), 'GET', `/api/v1/sharing/applications/${id}`);
        assert.equal(shown.body.deadlineInfo.overdue, true);
        assert.ok(shown.body.deadlineInfo.workingDaysLeft < 0);
      }
    });

    if (preset === 'yaohai') {
      it('an application that can no longer be granted does not stop the others or the revocation list', async () => {
        const id = await toProvider();
        // The provider withdraws the entry (Jincheng §19) before answering: silent consent cannot grant it.
        const del = await api(c.node(B).running!.url, c.node(B).token, 'DELETE', `/api/v1/catalog/entries/${resource}`);
        assert.equal(del.status, 200, JSON.stringify(del.body));
        await waitFor('withdrawal at the hub', () => c.hub!.catalog.get(resource).status === 'withdrawn', 10_000);
        const serial = c.hub!.sharing.latestList()!.list.serial;
        offsetMs += 30 * 86_400_000;
        c.hub!.sharingTick();
        assert.equal(c.hub!.sharing.get(id)!.state, 'provider_review', 'left as it was, and logged');
        assert.ok(c.hub!.sharing.latestList()!.list.serial > serial, 'the hourly list still went out');
      });
    }
  });
}
