// Runs every *.test.ts under protocol/, engine/, node/, hub/ and test/ with node's test runner.
// Node 20's `node --test` does not expand globs itself, so the file list is collected here.
// Extra arguments are passed to node --test (e.g. --test-name-pattern=…); file arguments narrow the set.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOTS = ['protocol', 'engine', 'node', 'hub', 'test'];
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(process.cwd(), p));
  }
}
ROOTS.forEach(walk);
const args = process.argv.slice(2);
const only = args.filter((a) => a.endsWith('.test.ts'));
const flags = args.filter((a) => !a.endsWith('.test.ts'));
const chosen = only.length ? only : files.sort();
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...flags, ...chosen], { stdio: 'inherit' });
process.exit(res.status ?? 1);
