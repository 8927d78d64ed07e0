/** @module Envelope encoding and verification: round trip, every rejection code, verification order, and a seeded fuzz run. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { encodeEnvelope, ENVELOPE_HEADER_BYTES, expectType, MAX_ENVELOPE_BYTES, openEnvelope, verifyEnvelope, type Envelope, type KeyLookup } from './envelope.ts';
import { ProtocolError, type ProtocolErrorCode } from './errors.ts';
import { signingKeyPairFromSeed, type SigningKeyPair } from './keys.ts';
import { MESSAGE_TYPES } from './messages.ts';
import { loadSodium, sodium } from './sodium.ts';

const NODE = 'county-410802';
const ENTRY = '410802-0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b';
const TS = '2025-01-02T03:04:05.678Z';
const enc = (s: string) => new TextEncoder().encode(s);

let keys: SigningKeyPair;
let other: SigningKeyPair;
let lookup: KeyLookup;

const updateEnv = (): Envelope<'catalog.update'> => ({
  type: 'catalog.update',
  from: NODE,
  seq: 7,
  ts: TS,
  payload: { origin: '410802', updates: [{ entryId: ENTRY, update: 'AQABAgM=' }] },
});

/** Frame and sign arbitrary body bytes the way encodeEnvelope does (to build validly signed bad bodies). */
function signRaw(body: Uint8Array, kp: SigningKeyPair = keys, header: [number, number, number] = [0x4a, 0x4c, 0x01]): Uint8Array {
  const signed = new Uint8Array([...enc('jilian/envelope/v1\0'), ...body]);
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + body.length);
  out.set(header, 0);
  out.set(sodium().crypto_sign_detached(signed, kp.secretKey), 3);
  out.set(body, ENVELOPE_HEADER_BYTES);
  return out;
}
const signJson = (body: unknown, kp?: SigningKeyPair) => signRaw(enc(JSON.stringify(body)), kp);

function codeOf(fn: () => unknown): ProtocolErrorCode {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a ProtocolError, but it succeeded');
}
const verifyCode = (bytes: Uint8Array) => codeOf(() => verifyEnvelope(bytes, lookup));

