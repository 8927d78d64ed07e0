// One-shot project setup, run at the start of `npm run demo` / `npm test`.
//
// Only node: builtins: this runs *before* node_modules exists. Must be cheap
// (< 1 s) when everything is already in place, since it runs on every test run.
//   1. npm packages: `npm ci` when node_modules is missing or package-lock.json
//      changed since the last successful install (sha256 stamp in node_modules).
//   2. nats-server: located or privately installed by ./ensure-nats.mjs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNatsServer, natsServerVersion } from './ensure-nats.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LOCK = path.join(ROOT, 'package-lock.json');
const STAMP = path.join(ROOT, 'node_modules', '.jilian-setup-stamp');
const log = (msg) => process.stderr.write(`setup: ${msg}\n`);

function fail(msg) {
  log(`FAILED: ${msg}`);
  process.exit(1);
}

/** sha256 of the lock file (or package.json when there is no lock). */
function depsHash() {
  const file = existsSync(LOCK) ? LOCK : path.join(ROOT, 'package.json');
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function ensurePackages() {
  const stamp = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : '';
  if (existsSync(path.join(ROOT, 'node_modules')) && stamp === depsHash()) {
    log('npm packages up to date');
    return;
  }
  const args = existsSync(LOCK) ? ['ci', '--no-fund', '--no-audit'] : ['install', '--no-fund', '--no-audit'];
  log(`running npm ${args.join(' ')}`);
  // stdout -> stderr so callers piping our stdout only see their own output.
  const r = spawnSync('npm', args, { cwd: ROOT, stdio: ['ignore', 2, 2], shell: process.platform === 'win32' });
  if (r.error) fail(`could not run npm: ${r.error.message}`);
  if (r.status !== 0) fail(`npm ${args[0]} exited with ${r.signal ?? r.status}; see output above`);
  // Hash after install: `npm install` may have (re)written the lock file.
  writeFileSync(STAMP, `${depsHash()}\n`);
  log('npm packages installed');
}

try {
  ensurePackages();
  const bin = await ensureNatsServer();
  const shown = bin.startsWith(ROOT + path.sep) ? path.relative(ROOT, bin) : bin;
  log(`nats-server ${await natsServerVersion(bin)} at ${shown}`);
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
}
