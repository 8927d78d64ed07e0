/**
 * The generated nats-server config against a real nats-server and real nats.js clients: each county
 * user can do exactly what a node does (publish UP, bind its DOWN consumer, request RPC) and the
 * server refuses anything under another county, any other consumer or inbox, unknown and revoked keys.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, errors, type NatsConnection, type PermissionViolationError, type Status } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { ensureNatsServer } from '../scripts/ensure-nats.mjs';
import { downBroadcastSubject, downCountySubject, downFilterSubjects, rpcSubject, streamNames, upStreamSubjects, downStreamSubjects, upSubject } from '../protocol/subjects.ts';
import { generateNkeyUser, nkeyConnectOptions, nodeInboxPrefix, type NkeyUser } from '../engine/nats/auth.ts';
import { ensureConsumer, ensureStream } from '../engine/nats/streams.ts';
import { NatsServer } from './helpers/nats-server.ts';
import { hubPermissions, nodePermissions, renderNatsConfig, type NatsConfigInput } from '../hub/nats-config.ts';

const MUNI = '410800';
const A = { nodeId: 'county-410802', county: '410802' };
const B = { nodeId: 'county-410803', county: '410803' };
const C = { nodeId: 'county-410804', county: '410804' }; // revoked
const NAMES = streamNames(MUNI);
const enc = (s: string) => new TextEncoder().encode(s);

/** The PermissionViolationError in an error or its cause chain (js.publish wraps it in a RequestError). */
function permissionError(err: unknown): PermissionViolationError | null {
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof errors.PermissionViolationError) return e;
  return null;
}

async function refused(p: Promise<unknown>, operation: 'publish' | 'subscription', subject: string): Promise<void> {
  await assert.rejects(p, (err) => {
    const pe = permissionError(err);
    assert.ok(pe, `expected a permissions violation, got ${String(err)}`);
    assert.equal(pe.operation, operation);
    assert.equal(pe.subject, subject);
    return true;
  });
}

