/** @module Sharing grants: sign / verify, every refusal, revocation lists, and the usability and freshness rules at their boundaries. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  checkGrantUsable,
  DEFAULT_MAX_REVOCATION_AGE_MS,
  Grant,
  GrantError,
  grantSignedBytes,
  REVOCATION_NEXT_UPDATE_MS,
  RevocationList,
  revocationsUsableWindow,
  signGrant,
  signRevocationList,
  verifyGrant,
  verifyRevocationList,
  type GrantErrorCode,
  type GrantInput,
  type GrantUsability,
  type SignedGrant,
  type UsabilityOptions,
} from './grant.ts';
import { signingKeyPairFromSeed, type SigningKeyPair } from './keys.ts';
import { loadSodium, sodium } from './sodium.ts';
import { uuidv7 } from './uuid7.ts';

const HUB = 'hub-410800';
const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2025-03-03T08:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

let hub: SigningKeyPair;
let hubNext: SigningKeyPair;
let other: SigningKeyPair;
let GRANT_ID: string;

before(async () => {
  await loadSodium();
  hub = signingKeyPairFromSeed(new Uint8Array(32).fill(1));
  hubNext = signingKeyPairFromSeed(new Uint8Array(32).fill(2));
  other = signingKeyPairFromSeed(new Uint8Array(32).fill(3));
  GRANT_ID = uuidv7(T0 - HOUR);
});

function sampleGrant(over: Partial<GrantInput> = {}): GrantInput {
  return {
    grantId: GRANT_ID,
    applicationId: 'app-2025-000123',
    consumer: { nodeId: 'county-410811', county: '410811', department: 'jc-mzj' },
    provider: { county: '410802', department: 'jc-gaj' },
    resource: '410802-0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b',
    resourceCode: '410800-GA-0001',
    items: ['citizen_id', 'name', 'mobile', 'address'],
    rowFilter: { all: [{ item: 'county', op: 'eq', value: '410811' }] },
    methods: ['query', 'verify'],
    purpose: '最低生活保障资格审核',
    scenario: '民政部门审核低保申请人户籍与身份信息',
    desensitization: { citizen_id: 'citizen_id', name: 'name', mobile: 'mobile', address: 'address' },
    validFrom: iso(T0),
    validUntil: iso(T0 + 365 * 24 * HOUR),
    verifyRatePerMinute: 60,
    issuedAt: iso(T0 - HOUR),
    issuer: HUB,
    policy: 'jincheng',
    ...over,
  };
}

function fails(fn: () => unknown, code: GrantErrorCode): GrantError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof GrantError, `expected GrantError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.zh.length > 0 && caught.en.length > 0);
  return caught;
}

describe('Grant schema', () => {
  it('accepts the sample and offsets in times', () => {
    assert.equal(Grant.safeParse(sampleGrant()).success, true);
    assert.equal(Grant.safeParse(sampleGrant({ validFrom: '2025-03-03T16:00:00+08:00', provider: { county: '410802' }, rowFilter: null })).success, true);
  });

  const bad: [string, Partial<GrantInput> | Record<string, unknown>][] = [
    ['grantId not UUIDv7', { grantId: '0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b' }],
    ['no items', { items: [], desensitization: {} }],
    ['duplicate item', { items: ['name', 'name'], desensitization: { name: 'name' } }],
    ['bad item code', { items: ['Name'], desensitization: { Name: 'name' } }],
    ['item without profile', { desensitization: { citizen_id: 'citizen_id', name: 'name', mobile: 'mobile' } }],
    ['profile for an item not granted', { desensitization: { citizen_id: 'citizen_id', name: 'name', mobile: 'mobile', address: 'address', extra: 'none' } }],
    ['unknown profile', { desensitization: { citizen_id: 'citizen_id', name: 'name', mobile: 'mobile', address: 'mask' } }],
    ['no methods', { methods: [] }],
    ['duplicate method', { methods: ['query', 'query'] }],
    ['unknown method', { methods: ['download'] }],
    ['validUntil = validFrom', { validUntil: iso(T0) }],
    ['validUntil before validFrom', { validUntil: iso(T0 - 1) }],
    ['issued after expiry', { issuedAt: iso(T0 + 400 * 24 * HOUR) }],
    ['provider county does not own the resource', { provider: { county: '410803' } }],
    ['verify without a rate', { verifyRatePerMinute: 0 }],
    ['fractional rate', { verifyRatePerMinute: 1.5 }],
    ['blank purpose', { purpose: '   ' }],
    ['purpose too long', { purpose: '用'.repeat(501) }],
    ['scenario too long', { scenario: 'x'.repeat(501) }],
    ['bad department', { consumer: { nodeId: 'county-410811', county: '410811', department: 'a b' } }],
    ['bad issuer', { issuer: 'Hub 410800' }],
    ['local time without zone', { validFrom: '2025-03-03T08:00:00' }],
    ['bad row filter', { rowFilter: { all: [{ item: 'county', op: 'like', value: '41%' }] } }],
    ['unknown field', { note: 'x' }],
  ];
  for (const [what, over] of bad) {
    it(`refuses: ${what}`, () => assert.equal(Grant.safeParse(sampleGrant(over as Partial<GrantInput>)).success, false));
  }
  it('a verify-free grant may have rate 0', () => {
    assert.equal(Grant.safeParse(sampleGrant({ methods: ['query'], verifyRatePerMinute: 0 })).success, true);
  });
});

describe('signGrant / verifyGrant', () => {
  it('round-trips, also through JSON with its keys in another order', () => {
    const signed = signGrant(sampleGrant(), hub.secretKey);
    assert.deepEqual(verifyGrant(signed, [hub.publicKey]), Grant.parse(sampleGrant()));
    const reordered = JSON.parse(JSON.stringify({ signature: signed.signature, grant: Object.fromEntries(Object.entries(signed.grant).reverse()) }));
    assert.deepEqual(verifyGrant(reordered, hub.publicKey, { issuer: HUB }), signed.grant);
  });

  it('signs the context string followed by the canonical JSON', () => {
    const g = Grant.parse(sampleGrant());
    const text = new TextDecoder().decode(grantSignedBytes(g));
    assert.ok(text.startsWith('jilian/grant/v1\0{"applicationId":'));
    const signed = signGrant(g, hub.secretKey);
    assert.ok(sodium().crypto_sign_verify_detached(sodium().from_base64(signed.signature, sodium().base64_variants.ORIGINAL), grantSignedBytes(g), hub.publicKey));
  });

  it('signs with a signer object (engine Identity)', () => {
    const signer = { signDetached: (m: Uint8Array) => sodium().crypto_sign_detached(m, hub.secretKey) };
    assert.deepEqual(signGrant(sampleGrant(), signer), signGrant(sampleGrant(), hub.secretKey)); // Ed25519 is deterministic
  });

  it('refuses to sign an invalid grant', () => {
    fails(() => signGrant(sampleGrant({ items: [] }), hub.secretKey), 'GRANT_MALFORMED');
  });

  it('refuses every tampered field', () => {
    const signed = signGrant(sampleGrant(), hub.secretKey);
    const tamper: ((g: Record<string, unknown>) => void)[] = [
      (g) => {
        g['items'] = ['citizen_id', 'name', 'mobile'];
        g['desensitization'] = { citizen_id: 'citizen_id', name: 'name', mobile: 'mobile' };
      },
      (g) => (g['desensitization'] = { citizen_id: 'none', name: 'name', mobile: 'mobile', address: 'address' }),
      (g) => (g['validUntil'] = iso(T0 + 3 * 365 * 24 * HOUR)),
      (g) => (g['methods'] = ['query', 'verify', 'batch']),
      (g) => (g['rowFilter'] = null),
      (g) => (g['consumer'] = { nodeId: 'county-410812', county: '410812', department: 'jc-mzj' }),
      (g) => (g['purpose'] = '最低生活保障资格审核 '),
      (g) => (g['verifyRatePerMinute'] = 61),
    ];
    for (const t of tamper) {
      const copy = structuredClone(signed) as { grant: Record<string, unknown>; signature: string };
      t(copy.grant);
      fails(() => verifyGrant(copy, [hub.publicKey]), 'GRANT_BAD_SIGNATURE');
    }
  });

  it('refuses a wrong key, accepts either key during a rotation', () => {
    const signed = signGrant(sampleGrant(), hub.secretKey);
    fails(() => verifyGrant(signed, [other.publicKey]), 'GRANT_BAD_SIGNATURE');
    fails(() => verifyGrant(signed, [new Uint8Array(31)]), 'GRANT_BAD_SIGNATURE'); // malformed key: no throw from libsodium
    assert.equal(verifyGrant(signed, [hubNext.publicKey, hub.publicKey]).grantId, GRANT_ID);
    fails(() => verifyGrant(signed, []), 'HUB_KEY_MISSING');
  });

  it('refuses a signature made over the grant as a revocation list (context separation)', () => {
    const signed = signGrant(sampleGrant(), hub.secretKey);
    const forged = {
      ...signed,
      signature: sodium().to_base64(
        sodium().crypto_sign_detached(new TextEncoder().encode(`jilian/grant-revocations/v1\0${JSON.stringify(signed.grant)}`), hub.secretKey),
        sodium().base64_variants.ORIGINAL,
      ),
    };
    fails(() => verifyGrant(forged, [hub.publicKey]), 'GRANT_BAD_SIGNATURE');
  });

  it('refuses malformed input and a wrong issuer', () => {
    const signed = signGrant(sampleGrant(), hub.secretKey);
    fails(() => verifyGrant({ ...signed, extra: 1 }, [hub.publicKey]), 'GRANT_MALFORMED');
    fails(() => verifyGrant({ ...signed, signature: 'AAAA' }, [hub.publicKey]), 'GRANT_MALFORMED');
    fails(() => verifyGrant(null, [hub.publicKey]), 'GRANT_MALFORMED');
    fails(() => verifyGrant({ grant: { ...signed.grant, items: [] }, signature: signed.signature }, [hub.publicKey]), 'GRANT_MALFORMED');
    const e = fails(() => verifyGrant(signed, [hub.publicKey], { issuer: 'hub-410900' }), 'GRANT_WRONG_ISSUER');
    assert.equal(e.detail['issuer'], HUB);
  });
});

// ------------------------------------------------------------------------------ revocation lists

function list(over: Partial<RevocationList> = {}): RevocationList {
  return { issuer: HUB, serial: 10, issuedAt: iso(T0 + HOUR), nextUpdate: iso(T0 + HOUR + REVOCATION_NEXT_UPDATE_MS), entries: [], ...over };
}

describe('revocation lists', () => {
  it('round-trip and refuse tampering and wrong keys', () => {
    const l = list({ entries: [{ grantId: GRANT_ID, kind: 'revoked', reason: '超出授权用途使用数据', at: iso(T0 + HOUR) }] });
    const signed = signRevocationList(l, hub.secretKey);
    assert.deepEqual(verifyRevocationList(signed, [hub.publicKey], { issuer: HUB }), l);
    const emptied = { ...signed, list: { ...signed.list, entries: [] } };
    fails(() => verifyRevocationList(emptied, [hub.publicKey]), 'REVOCATIONS_BAD_SIGNATURE');
    fails(() => verifyRevocationList(signed, [other.publicKey]), 'REVOCATIONS_BAD_SIGNATURE');
    fails(() => verifyRevocationList(signed, [hub.publicKey], { issuer: 'hub-410900' }), 'REVOCATIONS_WRONG_ISSUER');
    fails(() => verifyRevocationList({ list: l }, [hub.publicKey]), 'REVOCATIONS_MALFORMED');
  });

  it('a grant signature never verifies as a list and vice versa', () => {
    const g = signGrant(sampleGrant(), hub.secretKey);
    const l = signRevocationList(list(), hub.secretKey);
    fails(() => verifyRevocationList({ list: l.list, signature: g.signature }, [hub.publicKey]), 'REVOCATIONS_BAD_SIGNATURE');
    fails(() => verifyGrant({ grant: g.grant, signature: l.signature }, [hub.publicKey]), 'GRANT_BAD_SIGNATURE');
  });

  it('refuses rollback and two lists under one serial; accepts redelivery and newer lists', () => {
    const held = list();
    const older = signRevocationList(list({ serial: 9 }), hub.secretKey);
    fails(() => verifyRevocationList(older, [hub.publicKey], { held }), 'REVOCATIONS_ROLLBACK');
    const same = signRevocationList(held, hub.secretKey);
    assert.deepEqual(verifyRevocationList(same, [hub.publicKey], { held }), held);
    const fork = signRevocationList(list({ issuedAt: iso(T0 + 2 * HOUR) }), hub.secretKey);
    fails(() => verifyRevocationList(fork, [hub.publicKey], { held }), 'REVOCATIONS_CONFLICT');
    const newer = signRevocationList(list({ serial: 11, issuedAt: iso(T0 + 2 * HOUR) }), hub.secretKey);
    assert.equal(verifyRevocationList(newer, [hub.publicKey], { held }).serial, 11);
  });

  it('validates its shape', () => {
    const e = { grantId: GRANT_ID, kind: 'suspended', reason: '涉嫌违规使用，暂停服务', at: iso(T0) } as const;
    assert.equal(RevocationList.safeParse(list({ entries: [e] })).success, true);
    for (const bad of [
      list({ serial: 0 }),
      list({ nextUpdate: iso(T0 + HOUR) }), // not after issuedAt
      list({ nextUpdate: iso(T0 + HOUR + 8 * 24 * HOUR) }), // beyond 7 days
      list({ entries: [e, e] }),
      list({ entries: [{ ...e, at: iso(T0 + 2 * HOUR) }] }), // postdates the list
      list({ entries: [{ ...e, reason: ' ' }] }),
      list({ entries: [{ ...e, kind: 'paused' as 'suspended' }] }),
    ]) {
      assert.equal(RevocationList.safeParse(bad).success, false, JSON.stringify(bad).slice(0, 120));
    }
    fails(() => signRevocationList(list({ serial: -1 }), hub.secretKey), 'REVOCATIONS_MALFORMED');
  });
});

// ------------------------------------------------------------------------------ usability

describe('checkGrantUsable', () => {
  let signed: SignedGrant;
  before(() => {
    signed = signGrant(sampleGrant(), hub.secretKey);
  });
  const opts = (over: Partial<UsabilityOptions> = {}): UsabilityOptions => ({
    now: new Date(T0 + 2 * HOUR),
    revocations: list(),
    method: 'query',
    items: ['name', 'mobile'],
    ...over,
  });
  const code = (r: GrantUsability): string => (r.ok ? 'OK' : r.code);

  it('accepts a valid request, with a Grant or a SignedGrant and a list or a signed list', () => {
    assert.deepEqual(checkGrantUsable(signed, opts()), { ok: true });
    assert.deepEqual(checkGrantUsable(signed.grant, opts({ revocations: signRevocationList(list(), hub.secretKey) })), { ok: true });
    assert.deepEqual(checkGrantUsable(signed, opts({ method: 'verify', items: [], consumerNodeId: 'county-410811', resource: signed.grant.resource })), { ok: true });
  });

  it('validity period, by the provider clock: [validFrom, validUntil)', () => {
    const from = Date.parse(signed.grant.validFrom);
    const until = Date.parse(signed.grant.validUntil);
    const early = list({ issuedAt: iso(from - HOUR), nextUpdate: iso(from + 20 * HOUR) });
    assert.equal(code(checkGrantUsable(signed, opts({ now: new Date(from - 1), revocations: early }))), 'GRANT_NOT_YET_VALID');
    assert.equal(code(checkGrantUsable(signed, opts({ now: new Date(from), revocations: early }))), 'OK');
    const late = list({ issuedAt: iso(until - HOUR), nextUpdate: iso(until + HOUR) });
    assert.equal(code(checkGrantUsable(signed, opts({ now: new Date(until - 1), revocations: late }))), 'OK');
    const r = checkGrantUsable(signed, opts({ now: new Date(until), revocations: late }));
    assert.equal(code(r), 'GRANT_EXPIRED');
    assert.ok(!r.ok && r.zh.includes('过期') && r.en.includes('expired'));
    // Expiry needs no hub: refused the same without any list.
    assert.equal(code(checkGrantUsable(signed, opts({ now: new Date(until + 1), revocations: null }))), 'GRANT_EXPIRED');
  });

  it('revoked, suspended and expired_unused entries, with kind and reason', () => {
    const at = iso(T0 + HOUR);
    const revoked = checkGrantUsable(signed, opts({ revocations: list({ entries: [{ grantId: GRANT_ID, kind: 'revoked', reason: '向第三方提供数据', at }] }) }));
    assert.deepEqual([code(revoked), !revoked.ok && revoked.kind, !revoked.ok && revoked.reason], ['GRANT_REVOKED', 'revoked', '向第三方提供数据']);
    const suspended = checkGrantUsable(signed, opts({ revocations: list({ entries: [{ grantId: GRANT_ID, kind: 'suspended', reason: '核查中', at }] }) }));
    assert.equal(code(suspended), 'GRANT_SUSPENDED');
    assert.ok(!suspended.ok && suspended.zh.includes('核查中'));
    const unused = checkGrantUsable(signed, opts({ revocations: list({ entries: [{ grantId: GRANT_ID, kind: 'expired_unused', reason: '超过三个月未使用', at }] }) }));
    assert.deepEqual([code(unused), !unused.ok && unused.kind], ['GRANT_REVOKED', 'expired_unused']);
    // Another grant's entry does not matter.
    const otherEntry = list({ entries: [{ grantId: uuidv7(T0), kind: 'revoked', reason: 'x', at }] });
    assert.equal(code(checkGrantUsable(signed, opts({ revocations: otherEntry }))), 'OK');
  });

  it('a suspension is lifted by a newer list without the entry', () => {
    const s = list({ entries: [{ grantId: GRANT_ID, kind: 'suspended', reason: '核查中', at: iso(T0 + HOUR) }] });
    assert.equal(code(checkGrantUsable(signed, opts({ revocations: s }))), 'GRANT_SUSPENDED');
    assert.equal(code(checkGrantUsable(signed, opts({ revocations: list({ serial: 11, issuedAt: iso(T0 + 2 * HOUR) }) }))), 'OK');
  });

  it('a revocation is honoured even from a stale list, and expiry wins over revocation', () => {
    const l = list({ entries: [{ grantId: GRANT_ID, kind: 'revoked', reason: '违规', at: iso(T0 + HOUR) }] });
    assert.equal(code(checkGrantUsable(signed, opts({ revocations: l, now: new Date(T0 + 30 * 24 * HOUR) }))), 'GRANT_REVOKED');
    assert.equal(code(checkGrantUsable(signed, opts({ revocations: l, now: new Date(Date.parse(signed.grant.validUntil)) }))), 'GRANT_EXPIRED');
  });

  it('method and items', () => {
    assert.equal(code(checkGrantUsable(signed, opts({ method: 'batch' }))), 'GRANT_METHOD_NOT_ALLOWED');
    const r = checkGrantUsable(signed, opts({ items: ['name', 'income', 'photo', 'income'] }));
    assert.equal(code(r), 'GRANT_ITEM_NOT_ALLOWED');
    assert.deepEqual(!r.ok && r.items, ['income', 'photo']);
    assert.ok(!r.ok && r.zh.includes('income、photo') && r.en.includes('income, photo'));
    // An inherited property name is not a granted item.
    assert.equal(code(checkGrantUsable(signed, opts({ items: ['constructor'] }))), 'GRANT_ITEM_NOT_ALLOWED');
  });

  it('consumer and resource, when the caller names them', () => {
    assert.equal(code(checkGrantUsable(signed, opts({ consumerNodeId: 'county-410812' }))), 'GRANT_WRONG_CONSUMER');
    assert.equal(code(checkGrantUsable(signed, opts({ resource: '410802-00000000-0000-4000-8000-000000000000' }))), 'GRANT_WRONG_RESOURCE');
  });

  it('throws for an invalid clock', () => {
    assert.throws(() => checkGrantUsable(signed, opts({ now: new Date(Number.NaN) })), RangeError);
  });
});

describe('freshness rule', () => {
  let signed: SignedGrant;
  before(() => {
    signed = signGrant(sampleGrant(), hub.secretKey);
  });
  const issued = T0 + HOUR;
  const at = (now: number, l: RevocationList | null, over: Partial<UsabilityOptions> = {}): string => {
    const r = checkGrantUsable(signed, { now: new Date(now), revocations: l, method: 'query', items: ['name'], ...over });
    return r.ok ? 'OK' : r.code;
  };

  it('no list, or only a list of another issuer: stale (fail closed)', () => {
    assert.equal(at(issued, null), 'REVOCATIONS_STALE');
    const foreign = list({ issuer: 'hub-410900', entries: [] });
    assert.equal(at(issued, foreign), 'REVOCATIONS_STALE');
  });

  it('default: relied on for exactly 24 h after issuedAt (hub nextUpdate = issuedAt + 24 h)', () => {
    const l = list();
    assert.equal(at(issued, l), 'OK');
    assert.equal(at(issued + DEFAULT_MAX_REVOCATION_AGE_MS, l), 'OK');
    assert.equal(at(issued + DEFAULT_MAX_REVOCATION_AGE_MS + 1, l), 'REVOCATIONS_STALE');
    assert.deepEqual(revocationsUsableWindow(l), { from: issued - 5 * MIN, until: issued + 24 * HOUR });
  });

  it('the hub tightens with an earlier nextUpdate: nextUpdate + 1 h grace', () => {
    const l = list({ nextUpdate: iso(issued + HOUR) });
    assert.equal(at(issued + 2 * HOUR, l), 'OK');
    assert.equal(at(issued + 2 * HOUR + 1, l), 'REVOCATIONS_STALE');
    assert.equal(at(issued + 2 * HOUR + 1, l, { revocationGraceMs: 2 * HOUR }), 'OK');
  });

  it('the hub cannot loosen the provider bound with a distant nextUpdate', () => {
    const l = list({ nextUpdate: iso(issued + 7 * 24 * HOUR) });
    assert.equal(at(issued + 24 * HOUR, l), 'OK');
    assert.equal(at(issued + 24 * HOUR + 1, l), 'REVOCATIONS_STALE');
  });

  it('the provider tightens with maxRevocationAgeMs', () => {
    const l = list();
    assert.equal(at(issued + 2 * HOUR, l, { maxRevocationAgeMs: 2 * HOUR }), 'OK');
    assert.equal(at(issued + 2 * HOUR + 1, l, { maxRevocationAgeMs: 2 * HOUR }), 'REVOCATIONS_STALE');
  });

  it('a list dated ahead of the provider clock by more than the skew is not relied on', () => {
    const l = list();
    assert.equal(at(issued - 5 * MIN, l), 'OK');
    assert.equal(at(issued - 5 * MIN - 1, l), 'REVOCATIONS_STALE');
    assert.equal(at(issued - 10 * MIN, l, { maxClockSkewMs: 10 * MIN }), 'OK');
  });

  it('bounds a suppressed revocation: a provider still holding the pre-revocation list refuses within 24 h of the revocation', () => {
    const before = list({ issuedAt: iso(issued) }); // the last list the provider got
    const revokedAt = issued + 30 * MIN; // hub revokes; the provider never sees the new list
    assert.equal(at(revokedAt + 23 * HOUR, before), 'OK'); // still served: the window the trade-off accepts
    assert.ok(revocationsUsableWindow(before).until <= revokedAt + DEFAULT_MAX_REVOCATION_AGE_MS);
    assert.equal(at(revokedAt + DEFAULT_MAX_REVOCATION_AGE_MS, before), 'REVOCATIONS_STALE');
  });
});
