/** @module Run `jilian` as a real child process (for crash tests): start, read its URL, kill -9. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/jilian.mjs', import.meta.url));

export interface ChildService {
  child: ChildProcess;
  url: string;
  output: () => string;
  kill9: () => Promise<void>;
  /** SIGTERM and wait for a clean exit (lets `--cpu-prof` write its profile). */
  term: () => Promise<void>;
}

/** Spawn `jilian <role> start --dir <dir> --http-port 0` and wait (bounded) for its "running: <url>" line. */
export async function spawnService(role: 'node' | 'hub', dir: string, timeoutMs = 20_000): Promise<ChildService> {
  // JILIAN_CHILD_NODE_ARGS: extra node flags for the child (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` when profiling benchmarks).
  const extra = (process.env.JILIAN_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...extra, BIN, role, 'start', '--dir', dir, '--http-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /running: (http:\/\/[^\s"]+)/.exec(out); // a JSON log line's msg
      if (m) clearTimeout(timer), resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`${role} exited with ${code}:\n${out}`))));
  });
  return {
    child,
    url,
    output: () => out,
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    term: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
