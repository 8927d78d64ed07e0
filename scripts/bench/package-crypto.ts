/**
 * @module Data package figures (issue 4): 200 MB of generated NDJSON rows (about 1.6 M citizen-register
 * rows) built into a package — serialise, cut into 256 KiB slices, deflate-raw, MAC, XChaCha20-Poly1305,
 * hash, sign — through the worker pool (`package.build.mb_per_s`), and opened again — verify every chunk,
 * decrypt, inflate, parse every row (`package.open.mb_per_s`). Baseline for both: the same rows through
 * bare libsodium crypto_secretstream_xchacha20poly1305 in 256 KiB messages in one thread (serialise +
 * push; pull + parse), no compression and no hashing. MB = 10^6 bytes of NDJSON. Each figure also carries
 * the main thread's worst event-loop stall on both sides (what the pool is for). Median of 3 rounds, sides alternating.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { keySigner } from '../../protocol/audit-checkpoint.ts';
import { schemaHashOf, type SignedPackageHeader } from '../../protocol/data-package.ts';
import { signingKeyPairFromSeed } from '../../protocol/keys.ts';
import { loadSodium, sodium } from '../../protocol/sodium.ts';
import { buildPackage, openPackage } from '../../engine/package/builder.ts';
import { CryptoPool } from '../../engine/package/crypto-pool.ts';
import { report, type Figure } from './harness.ts';

const CHUNK = 256 * 1024;

function row(i: number): Record<string, unknown> {
  return {
    id: i,
    姓名: `张${'伟芳娜敏静丽强磊军洋'[i % 10]}${i % 1000}`,
    公民身份号码: `41080219${String(60 + (i % 40))}0101${String(i % 10000).padStart(4, '0')}`,
    户籍地址: `河南省焦作市解放区民主路${i % 500}号${i % 30}栋`,
    登记日期: `20${String(10 + (i % 15))}-0${1 + (i % 9)}-1${i % 10}`,
    金额: (i * 37) % 100_003,
    备注: i % 50 === 0 ? '户口迁入，原籍河南省新乡市' : null,
  };
}

async function* rows(targetBytes: number, seen: { bytes: number }): AsyncGenerator<Record<string, unknown>> {
  for (let i = 0; seen.bytes < targetBytes; i++) {
    const r = row(i);
    seen.bytes += Buffer.byteLength(JSON.stringify(r)) + 1;
    yield r;
  }
}

/** Run `fn`, timing it and the longest stretch in which a 1 ms interval timer could not fire (the main thread was busy). */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; maxDelayMs: number }> {
  let last = performance.now();
  let worst = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  const value = await fn();
  const end = performance.now();
  clearInterval(probe);
  worst = Math.max(worst, end - last);
  return { value, seconds: (end - t0) / 1000, maxDelayMs: Math.round(worst * 10) / 10 };
}

/** The baseline sender: same rows and batching, exact 256 KiB messages, secretstream push, one thread. */
async function secretstreamPush(targetBytes: number, key: Uint8Array): Promise<{ header: Uint8Array; parts: Uint8Array[]; bytes: number }> {
  const s = sodium();
  const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  const buf = new Uint8Array(CHUNK);
  let fill = 0;
  let bytes = 0;
  let batch: string[] = [];
  let chars = 0;
  const absorb = () => {
    const b = enc.encode(batch.join('\n') + '\n');
    batch = [];
    chars = 0;
    bytes += b.length;
    for (let at = 0; at < b.length; ) {
      const n = Math.min(CHUNK - fill, b.length - at);
      buf.set(b.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === CHUNK) {
        parts.push(s.crypto_secretstream_xchacha20poly1305_push(state, buf, null, s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE));
        fill = 0;
      }
    }
  };
  for await (const r of rows(targetBytes, { bytes: 0 })) {
    const line = JSON.stringify(r);
    batch.push(line);
    chars += line.length;
    if (chars >= 64 * 1024) absorb();
  }
  if (batch.length) absorb();
  parts.push(s.crypto_secretstream_xchacha20poly1305_push(state, buf.subarray(0, fill), null, s.crypto_secretstream_xchacha20poly1305_TAG_FINAL));
  return { header, parts, bytes };
}

