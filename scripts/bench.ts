/**
 * `npm run bench [-- catalog]`: measures the figures the issues name, each with its raw baseline
 * from the same run, prints one JSON line per figure, and rewrites the results table in
 * BENCHMARKS.md. Benchmarks are not tests: nothing here asserts a timing.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { benchAudit } from './bench/audit.ts';
import { benchCatalog } from './bench/catalog.ts';
import { benchTrust } from './bench/trust.ts';
import { benchPackageCrypto } from './bench/package-crypto.ts';
import { benchFrontend } from './bench/frontend.ts';
import { benchPackageEndToEnd } from './bench/package-e2e.ts';
import { benchSharing } from './bench/sharing.ts';
import type { Figure } from './bench/harness.ts';

const groups: Record<string, () => Promise<Figure[]>> = {
  catalog: () => benchCatalog({ edits: Number(process.env.BENCH_EDITS ?? 1000), bulk: Number(process.env.BENCH_BULK ?? 10_000) }),
  trust: async () => [...(await benchTrust()), ...(await benchAudit())],
  // Issue 4 names import.rows_per_s, import.peak_rss_mb and package.mb_per_s under `packages`.
  packages: async () => [...(await benchPackageEndToEnd()), ...(await benchPackageCrypto()), ...(await benchFrontend())],
  'package-e2e': () => benchPackageEndToEnd(),
  'package-crypto': () => benchPackageCrypto(),
  frontend: () => benchFrontend(),
  sharing: () => benchSharing(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !groups[w]);
if (unknown.length) {
  console.error(`unknown benchmark group(s): ${unknown.join(', ')}; known: ${Object.keys(groups).join(', ')}`);
  process.exit(2);
}
const figures: Figure[] = [];
for (const name of wanted.length ? wanted : Object.keys(groups)) figures.push(...(await groups[name]!()));

const file = 'BENCHMARKS.md';
const start = '<!-- bench:results -->';
const end = '<!-- /bench:results -->';
const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
const text = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n\n${start}\n${end}\n`;
// Keep the rows of figures not measured in this run (e.g. `npm run bench -- trust` leaves catalog rows alone).
const block = new RegExp(`${start}[\\s\\S]*?${end}`).exec(text)?.[0] ?? '';
const rows = new Map<string, string>();
for (const line of block.split('\n')) {
  const m = /^\| `([^`]+)` \|/.exec(line);
  if (m) rows.set(m[1]!, line);
}
for (const f of figures) rows.set(f.name, `| \`${f.name}\` | ${f.value} ${f.unit} | ${f.baseline} ${f.unit} | ${f.ratio} | ${f.goal ?? ''} | ${when} |`);
const table = `${start}\nMachine: ${machine}. Each row is the last run of that figure.\n\n| figure | value | baseline | ratio (value / baseline) | goal | measured (UTC) |\n|---|---|---|---|---|---|\n${[...rows.values()].join('\n')}\n${end}`;
writeFileSync(file, text.includes(start) ? text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), table) : `${text}\n${table}\n`);
process.exit(0);
