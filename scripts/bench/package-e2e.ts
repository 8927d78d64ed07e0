/**
 * @module `package.mb_per_s` (issue 4): one snapshot package of a ~500 MB resource (the 10-column
 * population table of the import benchmark, imported with `jilian node import`), forced with the
 * node's package request, through real processes: the node reads the table at one version (a reader
 * thread; SQLite serialises the rows), builds (compress, encrypt on the worker pool), signs, spools and
 * publishes the chunks to JetStream and offers the header; the hub fetches every chunk, checks it
 * against the signed header and stores it. Timed from the node's build start (`packages_sent.created_at`)
 * to the hub's `packages.stored_at`; MB = 10^6 bytes of the package's NDJSON plaintext. Not in the
 * timed span: the reader thread's start and snapshot just before (~0.1–0.2 s). In it: the start of the
 * crypto pool's workers (~0.5 s of CPU, first package of a fresh node only).
 *
 * Baselines in the same run, over the same plaintext bytes (read back from the table the same way and
 * cut into the same 256 KiB slices, held in memory): bare libsodium crypto_secretstream_xchacha20poly1305
 * push in one thread, and bare JetStream publish of the slices to a file stream on the same nats-server
 * (32 publishes in flight). The goal compares with the slower of the two.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { loadSodium, sodium } from '../../protocol/sodium.ts';
import { readConfig } from '../../engine/cli/config-file.ts';
import { NodeConfig } from '../../node/config.ts';
import { readNdjson } from '../../node/packages/table-rows.ts';
import { queuePackageRequest } from '../../node/packages/schedule.ts';
import { getTable } from '../../node/staging/table-schema.ts';
import { HubConfig } from '../../hub/config.ts';
import { waitFor } from '../../test/helpers/cluster.ts';
import { PERSON_ITEMS, writePersonCsv } from '../../test/helpers/frontend.ts';
import { sampleFor } from '../../test/helpers/entries.ts';
import { call, report, startBenchCluster, type Figure } from './harness.ts';

const BIN = fileURLToPath(new URL('../../bin/jilian.mjs', import.meta.url));
const SLICE = 256 * 1024;
const run = promisify(execFile);

/** The package's plaintext, re-read from the table as the packager reads it, in 256 KiB slices. */
function plaintextSlices(file: string, entryId: string): Buffer[] {
  const db = new Database(file, { readonly: true });
  const table = getTable(db, entryId)!;
  const slices: Buffer[] = [];
  let cur = Buffer.allocUnsafe(SLICE);
  let fill = 0;
  for (const block of readNdjson(db, table, 'snapshot', null)) {
    const b = block.bytes;
    for (let at = 0; at < b.length; ) {
      const n = Math.min(SLICE - fill, b.length - at);
      cur.set(b.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === SLICE) {
        slices.push(cur);
        cur = Buffer.allocUnsafe(SLICE);
        fill = 0;
      }
    }
  }
  slices.push(cur.subarray(0, fill));
  db.close();
  return slices;
}

