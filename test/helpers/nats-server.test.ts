// Tests for the NatsServer helper against a real nats-server. Uses raw NATS
// protocol over node:net (no client library) so a helper bug can't be masked
// by client reconnect logic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NatsServer, probeInfo } from './nats-server.ts';

/** One request/reply over a fresh raw connection; resolves with the JSON reply. */
function rawRequest(port: number, subject: string, body: unknown, timeoutMs = 5_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const payload = Buffer.from(JSON.stringify(body));
    let buf = Buffer.alloc(0);
    let greeted = false;
    const finish = (err: Error | null, v?: unknown) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(v);
    };
    const timer = setTimeout(() => finish(new Error(`no reply on ${subject} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (e) => finish(e));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.subarray(0, nl).toString();
        if (line.startsWith('MSG ')) {
          const size = Number(line.split(' ').at(-1));
          if (buf.length < nl + 2 + size + 2) return; // payload not complete yet
          const msg = buf.subarray(nl + 2, nl + 2 + size).toString();
          return finish(null, JSON.parse(msg));
        }
        buf = buf.subarray(nl + 2);
        if (line.startsWith('-ERR')) return finish(new Error(line));
        if (line.startsWith('INFO ') && !greeted) {
          greeted = true;
          sock.write(`CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\n` + `SUB _INBOX.t 1\r\nPUB ${subject} _INBOX.t ${payload.length}\r\n${payload}\r\n`);
        }
      }
    });
  });
}

test('start: listens on 127.0.0.1 (random port) with JetStream', async (t) => {
  const s = await NatsServer.start();
  t.after(() => s.cleanup());
  assert.match(s.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(s.port, 4222);
  assert.equal(s.url, `nats://127.0.0.1:${s.port}`);
  assert.ok(s.running);
  const info = await probeInfo(s.port);
  assert.equal(info.port, s.port);
  assert.equal(info.jetstream, true);
});

test('kill -9 + restart: same port, acked JetStream data survives; graceful restart too', async (t) => {
  const s = await NatsServer.start();
  t.after(() => s.cleanup());
  const port = s.port;
  const created = await rawRequest(port, '$JS.API.STREAM.CREATE.T', { name: 'T', subjects: ['t.>'], storage: 'file' });
  assert.equal(created.error, undefined, JSON.stringify(created.error));
  const ack = await rawRequest(port, 't.1', { hello: 'world' });
  assert.deepEqual([ack.stream, ack.seq], ['T', 1]);

  const pid1 = s.pid;
  await s.kill();
  assert.equal(s.running, false);
  await assert.rejects(probeInfo(port, 1_000)); // really gone

  await s.restart();
  assert.equal(s.port, port);
  assert.notEqual(s.pid, pid1);
  const info = await rawRequest(port, '$JS.API.STREAM.INFO.T', {});
  assert.equal(info.state?.messages, 1, JSON.stringify(info));

  await s.restart(); // graceful path (SIGTERM) while running
  assert.equal(s.port, port);
  assert.equal((await probeInfo(port)).port, port);
});

test('cleanup: process gone, temp dirs removed; caller storeDir kept', async (t) => {
  const s = await NatsServer.start();
  const pid = s.pid!;
  assert.ok(existsSync(s.dir) && existsSync(s.storeDir));
  await s.cleanup();
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  assert.equal(existsSync(s.dir), false);
  assert.equal(existsSync(s.storeDir), false);

  const mine = await mkdtemp(path.join(os.tmpdir(), 'jilian-nats-test-store-'));
  t.after(() => rm(mine, { recursive: true, force: true }));
  const s2 = await NatsServer.start({ storeDir: mine });
  assert.equal(s2.storeDir, mine);
  await s2.cleanup();
  assert.equal(existsSync(s2.dir), false);
  assert.ok(existsSync(path.join(mine, 'jetstream')), 'server used the supplied store dir and it was kept');
});

test('jetstream: false starts a core-only server', async (t) => {
  const s = await NatsServer.start({ jetstream: false });
  t.after(() => s.cleanup());
  assert.notEqual((await probeInfo(s.port)).jetstream, true);
});

test('bad config: start rejects with the server output', async () => {
  await assert.rejects(NatsServer.start({ config: 'this is { not valid' }), (e: Error) => {
    assert.match(e.message, /did not start/);
    assert.match(e.message, /--- output ---\n.*\S/s); // server's own error text is included
    return true;
  });
});
