/** @module Crypto pool: chunk work on worker threads, typed errors across the thread boundary, ordered bounded mapping, start-up from a tsx register() entry. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { PackageError } from '../../protocol/data-package.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { CryptoPool, mapOrdered } from './crypto-pool.ts';

const ctx = { packageId: '01943a5c-7b3c-7d4e-8f50-1a2b3c4d5e6f', noncePrefix: 'CQkJCQkJCQkJCQkJCQkJCQ==' };
const key = new Uint8Array(32).fill(4);
let pool: CryptoPool;

before(async () => {
  await loadSodium();
  pool = new CryptoPool(2);
});
after(() => pool.close());

describe('crypto pool', () => {
  it('seals and opens chunks on worker threads, with either compression', async () => {
    const text = new TextEncoder().encode('{"姓名":"张三"}\n'.repeat(2000));
    for (const compression of ['deflate-raw', 'none'] as const) {
      const sealed = await pool.seal({ contentKey: key, ctx, index: 3, isLast: false, plain: text.slice(), compression, level: 1 });
      assert.equal(sealed.index, 3);
      assert.equal(sealed.plainLength, text.length);
      if (compression === 'deflate-raw') assert.ok(sealed.bytes.length < text.length / 10);
      const opened = await pool.open({ contentKey: key, ctx, index: 3, isLast: false, bytes: sealed.bytes, compression, plainLength: text.length });
      assert.deepEqual(opened.plain, text);
      assert.deepEqual(opened.plainMac, sealed.plainMac);
      assert.deepEqual(await pool.verify({ contentKey: key, ctx, index: 3, isLast: false, bytes: sealed.bytes, compression, plainLength: text.length }), sealed.chunkHash);
    }
  });

  it('transfers the plaintext buffer instead of copying it', async () => {
    const plain = new Uint8Array(1024);
    await pool.seal({ contentKey: key, ctx, index: 0, isLast: true, plain, compression: 'none', level: 1 });
    assert.equal(plain.byteLength, 0, 'detached after transfer');
  });

  it('rejects with a PackageError carrying its code across the thread boundary', async () => {
    const sealed = await pool.seal({ contentKey: key, ctx, index: 0, isLast: true, plain: new Uint8Array(100), compression: 'deflate-raw', level: 1 });
    const attempts = [
      { index: 1, isLast: true, plainLength: 100 }, // wrong index
      { index: 0, isLast: false, plainLength: 100 }, // wrong flag
      { index: 0, isLast: true, plainLength: 99 }, // decompresses past the bound
    ];
    for (const a of attempts) {
      await assert.rejects(pool.open({ contentKey: key, ctx, bytes: sealed.bytes, compression: 'deflate-raw', ...a }), (err: unknown) => {
        assert.ok(err instanceof PackageError);
        assert.equal(err.code, 'PACKAGE_CHUNK_INVALID');
        return true;
      });
    }
  });

  it('queues more tasks than workers and answers each one, after earlier errors too', async () => {
    const tasks = Array.from({ length: 12 }, (_, i) => pool.seal({ contentKey: key, ctx, index: i, isLast: false, plain: new Uint8Array(64 * 1024).fill(i), compression: 'deflate-raw', level: 6 }));
    const out = await Promise.all(tasks);
    assert.deepEqual(
      out.map((c) => c.index),
      [...Array(12).keys()],
    );
  });

  it('mapOrdered yields in source order with at most `window` calls in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const out: number[] = [];
    const fn = async (i: number) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, (i * 7) % 5));
      inFlight--;
      return i * 2;
    };
    for await (const v of mapOrdered([...Array(30).keys()], fn, 3)) out.push(v);
    assert.deepEqual(
      out,
      [...Array(30).keys()].map((i) => i * 2),
    );
    assert.ok(peak <= 3, `peak ${peak}`);
  });

  it('starts its workers from a tsx register() entry in another directory (as bin/jilian.mjs runs)', () => {
    const poolUrl = new URL('./crypto-pool.ts', import.meta.url).href;
    const sodiumUrl = new URL('../../protocol/sodium.ts', import.meta.url).href;
    const script = `
      const { register } = await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))});
      register();
      const { CryptoPool } = await import(${JSON.stringify(poolUrl)});
      await (await import(${JSON.stringify(sodiumUrl)})).loadSodium();
      const pool = new CryptoPool(1);
      const c = await pool.seal({ contentKey: new Uint8Array(32), ctx: { packageId: '01943a5c-7b3c-7d4e-8f50-1a2b3c4d5e6f', noncePrefix: 'AAAAAAAAAAAAAAAAAAAAAA==' }, index: 0, isLast: true, plain: new Uint8Array(10), compression: 'none', level: 1 });
      console.log('sealed', c.bytes.length);`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: tmpdir(), encoding: 'utf8', timeout: 60_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /sealed 26/);
  });
});
