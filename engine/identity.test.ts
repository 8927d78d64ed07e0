/** Key files: private to their owner, optionally encrypted with a passphrase from the environment, never printed. */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadSodium, toBase64 } from '../protocol/sodium.ts';
import { createKeyFile, Identity, KEY_PASSPHRASE_ENV, readKeyFile } from './identity.ts';

const dir = mkdtempSync(join(tmpdir(), 'jilian-keys-'));
before(loadSodium);

function withPassphrase<T>(value: string | undefined, fn: () => T): T {
  const old = process.env[KEY_PASSPHRASE_ENV];
  if (value === undefined) delete process.env[KEY_PASSPHRASE_ENV];
  else process.env[KEY_PASSPHRASE_ENV] = value;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env[KEY_PASSPHRASE_ENV];
    else process.env[KEY_PASSPHRASE_ENV] = old;
  }
}

test('a plain key file is 0600, round-trips, refuses to be overwritten, and a group-readable file is refused', () => {
  const file = join(dir, 'plain.json');
  const keys = withPassphrase(undefined, () => createKeyFile(file));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readKeyFile(file).secretKey, keys.secretKey);
  assert.throws(() => createKeyFile(file), /already exists/);
  chmodSync(file, 0o640);
  assert.throws(() => readKeyFile(file), /chmod 600/);
});

test('with JILIAN_KEY_PASSPHRASE the secret is encrypted at rest and needs the passphrase to load', () => {
  const file = join(dir, 'sealed.json');
  const keys = withPassphrase('正确的口令 correct horse', () => createKeyFile(file));
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(toBase64(keys.secretKey)), 'secret not stored in clear');
  assert.match(text, /"sealed"/);
  assert.throws(() => withPassphrase(undefined, () => readKeyFile(file)), /is encrypted: set JILIAN_KEY_PASSPHRASE/);
  assert.throws(() => withPassphrase('wrong', () => readKeyFile(file)), /wrong passphrase/);
  assert.deepEqual(withPassphrase('正确的口令 correct horse', () => readKeyFile(file)).secretKey, keys.secretKey);
});

test('an Identity never serialises its secret key', () => {
  const keys = withPassphrase(undefined, () => createKeyFile(join(dir, 'id.json')));
  const id = new Identity('county-410802', keys);
  const text = JSON.stringify({ id }) + String(id);
  assert.ok(!text.includes(toBase64(keys.secretKey)));
  assert.match(JSON.stringify(id), /county-410802/);
});