export async function benchPackageEndToEnd(opts: { rows?: number } = {}): Promise<Figure[]> {
  await loadSodium();
  const rows = opts.rows ?? Number(process.env.BENCH_PACKAGE_E2E_ROWS ?? 2_000_000);
  const root = mkdtempSync(join(tmpdir(), 'jilian-bench-pkg-'));
  const c = await startBenchCluster('410800', ['410802']);
  try {
    const n = c.nodes[0]!;
    const dataItems = PERSON_ITEMS.map((i) => ({ ...i, sensitive: false, identifier: i.identifier ?? null }));
    const entry = await call(n.svc.url, n.token, 'POST', '/api/v1/catalog/entries', sampleFor(n.dept, 0, { dataItems, sharingMethods: ['api', 'table'], updateCycle: 'irregular' }));
    const csv = join(root, 'people.csv');
    await writePersonCsv(csv, rows);
    await run(process.execPath, [BIN, 'node', 'import', entry.id, csv, '-d', n.dir], { maxBuffer: 1 << 24 });

    const nodeDbFile = join(n.dir, readConfig(n.dir, NodeConfig).database);
    const hubDbFile = join(c.hubDir, readConfig(c.hubDir, HubConfig).database);
    const nodeDb = new Database(nodeDbFile);
    const hubDb = new Database(hubDbFile, { readonly: true });
    queuePackageRequest(nodeDb, entry.id, { snapshot: true, requestedBy: 'bench', at: new Date() });
    // The moment the build ended (the offer was queued), seen by polling, splits node and hub time.
    let offeredAt = 0;
    const sent = await waitFor(
      'package stored',
      () => {
        const r = nodeDb.prepare('SELECT package_id AS id, created_at AS at, state FROM packages_sent WHERE resource = ? AND grant_id IS NULL').get(entry.id) as
          | { id: string; at: string; state: string }
          | undefined;
        if (r?.state === 'offered' && !offeredAt) offeredAt = Date.now();
        return r?.state === 'stored' ? r : undefined;
      },
      20 * 60_000,
    );
    const stored = hubDb.prepare('SELECT stored_at AS at, offered_at AS offered, signed_header AS h FROM packages WHERE package_id = ?').get(sent.id) as { at: string; offered: string; h: string };
    const header = JSON.parse(stored.h).header as { plainBytes: number; cipherBytes: number; rowCount: number; chunkCount: number };
    const seconds = (Date.parse(stored.at) - Date.parse(sent.at)) / 1000;
    nodeDb.close();
    hubDb.close();

    const slices = plaintextSlices(nodeDbFile, entry.id);
    const plain = slices.reduce((a, s) => a + s.length, 0);
    if (plain !== header.plainBytes) throw new Error(`baseline plaintext ${plain} B ≠ package ${header.plainBytes} B`);

    const s = sodium();
    const key = s.crypto_secretstream_xchacha20poly1305_keygen();
    const t0 = performance.now();
    const { state } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
    slices.forEach((p, i) =>
      s.crypto_secretstream_xchacha20poly1305_push(state, p, null, i === slices.length - 1 ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE),
    );
    const secretstreamMBs = plain / 1e6 / ((performance.now() - t0) / 1000);

    const nc = await connect({ servers: c.nats.url });
    let jetstreamMBs: number;
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['bench.raw.>'], storage: 'file' as never, max_msg_size: 1024 * 1024 });
      const js = jetstream(nc);
      const t1 = performance.now();
      const inflight = new Set<Promise<unknown>>();
      for (let i = 0; i < slices.length; i++) {
        const p: Promise<unknown> = js.publish(`bench.raw.${i}`, slices[i]!, { timeout: 60_000 }).finally(() => inflight.delete(p));
        inflight.add(p);
        if (inflight.size >= 32) await Promise.race(inflight);
      }
      await Promise.all(inflight);
      jetstreamMBs = plain / 1e6 / ((performance.now() - t1) / 1000);
      await jsm.streams.delete('BENCH_RAW');
    } finally {
      await nc.close();
    }

    const slower = Math.min(secretstreamMBs, jetstreamMBs);
    return [
      report({
        name: 'package.mb_per_s',
        value: plain / 1e6 / seconds,
        unit: 'MB/s',
        baseline: slower,
        goal: 'ratio ≥ 0.5 (vs the slower baseline)',
        rows: header.rowCount,
        plainMB: Math.round(plain / 1e6),
        packageMB: Math.round(header.cipherBytes / 1e5) / 10,
        chunks: header.chunkCount,
        seconds: Math.round(seconds * 10) / 10,
        nodeBuildSeconds: offeredAt ? Math.round((offeredAt - Date.parse(sent.at)) / 100) / 10 : null,
        // From the hub's receipt of the offer to stored: fetching, storing and checking every chunk.
        hubSeconds: Math.round((Date.parse(stored.at) - Date.parse(stored.offered)) / 100) / 10,
        secretstreamMBs: Math.round(secretstreamMBs * 10) / 10,
        jetstreamMBs: Math.round(jetstreamMBs * 10) / 10,
      }),
    ];
  } finally {
    await c.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