async function until<T>(what: string, probe: () => Promise<T> | T, ms = 5_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A client logged in as `user`, recording its status events (permission errors arrive there). */
async function login(server: NatsServer, user: NkeyUser, nodeId?: string): Promise<{ nc: NatsConnection; statuses: Status[] }> {
  const nc = await connect({ servers: server.url, ...nkeyConnectOptions(user.seed, nodeId ? nodeInboxPrefix(nodeId) : undefined), maxReconnectAttempts: 0, timeout: 5_000 });
  const statuses: Status[] = [];
  void (async () => {
    for await (const s of nc.status()) statuses.push(s);
  })();
  return { nc, statuses };
}

async function connectRefused(server: NatsServer, opts: Parameters<typeof connect>[0]): Promise<void> {
  await assert.rejects(connect({ servers: server.url, maxReconnectAttempts: 0, timeout: 5_000, ...opts }), (err) => {
    assert.ok(err instanceof errors.AuthorizationError, `expected an authorization error, got ${String(err)}`);
    return true;
  });
}

const streamSpec = (name: string, subjects: string[]) => ({ name, subjects, maxAgeMs: 3_600_000, duplicateWindowMs: 120_000 });
const messagesIn = async (jsm: JetStreamManager, stream: string) => (await jsm.streams.info(stream)).state.messages;

describe('renderNatsConfig', () => {
  const hub = generateNkeyUser();
  const a = generateNkeyUser();
  const c = generateNkeyUser();
  const base: NatsConfigInput = {
    municipality: MUNI,
    hub: { nkey: hub.publicKey },
    nodes: [
      { ...A, nkey: a.publicKey, status: 'active' },
      { ...C, nkey: c.publicKey, status: 'revoked' },
    ],
  };

  it('writes one user per active node, none for a revoked one, and quotes every subject', () => {
    const text = renderNatsConfig(base);
    assert.ok(text.includes(hub.publicKey) && text.includes(a.publicKey));
    assert.ok(!text.includes(c.publicKey), 'a revoked node has no user');
    const keyless = renderNatsConfig({ ...base, nodes: [...base.nodes, { nodeId: 'county-410805', county: '410805', nkey: null, status: 'active' }] });
    assert.equal(keyless.match(/nkey: "/g)?.length, 2, 'a node registered without an nkey has no user either');
    assert.ok(text.includes('"$JS.API.CONSUMER.INFO.JL_410800_DOWN.county-410802"'));
    assert.ok(!/[^"]\$JS/.test(text), '$JS is always inside quotes (unquoted $ is a config variable)');
    assert.ok(!text.includes('jetstream') && !text.includes('listen'), 'no JetStream block or listen unless asked');
  });

  it('lists exactly what a node and the hub need', () => {
    assert.deepEqual(nodePermissions(MUNI, A), {
      publish: [
        'jl.410800.up.410802.>',
        'jl.410800.rpc.410802.>',
        'jl.410800.pkg.410802.>',
        '$JS.API.CONSUMER.INFO.JL_410800_DOWN.county-410802',
        '$JS.API.CONSUMER.MSG.NEXT.JL_410800_DOWN.county-410802',
        '$JS.ACK.JL_410800_DOWN.county-410802.>',
      ],
      subscribe: ['_INBOX_county-410802.>', 'jl.410800.serve.410802.>'],
      allowResponses: true,
    });
    assert.ok(nodePermissions(MUNI, A, 'node').publish.includes('$JS.API.CONSUMER.DURABLE.CREATE.JL_410800_DOWN.county-410802'));
    assert.deepEqual(hubPermissions(MUNI).publish, ['jl.410800.>', '$JS.API.>', '$JS.ACK.>']);
  });

  it('refuses input that would produce a wrong or injected config', () => {
    const bad: [string, NatsConfigInput][] = [
      ['bad municipality', { ...base, municipality: '41080' }],
      ['hub key is a seed', { ...base, hub: { nkey: hub.seed } }],
      ['account key, not user', { ...base, hub: { nkey: 'A' + hub.publicKey.slice(1) } }],
      ['quote in node id', { ...base, nodes: [{ ...A, nodeId: 'x" }', nkey: a.publicKey, status: 'active' }] }],
      ['bad county', { ...base, nodes: [{ ...A, county: '41080x', nkey: a.publicKey, status: 'active' }] }],
      ['node key equals hub key', { ...base, nodes: [{ ...A, nkey: hub.publicKey, status: 'active' }] }],
      [
        'node listed twice',
        {
          ...base,
          nodes: [
            { ...A, nkey: a.publicKey, status: 'active' },
            { ...A, nkey: c.publicKey, status: 'active' },
          ],
        },
      ],
      ['listen with a newline', { ...base, listen: '0.0.0.0:4222\nauthorization {}' }],
    ];
    for (const [what, input] of bad) assert.throws(() => renderNatsConfig(input), Error, what);
  });

  it('is a config nats-server accepts as is (listen, JetStream store, extra)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jilian-natscfg-'));
    try {
      const file = join(dir, 'nats-server.conf');
      writeFileSync(file, renderNatsConfig({ ...base, listen: '127.0.0.1:4222', storeDir: join(dir, 'js'), extra: 'max_payload: 2MB' }));
      const res = spawnSync(await ensureNatsServer(), ['-t', '-c', file], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(res.status, 0, res.stdout + res.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('nats-server with the generated config (hub provisions consumers)', () => {
  const hubUser = generateNkeyUser();
  const userA = generateNkeyUser();
  const userB = generateNkeyUser();
  const userC = generateNkeyUser();
  let server: NatsServer;
  let hub: NatsConnection;
  let hubJsm: JetStreamManager;
  let a: { nc: NatsConnection; statuses: Status[] };
  let b: { nc: NatsConnection; statuses: Status[] };

  before(async () => {
    const config = renderNatsConfig({
      municipality: MUNI,
      hub: { nkey: hubUser.publicKey },
      nodes: [
        { ...A, nkey: userA.publicKey, status: 'active' },
        { ...B, nkey: userB.publicKey, status: 'active' },
        { ...C, nkey: userC.publicKey, status: 'revoked' },
      ],
    });
    server = await NatsServer.start({ config });
    hub = (await login(server, hubUser)).nc;
    hubJsm = await jetstreamManager(hub, { timeout: 5_000 });
    a = await login(server, userA, A.nodeId);
    b = await login(server, userB, B.nodeId);
  });
  after(async () => {
    for (const nc of [a?.nc, b?.nc, hub]) await nc?.close();
    await server?.cleanup();
  });

  it('the hub creates the streams and each node’s durable DOWN consumer', async () => {
    assert.equal(await ensureStream(hubJsm, streamSpec(NAMES.up, upStreamSubjects(MUNI))), true);
    assert.equal(await ensureStream(hubJsm, streamSpec(NAMES.down, downStreamSubjects(MUNI))), true);
    for (const n of [A, B]) await ensureConsumer(hubJsm, NAMES.down, n.nodeId, downFilterSubjects(MUNI, n.county));
    assert.deepEqual((await hubJsm.consumers.info(NAMES.down, A.nodeId)).config.filter_subjects, downFilterSubjects(MUNI, A.county));
  });

  it('a county publishes on its own UP subject and gets the JetStream ack', async () => {
    const before = await messagesIn(hubJsm, NAMES.up);
    const ack = await jetstream(a.nc, { timeout: 5_000 }).publish(upSubject(MUNI, A.county, 'catalog.update'), enc('from A'), { msgID: `${A.nodeId}:1` });
    assert.equal(ack.stream, NAMES.up);
    assert.equal(ack.duplicate, false);
    assert.equal(await messagesIn(hubJsm, NAMES.up), before + 1);
  });

  it('a county binds its consumer and receives broadcasts and its own messages, not another county’s', async () => {
    const hubJs = jetstream(hub, { timeout: 5_000 });
    await hubJs.publish(downCountySubject(MUNI, B.county, 'catalog.update'), enc('for B'));
    await hubJs.publish(downBroadcastSubject(MUNI, 'catalog.update'), enc('for all'));
    await hubJs.publish(downCountySubject(MUNI, A.county, 'catalog.update'), enc('for A'));
    const consumer = await jetstream(a.nc, { timeout: 5_000 }).consumers.get(NAMES.down, A.nodeId);
    const got: string[] = [];
    const messages = await consumer.consume({ max_messages: 16, abort_on_missing_resource: true });
    const reading = (async () => {
      for await (const m of messages) {
        got.push(m.string());
        m.ack();
        if (got.length === 2) break;
      }
    })();
    await withTimeout(reading, 5_000, 'A receiving its two DOWN messages');
    assert.deepEqual(got, ['for all', 'for A']);
    // The acks ($JS.ACK.<stream>.<nodeId>.…) went through: nothing pending, nothing left for A.
    await until('A’s acks applied', async () => {
      const info = await hubJsm.consumers.info(NAMES.down, A.nodeId);
      return info.num_ack_pending === 0 && info.num_pending === 0 && info.ack_floor.stream_seq === 3;
    });
  });

  it('a county’s RPC request reaches the hub, and the hub’s reply reaches the county’s own inbox', async () => {
    const sub = hub.subscribe(`jl.${MUNI}.rpc.*.catalog.sync`, { queue: 'hub', callback: (err, msg) => void (!err && msg.respond(enc(`reply to ${msg.subject}`))) });
    await hub.flush();
    try {
      const reply = await a.nc.request(rpcSubject(MUNI, A.county, 'catalog.sync'), enc('digest'), { timeout: 5_000 });
      assert.equal(reply.string(), `reply to ${rpcSubject(MUNI, A.county, 'catalog.sync')}`);
      assert.ok(reply.subject.startsWith(`${nodeInboxPrefix(A.nodeId)}.`), reply.subject);
    } finally {
      sub.unsubscribe();
    }
  });

  it('nats-server refuses a county publishing under another county’s subject or as the hub', async () => {
    const upBefore = await messagesIn(hubJsm, NAMES.up);
    const downBefore = await messagesIn(hubJsm, NAMES.down);
    const js = jetstream(a.nc, { timeout: 5_000 });
    const upB = upSubject(MUNI, B.county, 'catalog.update');
    await refused(js.publish(upB, enc('A posing as B'), { msgID: `${A.nodeId}:2` }), 'publish', upB);
    const rpcB = rpcSubject(MUNI, B.county, 'catalog.sync');
    await refused(a.nc.request(rpcB, enc('A posing as B'), { timeout: 5_000 }), 'publish', rpcB);
    // Plain publishes (no ack to wait for) are refused too: reported on the connection's status.
    const forged = downBroadcastSubject(MUNI, 'catalog.update');
    a.nc.publish(upB, enc('fire and forget'));
    a.nc.publish(forged, enc('forged broadcast'));
    await a.nc.flush();
    const violations = () => a.statuses.flatMap((s) => (s.type === 'error' && permissionError(s.error) ? [permissionError(s.error)!.subject] : []));
    await until('both violations reported', () => violations().includes(upB) && violations().includes(forged));
    assert.equal(await messagesIn(hubJsm, NAMES.up), upBefore, 'nothing reached the UP stream');
    assert.equal(await messagesIn(hubJsm, NAMES.down), downBefore, 'nothing reached the DOWN stream');
    assert.equal(a.nc.isClosed(), false, 'a violation does not cost the county its connection');
  });

  it('a county can read neither another county’s subjects, consumer nor inbox, and cannot administer JetStream', async () => {
    const subscribeRefused = async (subject: string) => {
      const sub = a.nc.subscribe(subject);
      const closed = await withTimeout(sub.closed, 5_000, `subscription to ${subject} closed`);
      const pe = permissionError(closed);
      assert.ok(pe && pe.operation === 'subscription' && pe.subject === subject, `expected ${subject} refused, got ${String(closed)}`);
    };
    await subscribeRefused(`jl.${MUNI}.down.${B.county}.>`);
    await subscribeRefused(`jl.${MUNI}.up.>`);
    await subscribeRefused(`${nodeInboxPrefix(B.nodeId)}.>`);
    await subscribeRefused('_INBOX.>');

    const jsm = await jetstreamManager(a.nc, { timeout: 5_000, checkAPI: false });
    const js = jetstream(a.nc, { timeout: 5_000 });
    const api = (s: string) => `$JS.API.${s}`;
    await refused(js.consumers.get(NAMES.down, B.nodeId), 'publish', api(`CONSUMER.INFO.${NAMES.down}.${B.nodeId}`));
    await refused(a.nc.request(api(`CONSUMER.MSG.NEXT.${NAMES.down}.${B.nodeId}`), enc('{"batch":1}'), { timeout: 5_000 }), 'publish', api(`CONSUMER.MSG.NEXT.${NAMES.down}.${B.nodeId}`));
    // With hub-provisioned consumers a county cannot even rewrite its own (e.g. widen its filter).
    await refused(ensureConsumer(jsm, NAMES.down, A.nodeId, [`jl.${MUNI}.down.>`]), 'publish', api(`CONSUMER.DURABLE.CREATE.${NAMES.down}.${A.nodeId}`));
    await refused(ensureConsumer(jsm, NAMES.down, 'sneaky', [`jl.${MUNI}.down.>`]), 'publish', api(`CONSUMER.DURABLE.CREATE.${NAMES.down}.sneaky`));
    await refused(jsm.consumers.delete(NAMES.down, B.nodeId), 'publish', api(`CONSUMER.DELETE.${NAMES.down}.${B.nodeId}`));
    await refused(jsm.streams.info(NAMES.up), 'publish', api(`STREAM.INFO.${NAMES.up}`));
    await refused(jsm.streams.delete(NAMES.down), 'publish', api(`STREAM.DELETE.${NAMES.down}`));
    assert.deepEqual((await hubJsm.consumers.info(NAMES.down, A.nodeId)).config.filter_subjects, downFilterSubjects(MUNI, A.county), 'A’s filter unchanged');

    // B's own consumer is intact and B still gets only what is meant for B.
    const m = await (await jetstream(b.nc, { timeout: 5_000 }).consumers.get(NAMES.down, B.nodeId)).next({ expires: 5_000 });
    assert.equal(m?.string(), 'for B');
    m!.ack();
    // A keeps working after all those refusals.
    await js.publish(upSubject(MUNI, A.county, 'catalog.update'), enc('still fine'), { msgID: `${A.nodeId}:3` });
  });

  it('refuses a connection without credentials, with an unknown nkey, and with a revoked node’s nkey', async () => {
    await connectRefused(server, {});
    await connectRefused(server, nkeyConnectOptions(generateNkeyUser().seed));
    await connectRefused(server, nkeyConnectOptions(userC.seed, nodeInboxPrefix(C.nodeId)));
  });
});

describe('nats-server with the generated config (nodes create their own consumers)', () => {
  const hubUser = generateNkeyUser();
  const userA = generateNkeyUser();
  let server: NatsServer;
  let hub: NatsConnection;
  let a: NatsConnection;

  before(async () => {
    const config = renderNatsConfig({ municipality: MUNI, hub: { nkey: hubUser.publicKey }, nodes: [{ ...A, nkey: userA.publicKey, status: 'active' }], consumerCreation: 'node' });
    server = await NatsServer.start({ config });
    hub = (await login(server, hubUser)).nc;
    a = (await login(server, userA, A.nodeId)).nc;
  });
  after(async () => {
    for (const nc of [a, hub]) await nc?.close();
    await server?.cleanup();
  });

  it('a county creates and binds its own durable consumer, as engine/consumer.ts does, and no other', async () => {
    await ensureStream(await jetstreamManager(hub), streamSpec(NAMES.down, downStreamSubjects(MUNI)));
    const jsm = await jetstreamManager(a, { timeout: 5_000, checkAPI: false });
    await ensureConsumer(jsm, NAMES.down, A.nodeId, downFilterSubjects(MUNI, A.county));
    await ensureConsumer(jsm, NAMES.down, A.nodeId, downFilterSubjects(MUNI, A.county)); // update: same subject
    await refused(ensureConsumer(jsm, NAMES.down, B.nodeId, downFilterSubjects(MUNI, B.county)), 'publish', `$JS.API.CONSUMER.DURABLE.CREATE.${NAMES.down}.${B.nodeId}`);
    await jetstream(hub).publish(downBroadcastSubject(MUNI, 'catalog.update'), enc('for all'));
    const m = await (await jetstream(a, { timeout: 5_000 }).consumers.get(NAMES.down, A.nodeId)).next({ expires: 5_000 });
    assert.equal(m?.string(), 'for all');
    m!.ack();
  });
});

describe('revocation: re-render the config and reload nats-server', () => {
  it('cuts off the revoked node’s live connection and refuses it from then on; others stay', async () => {
    const hubUser = generateNkeyUser();
    const userA = generateNkeyUser();
    const userB = generateNkeyUser();
    const input = (aStatus: 'active' | 'revoked'): NatsConfigInput => ({
      municipality: MUNI,
      hub: { nkey: hubUser.publicKey },
      nodes: [
        { ...A, nkey: userA.publicKey, status: aStatus },
        { ...B, nkey: userB.publicKey, status: 'active' },
      ],
    });
    const server = await NatsServer.start({ config: renderNatsConfig(input('active')) });
    try {
      const a = await login(server, userA, A.nodeId);
      const b = await login(server, userB, B.nodeId);
      // The helper appends our text to its own header (port, ports file, JetStream): replace only ours.
      const file = join(server.dir, 'nats-server.conf');
      const text = readFileSync(file, 'utf8');
      const at = text.indexOf('# nats-server configuration for Jilian');
      assert.ok(at > 0, 'rendered config found in the helper’s file');
      writeFileSync(file, text.slice(0, at) + renderNatsConfig(input('revoked')));
      process.kill(server.pid!, 'SIGHUP'); // what `nats-server --signal reload` sends
      const closed = await withTimeout(a.nc.closed(), 5_000, 'revoked node disconnected');
      assert.ok(closed instanceof errors.AuthorizationError, `expected an authorization error, got ${String(closed)}`);
      await connectRefused(server, nkeyConnectOptions(userA.seed, nodeInboxPrefix(A.nodeId)));
      await b.nc.flush();
      assert.equal(b.nc.isClosed(), false, 'the other county is not affected');
      await b.nc.close();
    } finally {
      await server.cleanup();
    }
  });
});

describe('the complete generated config runs as is', () => {
  it('listens where told and keeps JetStream in storeDir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jilian-natscfg-'));
    const hubUser = generateNkeyUser();
    const port = await freePort();
    const storeDir = join(dir, 'store');
    // jetstream: false, so the helper writes no JetStream block of its own. nats-server applies
    // top-level keys in map (random) order, so the helper's `port` must agree with our `listen`.
    const config = renderNatsConfig({ municipality: MUNI, hub: { nkey: hubUser.publicKey }, nodes: [], listen: `127.0.0.1:${port}`, storeDir });
    const server = await NatsServer.start({ jetstream: false, port, config });
    try {
      assert.equal(server.port, port);
      const { nc } = await login(server, hubUser);
      await ensureStream(await jetstreamManager(nc), streamSpec(NAMES.up, upStreamSubjects(MUNI)));
      await nc.close();
      assert.ok(existsSync(join(storeDir, 'jetstream')), 'the stream lives in storeDir');
    } finally {
      await server.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
