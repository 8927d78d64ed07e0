/** @module Package builder and opener: streaming round trip, refusals through the pool, the golden vectors, and bounded memory on 50 MB of rows. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { keySigner } from '../../protocol/audit-checkpoint.ts';
import { PackageError, resealForRecipient, schemaHashOf, verifyHeader, withRecipient, type BoxKeys, type SignedPackageHeader } from '../../protocol/data-package.ts';
import { signingKeyPairFromSeed, type SigningKeyPair } from '../../protocol/keys.ts';
import { fromBase64, loadSodium, sodium } from '../../protocol/sodium.ts';
import { PACKAGE_VECTORS_FILE, type PackageVectorsFile } from '../../scripts/make-package-vectors.ts';
import { buildPackage, NdjsonBlock, openPackage, type BuildOptions, type ChunkSource } from '../../engine/package/builder.ts';
import { CryptoPool } from '../../engine/package/crypto-pool.ts';

const NODE = 'county-410802';
let sender: SigningKeyPair;
let hub: BoxKeys;
let consumer: BoxKeys;
let pool: CryptoPool;

const boxKeys = (): BoxKeys => {
  const kp = sodium().crypto_box_keypair();
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
};

const options = (over: Partial<BuildOptions> = {}): BuildOptions => ({
  signer: keySigner(NODE, sender.secretKey),
  resource: '410802-0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b',
  resourceCode: 'HB.410802.GA.0001',
  schemaHash: schemaHashOf([{ name: '姓名', code: 'XM' }]),
  kind: 'snapshot',
  baseVersion: null,
  newVersion: 7,
  recipients: [{ nodeId: 'hub-410800', publicKey: hub.publicKey }],
  pool,
  ...over,
});

function row(i: number): Record<string, unknown> {
  return {
    id: i,
    姓名: `张${i % 1000}`,
    公民身份号码: `4108021990${String(i % 1e8).padStart(8, '0')}`,
    地址: `河南省焦作市解放区民主路${i % 500}号`,
    金额: (i * 37) % 10007,
    note: i % 97 === 0 ? 'x'.repeat(3000) : null,
  };
}

async function drain(rows: Iterable<object> | AsyncIterable<object>, over: Partial<BuildOptions> = {}) {
  const build = buildPackage(rows, options(over));
  const chunks = new Map<number, Uint8Array>();
  for await (const c of build.chunks) chunks.set(c.index, c.bytes);
  return { signed: await build.header, chunks };
}

async function collect(signed: unknown, chunks: ChunkSource, me: BoxKeys): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const r of openPackage(signed, chunks, me, { senderKeys: sender.publicKey, pool })) out.push(r);
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'valid';
  } catch (err) {
    assert.ok(err instanceof PackageError, `not a PackageError: ${String(err)}`);
    return err.code;
  }
}

before(async () => {
  await loadSodium();
  sender = signingKeyPairFromSeed(new Uint8Array(32).fill(3));
  hub = boxKeys();
  consumer = boxKeys();
  pool = new CryptoPool(2);
});
after(() => pool.close());

describe('buildPackage / openPackage', () => {
  it('round-trips rows, with rows larger than a chunk, in both compressions', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => row(i));
    rows[5] = { big: 'y'.repeat(5000), 中文: '多字节'.repeat(1000) };
    for (const compression of ['deflate-raw', 'none'] as const) {
      const { signed, chunks } = await drain(rows, { chunkSize: 4096, compression });
      const h = signed.header;
      assert.equal(h.rowCount, rows.length);
      assert.equal(h.chunkCount, chunks.size);
      assert.equal(h.compression, compression);
      assert.deepEqual(await collect(signed, chunks, hub), rows);
    }
  });

  it('cuts exact slices: input of exactly one and two chunk sizes', async () => {
    const r = { a: 'x'.repeat(55) }; // 63 bytes of JSON + LF = 64
    for (const rows of [[r], [r, r]]) {
      const { signed, chunks } = await drain(rows, { chunkSize: 64, compression: 'none' });
      assert.equal(signed.header.plainBytes, 64 * rows.length);
      assert.equal(signed.header.chunkCount, rows.length);
      assert.deepEqual(
        [...chunks.values()].map((c) => c.length),
        rows.map(() => 64 + 16),
      );
      assert.deepEqual(await collect(signed, chunks, hub), rows);
    }
  });

  it('builds an empty package and a delta', async () => {
    const empty = await drain([]);
    assert.equal(empty.signed.header.chunkCount, 1);
    assert.deepEqual(await collect(empty.signed, empty.chunks, hub), []);
    const delta = await drain([{ op: 'delete', key: 'a' }], { kind: 'delta', baseVersion: 6 });
    assert.equal(delta.signed.header.baseVersion, 6);
    assert.deepEqual(await collect(delta.signed, delta.chunks, hub), [{ op: 'delete', key: 'a' }]);
  });

  it('takes NDJSON pieces that cut through lines and characters, mixed with rows, and hands sealed slices back', async () => {
    const chunkSize = 4096;
    const rows = Array.from({ length: 400 }, (_, i) => row(i));
    const text = new TextEncoder().encode(
      rows
        .slice(0, 300)
        .map((r) => JSON.stringify(r) + '\n')
        .join(''),
    );
    const lines = (b: Uint8Array) => b.reduce((n, x) => n + (x === 0x0a ? 1 : 0), 0);
    // A whole slice on a slice boundary (taken over without a copy), then cuts of 777 bytes anywhere.
    const whole = text.slice(0, chunkSize);
    const pieces = [new NdjsonBlock(whole, lines(whole))];
    for (let at = chunkSize; at < text.length; at += 777) {
      const b = text.slice(at, Math.min(at + 777, text.length));
      pieces.push(new NdjsonBlock(b, lines(b)));
    }
    const recycled: Uint8Array[] = [];
    const { signed, chunks } = await drain([...pieces, ...rows.slice(300)], { chunkSize, recycle: (b) => recycled.push(b) });
    assert.equal(signed.header.rowCount, 400);
    assert.deepEqual(await collect(signed, chunks, hub), rows);
    assert.equal(whole.byteLength, 0, 'the whole-slice piece went to a worker as it was');
    assert.equal(recycled.length, Math.floor(signed.header.plainBytes / chunkSize));
    assert.ok(recycled.every((b) => b.length === chunkSize));
  });

  it('refuses NDJSON pieces that leave a line open', async () => {
    assert.throws(() => new NdjsonBlock(new Uint8Array(2), 3), RangeError);
    const open = () => new NdjsonBlock(new TextEncoder().encode('{"a":1}\n{"b":'), 1);
    for (const input of [[open(), { c: 1 }], [open()]]) {
      const build = buildPackage(input, options());
      await assert.rejects(async () => {
        for await (const _ of build.chunks);
      }, TypeError);
    }
  });

  it('refuses bad options before reading any row, and rows that are not objects', async () => {
    assert.throws(() => buildPackage([], options({ kind: 'delta', baseVersion: null })));
    assert.throws(() => buildPackage([], options({ chunkSize: 10 })));
    assert.throws(() => buildPackage([], options({ recipients: [] })));
    const build = buildPackage([{ a: 1 }, [1, 2] as unknown as object], options());
    await assert.rejects(async () => {
      for await (const _ of build.chunks);
    }, TypeError);
    await assert.rejects(build.header, TypeError);
  });

  it('refuses tampering, truncation and non-recipients, and releases no row of a package that fails', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => row(i));
    const { signed, chunks } = await drain(rows, { chunkSize: 8192 });
    const n = signed.header.chunkCount;
    assert.ok(n >= 4);
    const tampered = new Map(chunks);
    const last = tampered.get(n - 1)!.slice();
    last[last.length - 20]! ^= 1;
    tampered.set(n - 1, last);
    let released = 0;
    const code = await codeOf(
      (async () => {
        for await (const _ of openPackage(signed, tampered, hub, { senderKeys: sender.publicKey, pool })) released++;
      })(),
    );
    assert.equal(code, 'PACKAGE_CHUNK_INVALID');
    assert.equal(released, 0, 'rows were released before the body was verified');

    const swapped = new Map(chunks);
    swapped.set(0, chunks.get(1)!);
    swapped.set(1, chunks.get(0)!);
    assert.equal(await codeOf(collect(signed, swapped, hub)), 'PACKAGE_CHUNK_INVALID');
    const truncated = new Map(chunks);
    truncated.delete(n - 1);
    assert.equal(await codeOf(collect(signed, truncated, hub)), 'PACKAGE_TRUNCATED');
    assert.equal(await codeOf(collect(signed, chunks, consumer)), 'PACKAGE_NOT_RECIPIENT');
    assert.equal(await codeOf(collect({ ...signed, header: { ...signed.header, newVersion: 8 } }, chunks, hub)), 'PACKAGE_BAD_SIGNATURE');
  });

  it('lets the hub re-seal for a consumer, who then reads the same chunks', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => row(i));
    const { signed, chunks } = await drain(rows);
    const entry = resealForRecipient(verifyHeader(signed, sender.publicKey), hub, { nodeId: 'county-410803', publicKey: consumer.publicKey });
    const shared: SignedPackageHeader = withRecipient(signed, entry);
    assert.deepEqual(await collect(shared, (i) => chunks.get(i), consumer), rows);
  });

  it('opens every golden vector case to its rows or its code', async () => {
    const v = JSON.parse(readFileSync(PACKAGE_VECTORS_FILE, 'utf8')) as PackageVectorsFile;
    const keys = Object.fromEntries(v.keys.filter((k) => k.secretKeyHex).map((k) => [k.name, { publicKey: fromBase64(k.publicKey), secretKey: sodium().from_hex(k.secretKeyHex!) }]));
    const lookup = (id: string) => (v.senders[id] ? fromBase64(v.senders[id]) : undefined);
    for (const c of v.cases) {
      const chunks = new Map<number, Uint8Array>();
      c.chunksHex.forEach((h, i) => h !== null && chunks.set(i, sodium().from_hex(h)));
      const rows: unknown[] = [];
      const got = await codeOf(
        (async () => {
          for await (const r of openPackage(c.signedHeader, chunks, keys[c.recipient]!, { senderKeys: lookup, pool })) rows.push(r);
        })(),
      );
      assert.equal(got, c.expect, c.name);
      if (c.expect === 'valid') assert.deepEqual(rows, c.rows, c.name);
    }
  });

  it('streams 50 MB of rows: chunks come out long before the input ends, read-ahead stays bounded, the event loop stays responsive', async (t) => {
    const target = 50 * 1024 * 1024;
    const chunkSize = 256 * 1024;
    let produced = 0; // NDJSON bytes handed to the builder so far (approximately: JSON length + 1)
    let done = false;
    async function* rows() {
      for (let i = 0; produced < target; i++) {
        const r = row(i);
        produced += Buffer.byteLength(JSON.stringify(r)) + 1;
        yield r;
      }
      done = true;
    }
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const build = buildPackage(rows(), options({ chunkSize, pool }));
    let firstAt = -1;
    let maxAhead = 0;
    let count = 0;
    let cipherBytes = 0;
    for await (const c of build.chunks) {
      if (firstAt < 0) firstAt = produced;
      // When chunk i comes out, the builder has read at most its slices, the pool window and one batch ahead.
      maxAhead = Math.max(maxAhead, produced - (c.index + 1) * chunkSize);
      assert.equal(c.index, count++);
      cipherBytes += c.bytes.length;
    }
    delay.disable();
    const signed = await build.header;
    assert.ok(done);
    assert.equal(signed.header.chunkCount, count);
    assert.equal(signed.header.cipherBytes, cipherBytes);
    assert.ok(signed.header.plainBytes >= target);
    assert.ok(firstAt < target / 10, `first chunk only after ${firstAt} bytes`);
    const bound = (2 * pool.size + 2) * chunkSize + 128 * 1024;
    assert.ok(maxAhead <= bound, `read ahead ${maxAhead} > ${bound}`);
    const maxMs = delay.max / 1e6;
    t.diagnostic(
      `first chunk after ${firstAt} input bytes; max read-ahead ${maxAhead} (bound ${bound}); event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${maxMs.toFixed(1)} ms`,
    );
    assert.ok(maxMs < 500, `event loop blocked for ${maxMs} ms`);
  });
});
