// Throw-away nats-server processes for tests and benchmarks (modelled on the
// nats.js "nst" launcher). Each server gets its own temp dir holding the config,
// the ports file and (by default) the JetStream store, listens on 127.0.0.1 on a
// random port (never 4222 implicitly: an unrelated server may own it), and can
// be stopped, SIGKILLed and restarted on the same port + store to exercise
// crash recovery. A missing binary is an error, never a skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureNatsServer } from '../../scripts/ensure-nats.mjs';

export interface NatsServerOptions {
  /** Enable JetStream (default true). */
  jetstream?: boolean;
  /** Client port; default: random free port chosen by the server. */
  port?: number;
  /** JetStream store dir. Default: inside the temp dir (deleted by cleanup());
   *  a caller-supplied dir is never deleted. */
  storeDir?: string;
  /** Extra nats-server config text, appended verbatim (later keys win). */
  config?: string;
  /** Max wait for the server to accept connections (default 10 s). */
  startTimeoutMs?: number;
}

const OUTPUT_LIMIT = 64 * 1024;

export class NatsServer {
  /** Servers not yet cleaned up. */
  private static live = new Set<NatsServer>();
  static {
    // If the test process exits without cleanup() (failed test, timeout), don't
    // leave orphaned servers holding ports and temp files (best effort).
    process.once('exit', () => {
      for (const s of NatsServer.live) {
        s.child_?.kill('SIGKILL');
        rmSync(s.dir, { recursive: true, force: true });
      }
    });
  }

  /** Current client port (fixed after the first start so restarts reuse it). */
  port: number;
  private child_?: ChildProcess;
  private exited?: Promise<void>;
  private output_ = '';

  private constructor(
    /** nats-server binary in use. */
    readonly bin: string,
    /** Private temp dir (config, ports file, default store). */
    readonly dir: string,
    /** JetStream store dir (the server adds a `jetstream/` subdir). */
    readonly storeDir: string,
    private readonly opts: NatsServerOptions,
  ) {
    this.port = opts.port ?? -1;
  }

  /** Start a fresh server; resolves once it accepts client connections. */
  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const bin = await ensureNatsServer();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'jilian-nats-'));
    const storeDir = opts.storeDir ?? path.join(dir, 'store');
    await mkdir(storeDir, { recursive: true });
    const server = new NatsServer(bin, dir, storeDir, opts);
    NatsServer.live.add(server);
    try {
      await server.launch();
    } catch (e) {
      await server.cleanup();
      throw e;
    }
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }
  get pid(): number | undefined {
    return this.running ? this.child_?.pid : undefined;
  }
  get running(): boolean {
    return !!this.child_ && this.child_.exitCode === null && this.child_.signalCode === null;
  }
  /** Captured stdout+stderr of the server (all runs, last 64 KiB). */
  get output(): string {
    return this.output_;
  }
  /** Graceful stop: SIGTERM, then SIGKILL after timeoutMs; waits for exit. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child_!.kill('SIGTERM');
    if (!(await this.waitExit(timeoutMs))) await this.kill();
  }

  /** Crash simulation: SIGKILL and wait for the process to be gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child_!.kill('SIGKILL');
    if (!(await this.waitExit(10_000))) throw new Error(`nats-server pid ${this.child_!.pid} survived SIGKILL`);
  }

  /** True once the process has exited, false after timeoutMs. The (ref'd)
   *  timer also keeps Node alive while we wait, since the child is unref'd. */
  private async waitExit(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const ok = await Promise.race([this.exited!.then(() => true), timedOut]);
    clearTimeout(timer);
    return ok;
  }

  /** Stop (if running) and start again on the same port and store dir. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stop and delete the temp dir (and the store, unless caller-supplied). */
  async cleanup(): Promise<void> {
    await this.stop();
    NatsServer.live.delete(this);
    await rm(this.dir, { recursive: true, force: true });
  }

  private configText(): string {
    const q = JSON.stringify; // NATS config accepts JSON-style quoted strings
    const js = this.opts.jetstream ?? true;
    return [
      `host: 127.0.0.1`,
      `port: ${this.port}`,
      `ports_file_dir: ${q(this.dir)}`,
      // sync_interval always: fsync every write, so a JetStream ack means the
      // data survives kill -9 / power loss (what the crash tests rely on).
      js ? `jetstream {\n  store_dir: ${q(this.storeDir)}\n  sync_interval: always\n}` : '',
      this.opts.config ?? '',
      '',
    ].join('\n');
  }

  private async launch(): Promise<void> {
    const configFile = path.join(this.dir, 'nats-server.conf');
    await writeFile(configFile, this.configText());
    // Stale ports files (left by a SIGKILLed run) must not be mistaken for ours.
    for (const f of await readdir(this.dir)) if (f.endsWith('.ports')) await unlink(path.join(this.dir, f));

    const child = spawn(this.bin, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child_ = child;
    const append = (b: Buffer | string) => {
      this.output_ = (this.output_ + b.toString()).slice(-OUTPUT_LIMIT);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    // Unref so a test that forgets cleanup() doesn't hang the run: Node exits
    // and the 'exit' hook above SIGKILLs the server.
    child.unref();
    (child.stdout as unknown as net.Socket).unref();
    (child.stderr as unknown as net.Socket).unref();
    this.exited = new Promise((resolve) => {
      child.once('error', (e) => {
        append(`\n[spawn error] ${e.message}\n`);
        resolve();
      });
      child.once('exit', () => resolve());
    });

    try {
      this.port = await this.waitReady(child, this.opts.startTimeoutMs ?? 10_000);
    } catch (e) {
      await this.kill();
      throw new Error(`nats-server (${this.bin}) did not start: ${(e as Error).message}\n` + `--- config ---\n${this.configText()}--- output ---\n${this.output_}`);
    }
  }

  /** Poll (bounded) for our ports file, then for a real INFO greeting on the port. */
  private async waitReady(child: ChildProcess, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let lastErr = 'no ports file yet';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        await this.exited;
        throw new Error(`process exited (${child.signalCode ?? `code ${child.exitCode}`})`);
      }
      const port = await this.readPortsFile(child.pid);
      if (port !== undefined) {
        try {
          await probeInfo(port, Math.min(2_000, Math.max(1, deadline - Date.now())));
          return port;
        } catch (e) {
          lastErr = (e as Error).message;
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`not ready within ${timeoutMs} ms (${lastErr})`);
  }

  private async readPortsFile(pid: number): Promise<number | undefined> {
    const name = (await readdir(this.dir)).find((f) => f.endsWith(`_${pid}.ports`));
    if (!name) return undefined;
    try {
      const { nats } = JSON.parse(await readFile(path.join(this.dir, name), 'utf8')) as { nats?: string[] };
      const port = Number(new URL(nats?.[0] ?? '').port);
      return port > 0 ? port : undefined;
    } catch {
      return undefined; // partially written; try again
    }
  }
}

/**
 * Connect to 127.0.0.1:port and resolve with the server's INFO JSON once the
 * `INFO {...}` line arrives (proof a NATS server, not just any socket, is there).
 */
export function probeInfo(port: number, timeoutMs = 2_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (err: Error | null, info?: Record<string, unknown>) => {
      sock.destroy();
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(info!);
    };
    const timer = setTimeout(() => done(new Error(`no INFO from port ${port} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (e) => done(e));
    sock.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      if (!line.startsWith('INFO ')) return done(new Error(`unexpected greeting: ${line.slice(0, 80)}`));
      try {
        done(null, JSON.parse(line.slice(5)) as Record<string, unknown>);
      } catch (e) {
        done(e as Error);
      }
    });
  });
}
