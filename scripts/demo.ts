/**
 * `npm run demo`: a real nats-server, a municipal hub and two county nodes, each a separate
 * `jilian` process set up exactly as an administrator would with the CLI. Loads sample catalogs,
 * shows an entry replicating from one county to the other and being approved at the hub, prints
 * the URLs, then shuts everything down and exits 0. `npm run demo -- --keep` leaves it running.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleCatalogContents } from '../test/helpers/catalog-samples.ts';
import { citizenIdCheckChar } from '../protocol/ids.ts';
import { NatsServer } from '../test/helpers/nats-server.ts';

const BIN = fileURLToPath(new URL('../bin/jilian.mjs', import.meta.url));
const keep = process.argv.includes('--keep');
const MUNI = '140500';
const NODES = [
  { county: '140500', name: '晋城市本级', port: 0 },
  { county: '140525', name: '泽州县', port: 0 },
];

function jilian(...args: string[]): string {
  return execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
}

function field(output: string, label: RegExp): string {
  const m = label.exec(output);
  if (!m) throw new Error(`unexpected CLI output:\n${output}`);
  return m[1]!;
}

const children: ChildProcess[] = [];
function start(role: 'hub' | 'node', dir: string): Promise<string> {
  const child = spawn(process.execPath, [BIN, role, 'start', '--dir', dir, '--http-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} did not start:\n${err}`)), 30_000);
    // The process log is JSON lines on stdout; its `service.running` line's message carries the URL.
    const onData = (d: Buffer) => {
      err += d.toString();
      const m = /running: (http:\/\/[^\s"]+)/.exec(err);
      if (m) clearTimeout(timer), resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`${role} exited ${code}:\n${err}`))));
  });
}

async function call(url: string, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const root = keep ? join(process.cwd(), '.data', 'demo') : mkdtempSync(join(tmpdir(), 'jilian-demo-'));
if (keep) rmSync(root, { recursive: true, force: true }), mkdirSync(root, { recursive: true });
const nats = await NatsServer.start({ storeDir: join(root, 'nats') });
try {
  console.log(`== 级联 Jilian demo ==  NATS ${nats.url}  data ${root}`);
  const hubDir = join(root, 'hub');
  const hubInit = jilian('hub', 'init', '--dir', hubDir, '--municipality', MUNI, '--municipality-name', '晋城市', '--nats', nats.url, '--http-port', '0');
  const hubId = field(hubInit, /hub id: (\S+)/);
  const hubKey = field(hubInit, /hub public key: (\S+)/);
  const hubEncryptionKey = field(hubInit, /hub encryption key: (\S+)/);
  const operatorToken = field(hubInit, /token \(shown once\): (\S+)/);

  const samples = sampleCatalogContents();
  const nodes = NODES.map((n) => {
    const dir = join(root, `node-${n.county}`);
    const init = jilian(
      'node',
      'init',
      '--dir',
      dir,
      '--county',
      n.county,
      '--county-name',
      n.name,
      '--municipality',
      MUNI,
      '--hub-id',
      hubId,
      '--hub-key',
      hubKey,
      '--hub-encryption-key',
      hubEncryptionKey,
      '--nats',
      nats.url,
      '--http-port',
      '0',
    );
    const publicKey = field(init, /public key: (\S+)/);
    const encryptionKey = field(init, /\/ encryption key: (\S+)/);
    jilian('hub', 'register-node', '--dir', hubDir, '--node-id', `county-${n.county}`, '--county', n.county, '--public-key', publicKey, '--encryption-key', encryptionKey, '--name', n.name);
    // 泽州县民政局 catalogs at its county node; the municipal departments at the municipal node.
    const mine = samples.filter((s) => (n.county === '140525') === s.provider.code.startsWith('zz-'));
    const tokens = new Map<string, string>();
    for (const s of mine) if (!tokens.has(s.provider.code)) tokens.set(s.provider.code, jilian('node', 'dept', 'add', '--dir', dir, '--code', s.provider.code, '--name', s.provider.name).trim());
    return { ...n, dir, mine, tokens, url: '' };
  });

  const hubUrl = await start('hub', hubDir);
  for (const n of nodes) n.url = await start('node', n.dir);

  for (const n of nodes) {
    for (const s of n.mine) await call(n.url, n.tokens.get(s.provider.code)!, 'POST', '/api/v1/catalog/entries', s);
    console.log(`${n.name} (${n.county}) 编目 ${n.mine.length} 条 / catalogued ${n.mine.length} entries: ${n.mine.map((s) => s.name).join('、')}`);
  }

  // A new entry at the municipal node, found by a two-character search at 泽州县.
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  const police = samples[0]!;
  const t0 = Date.now();
  const created = await call(a.url, a.tokens.get(police.provider.code)!, 'POST', '/api/v1/catalog/entries', {
    ...police,
    name: '流动人口居住登记信息',
    abstract: '流动人口居住证办理及居住登记信息。',
  });
  const bToken = [...b.tokens.values()][0]!;
  await until('replication to 泽州县', async () =>
    (await call(b.url, bToken, 'GET', `/api/v1/catalog/entries?q=${encodeURIComponent('人口')}`)).items.some((e: { id: string }) => e.id === created.id),
  );
  console.log(`复制 / replicated: “${created.content.name}” ${a.name} → 市级枢纽 → ${b.name}，检索“人口”命中，用时 ${Date.now() - t0} ms`);

  const approved = await call(hubUrl, operatorToken, 'POST', `/api/v1/catalog/entries/${created.id}/review`, { decision: 'approve' });
  const back = await until('approval back at the county', async () => {
    const e = await call(a.url, a.tokens.get(police.provider.code)!, 'GET', `/api/v1/catalog/entries/${created.id}`);
    return e.status === 'approved' && e;
  });
  console.log(`审核通过 / approved at the hub, unified code ${approved.code}; ${a.name} sees status=${back.status} code=${back.code}`);

  const total = await call(hubUrl, operatorToken, 'GET', '/api/v1/catalog/entries?limit=1');
  const search = await call(b.url, bToken, 'GET', `/api/v1/catalog/entries?q=${encodeURIComponent('社保')}`);
  console.log(`总目录 / total catalog at the hub: ${total.total} entries; “社保” at ${b.name}: ${search.items.map((e: { content: { name: string } }) => e.content.name).join('、')}`);

  // Sharing: 泽州县民政局 applies for the municipal police's residence data, the hub's reviewer passes the
  // compliance review, and the bureau queries and cross-verifies it through its own node and the hub.
  const aPolice = a.tokens.get(police.provider.code)!;
  const residence = await call(a.url, aPolice, 'POST', '/api/v1/catalog/entries', {
    ...police,
    name: '居住证办理信息',
    abstract: '居住证申领与签注办理信息。',
    sharingMethods: ['api', 'table', 'verification'],
    updateCycle: 'daily',
  });
  const people = [
    ['14052519850312001', '张伟'],
    ['14052519900701002', '李娜'],
    ['14052520010923003', '王芳'],
  ].map(([body, name]) => [body + citizenIdCheckChar(body!), name!]);
  const csv = [
    '公民身份号码,姓名,性别,民族,出生日期,户籍地址,户籍地行政区划代码,是否已注销户口',
    ...people.map(([id, name]) => `${id},${name},1,01,${id!.slice(6, 10)}-${id!.slice(10, 12)}-${id!.slice(12, 14)},山西省晋城市泽州县金村镇府城村,140525,否`),
  ].join('\n');
  const imported = await fetch(`${a.url}/api/v1/frontend/${residence.id}/import`, { method: 'POST', headers: { authorization: `Bearer ${aPolice}`, 'content-type': 'text/csv' }, body: csv });
  if (!imported.ok) throw new Error(`import: ${imported.status} ${await imported.text()}`);
  await until('entry at the hub', async () => (await fetch(`${hubUrl}/api/v1/catalog/entries/${residence.id}`, { headers: { authorization: `Bearer ${operatorToken}` } })).ok);
  const civil = b.tokens.get('zz-mzj')!;
  const now = Date.now();
  const application = await call(b.url, civil, 'POST', '/api/v1/sharing/applications', {
    resource: residence.id,
    items: ['citizen_id', 'name', 'household_address'],
    purpose: '最低生活保障申请人户籍核实',
    scenario: '低保审核确认',
    methods: ['query', 'verify'],
    period: { from: new Date(now).toISOString(), until: new Date(now + 365 * 86_400_000).toISOString() },
  });
  await until('application at the hub', async () => (await fetch(`${hubUrl}/api/v1/sharing/applications/${application.id}`, { headers: { authorization: `Bearer ${operatorToken}` } })).ok);
  const decided = await call(hubUrl, operatorToken, 'POST', `/api/v1/sharing/applications/${application.id}/decision`, { type: 'compliance_approve' });
  const grantId = decided.grantId as string;
  await until(
    'grant at both counties',
    async () =>
      (await call(b.url, civil, 'GET', '/api/v1/sharing/grants')).grants.some((g: { grantId: string }) => g.grantId === grantId) &&
      (await call(a.url, aPolice, 'GET', '/api/v1/sharing/grants')).grants.some((g: { grantId: string }) => g.grantId === grantId),
  );
  const queried = await call(b.url, civil, 'POST', `/api/v1/sharing/grants/${grantId}/query`, { where: { all: [{ item: 'citizen_id', op: 'eq', value: people[0]![0] }] } });
  const verified = await call(b.url, civil, 'POST', `/api/v1/sharing/grants/${grantId}/verify`, {
    subject: { item: 'citizen_id', value: people[1]![0] },
    claims: { name: '李娜', household_address: '北京市' },
  });
  console.log(`共享 / sharing: ${b.name}民政局申请 → 枢纽符合性审查通过（晋城 §30(1)）→ 授权 ${grantId.slice(0, 8)}…`);
  console.log(`  跨区县查询 / cascaded query (${queried.source}): ${JSON.stringify(queried.result.rows[0])}（仅授权信息项，已脱敏 / granted items only, desensitized）`);
  console.log(`  核验 / verification: 姓名 name ${verified.result.results.name}，户籍地址 address ${verified.result.results.household_address}（不返回数据值 / no values returned）`);
  console.log('');
  console.log(`Hub       ${hubUrl}   (operator token: ${operatorToken})`);
  for (const n of nodes) console.log(`${n.name.padEnd(6, '　')} ${n.url}   (e.g. ${[...n.tokens.keys()][0]} token: ${[...n.tokens.values()][0]})`);
  console.log(`API docs  ${a.url}/api/v1/openapi.json`);
  if (keep) {
    console.log('\n--keep: running until Ctrl-C');
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
  console.log('demo ok');
} finally {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
  await nats.cleanup();
  if (!keep) rmSync(root, { recursive: true, force: true });
}
