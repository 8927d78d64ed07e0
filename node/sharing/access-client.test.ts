/**
 * @module The consumer node's boundary for cross-verification (issue 10): identifier subjects are validated
 * and normalised with the import's check before anything leaves the node. Transport is stubbed: the
 * "hub" records the request it would have been sent and answers nothing.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AppError } from '../../engine/errors.ts';
import type { AccessRequest } from '../../protocol/sharing-messages.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { citizenIdFor, creditCodeFor, PERSON_ITEMS } from '../../test/helpers/frontend.ts';
import { AccessClient, type AccessClientDeps } from './access-client.ts';

const GRANT = '01950000-0000-7000-8000-0000000000a1';
const RESOURCE = '410602-01950000-0000-7000-8000-000000000001';
const ACTOR = { id: 'acct-1', role: 'dept_operator', department: 'jc-mzj' };

function client(items: typeof PERSON_ITEMS | null = PERSON_ITEMS) {
  const sent: AccessRequest[] = [];
  const audits: unknown[] = [];
  const deps = {
    link: { connection: { request: async () => Promise.reject(new Error('no responders')) } },
    sharing: {
      grant: (id: string) =>
        id === GRANT ? { grant: { grantId: GRANT, resource: RESOURCE, consumer: { nodeId: 'county-410811', department: ACTOR.department }, provider: { county: '410602' } } } : undefined,
    },
    identity: {
      seal: (_type: string, _seq: number, payload: AccessRequest) => {
        sent.push(payload);
        return new Uint8Array();
      },
    },
    audit: { append: (r: unknown) => void audits.push(r) },
    commits: { run: async (f: () => void) => f() },
    clock: { now: () => new Date('2025-06-01T00:00:00Z') },
    municipality: '410800',
    county: '410811',
    nodeId: 'county-410811',
    hubId: 'hub-410800',
    hubKeys: () => [],
    timeoutMs: 100,
    resourceItems: (id: string) => (id === RESOURCE ? items : null),
  } as unknown as AccessClientDeps;
  return { access: new AccessClient(deps), sent, audits };
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AppError, String(e));
    return e;
  }
  assert.fail('expected a rejection');
}

describe('AccessClient.verify (consumer boundary)', () => {
  before(loadSodium);

  it('refuses an invalid citizen ID subject with 400 VERIFY_SUBJECT_INVALID at subject.value, sending nothing', async () => {
    const { access, sent } = client();
    const id = citizenIdFor(4);
    for (const value of [id.slice(0, 17) + (id[17] === '0' ? '1' : '0'), '410602195002300001', '12345']) {
      const e = await rejection(access.verify(ACTOR, GRANT, { subject: { item: 'id_no', value }, claims: { name: '张三' } }));
      assert.equal(e.code, 'VERIFY_SUBJECT_INVALID', e.en);
      assert.deepEqual(
        e.fields.map((f) => [f.path, f.code]),
        [['subject.value', 'invalid_identifier']],
      );
      assert.match(e.zh, /公民身份号码/);
      assert.match(e.en, /citizen ID/);
    }
    const e = await rejection(access.verify(ACTOR, GRANT, { subject: { item: 'employer', value: creditCodeFor(1).slice(0, 17) + 'I' }, claims: { name: '张三' } }));
    assert.equal(e.code, 'VERIFY_SUBJECT_INVALID');
    assert.match(e.en, /credit code/);
    assert.equal(sent.length, 0, 'nothing was sent to the hub');
  });

  it('sends a lower-case or padded subject (and identifier claims) in the stored, upper-case form', async () => {
    const { access, sent } = client();
    const x = citizenIdFor(3);
    assert.ok(x.endsWith('X'));
    const e = await rejection(access.verify(ACTOR, GRANT, { subject: { item: 'id_no', value: ` ${x.toLowerCase()} ` }, claims: { employer: creditCodeFor(0).toLowerCase(), name: ' 张三 ' } }));
    assert.equal(e.code, 'HUB_UNREACHABLE', 'got as far as the hub');
    const ask = sent[0]!.ask;
    assert.equal(ask.method, 'verify');
    if (ask.method !== 'verify') return;
    assert.deepEqual(ask.subject, { item: 'id_no', value: x });
    assert.deepEqual(ask.claims, { employer: creditCodeFor(0), name: ' 张三 ' }, 'only identifier claims are normalised');
  });

  it('leaves non-identifier subjects and entries it does not hold to the provider', async () => {
    for (const items of [PERSON_ITEMS.map((i) => ({ ...i, identifier: null })), null]) {
      const { access, sent } = client(items as never);
      const e = await rejection(access.verify(ACTOR, GRANT, { subject: { item: 'id_no', value: 'abc' }, claims: { name: '张三' } }));
      assert.equal(e.code, 'HUB_UNREACHABLE');
      assert.equal((sent[0]!.ask as { subject: { value: string } }).subject.value, 'abc');
    }
  });

  it('checks the grant first: an unknown grant is GRANT_UNKNOWN whatever the subject', async () => {
    const { access } = client();
    const e = await rejection(access.verify(ACTOR, '01950000-0000-7000-8000-0000000000ff', { subject: { item: 'id_no', value: 'bad' }, claims: { name: 'x' } }));
    assert.equal(e.code, 'GRANT_UNKNOWN');
  });
});