function secretstreamPull(key: Uint8Array, header: Uint8Array, parts: Uint8Array[]): number {
  const s = sodium();
  const state = s.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
  const dec = new TextDecoder('utf-8', { fatal: true });
  let carry = '';
  let n = 0;
  for (const p of parts) {
    const { message } = s.crypto_secretstream_xchacha20poly1305_pull(state, p, null) as { message: Uint8Array; tag: number };
    const lines = (carry + dec.decode(message, { stream: true })).split('\n');
    carry = lines.pop()!;
    for (const l of lines) if (JSON.parse(l)) n++;
  }
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchPackageCrypto(opts: { mb?: number; rounds?: number } = {}): Promise<Figure[]> {
  await loadSodium();
  const target = (opts.mb ?? Number(process.env.BENCH_PACKAGE_MB ?? 200)) * 1e6;
  const rounds = opts.rounds ?? Number(process.env.BENCH_PACKAGE_ROUNDS ?? 3);
  const signerKeys = signingKeyPairFromSeed(new Uint8Array(32).fill(1));
  const signer = keySigner('county-410802', signerKeys.secretKey);
  const senderKeys = signerKeys.publicKey;
  const hub = sodium().crypto_box_keypair();
  const me = { publicKey: hub.publicKey, secretKey: hub.privateKey };
  const pool = new CryptoPool();
  try {
    // Warm the workers (tsx start-up and libsodium compile are not part of the figure).
    await pool.seal({
      contentKey: new Uint8Array(32),
      ctx: { packageId: '01943a5c-7b3c-7d4e-8f50-1a2b3c4d5e6f', noncePrefix: 'AAAAAAAAAAAAAAAAAAAAAA==' },
      index: 0,
      isLast: true,
      plain: new Uint8Array(1),
      compression: 'deflate-raw',
      level: 1,
    });
    await Promise.all(
      Array.from({ length: pool.size }, () =>
        pool
          .verify({
            contentKey: new Uint8Array(32),
            ctx: { packageId: '01943a5c-7b3c-7d4e-8f50-1a2b3c4d5e6f', noncePrefix: 'AAAAAAAAAAAAAAAAAAAAAA==' },
            index: 0,
            isLast: true,
            bytes: new Uint8Array(16),
            compression: 'none',
            plainLength: 0,
          })
          .catch(() => {}),
      ),
    );

    const sides = { build: [] as number[], push: [] as number[], open: [] as number[], pull: [] as number[] };
    const delays = { build: 0, push: 0, open: 0, pull: 0 };
    let h: SignedPackageHeader['header'] | undefined;
    for (let round = 0; round < rounds; round++) {
      const built = await timed(async () => {
        const b = buildPackage(rows(target, { bytes: 0 }), {
          signer,
          resource: '410802-0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b',
          resourceCode: null,
          schemaHash: schemaHashOf([]),
          kind: 'snapshot',
          baseVersion: null,
          newVersion: 1,
          recipients: [{ nodeId: 'hub-410800', publicKey: hub.publicKey }],
          pool,
          chunkSize: CHUNK,
        });
        const chunks = new Map<number, Uint8Array>();
        for await (const c of b.chunks) chunks.set(c.index, c.bytes);
        return { chunks, signed: await b.header };
      });
      const key = sodium().crypto_secretstream_xchacha20poly1305_keygen();
      const pushed = await timed(() => secretstreamPush(target, key));
      h = built.value.signed.header;
      const opened = await timed(async () => {
        let n = 0;
        for await (const _ of openPackage(built.value.signed, built.value.chunks, me, { senderKeys, pool })) n++;
        return n;
      });
      const pulled = await timed(async () => secretstreamPull(key, pushed.value.header, pushed.value.parts));
      if (opened.value !== h.rowCount || pulled.value !== h.rowCount || pushed.value.bytes !== h.plainBytes) throw new Error(`inputs differ: ${opened.value} / ${pulled.value} / ${h.rowCount} rows`);
      const mbs = (secs: number) => h!.plainBytes / 1e6 / secs;
      sides.build.push(mbs(built.seconds));
      sides.push.push(mbs(pushed.seconds));
      sides.open.push(mbs(opened.seconds));
      sides.pull.push(mbs(pulled.seconds));
      delays.build = Math.max(delays.build, built.maxDelayMs);
      delays.push = Math.max(delays.push, pushed.maxDelayMs);
      delays.open = Math.max(delays.open, opened.maxDelayMs);
      delays.pull = Math.max(delays.pull, pulled.maxDelayMs);
    }
    h = h!;
    const common = { rows: h.rowCount, plainMB: Math.round(h.plainBytes / 1e6), packageMB: Math.round(h.cipherBytes / 1e5) / 10, workers: pool.size, rounds };
    return [
      report({ name: 'package.build.mb_per_s', value: median(sides.build), unit: 'MB/s', baseline: median(sides.push), ...common, maxLoopDelayMs: delays.build, baselineMaxLoopDelayMs: delays.push }),
      report({ name: 'package.open.mb_per_s', value: median(sides.open), unit: 'MB/s', baseline: median(sides.pull), ...common, maxLoopDelayMs: delays.open, baselineMaxLoopDelayMs: delays.pull }),
    ];
  } finally {
    await pool.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await benchPackageCrypto();
