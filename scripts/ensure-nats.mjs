// Locate (or privately install) a nats-server binary new enough for Jilian.
//
// Plain Node ESM with only node: builtins, because it runs from
// scripts/setup.mjs before node_modules exists, and is also imported by the
// test/bench helper (test/helpers/nats-server.ts). Types: ensure-nats.d.mts.
//
// Lookup order (first acceptable wins):
//   1. $JILIAN_NATS_SERVER  - explicit choice; an error if unusable (never silently ignored)
//   2. tools/nats/nats-server in this repo (git-ignored, installed by step 4)
//   3. nats-server on $PATH
//   4. download Debian trixie's nats-server .deb with a *private* apt state
//      under tools/apt (no root, no change to the system's apt/dpkg) and unpack
//      its binary into tools/nats/.
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIN_NATS_VERSION = '2.10.23';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS_DIR = path.join(REPO_ROOT, 'tools');
const LOCAL_BIN = path.join(TOOLS_DIR, 'nats', 'nats-server');
const DEBIAN_SOURCE = 'deb [trusted=yes] http://deb.debian.org/debian trixie main';
const HELP = `Install nats-server >= ${MIN_NATS_VERSION} yourself ` + '(https://github.com/nats-io/nats-server/releases) and set JILIAN_NATS_SERVER=/path/to/nats-server.';

/** Parse `nats-server: v2.10.27` (or any "x.y.z") into [x, y, z]; null if absent. */
function parseVersion(text) {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function versionAtLeast(v, min) {
  const m = /** @type {number[]} */ (parseVersion(min));
  for (let i = 0; i < 3; i++) if (v[i] !== m[i]) return v[i] > m[i];
  return true;
}

/**
 * Run `<bin> --version`. Resolves to the version string ("2.10.27") or null if
 * the binary is missing / not runnable / prints something unexpected.
 */
export function natsServerVersion(bin) {
  return new Promise((resolve) => {
    execFile(bin, ['--version'], { timeout: 10_000 }, (err, stdout, stderr) => {
      const v = err ? null : parseVersion(`${stdout}\n${stderr}`);
      resolve(v ? v.join('.') : null);
    });
  });
}

/** Version if `bin` runs and is >= MIN_NATS_VERSION, else null. */
async function acceptableVersion(bin) {
  const v = await natsServerVersion(bin);
  return v && versionAtLeast(/** @type {number[]} */ (parseVersion(v)), MIN_NATS_VERSION) ? v : null;
}

/** Absolute path of `name` on $PATH (like `which`), or null. */
function which(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** Run a command, capturing output; reject with the output tail on failure. */
function run(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (b) => {
      out = (out + b.toString()).slice(-8000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.slice(-2).join(' ')} failed (${signal ?? `exit ${code}`}):\n${out.trim()}`));
    });
  });
}

/**
 * Serialise installs across processes (e.g. parallel test files) with an
 * atomic mkdir lock; a lock older than 15 min is treated as stale.
 */
async function withInstallLock(fn) {
  const lock = path.join(TOOLS_DIR, '.nats-install.lock');
  await fs.mkdir(TOOLS_DIR, { recursive: true });
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      await fs.mkdir(lock);
      break;
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EEXIST') throw e;
      const age = Date.now() - (await fs.stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > 15 * 60_000) await fs.rm(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for install lock ${lock}`);
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { recursive: true, force: true });
  }
}

