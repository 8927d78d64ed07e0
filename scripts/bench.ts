/**
 * `npm run bench [-- catalog]`: measures the figures the issues name, each with its raw baseline
 * from the same run, prints one JSON line per figure, and rewrites the results table in
 * BENCHMARKS.md. Benchmarks are not tests: nothing here asserts a timing.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { benchCatalog } from './bench/catalog.ts';
import type { Figure } from './bench/harness.ts';

const groups: Record<string, () => Promise<Figure[]>> = {
  catalog: () => benchCatalog({ edits: Number(process.env.BENCH_EDITS ?? 1000), bulk: Number(process.env.BENCH_BULK ?? 10_000) }),
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
const when = new Date().toISOString();
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
const rows = figures.map((f) => `| \`${f.name}\` | ${f.value} ${f.unit} | ${f.baseline} ${f.unit} | ${f.ratio} | ${f.goal ?? ''} |`).join('\n');
const table = `${start}\nLast run ${when} on ${machine}.\n\n| figure | value | baseline | ratio (value / baseline) | goal |\n|---|---|---|---|---|\n${rows}\n${end}`;
const text = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n\n${start}\n${end}\n`;
writeFileSync(file, text.includes(start) ? text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), table) : `${text}\n${table}\n`);
process.exit(0);
