/** @module The sealed box we build from libsodium's parts must be libsodium's sealed box: its own `crypto_box_seal_open` opens it. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadSodium, randomBytes, sealBox, sodium } from './sodium.ts';

describe('sealBox (crypto_box_seal with OS randomness)', () => {
  before(loadSodium);

  it('opens with libsodium crypto_box_seal_open, for empty, short and large messages', () => {
    const s = sodium();
    const kp = s.crypto_box_keypair();
    for (const size of [0, 1, 32, 600, 70_000]) {
      const message = randomBytes(size);
      const sealed = sealBox(message, kp.publicKey);
      assert.equal(sealed.length, size + s.crypto_box_SEALBYTES, 'epk (32) + MAC (16) + message');
      assert.deepEqual(s.crypto_box_seal_open(sealed, kp.publicKey, kp.privateKey), message);
    }
  });

  it('is randomized, and only the recipient opens it; a flipped bit is refused', () => {
    const s = sodium();
    const kp = s.crypto_box_keypair();
    const other = s.crypto_box_keypair();
    const message = new TextEncoder().encode('{"rows":[{"姓名":"张*"}]}');
    const a = sealBox(message, kp.publicKey);
    const b = sealBox(message, kp.publicKey);
    assert.notDeepEqual(a, b, 'a fresh ephemeral key each time');
    assert.throws(() => s.crypto_box_seal_open(a, other.publicKey, other.privateKey));
    const tampered = a.slice();
    tampered[40]! ^= 1;
    assert.throws(() => s.crypto_box_seal_open(tampered, kp.publicKey, kp.privateKey));
    assert.throws(() => sealBox(message, new Uint8Array(31)), /32 bytes/);
  });

  it('randomBytes gives the asked length, distinct each call', () => {
    const a = randomBytes(32);
    assert.equal(a.length, 32);
    assert.ok(a instanceof Uint8Array);
    assert.notDeepEqual(a, randomBytes(32));
  });
});