/** Download + unpack Debian's nats-server into tools/nats/ (see header). */
async function installFromDebian() {
  if (!which('apt-get') || !which('dpkg-deb')) {
    throw new Error(`nats-server not found and apt-get/dpkg-deb are unavailable to fetch it. ${HELP}`);
  }
  const aptDir = path.join(TOOLS_DIR, 'apt');
  for (const d of ['sources.list.d', 'preferences.d', 'lists/partial', 'cache/archives/partial']) {
    await fs.mkdir(path.join(aptDir, d), { recursive: true });
  }
  await fs.writeFile(path.join(aptDir, 'sources.list'), `${DEBIAN_SOURCE}\n`);
  // Every path apt would read/write state from is redirected into tools/apt,
  // so the system's sources, pins, package lists and cache are untouched.
  // (System apt.conf.d is still read on purpose: it carries proxy settings.)
  const aptOpts = [
    ['Dir::Etc::sourcelist', path.join(aptDir, 'sources.list')],
    ['Dir::Etc::sourceparts', path.join(aptDir, 'sources.list.d')],
    ['Dir::Etc::preferences', path.join(aptDir, 'preferences')],
    ['Dir::Etc::preferencesparts', path.join(aptDir, 'preferences.d')],
    ['Dir::State::Lists', path.join(aptDir, 'lists')],
    ['Dir::Cache', path.join(aptDir, 'cache')],
    ['Acquire::Languages', 'none'],
    // As root apt drops to the _apt user, which may not be able to write into
    // the repo; fetching as the current user avoids a noisy fallback warning.
    ...(process.getuid?.() === 0 ? [['APT::Sandbox::User', 'root']] : []),
  ].flatMap(([k, v]) => ['-o', `${k}=${v}`]);

  const work = await fs.mkdtemp(path.join(TOOLS_DIR, 'nats-dl-'));
  try {
    process.stderr.write('ensure-nats: fetching nats-server from Debian trixie (private apt state in tools/apt)\n');
    await run('apt-get', [...aptOpts, '-q', 'update']);
    await run('apt-get', [...aptOpts, '-q', 'download', 'nats-server'], { cwd: work });
    const deb = (await fs.readdir(work)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download produced no .deb');
    const root = path.join(work, 'root');
    await run('dpkg-deb', ['-x', path.join(work, deb), root]);
    const found = ['usr/sbin/nats-server', 'usr/bin/nats-server'].map((p) => path.join(root, p)).find((p) => existsSync(p));
    if (!found) throw new Error(`${deb} contains no usr/sbin/nats-server`);
    // Copy then rename so a concurrent reader never sees a half-written binary.
    await fs.mkdir(path.dirname(LOCAL_BIN), { recursive: true });
    const tmp = `${LOCAL_BIN}.${process.pid}.tmp`;
    await fs.copyFile(found, tmp);
    await fs.chmod(tmp, 0o755);
    await fs.rename(tmp, LOCAL_BIN);
    process.stderr.write(`ensure-nats: installed ${deb} -> ${path.relative(REPO_ROOT, LOCAL_BIN)}\n`);
  } catch (e) {
    throw new Error(`could not install nats-server via apt-get: ${/** @type {Error} */ (e).message}\n${HELP}`);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Path of a nats-server >= MIN_NATS_VERSION, installing one if needed. */
export async function ensureNatsServer() {
  const env = process.env.JILIAN_NATS_SERVER;
  if (env) {
    const bin = path.resolve(env);
    if (await acceptableVersion(bin)) return bin;
    const v = await natsServerVersion(bin);
    throw new Error(`JILIAN_NATS_SERVER=${env} ` + (v ? `is version ${v}, need >= ${MIN_NATS_VERSION}.` : 'is not a runnable nats-server.') + ` ${HELP}`);
  }
  if (await acceptableVersion(LOCAL_BIN)) return LOCAL_BIN;
  const onPath = which('nats-server');
  if (onPath && (await acceptableVersion(onPath))) return onPath;

  await withInstallLock(async () => {
    // Another process may have finished the install while we waited.
    if (!(await acceptableVersion(LOCAL_BIN))) await installFromDebian();
  });
  const v = await acceptableVersion(LOCAL_BIN);
  if (!v) {
    throw new Error(`installed ${LOCAL_BIN} but it reports version ${await natsServerVersion(LOCAL_BIN)}, need >= ${MIN_NATS_VERSION}. ${HELP}`);
  }
  return LOCAL_BIN;
}

// CLI: `node scripts/ensure-nats.mjs` prints the binary path.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureNatsServer().then(
    (bin) => console.log(bin),
    (e) => {
      console.error(`ensure-nats: ${e instanceof Error ? e.message : e}`);
      process.exit(1);
    },
  );
}
