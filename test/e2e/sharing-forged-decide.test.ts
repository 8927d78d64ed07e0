/**
 * A county that is no party to an application sends an `application.decide` for it (genuinely
 * signed, on its own subject, claiming the provider's department): the hub refuses it, leaves the
 * application as it was, and records the refusal in `rejections` and in its audit log.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { encodeEnvelope } from '../../protocol/envelope.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { upSubject } from '../../protocol/subjects.ts';
import { uuidv7 } from '../../protocol/uuid7.ts';
import { readKeyFile } from '../../engine/identity.ts';
import { api, Cluster, deptOf, MUNI, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const A = '410802'; // consumer
const B = '410803'; // provider
const C = '410804'; // no party

describe('a forged application.decide', () => {
  let c: Cluster;
  let nc: NatsConnection;
  before(async () => {
    await loadSodium();
    c = await Cluster.start([A, B, C]);
    nc = await connect({ servers: c.nats.url });
  });
  after(async () => {
    await nc.close();
    await c.stop();
  });

  it('is refused, recorded in rejections and audited at the hub', async () => {
    const b = c.node(B);
    const { baseCategory: _base, ...content } = sampleFor(deptOf(B), 0, {
      classification: 'department',
      sharing: { attribute: 'conditional', conditions: '仅限社会救助审核', legalBasis: '《社会救助暂行办法》第十一条' },
      sharingMethods: ['api', 'table', 'verification'],
    });
    const entry = await api(b.running!.url, b.token, 'POST', '/api/v1/catalog/entries', content);
    assert.equal(entry.status, 201, JSON.stringify(entry.body));
    const resource = entry.body.id as string;
    await waitFor('entry at the hub', () => c.hub!.catalog.get(resource));
    const a = c.node(A);
    const applied = await api(a.running!.url, a.token, 'POST', '/api/v1/sharing/applications', {
      resource,
      items: (content.dataItems as { code: string }[]).slice(0, 2).map((i) => i.code),
      purpose: '核实低保申请人户籍',
      scenario: '社会救助资格审核',
      methods: ['verify'],
      period: { from: new Date().toISOString(), until: new Date(Date.now() + 30 * 86_400_000).toISOString() },
    });
    assert.equal(applied.status, 202, JSON.stringify(applied.body));
    const id = applied.body.id as string;
    await waitFor('application at the hub', () => c.hub!.sharing.get(id));
    const reviewed = await api(c.hub!.url, c.token('hub', 'reviewer'), 'POST', `/api/v1/sharing/applications/${id}/decision`, { type: 'compliance_approve' });
    assert.equal(reviewed.body.state, 'provider_review', JSON.stringify(reviewed.body));
    const rejectionsBefore = c.hub!.rejections.recent(1000).length;

    // C signs with its own key, on its own subject, and claims to be B's department.
    const key = readKeyFile(join(c.node(C).dir, 'keys/signing.json')).secretKey;
    const payload = { applicationId: id, actor: { id: 'forger', department: deptOf(B) }, event: { type: 'provider_approve' as const } };
    const bytes = encodeEnvelope({ type: 'application.decide', from: `county-${C}`, seq: 9_000_000, ts: new Date().toISOString(), payload }, key);
    await jetstream(nc).publish(upSubject(MUNI, C, 'application.decide'), bytes, { msgID: randomUUID() });

    const rejection = await waitFor('the refusal in rejections', () =>
      c.hub!.rejections.recent(1000).find((r) => r.sender === `county-${C}` && r.subject === upSubject(MUNI, C, 'application.decide')),
    );
    assert.equal(rejection.code, 'UPDATE_FORBIDDEN');
    assert.match(rejection.message, new RegExp(id));
    assert.equal(c.hub!.rejections.recent(1000).length, rejectionsBefore + 1);
    assert.equal(c.hub!.sharing.get(id)!.state, 'provider_review', 'the application did not move');

    const wire = c.hub!.audit.search({ action: 'wire.rejected', actor: `county-${C}` }).records;
    assert.equal(wire.length, 1);
    assert.equal(wire[0]!.result, 'rejected');
    const decided = c.hub!.audit.search({ action: 'sharing.decide', resource }).records.filter((r) => r.result !== 'ok');
    assert.equal(decided.length, 1, 'the refused decision is in the audit log with its application');
    assert.equal(decided[0]!.result, 'denied');
    assert.equal(decided[0]!.actor, 'forger');
    assert.deepEqual({ ...(decided[0]!.detail as object) }, { applicationId: id, county: C, event: 'provider_approve', code: 'WORKFLOW_FORBIDDEN', state: 'provider_review' });
    assert.equal(c.hub!.status() && (c.hub!.status() as { inbound: { rejected: number } }).inbound.rejected, 1);
  });
  it('an application.submit the hub refuses (no such resource) is audited as rejected', async () => {
    const key = readKeyFile(join(c.node(C).dir, 'keys/signing.json')).secretKey;
    const applicationId = uuidv7();
    const missing = `${C}-${uuidv7()}`;
    const payload = {
      applicationId,
      actor: { id: 'clerk-c', department: deptOf(C) },
      request: {
        resource: missing,
        items: ['name'],
        purpose: '核实',
        scenario: '审核',
        methods: ['verify'],
        period: { from: new Date().toISOString(), until: new Date(Date.now() + 86_400_000).toISOString() },
      },
    };
    const bytes = encodeEnvelope({ type: 'application.submit', from: `county-${C}`, seq: 9_000_001, ts: new Date().toISOString(), payload: payload as never }, key);
    await jetstream(nc).publish(upSubject(MUNI, C, 'application.submit'), bytes, { msgID: randomUUID() });
    const audited = await waitFor('the refused application in the audit log', () => c.hub!.audit.search({ action: 'sharing.apply', actor: 'clerk-c' }).records[0]);
    assert.equal(audited.result, 'rejected');
    assert.equal(audited.resource, missing);
    assert.equal((audited.detail as { code: string }).code, 'WORKFLOW_INVALID_REQUEST');
    assert.equal(c.hub!.sharing.get(applicationId), undefined, 'no application was created');
  });
});
