/** nkey users and their seed files: generated keys round-trip, files are 0600, loose or bad files are refused. */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateNkeyUser, nkeyConnectOptions, nodeInboxPrefix, publicKeyOfSeed, readSeedFile, USER_NKEY_RE, writeSeedFile } from './auth.ts';

describe('nats-auth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jilian-nkey-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('generates user nkeys whose seed yields the public key', () => {
    const u = generateNkeyUser();
    assert.match(u.seed, /^SU[A-Z2-7]{56}$/);
    assert.match(u.publicKey, USER_NKEY_RE);
    assert.equal(publicKeyOfSeed(u.seed), u.publicKey);
    assert.notEqual(generateNkeyUser().seed, u.seed);
  });

  it('writes the seed file 0600, reads it back, and never overwrites', () => {
    const u = generateNkeyUser();
    const file = join(dir, 'nats.nk');
    writeSeedFile(file, u.seed);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readSeedFile(file), u.seed);
    assert.throws(() => writeSeedFile(file, generateNkeyUser().seed), /EEXIST/);
    assert.equal(readSeedFile(file), u.seed);
  });

  it('refuses a seed file others can read, and one without a valid user seed', () => {
    const loose = join(dir, 'loose.nk');
    writeFileSync(loose, generateNkeyUser().seed + '\n', { mode: 0o644 });
    chmodSync(loose, 0o644);
    assert.throws(() => readSeedFile(loose), /mode 644/);
    const broken = join(dir, 'broken.nk');
    const seed = generateNkeyUser().seed;
    // One seed character changed: the CRC no longer matches (the last character would only hold padding bits).
    writeFileSync(broken, seed.slice(0, 20) + (seed[20] === 'A' ? 'B' : 'A') + seed.slice(21), { mode: 0o600 });
    assert.throws(() => readSeedFile(broken), /broken\.nk/);
    assert.throws(() => writeSeedFile(join(dir, 'pub.nk'), generateNkeyUser().publicKey), /not an nkey user seed/);
  });

  it('gives nats.js an authenticator that signs the nonce, and the node’s inbox prefix', () => {
    const u = generateNkeyUser();
    const opts = nkeyConnectOptions(u.seed, nodeInboxPrefix('county-410802'));
    assert.equal(opts.inboxPrefix, '_INBOX_county-410802');
    assert.ok(!JSON.stringify(opts).includes(u.seed), 'the seed is not in the options object');
    const auth = (opts.authenticator as (nonce?: string) => { nkey: string; sig: string })('nonce-123');
    assert.equal(auth.nkey, u.publicKey);
    assert.ok(auth.sig.length > 0);
    assert.equal(nkeyConnectOptions(u.seed).inboxPrefix, undefined);
  });
});
