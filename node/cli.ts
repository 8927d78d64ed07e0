/** @module `jilian node …`: what a county administrator runs. */
import type { Command } from 'commander';
import { readConfig } from '../engine/cli/config-file.ts';
import { openDatabase } from '../engine/storage/db.ts';
import { addStartCommand, openReadOnly, parsePort, printJson, splitList } from '../engine/cli/support.ts';
import { startNode } from './app.ts';
import { NodeConfig } from './config.ts';
import { enrollNode } from './enroll.ts';
import { initNode } from './init.ts';
import { DEPARTMENT_AUDIT_ACTIONS, DepartmentStore } from './storage/departments.ts';
import { prepareRotation } from './keys/rotation.ts';
import { registerAccountCommands } from '../engine/accounts/cli.ts';
import { registerAuditCommands } from '../engine/audit/cli.ts';
import { registerImportCommand } from './staging/cli.ts';
import { frontendItems } from './staging/entry-items.ts';
import { FRONTEND_AUDIT_ACTIONS } from './staging/importer.ts';
import { registerPackageCommand } from './packages/cli.ts';
import { CatalogStore } from '../engine/catalog/catalog-store.ts';
import { AuditLog } from '../engine/audit/log.ts';
import { systemClock } from '../engine/clock.ts';
import { Outbox } from '../engine/storage/outbox.ts';
import { upSubject } from '../protocol/subjects.ts';
import { loadSodium } from '../protocol/sodium.ts';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { NODE_MIGRATIONS } from './storage/migrations.ts';

