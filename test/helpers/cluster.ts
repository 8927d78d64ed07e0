/**
 * @module A real test cluster: one nats-server (JetStream in a temp dir), one hub and N county
 * nodes, each with its own temp data directory and SQLite file, running in-process with real
 * HTTP servers. Nodes are registered at the hub and given department tokens, as an operator would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type RunningHub } from '../../hub/app.ts';
import { initHub } from '../../hub/init.ts';
import { startNode, type RunningNode } from '../../node/app.ts';
import { initNode } from '../../node/init.ts';
import { createLogger } from '../../engine/log.ts';
import { NatsServer } from './nats-server.ts';

export const MUNI = '410800';

export interface ClusterNode {
  dir: string;
  county: string;
  token: string;
  running: RunningNode | null;
  publicKey: string;
}

export class Cluster {
  nats!: NatsServer;
  hubDir!: string;
  hub: RunningHub | null = null;
  hubToken = '';
  hubKey = '';
  readonly nodes: ClusterNode[] = [];
  private readonly root = mkdtempSync(join(tmpdir(), 'jilian-cluster-'));
  readonly logFile = join(this.root, 'cluster.log');
  readonly log = createLogger('test', { file: this.logFile, level: process.env.JILIAN_TEST_LOG_LEVEL ?? 'info' });

  static async start(counties: string[], opts: { antiEntropyMs?: number } = {}): Promise<Cluster> {
    const c = new Cluster();
    c.nats = await NatsServer.start();
    c.hubDir = join(c.root, 'hub');
    const hub = await initHub(c.hubDir, { municipality: MUNI, municipalityName: '测试市', nats: [c.nats.url], httpPort: 0, streamCheckMs: 300 });
    c.hubToken = hub.operatorToken;
    c.hubKey = hub.publicKey;
    await c.startHub();
    for (const county of counties) {
      const dir = join(c.root, `node-${county}`);
      const { publicKey, config } = await initNode(dir, {
        county,
        countyName: `测试县${county}`,
        municipality: MUNI,
        nats: [c.nats.url],
        httpPort: 0,
        hubId: hub.config.nodeId,
        hubKey: hub.publicKey,
        antiEntropyMs: opts.antiEntropyMs ?? 60_000,
      });
      c.hub!.registry.register({ nodeId: config.nodeId, county, publicKey }, new Date());
      const node: ClusterNode = { dir, county, token: '', running: null, publicKey };
      await c.startNode(node);
      node.token = node.running!.departments.issue(deptOf(county), `${county}公安局`, new Date());
      c.nodes.push(node);
    }
    return c;
  }

  async startHub(): Promise<RunningHub> {
    this.hub = await startHub(this.hubDir, { log: this.log.child({ side: 'hub' }), httpPort: 0 });
    return this.hub;
  }

  async startNode(node: ClusterNode): Promise<RunningNode> {
    node.running = await startNode(node.dir, { log: this.log.child({ side: node.county }), httpPort: 0 });
    return node.running;
  }

  node(county: string): ClusterNode {
    const n = this.nodes.find((x) => x.county === county);
    if (!n) throw new Error(`no node ${county}`);
    return n;
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.running?.close().catch(() => undefined);
    await this.hub?.close().catch(() => undefined);
    await this.nats?.cleanup();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The department code the cluster issues a token for at each county. */
export function deptOf(county: string): string {
  return `GA${county}`;
}

/** Call an HTTP API with a bearer token; returns status and parsed JSON. */
export async function api(base: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Poll `probe` until it returns a truthy value, or fail after `timeoutMs` with `what` in the message. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
