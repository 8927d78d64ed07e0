/** @module Tests of `audit verify` and `audit export` as the node and hub CLIs register them. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it, mock } from 'node:test';
import { Command } from 'commander';
import { loadSodium } from '../../protocol/sodium.ts';
import { openDatabase, type Db } from '../storage/db.ts';
import { parseCliTime, registerAuditCommands } from './cli.ts';
import { AUDIT_SCHEMA_SQL, AuditLog } from './log.ts';
import { dropGuards, FakeClock } from './testing.ts';

const T0 = new Date('2024-05-01T08:00:00.000Z');
const open = (dir: string): Db => openDatabase(join(dir, 'jilian.db'), [{ version: 1, name: 'audit', sql: AUDIT_SCHEMA_SQL }]);

/** Run `jilian <args>` in-process; returns stdout lines, stderr lines and the exit code it set. */
async function run(args: string[]): Promise<{ out: string; err: string; code: number }> {
  const program = new Command().exitOverride();
  registerAuditCommands(program, open);
  const out: string[] = [];
  const err: string[] = [];
  const log = mock.method(console, 'log', (...a: unknown[]) => out.push(a.join(' ')));
  const error = mock.method(console, 'error', (...a: unknown[]) => err.push(a.join(' ')));
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'jilian', ...args]);
  } finally {
    log.mock.restore();
    error.mock.restore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out: out.join('\n'), err: err.join('\n'), code };
}

describe('audit CLI', () => {
  let root: string;
  let n = 0;
  const seed = (count: number): string => {
    const dir = join(root, `d${n++}`);
    mkdirSync(dir);
    const db = open(dir);
    const clock = new FakeClock(T0);
    const log = new AuditLog(db, clock);
    for (let i = 1; i <= count; i++) {
      log.append({ actor: '张三', actorRole: 'department', department: '鹤山区公安分局', action: 'data.use', resource: `entry-${i}`, result: 'ok', purpose: '核验,比对' });
      clock.advance(3_600_000);
    }
    db.close();
    return dir;
  };

  before(async () => {
    await loadSodium();
    root = mkdtempSync(join(tmpdir(), 'jilian-audit-cli-'));
  });
  afterEach(() => {
    process.exitCode = undefined;
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('verify prints the result as JSON and exits 0 on an intact chain', async () => {
    const dir = seed(4);
    const r = await run(['audit', 'verify', '--dir', dir]);
    assert.equal(r.code, 0);
    assert.deepEqual({ ...JSON.parse(r.out), head: undefined }, { ok: true, count: 4, guardsIntact: true, head: undefined });
  });

  it('verify exits 1 with the first broken seq and a bilingual message', async () => {
    const dir = seed(4);
    const db = open(dir);
    dropGuards(db);
    db.prepare("UPDATE audit_log SET actor = '王五' WHERE seq = 3").run();
    db.close();
    const r = await run(['audit', 'verify', '--dir', dir]);
    assert.equal(r.code, 1);
    const json = JSON.parse(r.out);
    assert.equal(json.ok, false);
    assert.equal(json.firstBrokenSeq, 3);
    assert.match(r.err, /审计链损坏 \/ audit chain broken: 序号 3 .* \/ record 3 /);
  });

  it('export writes CSV to a file for a time range and records the export in the log', async () => {
    const dir = seed(5);
    const file = join(dir, 'out.csv');
    const r = await run(['audit', 'export', '--dir', dir, '--from', '2024-05-01T09:00:00Z', '--to', '2024-05-01T11:00:00Z', '--format', 'csv', '--out', file]);
    assert.equal(r.code, 0);
    assert.match(r.err, /已导出 2 条记录 \/ exported 2 records/);
    const lines = readFileSync(file, 'utf8').split('\r\n');
    assert.equal(lines[0], '\uFEFFseq,at,actor,actor_role,department,action,resource,fields,purpose,result,detail,prev_hash,hash');
    assert.match(lines[1]!, /^2,2024-05-01T09:00:00\.000Z,张三,department,鹤山区公安分局,data\.use,entry-2,\[\],"核验,比对",ok,\{\},/);
    assert.equal(lines.length, 4, 'two rows and the final empty line');
    const db = open(dir);
    const [rec] = new AuditLog(db, new FakeClock(T0)).search({ action: 'audit.export', limit: 1 }).records;
    db.close();
    assert.equal(rec?.actorRole, 'admin');
    assert.equal(rec?.detail.count, 2);
  });

  it('export writes NDJSON to stdout', async () => {
    const dir = seed(2);
    const chunks: string[] = [];
    const write = mock.method(process.stdout, 'write', (c: string | Uint8Array) => (chunks.push(String(c)), true));
    try {
      await run(['audit', 'export', '--dir', dir, '--from', '2024-05-01', '--to', '2024-05-02', '--format', 'ndjson']);
    } finally {
      write.mock.restore();
    }
    assert.deepEqual(
      chunks
        .join('')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).seq),
      [1, 2],
    );
  });

  it('a bare date is midnight China Standard Time; garbage is refused in both languages', () => {
    assert.equal(parseCliTime('2024-05-01', '--from').toISOString(), '2024-04-30T16:00:00.000Z');
    assert.equal(parseCliTime('2024-05-01T08:00:00Z', '--from').toISOString(), '2024-05-01T08:00:00.000Z');
    assert.throws(() => parseCliTime('yesterday', '--from'), /不是有效的日期时间 \/ --from is not a valid ISO 8601/);
  });

  it('export refuses an unknown format', async () => {
    const dir = seed(1);
    await assert.rejects(run(['audit', 'export', '--dir', dir, '--from', '2024-05-01', '--to', '2024-05-02', '--format', 'xlsx']), /未知格式 \/ unknown format xlsx/);
  });
});
