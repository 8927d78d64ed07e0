/** @module The hub's routing decisions, with a fake Forwarder and fake fallback (no nats-server): forward, offline fallback, refusals by code. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { openEnvelope, verifyEnvelope } from '../../protocol/envelope.ts';
import { signGrant, signRevocationList, type GrantInput, type SignedGrant, type SignedRevocationList } from '../../protocol/grant.ts';
import { signingKeyPairFromSeed } from '../../protocol/keys.ts';
import type { AccessRequest } from '../../protocol/sharing-messages.ts';
import { loadSodium, toBase64 } from '../../protocol/sodium.ts';
import { uuidv7 } from '../../protocol/uuid7.ts';
import { Identity } from '../../engine/identity.ts';
import { createLogger } from '../../engine/log.ts';
import { AccessRouter, type AccessRouterDeps } from './access-router.ts';
import type { Forwarder } from './access-routing.ts';

const MUNI = '410800';
const HUB = 'hub-410800';
const CONSUMER = 'county-410811';
const PROVIDER = 'county-410802';
const T0 = Date.parse('2026-03-02T02:00:00.000Z');
const RESOURCE = '410802-0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b';

let hub: Identity;
let consumer: Identity;
let provider: Identity;

before(async () => {
  await loadSodium();
  hub = new Identity(HUB, signingKeyPairFromSeed(new Uint8Array(32).fill(1)));
  consumer = new Identity(CONSUMER, signingKeyPairFromSeed(new Uint8Array(32).fill(2)));
  provider = new Identity(PROVIDER, signingKeyPairFromSeed(new Uint8Array(32).fill(3)));
});

function grant(over: Partial<GrantInput> = {}): SignedGrant {
  return signGrant(
    {
      grantId: uuidv7(T0 - 3_600_000),
      applicationId: 'app-1',
      consumer: { nodeId: CONSUMER, county: '410811', department: 'jc-mzj' },
      provider: { county: '410802', department: 'jc-gaj' },
      resource: RESOURCE,
      resourceCode: null,
      items: ['citizen_id', 'name'],
      rowFilter: null,
      methods: ['query'],
      purpose: '最低生活保障资格审核',
      scenario: '身份核实',
      desensitization: { citizen_id: 'citizen_id', name: 'none' },
      validFrom: new Date(T0 - 86_400_000).toISOString(),
      validUntil: new Date(T0 + 30 * 86_400_000).toISOString(),
      verifyRatePerMinute: 60,
      issuedAt: new Date(T0 - 3_600_000).toISOString(),
      issuer: HUB,
      policy: 'jincheng',
      ...over,
    },
    hub,
  );
}

function list(entries: { grantId: string; kind: 'revoked' | 'suspended'; reason: string; at: string }[] = []): SignedRevocationList {
  return signRevocationList({ issuer: HUB, serial: 1, issuedAt: new Date(T0 - 60_000).toISOString(), nextUpdate: new Date(T0 + 86_400_000).toISOString(), entries }, hub);
}

interface Setup {
  grant: SignedGrant;
  revocations?: SignedRevocationList;
  forwarder: Forwarder;
  fallback?: (() => Promise<Uint8Array | null>) | undefined;
  now?: number;
  encryptionKey?: string | null;
}

function router(s: Setup) {
  const audits: { result: string; detail: Record<string, unknown> }[] = [];
  const uses: string[] = [];
  const forwards: string[] = [];
  const fallbacks: string[] = [];
  const nodes = new Map([
    [CONSUMER, { county: '410811', identity: consumer }],
    [PROVIDER, { county: '410802', identity: provider }],
  ]);
  const boxKey = s.encryptionKey === undefined ? toBase64(new Uint8Array(32).fill(9)) : s.encryptionKey;
  const deps: AccessRouterDeps = {
    sharing: { grant: (id) => (id === s.grant.grant.grantId ? s.grant : undefined), latestList: () => s.revocations ?? list(), recordUse: (id) => void uses.push(id) },
    registry: {
      get: (id) => {
        const n = nodes.get(id);
        return n
          ? ({ node: { nodeId: id, county: n.county, encryptionKey: boxKey, status: 'active' }, keys: [n.identity.publicKeyBytes] } as unknown as ReturnType<AccessRouterDeps['registry']['get']>)
          : undefined;
      },
    },
    identity: hub,
    audit: { append: (r) => (audits.push(r as never), r as never) },
    rejections: { record: () => undefined },
    clock: { now: () => new Date(s.now ?? T0) },
    log: createLogger('test', { level: 'silent' }),
    municipality: MUNI,
    forwarder: {
      forward: (subject, bytes, timeoutMs) => {
        forwards.push(subject);
        return s.forwarder.forward(subject, bytes, timeoutMs);
      },
    },
    fallback: {
      answer: (req) => {
        fallbacks.push(req.requestId);
        return s.fallback ? s.fallback() : Promise.resolve(null);
      },
    },
    forwardTimeoutMs: 50,
    commits: { run: async (f) => f() },
  };
  return { r: new AccessRouter(deps), audits, uses, forwards, fallbacks };
}

function request(g: SignedGrant, ask: AccessRequest['ask'] = { method: 'query', where: null, limit: 10 }, department = 'jc-mzj'): Uint8Array {
  const req: AccessRequest = { requestId: uuidv7(T0), grantId: g.grant.grantId, actor: { id: 'op-1', department }, ask };
  return consumer.seal('access.request', 1, req, new Date(T0));
}

const SUBJECT = `jl.${MUNI}.rpc.410811.access`;
const answerFrom = (who: Identity, requestId = uuidv7(T0), grantId = uuidv7(T0)) =>
  who.seal('access.answer', 1, { requestId, grantId, sealed: toBase64(new Uint8Array(48)), source: 'provider', packageVersion: null, packageAgeSeconds: null }, new Date(T0));
const offline: Forwarder = { forward: () => Promise.reject(new Error('TIMEOUT')) };

function replyType(bytes: Uint8Array): { type: string; code?: string } {
  const env = openEnvelope(bytes).body as { type: string; payload: { code?: string } };
  return { type: env.type, ...(env.type === 'error' ? { code: env.payload.code } : {}) };
}

describe('AccessRouter', () => {
  it('forwards to the provider county and relays its answer byte for byte', async () => {
    const g = grant();
    let answered: Uint8Array | null = null;
    const t = router({
      grant: g,
      forwarder: {
        forward: async (_s, bytes, timeoutMs) => {
          assert.equal(timeoutMs, 50);
          const fwd = verifyEnvelope(bytes, (id) => (id === HUB ? hub.publicKeyBytes : undefined));
          assert.equal(fwd.type, 'access.forward');
          answered = answerFrom(provider);
          return answered;
        },
      },
    });
    const reply = await t.r.handle(SUBJECT, request(g));
    assert.deepEqual(t.forwards, [`jl.${MUNI}.serve.410802.access`]);
    assert.equal(reply, answered);
    assert.deepEqual(t.uses, [g.grant.grantId]);
    assert.equal(t.audits[0]!.result, 'ok');
    assert.equal(t.audits[0]!.detail['source'], 'provider');
    assert.equal(t.r.routed, 1);
  });

  it('refuses an answer signed by a node outside the provider county', async () => {
    const g = grant();
    const t = router({ grant: g, forwarder: { forward: async () => answerFrom(consumer) } });
    assert.equal(replyType(await t.r.handle(SUBJECT, request(g))).type, 'error');
    assert.equal(t.audits[0]!.result, 'denied');
  });

  it('provider times out: a batch grant is answered from packages', async () => {
    const g = grant({ methods: ['query', 'batch'] });
    const fromPackages = hub.seal(
      'access.answer',
      1,
      { requestId: uuidv7(T0), grantId: g.grant.grantId, sealed: toBase64(new Uint8Array(48)), source: 'hub_package', packageVersion: 3, packageAgeSeconds: 5 } as never,
      new Date(T0),
    );
    const t = router({ grant: g, forwarder: offline, fallback: async () => fromPackages });
    const reply = await t.r.handle(SUBJECT, request(g));
    assert.equal(reply, fromPackages);
    assert.equal(t.fallbacks.length, 1);
    assert.equal(t.audits[0]!.detail['source'], 'hub_package');
  });

  it('provider times out: PROVIDER_OFFLINE without batch, or when the hub holds no package', async () => {
    const g = grant();
    const t = router({ grant: g, forwarder: offline });
    assert.deepEqual(replyType(await t.r.handle(SUBJECT, request(g))), { type: 'error', code: 'PROVIDER_OFFLINE' });
    assert.equal(t.fallbacks.length, 0, 'no fallback without batch');
    const b = grant({ methods: ['query', 'batch'] });
    const t2 = router({ grant: b, forwarder: offline, fallback: async () => null });
    assert.deepEqual(replyType(await t2.r.handle(SUBJECT, request(b))), { type: 'error', code: 'PROVIDER_OFFLINE' });
    assert.equal(t2.fallbacks.length, 1);
    const t3 = router({ grant: b, forwarder: offline, fallback: () => Promise.reject(new Error('broken package')) });
    assert.deepEqual(replyType(await t3.r.handle(SUBJECT, request(b))), { type: 'error', code: 'PROVIDER_OFFLINE' });
  });

  it('provider times out: verify never falls back; a prefix filter on a masked item is FILTER_ITEM_MASKED', async () => {
    const g = grant({ methods: ['query', 'verify', 'batch'] });
    const t = router({ grant: g, forwarder: offline, fallback: async () => new Uint8Array(1) });
    const verify = request(g, { method: 'verify', subject: { item: 'citizen_id', value: '410802199001011234' }, claims: { name: '张三' } });
    assert.deepEqual(replyType(await t.r.handle(SUBJECT, verify)), { type: 'error', code: 'PROVIDER_OFFLINE' });
    const masked = request(g, { method: 'query', where: { all: [{ item: 'citizen_id', op: 'prefix', value: '4108' }] }, limit: 10 } as never);
    assert.deepEqual(replyType(await t.r.handle(SUBJECT, masked)), { type: 'error', code: 'FILTER_ITEM_MASKED' });
    assert.equal(t.fallbacks.length, 0);
  });

  const refusals: [string, () => { setup: Omit<Setup, 'forwarder'>; bytes: (g: SignedGrant) => Uint8Array; subject?: string }, string][] = [
    ['revoked', () => ({ setup: { grant: grant(), revocations: undefined }, bytes: (g) => request(g) }), 'GRANT_REVOKED'],
    ['expired', () => ({ setup: { grant: grant(), now: T0 + 31 * 86_400_000 }, bytes: (g) => request(g) }), 'GRANT_EXPIRED'],
    ['another department', () => ({ setup: { grant: grant() }, bytes: (g) => request(g, undefined, 'jc-rsj') }), 'GRANT_WRONG_CONSUMER'],
    ['another consumer node', () => ({ setup: { grant: grant({ consumer: { nodeId: 'county-410812', county: '410812', department: 'jc-mzj' } }) }, bytes: (g) => request(g) }), 'GRANT_WRONG_CONSUMER'],
    ['an unknown grant', () => ({ setup: { grant: grant() }, bytes: () => request(grant({ grantId: uuidv7(T0 - 1) })) }), 'GRANT_UNKNOWN'],
    [
      'an ungranted method',
      () => ({ setup: { grant: grant() }, bytes: (g) => request(g, { method: 'verify', subject: { item: 'citizen_id', value: '1' }, claims: { name: 'x' } }) }),
      'GRANT_METHOD_NOT_ALLOWED',
    ],
    ['a consumer without an encryption key', () => ({ setup: { grant: grant(), encryptionKey: null }, bytes: (g) => request(g) }), 'CONSUMER_KEY_MISSING'],
    ['the wrong county subject', () => ({ setup: { grant: grant() }, bytes: (g) => request(g), subject: `jl.${MUNI}.rpc.410812.access` }), 'MESSAGE_WRONG_SUBJECT'],
  ];
  for (const [name, make, code] of refusals) {
    it(`refuses ${name} with ${code}, without forwarding`, async () => {
      const m = make();
      const setup = { ...m.setup };
      if (name === 'revoked') setup.revocations = list([{ grantId: setup.grant.grant.grantId, kind: 'revoked', reason: '超范围使用', at: new Date(T0 - 60_000).toISOString() }]);
      const t = router({ ...setup, forwarder: { forward: () => assert.fail('must not forward') } });
      const reply = await t.r.handle(m.subject ?? SUBJECT, m.bytes(setup.grant));
      assert.deepEqual(replyType(reply), { type: 'error', code });
      verifyEnvelope(reply, (id) => (id === HUB ? hub.publicKeyBytes : undefined));
      assert.deepEqual(t.uses, []);
      if (code !== 'MESSAGE_WRONG_SUBJECT') assert.equal(t.audits[0]!.result, 'denied');
    });
  }
});
