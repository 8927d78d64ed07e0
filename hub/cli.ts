/** @module `jilian hub …`: what a municipal hub operator runs. */
import type { Command } from 'commander';
import { join } from 'node:path';
import { readConfig } from '../engine/cli/config-file.ts';
import { openDatabase } from '../engine/storage/db.ts';
import { addStartCommand, CliError, openReadOnly, parsePort, printJson, splitList } from '../engine/cli/support.ts';
import { loadSodium } from '../protocol/sodium.ts';
import { decodePublicKey } from '../protocol/keys.ts';
import { ADMIN_CODE_RE } from '../protocol/subjects.ts';
import { startHub } from './app.ts';
import { HubConfig } from './config.ts';
import { FIRST_ACCOUNT, HUB_NATS_SEED_FILE, initHub } from './init.ts';
import { renderNatsConfig } from './nats-config.ts';
import { publicKeyOfSeed, readSeedFile } from '../engine/nats/auth.ts';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { AuditLog } from '../engine/audit/log.ts';
import { JoinTokens, parseTtl } from './enroll/join-tokens.ts';
import { registerAccountCommands } from '../engine/accounts/cli.ts';
import { registerAuditCommands } from '../engine/audit/cli.ts';
import { systemClock } from '../engine/clock.ts';
import { HUB_MIGRATIONS } from './storage/migrations.ts';
import { OperatorStore } from './storage/operators.ts';
import { NodeRegistry } from './storage/registry.ts';
import { KeyDirectoryService } from './keys/directory.ts';
import { Outbox } from '../engine/storage/outbox.ts';
import { CatalogStore } from '../engine/catalog/catalog-store.ts';
import { rejectionsByCode } from './bus/rejections.ts';
import { readBoxKeyFile, readKeyFile } from '../engine/identity.ts';
import { encodePublicKey } from '../protocol/keys.ts';
import { formatShanghaiTime } from '../engine/calendar/shanghai-time.ts';

function openHubDb(dir: string) {
  const config = readConfig(dir, HubConfig);
  return openDatabase(join(dir, config.database), HUB_MIGRATIONS);
}

/** The key directory service over the hub's database, for CLI changes the running hub then broadcasts. */
async function openDirectory(dir: string) {
  await loadSodium();
  const config = readConfig(dir, HubConfig);
  const db = openHubDb(dir);
  const registry = new NodeRegistry(db);
  const hub = {
    nodeId: config.nodeId,
    signingKey: encodePublicKey(readKeyFile(join(dir, config.keyFile)).publicKey),
    encryptionKey: encodePublicKey(readBoxKeyFile(join(dir, config.encryptionKeyFile)).publicKey),
  };
  const audit = new AuditLog(db, systemClock);
  const directory = new KeyDirectoryService({ db, registry, outbox: new Outbox(db), clock: systemClock, municipality: config.municipality, hub, graceMs: config.keyGraceHours * 3_600_000, audit });
  return { db, registry, directory, audit };
}

