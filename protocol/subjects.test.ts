/**
 * @module The subject table stays true: PROTOCOL.md §4 lists exactly `SUBJECT_ROUTES`, every message
 * tag travels on some subject, tag numbers agree with §8, and every literal use of a subject helper in
 * the hub and node code is a row of the table.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MESSAGE_TYPES } from './messages.ts';
import { downBroadcastSubject, downCountySubject, packageChunkSubject, rpcSubject, serveSubject, SUBJECT_ROUTES, upSubject } from './subjects.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const spec = readFileSync(join(root, 'protocol', 'PROTOCOL.md'), 'utf8');

function section(title: string, next: string): string {
  const start = spec.indexOf(title);
  assert.ok(start >= 0, `PROTOCOL.md has "${title}"`);
  return spec.slice(start, spec.indexOf(next, start + title.length));
}

interface SpecRow {
  subject: string;
  direction: string;
  carries: [string, number][];
  replies: string[];
  transport: string;
}

/** The subject table: the first table of §4 whose rows start with a `jl.` subject. */
function specSubjectTable(): SpecRow[] {
  const rows = section('## 4. Subjects and streams', '### 4.1')
    .split('\n')
    .filter((l) => l.startsWith('| `jl.'));
  assert.ok(rows.length > 0);
  return rows.map((line) => {
    const cells = line.slice(2, -2).split(' | ');
    assert.equal(cells.length, 5, `five cells: ${line}`);
    const tags = (cell: string) => [...cell.matchAll(/`([a-z][a-z.]*)` \((\d+)\)/g)].map((m): [string, number] => [m[1]!, Number(m[2])]);
    return {
      subject: /^`([^`]+)`$/.exec(cells[0]!)![1]!,
      direction: cells[1]!,
      carries: tags(cells[2]!),
      replies: [...tags(cells[3]!).map(([t]) => t), ...(/raw chunk/.test(cells[3]!) ? ['raw'] : [])],
      transport: cells[4]!,
    };
  });
}

/** Tag → number from the §8 message table (a row "10–12 | `a`, `b`, `c`" numbers its tags in order). */
function specMessageNumbers(): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of section('## 8. Messages', 'Tags 15–22').split('\n')) {
    const m = /^\| (\d+)(?:–(\d+))? \| ([^|]+) \|/.exec(line);
    if (!m) continue;
    const tags = [...m[3]!.matchAll(/`([a-z][a-z.]*)`/g)].map((t) => t[1]!);
    tags.forEach((t, i) => out.set(t, Number(m[1]) + i));
    if (m[2]) assert.equal(Number(m[1]) + tags.length - 1, Number(m[2]), line);
  }
  return out;
}

describe('subject table (PROTOCOL.md §4)', () => {
  it('the spec lists exactly SUBJECT_ROUTES, in order, with the same tags, replies, directions and transports', () => {
    const table = specSubjectTable();
    assert.deepEqual(
      table.map((r) => r.subject),
      SUBJECT_ROUTES.map((r) => r.subject),
    );
    table.forEach((row, i) => {
      const route = SUBJECT_ROUTES[i]!;
      assert.deepEqual(
        row.carries.map(([t]) => t),
        [...route.carries],
        `carries of ${route.subject}`,
      );
      assert.deepEqual([...row.replies].sort(), [...route.replies].sort(), `replies of ${route.subject}`);
      assert.equal(row.direction, route.direction, `direction of ${route.subject}`);
      assert.equal(row.transport, route.transport, `transport of ${route.subject}`);
    });
  });

  it('every message tag travels on some subject; tag numbers agree with §8', () => {
    const numbers = specMessageNumbers();
    assert.deepEqual([...numbers.keys()].sort(), Object.keys(MESSAGE_TYPES).sort(), '§8 numbers every tag once');
    const used = new Set(SUBJECT_ROUTES.flatMap((r) => [...r.carries, ...r.replies]));
    for (const tag of Object.keys(MESSAGE_TYPES)) assert.ok(used.has(tag), `${tag} is on a subject`);
    for (const tag of used) assert.ok(tag === 'raw' || tag in MESSAGE_TYPES, `${tag} is a message tag`);
    for (const row of specSubjectTable()) for (const [tag, n] of row.carries) assert.equal(n, numbers.get(tag), `${tag} is number ${numbers.get(tag)}`);
    assert.ok(SUBJECT_ROUTES.some((r) => r.subject === 'jl.<muni>.down.all.<type>' && r.carries.includes('grant.revocations')));
  });

  it('the helpers build the listed subjects', () => {
    const bind = (pattern: string, type = '') => pattern.replace('<muni>', '410800').replace('<county>', '410802').replace('<type>', type).replace('<packageId>', 'p').replace('<index>', '3');
    const subjects = new Set(SUBJECT_ROUTES.flatMap((r) => (r.subject.includes('<type>') ? r.carries.map((t) => bind(r.subject, t)) : [bind(r.subject)])));
    for (const s of [
      upSubject('410800', '410802', 'catalog.update'),
      downBroadcastSubject('410800', 'grant.revocations'),
      downCountySubject('410800', '410802', 'grant.issue'),
      rpcSubject('410800', '410802', 'catalog.sync'),
      rpcSubject('410800', '410802', 'package.chunk'),
      rpcSubject('410800', '410802', 'access'),
      serveSubject('410800', '410802', 'access'),
      packageChunkSubject('410800', '410802', 'p', 3),
    ])
      assert.ok(subjects.has(s), s);
  });

  it('every literal use of a subject helper in hub/, node/ and engine/ is a row of the table', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) files.push(path);
      }
    };
    for (const dir of ['hub', 'node', 'engine']) walk(join(root, dir));
    const routes = new Map(SUBJECT_ROUTES.map((r) => [r.subject, r]));
    const pattern: Record<string, (type: string) => [string, string | null]> = {
      upSubject: (t) => ['jl.<muni>.up.<county>.<type>', t],
      downBroadcastSubject: (t) => ['jl.<muni>.down.all.<type>', t],
      downCountySubject: (t) => ['jl.<muni>.down.<county>.<type>', t],
      rpcSubject: (t) => [`jl.<muni>.rpc.<county>.${t}`, null],
      serveSubject: (t) => [`jl.<muni>.serve.<county>.${t}`, null],
    };
    let uses = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\b(upSubject|downBroadcastSubject|downCountySubject|rpcSubject|serveSubject)\([^()]*?'([a-z.]+)'\)/g)) {
        uses++;
        const [subject, tag] = pattern[m[1]!]!(m[2]!);
        const route = routes.get(subject);
        assert.ok(route, `${file}: ${m[0]} uses ${subject}, which is not in the table`);
        if (tag !== null) assert.ok(route.carries.includes(tag), `${file}: ${m[0]}: ${tag} is not listed on ${subject}`);
      }
    }
    assert.ok(uses >= 10, `found the helpers' uses (${uses})`);
  });
});
