/**
 * @module A real test cluster: one nats-server (JetStream in a temp dir), one hub and N county
 * nodes, each with its own temp data directory and SQLite file, running in-process with real
 * HTTP servers. Nodes are registered at the hub and given department tokens, as an operator would.
 */
import type { Clock } from '../../engine/clock.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { startHub, type RunningHub } from '../../hub/app.ts';
import { startNode, type RunningNode } from '../../node/app.ts';
import { initNode } from '../../node/init.ts';
import { createLogger } from '../../engine/log.ts';
import { NatsServer } from './nats-server.ts';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { readConfig, writeConfig } from '../../engine/cli/config-file.ts';
import { NodeConfig } from '../../node/config.ts';
import { HubConfig } from '../../hub/config.ts';
import { HUB_NATS_SEED_FILE, initHub } from '../../hub/init.ts';
import { renderNatsConfig } from '../../hub/nats-config.ts';
import { HUB_MIGRATIONS } from '../../hub/storage/migrations.ts';
import { NodeRegistry } from '../../hub/storage/registry.ts';
import { publicKeyOfSeed, readSeedFile } from '../../engine/nats/auth.ts';
import { streamNames } from '../../protocol/subjects.ts';
import { openDatabase } from '../../engine/storage/db.ts';
import { NODE_MIGRATIONS } from '../../node/storage/migrations.ts';
import { DepartmentStore } from '../../node/storage/departments.ts';
import { AccountStore } from '../../engine/accounts/store.ts';
import type { Role } from '../../engine/accounts/roles.ts';

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
  hubEncryptionKey = '';
  readonly nodes: ClusterNode[] = [];
  private readonly root = mkdtempSync(join(tmpdir(), 'jilian-cluster-'));
  readonly logFile = join(this.root, 'cluster.log');
  readonly log = createLogger('test', { file: this.logFile, level: process.env.JILIAN_TEST_LOG_LEVEL ?? 'info' });

  /** Clock of the hub (tests of deadlines inject one). */
  hubClock: Clock | undefined;

  static async start(
    counties: string[],
    opts: { antiEntropyMs?: number; natsConfig?: string; natsAuth?: boolean; hubPolicy?: string; hubClock?: Clock; hubConfig?: Record<string, unknown>; nodeConfig?: Record<string, unknown> } = {},
  ): Promise<Cluster> {
    const c = new Cluster();
    c.hubClock = opts.hubClock;
    if (opts.natsAuth) return c.startWithNatsAuth(counties, opts);
    c.nats = await NatsServer.start({ config: opts.natsConfig });
    c.hubDir = join(c.root, 'hub');
    const hub = await initHub(c.hubDir, { municipality: MUNI, municipalityName: '测试市', nats: [c.nats.url], httpPort: 0, streamCheckMs: 300 });
    c.hubToken = hub.operatorToken;
    c.hubKey = hub.publicKey;
    c.hubEncryptionKey = hub.encryptionKey;
    if (opts.hubPolicy || opts.hubConfig) writeConfig(c.hubDir, { ...readConfig(c.hubDir, HubConfig), ...(opts.hubPolicy ? { policy: opts.hubPolicy } : {}), ...opts.hubConfig });
    await c.startHub();
    for (const county of counties) {
      const node = await c.addNode(county, opts.antiEntropyMs);
      if (opts.nodeConfig) writeConfig(node.dir, { ...readConfig(node.dir, NodeConfig), ...opts.nodeConfig });
      await c.startNode(node);
    }
    return c;
  }

  /**
   * Everything logs in to NATS with its own nkey under the configuration `jilian hub nats-config`
   * generates: keys are made first, the server starts with their permissions, then hub and nodes.
   */
  private async startWithNatsAuth(counties: string[], opts: { antiEntropyMs?: number; natsConfig?: string }): Promise<Cluster> {
    const port = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    this.hubDir = join(this.root, 'hub');
    const hub = await initHub(this.hubDir, { municipality: MUNI, municipalityName: '测试市', nats: [url], httpPort: 0, streamCheckMs: 300, natsAuth: true });
    this.hubToken = hub.operatorToken;
    this.hubKey = hub.publicKey;
    this.hubEncryptionKey = hub.encryptionKey;
    const hubDb = openDatabase(join(this.hubDir, hub.config.database), HUB_MIGRATIONS);
    const registry = new NodeRegistry(hubDb);
    const users: { nodeId: string; county: string; nkey: string; status: 'active' }[] = [];
    for (const county of counties) {
      const dir = join(this.root, `node-${county}`);
      const init = await initNode(dir, {
        county,
        countyName: `测试县${county}`,
        municipality: MUNI,
        nats: [url],
        httpPort: 0,
        hubId: hub.config.nodeId,
        hubKey: hub.publicKey,
        hubEncryptionKey: hub.encryptionKey,
        antiEntropyMs: opts.antiEntropyMs ?? 60_000,
        natsSeed: true,
      });
      registry.register({ nodeId: init.config.nodeId, county, publicKey: init.publicKey, encryptionKey: init.encryptionKey, natsNkey: init.natsNkey! }, new Date());
      users.push({ nodeId: init.config.nodeId, county, nkey: init.natsNkey!, status: 'active' });
      const db = openDatabase(join(dir, init.config.database), NODE_MIGRATIONS);
      const token = new DepartmentStore(db).issue(deptOf(county), `${county}公安局`, new Date());
      db.close();
      this.nodes.push({ dir, county, token, running: null, publicKey: init.publicKey });
    }
    hubDb.close();
    // nats-server includes the authorization file the hub keeps current and reloads on SIGHUP.
    const authFile = join(this.root, 'nats-auth.conf');
    writeFileSync(authFile, renderNatsConfig({ municipality: MUNI, hub: { nkey: publicKeyOfSeed(readSeedFile(join(this.hubDir, HUB_NATS_SEED_FILE))) }, nodes: users }));
    // nats-server resolves `include` relative to its own config file, which the helper puts in a fresh
    // directory directly under the system temp dir, beside this cluster's root.
    const include = `../${basename(this.root)}/nats-auth.conf`;
    this.nats = await NatsServer.start({ port, config: `include ${JSON.stringify(include)}\n${opts.natsConfig ?? ''}` });
    writeConfig(this.hubDir, { ...readConfig(this.hubDir, HubConfig), natsAuthFile: authFile, natsReloadCommand: ['kill', '-HUP', String(this.nats.pid)] });
    await this.startHub();
    for (const n of this.nodes) await this.startNode(n);
    return this;
  }

  /** Initialise a county node's directory, register it at the hub and issue its department token (not started). */
  async addNode(county: string, antiEntropyMs = 60_000): Promise<ClusterNode> {
    const dir = join(this.root, `node-${county}`);
    const { publicKey, encryptionKey, config } = await initNode(dir, {
      county,
      countyName: `测试县${county}`,
      municipality: MUNI,
      nats: [this.nats.url],
      httpPort: 0,
      hubId: this.hub!.config.nodeId,
      hubKey: this.hubKey,
      hubEncryptionKey: this.hubEncryptionKey,
      antiEntropyMs,
    });
    const hub = this.hub!;
    hub.db.transaction(() => {
      hub.registry.register({ nodeId: config.nodeId, county, publicKey, encryptionKey }, new Date());
      hub.directory.publish();
    })();
    const db = openDatabase(join(dir, config.database), NODE_MIGRATIONS);
    const token = new DepartmentStore(db).issue(deptOf(county), `${county}公安局`, new Date());
    db.close();
    const node: ClusterNode = { dir, county, token, running: null, publicKey };
    this.nodes.push(node);
    return node;
  }

  async startHub(): Promise<RunningHub> {
    const hub = await startHub(this.hubDir, { log: this.log.child({ side: 'hub' }), httpPort: 0, ...(this.hubClock ? { clock: this.hubClock } : {}) });
    this.hub = hub;
    if (this.nats.running) {
      const names = streamNames(MUNI);
      await waitFor('hub streams', async () => {
        const jsm = hub.link.jsm;
        return jsm && (await jsm.streams.info(names.up)) && (await jsm.streams.info(names.down));
      });
    }
    return hub;
  }

  async startNode(node: ClusterNode): Promise<RunningNode> {
    node.running = await startNode(node.dir, { log: this.log.child({ side: node.county }), httpPort: 0 });
    return node.running;
  }

  /** Every replica's view of every entry, for equality checks: id → {content, review}. */
  snapshot(which: 'hub' | string): Map<string, string> {
    const db = which === 'hub' ? this.hub!.db : this.node(which).running!.db;
    const rows = db.prepare('SELECT id, view FROM entries ORDER BY id').all() as { id: string; view: string }[];
    return new Map(
      rows.map((r) => {
        const v = JSON.parse(r.view);
        return [r.id, JSON.stringify({ content: v.content, review: v.review, status: v.status, code: v.code })];
      }),
    );
  }

  /** True when the hub and every running node hold exactly the same entries with the same content and review. */
  converged(): boolean {
    const hub = this.snapshot('hub');
    for (const n of this.nodes) {
      if (!n.running) continue;
      const s = this.snapshot(n.county);
      if (s.size !== hub.size) return false;
      for (const [id, v] of hub) if (s.get(id) !== v) return false;
    }
    return true;
  }

  private readonly adminTokens = new Map<string, string>();

  /** A token of an account with `role` at the hub or a county node (created on first use). */
  token(side: 'hub' | string, role: Role, department?: string): string {
    const key = `${side}/${role}/${department ?? ''}`;
    let token = this.adminTokens.get(key);
    if (!token) {
      const db = side === 'hub' ? this.hub!.db : this.node(side).running!.db;
      const accounts = new AccountStore(db);
      const account = accounts.create({ name: `${role}-${department ?? 'x'}-${this.adminTokens.size}`, role, department: department ?? null }, new Date());
      token = accounts.issueToken(account.id, new Date());
      this.adminTokens.set(key, token);
    }
    return token;
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

/** A TCP port that was free a moment ago (for a server that must be configured before it starts). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