export function registerHubCommands(cmd: Command): void {
  cmd
    .command('init')
    .description('创建枢纽数据目录、配置、签名密钥和首个操作员 / create the hub data directory, config, key and first operator')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .requiredOption('--municipality <code>', '市6位行政区划代码 / 6-digit municipality code, e.g. 410800')
    .requiredOption('--municipality-name <name>', '市名称 / municipality name')
    .option('--nats <urls>', 'NATS 地址（逗号分隔）/ NATS URLs, comma separated', 'nats://127.0.0.1:4222')
    .option('--http-port <port>', 'HTTP 端口 / HTTP port', '8090')
    .option('--http-host <host>', 'HTTP 监听地址 / HTTP listen address', '127.0.0.1')
    .option('--code-template <template>', '统一资源编码模板 / unified resource code template (Jincheng §13)')
    .option('--operator <name>', '首个账号（目录审核员）名称 / name of the first account, a catalog reviewer', FIRST_ACCOUNT)
    .option('--nats-auth', '以枢纽 nkey 登录 NATS（NATS 使用 jilian hub nats-config 生成的配置时）/ log in to NATS with the hub nkey (when nats-server runs the generated config)')
    .action(async (o) => {
      const { config, publicKey, encryptionKey, operatorToken } = await initHub(o.dir, {
        municipality: o.municipality,
        municipalityName: o.municipalityName,
        nats: splitList(o.nats),
        httpPort: parsePort(o.httpPort),
        httpHost: o.httpHost,
        codeTemplate: o.codeTemplate,
        operator: o.operator,
        natsAuth: Boolean(o.natsAuth),
      });
      console.log(`已初始化枢纽 / hub initialised: ${config.nodeId} (${config.municipalityName})`);
      console.log(`枢纽标识 / hub id: ${config.nodeId}`);
      console.log(`枢纽公钥 / hub public key: ${publicKey}`);
      console.log(`枢纽加密公钥 / hub encryption key: ${encryptionKey}`);
      console.log(`目录审核员账号 ${o.operator} 的令牌（只显示一次）/ reviewer account ${o.operator}, token (shown once): ${operatorToken}`);
      console.log(`下一步 / next: jilian hub start --dir ${o.dir}`);
    });

  addStartCommand(cmd, '启动枢纽 / run the hub', '枢纽已启动 / hub running', (dir, httpPort) => startHub(dir, { httpPort }));

  cmd
    .command('status')
    .description('显示枢纽状态 / show hub state (safe while the hub runs)')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .action((o) => {
      const config = readConfig(o.dir, HubConfig);
      const db = openReadOnly(o.dir, config.database);
      printJson({
        nodeId: config.nodeId,
        municipality: config.municipality,
        nodes: new NodeRegistry(db).list().map(({ nodeId, county, status }) => ({ nodeId, county, status })),
        entries: new CatalogStore(db).countByStatus(),
        outbox: new Outbox(db).depth(),
        rejections: rejectionsByCode(db),
      });
      db.close();
    });

  cmd
    .command('token')
    .description('加入令牌 / join tokens')
    .command('create')
    .description('为县（区）节点签发一次性、限时的加入令牌（只显示一次）/ issue a one-time, expiring join token (shown once)')
    .requiredOption('-d, --dir <dir>', '枢纽数据目录 / hub data directory')
    .requiredOption('--county <code>', '县（区）代码 / county code')
    .option('--ttl <duration>', '有效期 / validity, e.g. 30m, 24h, 7d', '24h')
    .action((o) => {
      let ttl: number;
      try {
        ttl = parseTtl(o.ttl);
      } catch {
        throw new CliError('INVALID_REQUEST', `有效期格式不正确："${o.ttl}"，请用如 30m、24h、7d`, `invalid TTL "${o.ttl}": use e.g. 30m, 24h or 7d`);
      }
      if (!ADMIN_CODE_RE.test(o.county))
        throw new CliError('INVALID_REQUEST', `县（区）代码 "${o.county}" 无效：须为6位行政区划代码`, `invalid county code "${o.county}": it must be a 6-digit administrative division code`);
      const db = openHubDb(o.dir);
      const { token, expiresAt } = new JoinTokens(db, systemClock).create(o.county, ttl);
      new AuditLog(db, systemClock).append({ actor: `os:${userInfo().username}`, actorRole: 'os', action: 'enroll.token', resource: o.county, result: 'ok', detail: { expiresAt, via: 'cli' } });
      db.close();
      console.log(token);
      console.error(
        `有效期至 ${formatShanghaiTime(expiresAt)} / valid until ${formatShanghaiTime(expiresAt)}; 用法 / use: jilian node enroll <hub address> ${token} --dir … --county ${o.county} --county-name …`,
      );
    });

  cmd
    .command('register-node')
    .description('登记县（区）节点公钥 / register a county node’s public key')
    .requiredOption('-d, --dir <dir>', '枢纽数据目录 / hub data directory')
    .requiredOption('--node-id <id>', '节点标识 / node id')
    .requiredOption('--county <code>', '县（区）代码 / county code')
    .requiredOption('--public-key <base64>', '节点公钥 / node public key (printed by `jilian node init`)')
    .option('--name <name>', '节点名称 / display name')
    .option('--nats-nkey <nkey>', '节点 NATS 用户公钥 / the node’s NATS user public nkey (U…)')
    .option('--encryption-key <base64>', '节点加密公钥（跨区县答复与数据包加密给它）/ the node’s X25519 key: cascaded answers and batch packages are sealed to it (printed by `jilian node init`)')
    .action(async (o) => {
      const { db, registry, directory, audit } = await openDirectory(o.dir);
      for (const [flag, key] of [
        ['--public-key', o.publicKey],
        ['--encryption-key', o.encryptionKey],
      ] as const) {
        if (key === undefined) continue;
        try {
          decodePublicKey(key);
        } catch {
          db.close();
          throw new Error(`${flag} 不是32字节的 base64 公钥 / ${flag} is not a 32-byte base64 public key`);
        }
      }
      db.transaction(() => {
        registry.register({ nodeId: o.nodeId, county: o.county, publicKey: o.publicKey, name: o.name, natsNkey: o.natsNkey, encryptionKey: o.encryptionKey }, new Date());
        audit.append({ actor: `os:${userInfo().username}`, actorRole: 'secadmin', department: o.county, action: 'key.register', resource: o.nodeId, result: 'ok', detail: { via: 'cli' } });
        directory.publish();
      })();
      db.close();
      console.log(`已登记 / registered ${o.nodeId} (${o.county})`);
    });

  cmd
    .command('revoke')
    .description('吊销节点：其消息在各处被拒绝，并从 NATS 配置中移除 / revoke a node: its messages are refused everywhere')
    .argument('<nodeId>', '节点标识 / node id')
    .requiredOption('-d, --dir <dir>', '枢纽数据目录 / hub data directory')
    .requiredOption('--reason <text>', '吊销理由 / reason')
    .action(async (nodeId: string, o) => {
      const { db, directory } = await openDirectory(o.dir);
      const dir = directory.revoke(nodeId, o.reason, `os:${userInfo().username}`);
      db.close();
      console.log(`已吊销 / revoked ${nodeId}; 密钥目录版本 / key directory version ${dir.version}`);
      console.log('请重新生成并重载 NATS 配置 / regenerate and reload the NATS configuration: jilian hub nats-config …');
    });

  cmd
    .command('nodes')
    .description('列出已登记节点 / list registered nodes')
    .requiredOption('-d, --dir <dir>', '枢纽数据目录 / hub data directory')
    .action((o) => {
      const db = openHubDb(o.dir);
      printJson(new NodeRegistry(db).list());
      db.close();
    });

  registerAuditCommands(cmd, openHubDb);
  registerAccountCommands(cmd, openHubDb);

  cmd
    .command('nats-config')
    .description('生成 nats-server 配置：每个节点一个 nkey 用户及其主题权限 / write the nats-server configuration: one nkey user per node with subject permissions')
    .requiredOption('-d, --dir <dir>', '枢纽数据目录 / hub data directory')
    .option('--listen <host:port>', 'NATS 监听地址 / NATS listen address', '0.0.0.0:4222')
    .option('--store-dir <dir>', 'JetStream 存储目录 / JetStream store directory', '/var/lib/nats')
    .option('--out <file>', '写入文件（默认标准输出）/ write to a file (default stdout)')
    .action((o) => {
      const config = readConfig(o.dir, HubConfig);
      const db = openHubDb(o.dir);
      const nodes = new NodeRegistry(db).list();
      db.close();
      const text = renderNatsConfig({
        municipality: config.municipality,
        hub: { nkey: publicKeyOfSeed(readSeedFile(join(o.dir, config.natsSeedFile ?? HUB_NATS_SEED_FILE))) },
        nodes: nodes.map((n) => ({ nodeId: n.nodeId, county: n.county, nkey: n.natsNkey, status: n.status })),
        listen: o.listen,
        storeDir: o.storeDir,
      });
      if (o.out) writeFileSync(o.out, text, { mode: 0o640 });
      else process.stdout.write(text);
      const missing = nodes.filter((n) => n.status === 'active' && !n.natsNkey).map((n) => n.nodeId);
      if (missing.length) console.error(`注意 / note: 无 NATS 公钥、未加入配置的节点 / nodes without a NATS nkey are left out: ${missing.join(', ')}`);
      console.error('变更后重载 / after a change reload: nats-server --signal reload');
    });

  cmd
    .command('operator-add')
    .description('新增操作员并签发令牌（只显示一次）/ add an operator and issue a token (shown once)')
    .requiredOption('-d, --dir <dir>', '枢纽数据目录 / hub data directory')
    .requiredOption('--name <name>', '操作员名称 / operator name')
    .action((o) => {
      const db = openHubDb(o.dir);
      try {
        console.log(new OperatorStore(db).issue(o.name, new Date(), { audit: new AuditLog(db, systemClock), actor: `os:${userInfo().username}`, actorRole: 'os', via: 'cli' }));
      } finally {
        db.close();
      }
    });
}
