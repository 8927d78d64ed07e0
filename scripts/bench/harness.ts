/** @module Benchmark harness: a real nats-server, hub and county nodes as separate `jilian` processes. */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initHub } from '../../hub/init.ts';
import { HubConfig } from '../../hub/config.ts';
import { readConfig, writeConfig } from '../../engine/cli/config-file.ts';
import { HUB_MIGRATIONS } from '../../hub/storage/migrations.ts';
import { NodeRegistry } from '../../hub/storage/registry.ts';
import { initNode } from '../../node/init.ts';
import { NODE_MIGRATIONS } from '../../node/storage/migrations.ts';
import { DepartmentStore } from '../../node/storage/departments.ts';
import { openDatabase } from '../../engine/storage/db.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { NatsServer } from '../../test/helpers/nats-server.ts';
import { spawnService, type ChildService } from '../../test/helpers/process.ts';

export interface BenchCluster {
  nats: NatsServer;
  hubDir: string;
  hub: ChildService;
  hubToken: string;
  nodes: { county: string; dept: string; token: string; dir: string; svc: ChildService }[];
  stop(): Promise<void>;
}

export async function startBenchCluster(muni: string, counties: string[], opts: { hubConfig?: Record<string, unknown> } = {}): Promise<BenchCluster> {
  await loadSodium();
  const root = mkdtempSync(join(tmpdir(), 'jilian-bench-'));
  const nats = await NatsServer.start();
  const hubDir = join(root, 'hub');
  const hub = await initHub(hubDir, { municipality: muni, municipalityName: '基准市', nats: [nats.url], httpPort: 0 });
  if (opts.hubConfig) writeConfig(hubDir, { ...readConfig(hubDir, HubConfig), ...opts.hubConfig });
  const hubDb = openDatabase(join(hubDir, hub.config.database), HUB_MIGRATIONS);
  const prepared: { county: string; dept: string; token: string; dir: string }[] = [];
  for (const county of counties) {
    const dir = join(root, `node-${county}`);
    const { config, publicKey, encryptionKey } = await initNode(dir, {
      county,
      countyName: county,
      municipality: muni,
      nats: [nats.url],
      httpPort: 0,
      hubId: hub.config.nodeId,
      hubKey: hub.publicKey,
      hubEncryptionKey: hub.encryptionKey,
    });
    new NodeRegistry(hubDb).register({ nodeId: config.nodeId, county, publicKey, encryptionKey }, new Date());
    const db = openDatabase(join(dir, config.database), NODE_MIGRATIONS);
    const dept = `GA${county}`;
    const token = new DepartmentStore(db).issue(dept, `${county}公安局`, new Date());
    db.close();
    prepared.push({ county, dept, token, dir });
  }
  hubDb.close();
  const hubSvc = await spawnService('hub', hubDir);
  const nodes: BenchCluster['nodes'] = [];
  for (const p of prepared) nodes.push({ county: p.county, dept: p.dept, token: p.token, dir: p.dir, svc: await spawnService('node', p.dir) });
  return {
    nats,
    hubDir,
    hub: hubSvc,
    hubToken: hub.operatorToken,
    nodes,
    async stop() {
      // BENCH_PROFILE=1 (with NODE_OPTIONS=--cpu-prof): stop cleanly so each process writes its CPU profile.
      const stopOne = (s: ChildService) => (process.env.BENCH_PROFILE ? s.term() : s.kill9());
      for (const n of nodes) await stopOne(n.svc);
      await stopOne(hubSvc);
      await nats.cleanup();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export async function call(url: string, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json).slice(0, 500)}`);
  return json;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 256 });

/**
 * `call` for load loops: node:http over kept-alive sockets. The load generator shares the 2 cores with
 * the processes it measures, and fetch (undici) costs it several times more CPU per call than this.
 */
export function callFast(url: string, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url + path,
      {
        method,
        agent: keepAlive,
        headers: { authorization: `Bearer ${token}`, ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          try {
            const json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if ((res.statusCode ?? 500) >= 400) reject(new Error(`${method} ${path} → ${res.statusCode}: ${JSON.stringify(json).slice(0, 500)}`));
            else resolve(json);
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  [extra: string]: unknown;
}

/** One JSON line per figure on stdout; ratio = value / baseline. */
export function report(f: { name: string; value: number; unit: string; baseline: number; ratio?: number; [extra: string]: unknown }): Figure {
  const fig = { ...f, value: round(f.value), baseline: round(f.baseline), ratio: round(f.ratio ?? f.value / f.baseline) } as Figure;
  console.log(JSON.stringify(fig));
  return fig;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