export function registerNodeCommands(cmd: Command): void {
  cmd
    .command('init')
    .description('创建节点数据目录、配置与签名密钥 / create the data directory, config and signing key')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .requiredOption('--county <code>', '本县（区）6位行政区划代码 / 6-digit county code, e.g. 410802')
    .requiredOption('--county-name <name>', '县（区）名称 / county name')
    .requiredOption('--municipality <code>', '所属市代码 / municipality code, e.g. 410800')
    .requiredOption('--hub-id <id>', '市级枢纽节点标识 / hub node id (printed by `jilian hub init`)')
    .requiredOption('--hub-key <base64>', '市级枢纽公钥 / hub public key (printed by `jilian hub init`)')
    .option('--nats <urls>', 'NATS 地址（逗号分隔）/ NATS server URLs, comma separated', 'nats://127.0.0.1:4222')
    .option('--http-port <port>', 'HTTP 端口 / HTTP port', '8080')
    .option('--http-host <host>', 'HTTP 监听地址 / HTTP listen address', '127.0.0.1')
    .option('--node-id <id>', '节点标识 / node id (default county-<code>)')
    .option('--nats-auth', '生成 NATS nkey 并以其登录 / create a NATS nkey and log in with it')
    .option('--hub-encryption-key <base64>', '市级枢纽加密公钥（数据包）/ hub encryption key for data packages (printed by `jilian hub init`)')
    .action(async (o) => {
      const { config, publicKey, encryptionKey, natsNkey } = await initNode(o.dir, {
        county: o.county,
        countyName: o.countyName,
        municipality: o.municipality,
        nats: splitList(o.nats),
        httpPort: parsePort(o.httpPort),
        httpHost: o.httpHost,
        hubId: o.hubId,
        hubKey: o.hubKey,
        nodeId: o.nodeId,
        natsSeed: Boolean(o.natsAuth),
        hubEncryptionKey: o.hubEncryptionKey,
      });
      console.log(`已初始化节点 / node initialised: ${config.nodeId} (${config.countyName} ${config.county})`);
      console.log(`公钥 / public key: ${publicKey}`);
      console.log(`加密公钥 / encryption key: ${encryptionKey}`);
      if (natsNkey) console.log(`NATS 公钥 / NATS nkey: ${natsNkey}`);
      console.log('下一步 / next:');
      console.log(
        `  1. 市级枢纽登记本节点 / at the hub: jilian hub register-node --dir <hub dir> --node-id ${config.nodeId} --county ${config.county} --public-key ${publicKey} --encryption-key ${encryptionKey}`,
      );
      console.log(`  2. 为部门签发令牌 / issue a department token: jilian node dept add --dir ${o.dir} --code <dept code> --name <dept name>`);
      console.log(`  3. 启动 / start: jilian node start --dir ${o.dir}`);
    });

  cmd
    .command('enroll')
    .description('用市级枢纽签发的一次性令牌加入 / join the hub with a one-time token from the hub operator')
    .argument('<hub>', '市级枢纽地址 / hub HTTP address, e.g. http://10.0.0.1:8090')
    .argument('<token>', '加入令牌 / join token (jilian hub token create)')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .requiredOption('--county <code>', '本县（区）6位行政区划代码 / 6-digit county code')
    .requiredOption('--county-name <name>', '县（区）名称 / county name')
    .option('--http-port <port>', 'HTTP 端口 / HTTP port', '8080')
    .option('--http-host <host>', 'HTTP 监听地址 / HTTP listen address', '127.0.0.1')
    .option('--node-id <id>', '节点标识 / node id (default county-<code>)')
    .action(async (hub: string, token: string, o) => {
      const { config, publicKey } = await enrollNode(o.dir, {
        hubUrl: hub,
        token,
        county: o.county,
        countyName: o.countyName,
        nodeId: o.nodeId,
        httpPort: parsePort(o.httpPort),
        httpHost: o.httpHost,
      });
      console.log(`已加入 / enrolled: ${config.nodeId} → ${config.hub.nodeId} (${config.municipality})`);
      console.log(`公钥 / public key: ${publicKey}`);
      console.log(`下一步 / next: jilian node dept add --dir ${o.dir} --code <dept> --name <name>; jilian node start --dir ${o.dir}`);
    });

  addStartCommand(cmd, '启动节点（HTTP 接口 + 与枢纽同步）/ run the node (HTTP API + replication)', '节点已启动 / node running', (dir, httpPort) => startNode(dir, { httpPort }));

  cmd
    .command('status')
    .description('显示复制状态（可在节点运行时使用）/ show replication state (safe while the node runs)')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .action(async (o) => {
      const config = readConfig(o.dir, NodeConfig);
      const db = openReadOnly(o.dir, config.database);
      const outbox = new Outbox(db).depth();
      const entries = new CatalogStore(db).countOwn(config.county);
      db.close();
      let http: unknown = 'down';
      try {
        const res = await fetch(`http://${config.http.host}:${config.http.port}/api/v1/health`, { signal: AbortSignal.timeout(2000) });
        http = res.ok ? 'up' : `HTTP ${res.status}`;
      } catch {
        /* not running */
      }
      printJson({ nodeId: config.nodeId, county: config.county, http, outbox, entries });
    });

  cmd
    .command('rotate-keys')
    .description('轮换签名密钥：新公钥由旧密钥签名公告，枢纽确认后生效 / rotate the signing key: announced signed by the old key, used once the hub confirms')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .action(async (o) => {
      await loadSodium();
      const config = readConfig(o.dir, NodeConfig);
      const db = openDatabase(join(o.dir, config.database), NODE_MIGRATIONS);
      const rotation = prepareRotation(o.dir, config.nodeId);
      new Outbox(db).add(upSubject(config.municipality, config.county, 'keys.rotate'), 'keys.rotate', rotation, new Date());
      db.close();
      console.log(`新公钥 / new public key: ${rotation.newSigningKey}`);
      console.log('已排队发送给市级枢纽；枢纽确认（密钥目录更新）后节点自动切换 / queued for the hub; the node switches once the hub’s key directory lists it');
    });

  registerImportCommand(cmd, async (dir) => {
    await loadSodium();
    const config = readConfig(dir, NodeConfig);
    const db = openDatabase(join(dir, config.database), NODE_MIGRATIONS);
    const store = new CatalogStore(db);
    return {
      db,
      items: (entryId: string) => frontendItems(entryId, store.requireView(entryId).content),
      audit: new AuditLog(db, systemClock, { actions: FRONTEND_AUDIT_ACTIONS }),
      close: () => db.close(),
    };
  });
  registerPackageCommand(cmd, (dir) => {
    const db = openDatabase(join(dir, readConfig(dir, NodeConfig).database), NODE_MIGRATIONS);
    return { db, close: () => db.close() };
  });
  registerAuditCommands(cmd, (dir) => openDatabase(join(dir, readConfig(dir, NodeConfig).database), NODE_MIGRATIONS));
  registerAccountCommands(cmd, (dir) => openDatabase(join(dir, readConfig(dir, NodeConfig).database), NODE_MIGRATIONS), {
    // A department account needs its department registered at this node first (jilian node dept add).
    departmentExists: (db, code) => new DepartmentStore(db).get(code) !== undefined,
  });

  const dept = cmd.command('dept').description('部门与访问令牌 / departments and their API tokens');
  dept
    .command('add')
    .description('登记部门并签发令牌（令牌只显示一次）/ register a department and issue its token (shown once)')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .requiredOption('--code <code>', '部门代码 / department code')
    .requiredOption('--name <name>', '部门名称 / department name')
    .action(async (o) => {
      await loadSodium();
      const config = readConfig(o.dir, NodeConfig);
      const db = openDatabase(join(o.dir, config.database), NODE_MIGRATIONS);
      try {
        const audit = new AuditLog(db, systemClock, { actions: DEPARTMENT_AUDIT_ACTIONS });
        const token = new DepartmentStore(db).issue(o.code, o.name, new Date(), { audit, actor: `os:${userInfo().username}`, actorRole: 'os', via: 'cli' });
        console.log(token);
        console.error(`已登记部门 / department registered: ${o.code} (${o.name})；操作员账号 / operator account dept-${o.code}；令牌只显示一次 / the token is shown once`);
      } finally {
        db.close();
      }
    });
  dept
    .command('list')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .action((o) => {
      const config = readConfig(o.dir, NodeConfig);
      const db = openDatabase(join(o.dir, config.database), NODE_MIGRATIONS);
      printJson(new DepartmentStore(db).list());
      db.close();
    });
}