describe('envelope', () => {
  before(async () => {
    await loadSodium();
    keys = signingKeyPairFromSeed(Uint8Array.from({ length: 32 }, (_, i) => i));
    other = signingKeyPairFromSeed(Uint8Array.from({ length: 32 }, (_, i) => 100 + i));
    lookup = (id) => (id === NODE ? keys.publicKey : undefined);
  });

  describe('round trip', () => {
    it('every message type verifies back to the envelope that was encoded', () => {
      const samples: Envelope[] = [
        updateEnv(),
        { type: 'catalog.update', from: 'hub-410800', seq: 1, ts: TS, payload: { origin: 'hub', updates: [{ entryId: ENTRY, update: 'AA==' }] } },
        { type: 'catalog.sync.digest', from: NODE, seq: 1, ts: TS, payload: { from: '', to: null, count: 0, digest: 'ab'.repeat(32) } },
        { type: 'catalog.sync.digest.reply', from: NODE, seq: Number.MAX_SAFE_INTEGER, ts: TS, payload: { match: false, entries: [{ id: ENTRY, sv: '1:2,3:4' }], next: ENTRY } },
        { type: 'catalog.sync.pull', from: NODE, seq: 9, ts: '2025-01-02T03:04:05Z', payload: { entries: [{ id: ENTRY, sv: '' }] } },
        { type: 'catalog.sync.pull.reply', from: NODE, seq: 10, ts: TS, payload: { updates: [] } },
        { type: 'error', from: NODE, seq: 11, ts: TS, payload: { code: 'MESSAGE_INVALID', message: '载荷无效 / invalid' } },
      ];
      const both: KeyLookup = (id) => (id === NODE || id === 'hub-410800' ? keys.publicKey : undefined);
      for (const env of samples) {
        const bytes = encodeEnvelope(env, keys.secretKey);
        assert.deepEqual([...bytes.subarray(0, 3)], [0x4a, 0x4c, 0x01]);
        assert.deepEqual(verifyEnvelope(bytes, both), env);
        // The body is the JSON of the envelope in field order type, from, seq, ts, payload.
        assert.equal(new TextDecoder().decode(bytes.subarray(ENVELOPE_HEADER_BYTES)), JSON.stringify(env));
      }
    });

    it('signatures are deterministic and cover the context string', () => {
      const a = encodeEnvelope(updateEnv(), keys.secretKey);
      assert.deepEqual(encodeEnvelope(updateEnv(), keys.secretKey), a);
      const body = a.subarray(ENVELOPE_HEADER_BYTES);
      const sig = a.subarray(3, ENVELOPE_HEADER_BYTES);
      assert.ok(sodium().crypto_sign_verify_detached(sig, new Uint8Array([...enc('jilian/envelope/v1\0'), ...body]), keys.publicKey));
      assert.ok(!sodium().crypto_sign_verify_detached(sig, body, keys.publicKey), 'the signature must not verify over the bare body');
    });

    it('openEnvelope parses without checking the signature', () => {
      const bytes = encodeEnvelope(updateEnv(), keys.secretKey);
      bytes[3]! ^= 0xff;
      const opened = openEnvelope(bytes);
      assert.equal(opened.body.from, NODE);
      assert.equal(opened.signature.length, 64);
      assert.equal(verifyCode(bytes), 'ENVELOPE_BAD_SIGNATURE');
    });

    it('expectType narrows or throws MESSAGE_UNKNOWN_TYPE', () => {
      const env = verifyEnvelope(encodeEnvelope(updateEnv(), keys.secretKey), lookup);
      assert.equal(expectType(env, 'catalog.update').payload.origin, '410802');
      assert.equal(
        codeOf(() => expectType(env, 'error')),
        'MESSAGE_UNKNOWN_TYPE',
      );
    });
  });

  describe('encodeEnvelope refuses what would not verify', () => {
    it('an invalid payload → MESSAGE_INVALID', () => {
      const env = { ...updateEnv(), payload: { origin: '410802', updates: [] } };
      assert.equal(
        codeOf(() => encodeEnvelope(env, keys.secretKey)),
        'MESSAGE_INVALID',
      );
    });

    it('the largest envelope within MAX_ENVELOPE_BYTES is accepted, 4 base64 characters more is ENVELOPE_TOO_LARGE', () => {
      // Updates are canonical base64, so sizes move in steps of 4 characters.
      const sized = (n: number): Envelope<'catalog.update'> => ({ ...updateEnv(), payload: { origin: '410802', updates: [{ entryId: ENTRY, update: 'A'.repeat(n) }] } });
      const overhead = encodeEnvelope(sized(4), keys.secretKey).length - 4;
      const fit = Math.floor((MAX_ENVELOPE_BYTES - overhead) / 4) * 4;
      const largest = encodeEnvelope(sized(fit), keys.secretKey);
      assert.ok(largest.length <= MAX_ENVELOPE_BYTES && largest.length > MAX_ENVELOPE_BYTES - 4);
      assert.equal(verifyEnvelope(largest, lookup).type, 'catalog.update');
      assert.equal(
        codeOf(() => encodeEnvelope(sized(fit + 4), keys.secretKey)),
        'ENVELOPE_TOO_LARGE',
      );
    });
  });

  describe('rejection codes', () => {
    it('ENVELOPE_TOO_LARGE: more than 1 MiB, checked before anything else', () => {
      assert.equal(verifyCode(new Uint8Array(MAX_ENVELOPE_BYTES + 1)), 'ENVELOPE_TOO_LARGE');
    });

    it('ENVELOPE_MALFORMED: shorter than header + 2 bytes (even with a wrong magic)', () => {
      const bytes = encodeEnvelope(updateEnv(), keys.secretKey);
      assert.equal(verifyCode(new Uint8Array(0)), 'ENVELOPE_MALFORMED');
      assert.equal(verifyCode(bytes.slice(0, ENVELOPE_HEADER_BYTES + 1)), 'ENVELOPE_MALFORMED');
      assert.equal(verifyCode(new Uint8Array(10).fill(0x58)), 'ENVELOPE_MALFORMED');
    });

    it('ENVELOPE_BAD_MAGIC and ENVELOPE_UNSUPPORTED_VERSION', () => {
      const bytes = encodeEnvelope(updateEnv(), keys.secretKey);
      for (const [i, v] of [
        [0, 0x4b],
        [1, 0x00],
      ] as const) {
        const b = Uint8Array.from(bytes);
        b[i] = v;
        assert.equal(verifyCode(b), 'ENVELOPE_BAD_MAGIC');
      }
      for (const v of [0, 2, 255]) {
        const b = Uint8Array.from(bytes);
        b[2] = v;
        assert.equal(verifyCode(b), 'ENVELOPE_UNSUPPORTED_VERSION');
      }
      // Signed with a version byte of 2: still refused (the version is not covered by the signature, but checked first).
      assert.equal(verifyCode(signRaw(enc(JSON.stringify(updateEnv())), keys, [0x4a, 0x4c, 0x02])), 'ENVELOPE_UNSUPPORTED_VERSION');
    });

    it('ENVELOPE_MALFORMED: body not UTF-8, not JSON, or not a valid body object (before the signature is looked at)', () => {
      const valid = updateEnv();
      const bodies: Uint8Array[] = [
        new Uint8Array([0x7b, 0xff, 0x7d]),
        enc('{"type":'),
        enc('[1,2,3]'),
        enc('null'),
        enc(JSON.stringify({ ...valid, extra: true })),
        enc(JSON.stringify({ type: valid.type, from: valid.from, seq: valid.seq, ts: valid.ts })),
        enc(JSON.stringify({ ...valid, from: 'County-410802' })),
        enc(JSON.stringify({ ...valid, from: 'x' })),
        enc(JSON.stringify({ ...valid, seq: -1 })),
        enc(JSON.stringify({ ...valid, seq: 1.5 })),
        enc(JSON.stringify({ ...valid, seq: Number.MAX_SAFE_INTEGER + 1 })),
        enc(JSON.stringify({ ...valid, seq: '7' })),
        enc(JSON.stringify({ ...valid, ts: '2025-01-02T11:04:05+08:00' })),
        enc(JSON.stringify({ ...valid, ts: '2025-01-02T03:04:05' })),
        enc(JSON.stringify({ ...valid, ts: '2025-01-02' })),
        enc(JSON.stringify({ ...valid, type: '' })),
        enc(JSON.stringify({ ...valid, type: 'x'.repeat(65) })),
      ];
      for (const body of bodies) {
        assert.equal(verifyCode(signRaw(body)), 'ENVELOPE_MALFORMED', new TextDecoder().decode(body));
        // Same with a garbage signature: the body is parsed before the signature is checked.
        const bad = signRaw(body);
        bad.fill(0, 3, ENVELOPE_HEADER_BYTES);
        assert.equal(verifyCode(bad), 'ENVELOPE_MALFORMED');
      }
    });

    it('ENVELOPE_UNKNOWN_SENDER: checked before the signature; the claimed sender is in the detail', () => {
      const bytes = signJson({ ...updateEnv(), from: 'county-999999' });
      assert.equal(verifyCode(bytes), 'ENVELOPE_UNKNOWN_SENDER');
      bytes[3]! ^= 1;
      assert.equal(verifyCode(bytes), 'ENVELOPE_UNKNOWN_SENDER');
      try {
        verifyEnvelope(bytes, lookup);
      } catch (err) {
        assert.equal((err as ProtocolError).detail.from, 'county-999999');
      }
    });

    it('ENVELOPE_BAD_SIGNATURE: flipped signature bit, flipped body byte, another key', () => {
      const bytes = encodeEnvelope(updateEnv(), keys.secretKey);
      for (const i of [3, 40, 66]) {
        const b = Uint8Array.from(bytes);
        b[i]! ^= 0x80;
        assert.equal(verifyCode(b), 'ENVELOPE_BAD_SIGNATURE');
      }
      // A body change that keeps the body valid: seq 7 → 6.
      const seqAt = ENVELOPE_HEADER_BYTES + JSON.stringify(updateEnv()).indexOf('"seq":7') + 6;
      const b = Uint8Array.from(bytes);
      b[seqAt] = 0x36;
      assert.equal(openEnvelope(b).body.seq, 6);
      assert.equal(verifyCode(b), 'ENVELOPE_BAD_SIGNATURE');
      assert.equal(verifyCode(encodeEnvelope(updateEnv(), other.secretKey)), 'ENVELOPE_BAD_SIGNATURE');
      try {
        verifyEnvelope(b, lookup);
      } catch (err) {
        assert.equal((err as ProtocolError).detail.from, NODE);
      }
    });

    it('MESSAGE_UNKNOWN_TYPE: validly signed unknown tag, including Object prototype names', () => {
      for (const type of ['catalog.delete', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'Error']) {
        assert.equal(verifyCode(signJson({ ...updateEnv(), type })), 'MESSAGE_UNKNOWN_TYPE', type);
      }
    });

    it('MESSAGE_INVALID: validly signed payload with an extra, missing or wrong field', () => {
      const env = updateEnv();
      const payloads = [
        { ...env.payload, extra: 1 },
        { updates: env.payload.updates },
        { ...env.payload, origin: '010802' },
        { ...env.payload, updates: [] },
        { ...env.payload, updates: [{ entryId: ENTRY, update: 'not base64!' }] },
        { ...env.payload, updates: [{ entryId: ENTRY, update: '' }] },
        { ...env.payload, updates: [{ entryId: ENTRY.toUpperCase(), update: 'AA==' }] },
        { ...env.payload, updates: [{ entryId: ENTRY, update: 'AA==', extra: 1 }] },
        null,
        [],
      ];
      for (const payload of payloads) assert.equal(verifyCode(signJson({ ...env, payload })), 'MESSAGE_INVALID', JSON.stringify(payload));
      assert.equal(verifyCode(signJson({ type: 'error', from: NODE, seq: 1, ts: TS, payload: { code: 'X', message: 'm'.repeat(1001) } })), 'MESSAGE_INVALID');
      assert.equal(verifyCode(signJson({ type: 'catalog.sync.digest', from: NODE, seq: 1, ts: TS, payload: { from: '', to: null, count: 0, digest: 'AB'.repeat(32) } })), 'MESSAGE_INVALID');
    });

    it('the signature is checked before type and payload: an unauthenticated bad payload is BAD_SIGNATURE', () => {
      for (const body of [
        { ...updateEnv(), type: 'catalog.delete' },
        { ...updateEnv(), payload: { nonsense: true } },
      ]) {
        const bytes = signJson(body, other);
        assert.equal(verifyCode(bytes), 'ENVELOPE_BAD_SIGNATURE');
      }
    });
  });

  describe('fuzz', () => {
    /** mulberry32: a small seeded PRNG so failures reproduce. */
    function prng(seed: number): (n: number) => number {
      let a = seed >>> 0;
      return (n) => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = Math.imul(a ^ (a >>> 15), a | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
      };
    }

    it('5,000 random, truncated, bit-flipped and re-signed inputs: each verifies identically or throws ProtocolError', { timeout: 20_000 }, () => {
      const rand = prng(0x4a4c0001);
      const base = encodeEnvelope(updateEnv(), keys.secretKey);
      const expected = verifyEnvelope(base, lookup);
      const bodyText = JSON.stringify(updateEnv());
      const counts: Record<string, number> = {};
      const started = Date.now();
      for (let i = 0; i < 5_000; i++) {
        let input: Uint8Array;
        let resigned = false;
        switch (rand(6)) {
          case 0: {
            input = new Uint8Array(rand(160));
            for (let j = 0; j < input.length; j++) input[j] = rand(256);
            if (rand(2) === 0 && input.length >= 3) input.set([0x4a, 0x4c, 0x01], 0);
            break;
          }
          case 1:
            input = base.slice(0, rand(base.length));
            break;
          case 2: {
            input = Uint8Array.from(base);
            for (let k = 1 + rand(3); k > 0; k--) input[rand(input.length)]! ^= 1 << rand(8);
            break;
          }
          case 3: {
            // Insert or delete a byte somewhere.
            const at = rand(base.length);
            input = rand(2) === 0 ? new Uint8Array([...base.subarray(0, at), rand(256), ...base.subarray(at)]) : new Uint8Array([...base.subarray(0, at), ...base.subarray(at + 1)]);
            break;
          }
          case 4: {
            // Replace one body character with a JSON-significant one and re-sign: reaches type/payload validation.
            const chars = ['"', '{', '}', '[', ']', ',', ':', '0', '9', '-', 'a', 'Z', '\\', ' ', '.', 'e', 'null'];
            const at = rand(bodyText.length);
            const body = bodyText.slice(0, at) + chars[rand(chars.length)]! + bodyText.slice(at + 1);
            input = signRaw(enc(body));
            resigned = true;
            break;
          }
          default: {
            // Header kept, body random printable bytes, signed.
            const body = new Uint8Array(2 + rand(80));
            for (let j = 0; j < body.length; j++) body[j] = 0x20 + rand(95);
            input = signRaw(body);
            resigned = true;
          }
        }
        let outcome: string;
        try {
          const env = verifyEnvelope(input, lookup);
          if (resigned) {
            assert.ok(Object.hasOwn(MESSAGE_TYPES, env.type));
            assert.deepEqual(env, JSON.parse(new TextDecoder().decode(input.subarray(ENVELOPE_HEADER_BYTES))));
          } else {
            assert.deepEqual(env, expected);
          }
          outcome = 'valid';
        } catch (err) {
          if (!(err instanceof ProtocolError)) assert.fail(`input ${i} threw ${String(err)}`);
          outcome = err.code;
        }
        counts[outcome] = (counts[outcome] ?? 0) + 1;
      }
      // The run must exercise the interesting outcomes, not just bounce off the frame check.
      for (const code of [
        'valid',
        'ENVELOPE_MALFORMED',
        'ENVELOPE_BAD_MAGIC',
        'ENVELOPE_UNSUPPORTED_VERSION',
        'ENVELOPE_BAD_SIGNATURE',
        'ENVELOPE_UNKNOWN_SENDER',
        'MESSAGE_UNKNOWN_TYPE',
        'MESSAGE_INVALID',
      ]) {
        assert.ok((counts[code] ?? 0) > 0, `no ${code} in ${JSON.stringify(counts)}`);
      }
      assert.ok(Date.now() - started < 10_000, 'fuzz run took too long');
    });
  });
});
