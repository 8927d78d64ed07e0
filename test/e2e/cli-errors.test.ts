/**
 * CLI errors with the real `jilian` command (issue 10): network errors name the address, a URL
 * without scheme and a malformed join token are refused before anything is written, a failed enroll
 * leaves no directory behind, a hub directory given to a node command gives one clear error, config
 * errors are bilingual with field paths, deadlines are shown in Asia/Shanghai time, `dept add` is
 * audited, `account add --dept nosuch` is refused, and the first hub account is named after its role.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { openDatabase } from '../../engine/storage/db.ts';
import { initNode } from '../../node/init.ts';
import { NODE_MIGRATIONS } from '../../node/storage/migrations.ts';
import { HUB_MIGRATIONS } from '../../hub/storage/migrations.ts';
import { encodePublicKey, generateSigningKeyPair } from '../../protocol/keys.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { bilingualIssues } from '../../protocol/validation-error.ts';
import { formatShanghaiTime } from '../../engine/calendar/shanghai-time.ts';
import type { AppError } from '../../engine/errors.ts';
import { JoinTokens } from '../../hub/enroll/join-tokens.ts';

const BIN = fileURLToPath(new URL('../../bin/jilian.mjs', import.meta.url));
const TOKEN = `jlj_${'A'.repeat(43)}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function jilian(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, JILIAN_DEBUG: '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A port nobody listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function noStack(r: Run): void {
  assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace expected:\n${r.stderr}`);
}

const root = mkdtempSync(join(tmpdir(), 'jilian-cli-errors-'));
let hubDir: string;
let nodeDir: string;
const enrollArgs = (hub: string, token: string, dir: string) => ['node', 'enroll', hub, token, '--dir', dir, '--county', '410802', '--county-name', '测试区'];

before(async () => {
  await loadSodium();
  nodeDir = join(root, 'node');
  await initNode(nodeDir, {
    county: '410802',
    countyName: '测试区',
    municipality: '410800',
    nats: ['nats://127.0.0.1:1'],
    httpPort: 0,
    hubId: 'hub-410800',
    hubKey: encodePublicKey(generateSigningKeyPair().publicKey),
  });
  hubDir = join(root, 'hub');
  const init = await jilian(['hub', 'init', '--dir', hubDir, '--municipality', '410800', '--municipality-name', '测试市', '--http-port', '0']);
  assert.equal(init.code, 0, init.stderr);
});

describe('jilian node enroll', () => {
  it('a hub nobody listens at: the address and what to check, in zh and en; no directory left behind', async () => {
    const port = await closedPort();
    const dir = join(root, 'refused');
    const r = await jilian(enrollArgs(`http://127.0.0.1:${port}`, TOKEN, dir));
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`无法连接 http://127\\.0\\.0\\.1:${port}.*连接被拒绝`));
    assert.match(r.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}.*connection refused`));
    assert.doesNotMatch(r.stderr, /fetch failed/);
    noStack(r);
    assert.equal(existsSync(dir), false, 'the data directory the command created is removed');
  });

  it('a failed enroll into an existing directory removes only what it created', async () => {
    const port = await closedPort();
    const dir = join(root, 'existing');
    mkdirSync(join(dir, 'keys'), { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    writeFileSync(join(dir, 'keys', 'other.key'), 'mine too');
    const r = await jilian(enrollArgs(`http://127.0.0.1:${port}`, TOKEN, dir));
    assert.equal(r.code, 1);
    assert.deepEqual(readdirSync(dir).sort(), ['keys', 'notes.txt']);
    assert.deepEqual(readdirSync(join(dir, 'keys')), ['other.key']);
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
  });

  it('an address without http:// is refused with a clear message before anything is written', async () => {
    const dir = join(root, 'noscheme');
    for (const hub of ['127.0.0.1:8090', 'localhost:8090', 'ftp://10.0.0.1']) {
      const r = await jilian(enrollArgs(hub, TOKEN, dir));
      assert.equal(r.code, 1, hub);
      assert.match(r.stderr, /http:\/\/ 或 https:\/\//, hub);
      assert.match(r.stderr, /must start with http:\/\/ or https:\/\//, hub);
      assert.match(r.stderr, new RegExp(`http://${hub.startsWith('ftp') ? '' : hub.replace(/\./g, '\\.')}`), `suggests the fixed address: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /Invalid URL/);
      noStack(r);
    }
    assert.equal(existsSync(dir), false);
  });

  it('a malformed join token: a clear zh/en error with its code, nothing written', async () => {
    const dir = join(root, 'badtoken');
    for (const token of ['abc', `${TOKEN}x`, 'jl_' + 'A'.repeat(43), `jlj_${'A'.repeat(40)}!!!`]) {
      const r = await jilian(enrollArgs('http://127.0.0.1:1', token, dir));
      assert.equal(r.code, 1, token);
      assert.match(r.stderr, /TOKEN_MALFORMED/);
      assert.match(r.stderr, /加入令牌格式不正确/);
      assert.match(r.stderr, /join token is malformed/);
      noStack(r);
    }
    assert.equal(existsSync(dir), false);
  });

  it('JILIAN_DEBUG=1 shows the stack', async () => {
    const r = await jilian(enrollArgs('http://127.0.0.1:1', 'abc', join(root, 'debug')), { JILIAN_DEBUG: '1' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^\s+at /m);
  });
});

describe('data directories and config validation', () => {
  it('a hub directory given to a node command: one clear error, not a list of zod issues', async () => {
    for (const args of [
      ['node', 'status'],
      ['node', 'dept', 'add', '--code', 'x', '--name', 'y'],
      ['node', 'account', 'list'],
    ]) {
      const r = await jilian([...args, '--dir', hubDir]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /这是市级枢纽的数据目录，不是县（区）节点的/);
      assert.match(r.stderr, /this is a hub data directory, not a node's/);
      assert.doesNotMatch(r.stderr, /unknown field|municipalityName|expected/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  it('a node directory given to a hub command: the same, the other way round', async () => {
    const r = await jilian(['hub', 'status', '--dir', nodeDir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /这是县（区）节点的数据目录，不是市级枢纽的/);
    assert.match(r.stderr, /this is a node data directory, not a hub's/);
  });

  it('an invalid config: summarised in zh and en with field paths', async () => {
    const dir = join(root, 'badconfig');
    mkdirSync(dir);
    const config = JSON.parse(readFileSync(join(nodeDir, 'jilian.json'), 'utf8'));
    writeFileSync(join(dir, 'jilian.json'), JSON.stringify({ ...config, county: '41', http: { port: 'x' }, colour: 'red' }));
    const r = await jilian(['node', 'status', '--dir', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /配置文件 .*jilian\.json 无效/);
    assert.match(r.stderr, /invalid .*jilian\.json/);
    assert.match(r.stderr, /county: .*\/ /);
    assert.match(r.stderr, /http\.port: 无效输入：期望 数字.* \/ Invalid input: expected number/);
    assert.match(r.stderr, /colour: 未知字段 \/ unknown field/);
    writeFileSync(join(dir, 'jilian.json'), '{ not json');
    const broken = await jilian(['node', 'status', '--dir', dir]);
    assert.match(broken.stderr, /不是合法的 JSON.*\/ .*is not valid JSON/);
    const none = await jilian(['node', 'status', '--dir', join(root, 'nothing-here')]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /没有 jilian\.json.* \/ no jilian\.json/);
    noStack(none);
  });
});

describe('commander usage errors', () => {
  it('an unknown option, a missing option value and an unknown command are explained in zh-CN and English', async () => {
    const cases: [string[], RegExp][] = [
      [['node', 'status', '--dir', nodeDir, '--bogus'], /未知选项 --bogus \/ unknown option --bogus/],
      [['hub', 'token', 'create', '--dir', hubDir, '--county'], /选项 --county <code> 缺少取值 \/ option --county <code> needs a value/],
      [['nod'], /未知命令 nod \/ unknown command nod/],
      [['node', 'start'], /缺少必填选项 -d, --dir <dir> \/ required option -d, --dir <dir> not specified/],
    ];
    for (const [args, expected] of cases) {
      const r = await jilian(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, expected, r.stderr);
      noStack(r);
    }
  });
});

describe('join tokens at the hub', () => {
  it('a used token is refused with the time it was used in Asia/Shanghai time', () => {
    const db = openDatabase(join(root, 'tokens.db'), HUB_MIGRATIONS);
    try {
      const t0 = new Date('2026-12-02T09:00:00Z');
      const tokens = new JoinTokens(db, { now: () => t0 });
      const { token } = tokens.create('410802', 3_600_000);
      tokens.consume(token, '410802', 'county-410802');
      assert.throws(
        () => tokens.consume(token, '410802', 'county-410802-2'),
        (err: AppError) => err.code === 'TOKEN_USED' && err.zh.includes('2026-12-02 17:00 (UTC+8)') && !/T09:00/.test(`${err.zh} ${err.en}`),
      );
    } finally {
      db.close();
    }
  });
});

describe('bilingual zod messages', () => {
  it('bilingualIssues renders each issue in zh-CN and English, custom messages kept', () => {
    const S = z.object({ a: z.string(), b: z.number().int().min(3), c: z.enum(['x', 'y']), d: z.string().regex(/^\d+$/, '只能是数字 / digits only') }).strict();
    const r = S.safeParse({ a: 1, b: 1, c: 'q', d: 'ab', e: 1 });
    assert.ok(!r.success);
    const issues = bilingualIssues(r.error);
    const by = Object.fromEntries(issues.map((i) => [i.path, i]));
    assert.equal(by.a!.zh, '无效输入：期望 string，实际接收 数字');
    assert.equal(by.a!.en, 'Invalid input: expected string, received number');
    assert.equal(by.a!.message, `${by.a!.zh} / ${by.a!.en}`);
    assert.match(by.b!.zh, /过小/);
    assert.match(by.c!.en, /expected one of "x"\|"y"/);
    assert.equal(by.d!.message, '只能是数字 / digits only');
    assert.equal(by.e!.message, '未知字段 / unknown field "e"');
    const missing = bilingualIssues(z.object({ a: z.string() }).safeParse({}).error!);
    assert.equal(missing[0]!.message, '缺少必填字段 / required field missing');
  });
});

describe('deadlines, audit, accounts', () => {
  it('formatShanghaiTime shows Asia/Shanghai time', () => {
    assert.equal(formatShanghaiTime('2026-12-03T09:00:00.000Z'), '2026-12-03 17:00 (UTC+8)');
    assert.equal(formatShanghaiTime(new Date('2026-12-31T16:30:00Z')), '2027-01-01 00:30 (UTC+8)');
  });

  it('hub token create prints its expiry in Asia/Shanghai time, not UTC', async () => {
    const r = await jilian(['hub', 'token', 'create', '--dir', hubDir, '--county', '410802', '--ttl', '1h']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /有效期至 \d{4}-\d{2}-\d{2} \d{2}:\d{2} \(UTC\+8\)/);
    assert.doesNotMatch(r.stderr, /\d{2}:\d{2}:\d{2}\.\d{3}Z/);
    const bad = await jilian(['hub', 'token', 'create', '--dir', hubDir, '--county', '410802', '--ttl', '1 week']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /有效期格式不正确.*\/ invalid TTL/);
  });

  it('the first hub account is named after its role', async () => {
    const r = await jilian(['hub', 'account', 'list', '--dir', hubDir]);
    assert.equal(r.code, 0, r.stderr);
    const accounts = JSON.parse(r.stdout) as { name: string; role: string }[];
    assert.deepEqual(
      accounts.map((a) => [a.name, a.role]),
      [['reviewer', 'reviewer']],
    );
    // Its creation is audited, and so is a token from operator-add.
    const add = await jilian(['hub', 'operator-add', '--dir', hubDir, '--name', 'reviewer']);
    assert.equal(add.code, 0, add.stderr);
    const db = openDatabase(join(hubDir, 'hub.db'), HUB_MIGRATIONS);
    const rows = db.prepare("SELECT action, resource FROM audit_log WHERE resource = 'reviewer' ORDER BY seq").all();
    db.close();
    assert.deepEqual(
      rows.map((r) => ({ ...(r as object) })),
      [
        { action: 'account.create', resource: 'reviewer' },
        { action: 'token.issue', resource: 'reviewer' },
      ],
    );
  });

  it('dept add writes an audit record (and the log still verifies)', async () => {
    const r = await jilian(['node', 'dept', 'add', '--dir', nodeDir, '--code', 'hs-gaj', '--name', '鹤山区公安分局']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^jl_/);
    const db = openDatabase(join(nodeDir, 'jilian.db'), NODE_MIGRATIONS);
    const rows = db.prepare("SELECT actor, actor_role AS actorRole, department, action, resource, detail FROM audit_log WHERE action LIKE 'department.%'").all() as Record<string, string>[];
    db.close();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.action, 'department.register');
    assert.equal(rows[0]!.resource, 'hs-gaj');
    assert.equal(rows[0]!.department, 'hs-gaj');
    assert.match(rows[0]!.actor!, /^os:/);
    assert.deepEqual(JSON.parse(rows[0]!.detail!), { name: '鹤山区公安分局', account: 'dept-hs-gaj', accountCreated: true, via: 'cli' });
    const verify = await jilian(['node', 'audit', 'verify', '--dir', nodeDir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it('account add --dept of an unknown department is refused; a known one works', async () => {
    const r = await jilian(['node', 'account', 'add', '--dir', nodeDir, '--name', 'zhang', '--role', 'dept_reader', '--dept', 'nosuch']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /部门 nosuch 不存在.*\/ .*department nosuch does not exist/);
    noStack(r);
    const list = await jilian(['node', 'account', 'list', '--dir', nodeDir]);
    assert.ok(!(JSON.parse(list.stdout) as { name: string }[]).some((a) => a.name === 'zhang'));
    const ok = await jilian(['node', 'account', 'add', '--dir', nodeDir, '--name', 'zhang', '--role', 'dept_reader', '--dept', 'hs-gaj']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('an application error (duplicate account, unknown role) is printed in zh and en with its code', async () => {
    const dup = await jilian(['node', 'account', 'add', '--dir', nodeDir, '--name', 'zhang', '--role', 'dept_reader', '--dept', 'hs-gaj']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /CONFLICT.*账号 zhang 已存在.* \/ account zhang already exists/);
    const role = await jilian(['node', 'account', 'add', '--dir', nodeDir, '--name', 'li', '--role', 'boss']);
    assert.equal(role.code, 1);
    assert.match(role.stderr, /未知角色 boss.*\/ unknown role boss/);
    noStack(role);
  });
});
