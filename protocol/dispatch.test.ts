/**
 * @module Typed envelopes and handler maps: the type-level part is checked by `tsc --noEmit` (every
 * `@ts-expect-error` must be an error), the runtime part by node:test.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { acceptsTypes, dispatch, type Handlers } from './dispatch.ts';
import { encodeEnvelope, expectType, isType, verifyEnvelope, type AnyEnvelope, type Envelope } from './envelope.ts';
import { signingKeyPairFromSeed, type SigningKeyPair } from './keys.ts';
import type { CatalogUpdate, ErrorReply } from './messages.ts';
import type { KeyRotation } from './key-directory.ts';
import { loadSodium } from './sodium.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_: T) => {};

const TEST_TYPES = ['catalog.update', 'error'] as const;
type TestType = (typeof TEST_TYPES)[number];

// Narrowing by `type` types the payload, without a cast.
export function narrowed(env: AnyEnvelope): string {
  if (env.type === 'catalog.update') {
    assertType<Equal<typeof env.payload, CatalogUpdate>>(true);
    return env.payload.origin;
  }
  if (env.type === 'error') {
    assertType<Equal<typeof env.payload, ErrorReply>>(true);
    // @ts-expect-error an error reply has no `origin`
    return env.payload.origin;
  }
  // @ts-expect-error not narrowed: the payload is any of the payloads
  return env.payload.code;
}
assertType<Equal<Envelope<'keys.rotate'>['payload'], KeyRotation>>(true);

// A handler map must cover every declared type, and only those.
// @ts-expect-error 'error' has no handler
export const missing: Handlers<TestType> = { 'catalog.update': () => {} };
export const extra: Handlers<TestType> = {
  'catalog.update': () => {},
  error: () => {},
  // @ts-expect-error keys.rotate is not a declared type
  'keys.rotate': () => {},
};
export const wrongPayload: Handlers<TestType> = {
  // @ts-expect-error a catalog.update handler receives a catalog.update, not an error reply
  'catalog.update': (env: Envelope<'error'>) => void env.payload.code,
  error: () => {},
};
// Only an accepted envelope can be dispatched.
export function undeclared(handlers: Handlers<TestType>, env: AnyEnvelope): void {
  // @ts-expect-error env may be of a type the map does not handle
  dispatch(handlers, env);
}

const NODE = 'county-410802';
const TS = '2025-01-02T03:04:05.678Z';
let keys: SigningKeyPair;
const lookup = () => keys.publicKey;
const seal = (env: AnyEnvelope) => verifyEnvelope(encodeEnvelope(env, keys.secretKey), lookup);

describe('typed dispatch', () => {
  before(async () => {
    await loadSodium();
    keys = signingKeyPairFromSeed(new Uint8Array(32).fill(9));
  });

  it('calls the handler of the envelope type with its payload', () => {
    const seen: string[] = [];
    const handlers: Handlers<TestType, [string], number> = {
      'catalog.update': (env, tag) => seen.push(`${tag}:${env.payload.origin}`),
      error: (env, tag) => seen.push(`${tag}:${env.payload.code}`),
    };
    const accepts = acceptsTypes(TEST_TYPES);
    const update = seal({
      type: 'catalog.update',
      from: NODE,
      seq: 1,
      ts: TS,
      payload: { origin: '410802', updates: [{ entryId: '410802-0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b', update: 'AQABAgM=' }] },
    });
    const error = seal({ type: 'error', from: NODE, seq: 2, ts: TS, payload: { code: 'SYNC_BUSY', message: 'later' } });
    for (const env of [update, error]) {
      assert.ok(accepts(env));
      dispatch(handlers, env, 'x');
    }
    assert.deepEqual(seen, ['x:410802', 'x:SYNC_BUSY']);
  });

  it('refuses a known type outside the set', () => {
    const accepts = acceptsTypes(TEST_TYPES);
    const rotate = seal({ type: 'error', from: NODE, seq: 3, ts: TS, payload: { code: 'X', message: 'y' } });
    assert.equal(accepts({ ...rotate, type: 'keys.directory' } as AnyEnvelope), false);
    assert.equal(accepts({ ...rotate, type: 'toString' } as unknown as AnyEnvelope), false);
    assert.equal(isType(rotate, 'error'), true);
    const reply: ErrorReply = expectType(rotate, 'error').payload;
    assert.equal(reply.code, 'X');
    assert.equal(isType(rotate, 'catalog.update'), false);
  });
});
