/** @module Wires a county node together: SQLite, catalog service, NATS link, outbox publisher, DOWN consumer, anti-entropy, HTTP. */
import { join } from 'node:path';
import { decodePublicKey } from '../protocol/keys.ts';
import { loadSodium } from '../protocol/sodium.ts';
import { downFilterSubjects, streamNames } from '../protocol/subjects.ts';
import { CatalogStore } from '../engine/catalog/catalog-store.ts';
import { systemClock, type Clock } from '../engine/clock.ts';
import { readConfig } from '../engine/cli/config-file.ts';
import { ConsumerLoop } from '../engine/nats/consumer.ts';
import { openDatabase, type Db } from '../engine/storage/db.ts';
import { Identity, readBoxKeyFile, readKeyFile } from '../engine/identity.ts';
import { Inbox, INBOX_RETENTION_DAYS } from '../engine/storage/inbox.ts';
import { createLogger, type Logger } from '../engine/log.ts';
import { lockDataDir, type DataDirLock } from '../engine/storage/data-dir-lock.ts';
import { listenHttp, type HttpListener } from '../engine/http/listen.ts';
import { NatsLink } from '../engine/nats/link.ts';
import { nkeyConnectOptions, nodeInboxPrefix, readSeedFile } from '../engine/nats/auth.ts';
import { Outbox } from '../engine/storage/outbox.ts';
import { OutboxPublisher } from '../engine/nats/publisher.ts';
import { CatalogService } from './catalog/catalog-service.ts';
import { NodeConfig } from './config.ts';
import { createNodeApp } from './http/routes.ts';
import { NODE_MIGRATIONS } from './storage/migrations.ts';
import { AuditLog } from '../engine/audit/log.ts';
import { FRONTEND_AUDIT_ACTIONS } from './staging/importer.ts';
import { startAuditMaintenance } from '../engine/audit/maintenance.ts';
import { dataDirPublicKeys } from '../engine/audit/keyring.ts';
import { loadPolicy } from '../protocol/policy.ts';
import { upSubject } from '../protocol/subjects.ts';
import { DepartmentStore } from './storage/departments.ts';
import { AccountStore } from '../engine/accounts/store.ts';
import type { RouteSpec } from '../engine/http/auth.ts';
import { AntiEntropyClient } from './bus/anti-entropy.ts';
import { createDownHandler } from './bus/down-handler.ts';
import { KeyDirectoryStore } from './keys/directory-store.ts';
import { promoteIfAnnounced } from './keys/rotation.ts';
import { PackageSender } from './packages/sender.ts';
import { JetStreamChunkSink } from './bus/package-chunks.ts';
import { Packager } from './packages/packager.ts';
import { NODE_SHARING_AUDIT_ACTIONS, NodeSharing } from './sharing/node-sharing.ts';
import { AccessServer } from './sharing/access-server.ts';
import { AccessServerTransport } from './bus/access-transport.ts';
import { natsHubLink } from './bus/hub-rpc.ts';
import { AccessClient } from './sharing/access-client.ts';
import { BatchReceiver } from './sharing/received-packages.ts';
import { GrantPackager } from './sharing/grant-packages.ts';
import { GroupCommit } from '../engine/storage/group-commit.ts';
import { purgeRejects } from './staging/rejects-retention.ts';
import { frontendItems } from './staging/entry-items.ts';
import { PackageScheduler } from './packages/schedule.ts';
import type { UpdateCycle } from '../protocol/catalog-entry.ts';
import type { KeyDirectory } from '../protocol/key-directory.ts';
import { SentPackageStore } from './packages/sent-packages-store.ts';

export interface StartNodeOptions {
  clock?: Clock;
  log?: Logger;
  /** Override the configured HTTP port (0 = any free port; tests use this). */
  httpPort?: number;
}

export interface RunningNode {
  config: NodeConfig;
  /** The process log (JSON lines). */
  log: Logger;
  url: string;
  db: Db;
  service: CatalogService;
  departments: DepartmentStore;
  audit: AuditLog;
  /** Sends data packages to the hub (needs the hub's encryption key, which enrollment provides). */
  packages: PackageSender | undefined;
  /** Builds packages from front-end tables (snapshot or delta). */
  packager: Packager | undefined;
  /** Forced-package requests and the update-cycle schedule. */
  packageScheduler: PackageScheduler | undefined;
  grantPackager: GrantPackager | undefined;
  /** Applications, grants and the revocation list (sharing workflow). */
  sharing: NodeSharing;
  /** Answers cascaded access to this county's resources. */
  accessServer: AccessServer;
  /** Cascaded access of this county's departments to others' resources. */
  accessClient: AccessClient;
  /** Send a signed checkpoint of the audit head to the hub now (normally periodic). */
  checkpointAudit(): void;
  directory: KeyDirectoryStore;
  /** Every HTTP route with the roles allowed to call it. */
  routes: RouteSpec[];
  antiEntropy: AntiEntropyClient;
  link: NatsLink;
  status(): NodeStatus;
  close(): Promise<void>;
}

export interface NodeStatus {
  nodeId: string;
  county: string;
  municipality: string;
  nats: { connected: boolean; connectedAt: string | null };
  hub: { lastContactAt: string | null };
  outbox: { depth: number; oldest: string | null; lagMs: number; published: number; lastAckAt: string | null };
  inbound: { applied: number; duplicates: number; rejected: number };
  antiEntropy: { last: unknown; lastError: string | null };
  catalog: { entries: number; stateBytes: number };
}

export async function startNode(dir: string, options: StartNodeOptions = {}): Promise<RunningNode> {
  await loadSodium();
  const config = readConfig(dir, NodeConfig);
  const log = options.log ?? createLogger(config.nodeId, { file: config.logFile ? join(dir, config.logFile) : undefined });
  // One process per data directory, and the HTTP port bound before the database is opened or written.
  let lock: DataDirLock | undefined;
  let http: HttpListener | undefined;
  try {
    lock = lockDataDir(dir, { role: 'node', nodeId: config.nodeId });
    http = await listenHttp(config.http.host, options.httpPort ?? config.http.port);
    lock.update({ url: http.url });
    return await wireNode(dir, options, config, log, lock, http);
  } catch (err) {
    await http?.close();
    lock?.release();
    log.error({ event: 'node.start_failed', code: (err as { code?: string }).code, err: String(err) }, 'county node did not start');
    throw err;
  }
}

async function wireNode(dir: string, options: StartNodeOptions, config: NodeConfig, log: Logger, lock: DataDirLock, http: HttpListener): Promise<RunningNode> {
  const clock = options.clock ?? systemClock;
  const db = openDatabase(join(dir, config.database), NODE_MIGRATIONS);
  const identity = new Identity(config.nodeId, readKeyFile(join(dir, config.keyFile)));
  const hubKey = decodePublicKey(config.hub.publicKey);
  const store = new CatalogStore(db);
  const outbox = new Outbox(db);
  const inbox = new Inbox(db);
  const departments = new DepartmentStore(db);
  const policy = loadPolicy(config.policy, config.policyOverrides);
  // Signatures by the key before a rotation still verify; purges keep the policy's retention (issue 10).
  const audit = new AuditLog(db, clock, {
    signer: identity,
    verifyKeys: () => dataDirPublicKeys(dir, config.keyFile),
    retentionDays: policy.auditRetentionDays,
    actions: [...FRONTEND_AUDIT_ACTIONS, ...NODE_SHARING_AUDIT_ACTIONS],
  });
  const service = new CatalogService({ db, store, outbox, clock, municipality: config.municipality, county: config.county, clientId: config.yjsClientId, audit, policy });

  const directory = new KeyDirectoryStore(db);
  const onDirectory = (kd: KeyDirectory) => {
    if (!directory.accept(kd)) return;
    log.info({ event: 'keys.directory', version: kd.version }, 'key directory updated');
    if (promoteIfAnnounced(dir, config.keyFile, kd, identity)) log.info({ event: 'keys.rotated', nodeId: config.nodeId }, 'signing key rotated');
  };
  // The hub's accepted signing keys: the configured one, and a rotated one the signed key directory announces.
  const hubKeys = (): Uint8Array[] => {
    const fromDirectory = directory.current() ? directory.keysOf(config.hub.nodeId, clock.now()) : [];
    return fromDirectory.length ? [hubKey, ...fromDirectory.filter((k) => !k.every((b, i) => b === hubKey[i]))] : [hubKey];
  };
  const sharing = new NodeSharing({ db, outbox, audit, clock, log, municipality: config.municipality, county: config.county, nodeId: config.nodeId, hubId: config.hub.nodeId, hubKeys });
  const natsAuth = config.natsSeedFile ? nkeyConnectOptions(readSeedFile(join(dir, config.natsSeedFile)), nodeInboxPrefix(config.nodeId)) : undefined;
  const link = new NatsLink(config.nats, config.nodeId, log, natsAuth);
  // One store of sent packages for the sender, packagers and schedule (each uses its own narrow interface).
  const sent = new SentPackageStore(db);
  const packages = config.hub.encryptionKey
    ? new PackageSender({
        db,
        sent,
        chunks: new JetStreamChunkSink(link),
        outbox,
        identity,
        clock,
        log,
        municipality: config.municipality,
        county: config.county,
        hub: { nodeId: config.hub.nodeId, encryptionKey: decodePublicKey(config.hub.encryptionKey) },
      })
    : undefined;
  const abandoned = packages?.recover() ?? 0;
  if (abandoned) log.warn({ event: 'package.abandoned', count: abandoned }, 'packages interrupted during their build were abandoned');
  const packager = packages
    ? new Packager({ db, sent, sender: packages, audit, clock, log, resourceCode: (id) => store.getView(id)?.code ?? null, items: (id) => frontendItems(id, store.requireView(id).content) })
    : undefined;
  const grantPackager = packages
    ? new GrantPackager({
        db,
        sent,
        sharing,
        sender: packages,
        audit,
        clock,
        log,
        county: config.county,
        resourceItems: (id) => {
          const v = store.getView(id);
          return v ? ((v.content['dataItems'] as { code: string }[] | undefined) ?? []).map((i) => i.code) : null;
        },
        resourceCode: (id) => store.getView(id)?.code ?? null,
        minIntervalMs: config.grantPackageMinSeconds * 1000,
      })
    : undefined;
  const packageScheduler = packager
    ? new PackageScheduler({
        db,
        sent,
        packager,
        grantPackager,
        clock,
        log,
        scheduleMs: config.packageScheduleSeconds * 1000,
        updateCycle: (id) => {
          const v = store.getView(id);
          if (!v || v.status === 'withdrawn') return null;
          return (v.content['updateCycle'] as UpdateCycle | undefined) ?? null;
        },
      })
    : undefined;
  const publisher = new OutboxPublisher(outbox, link, identity, log);
  const boxKeys = readBoxKeyFile(join(dir, config.encryptionKeyFile));
  const batch = new BatchReceiver({
    db,
    link: natsHubLink(link),
    sharing,
    identity,
    boxKeys,
    directory,
    audit,
    clock,
    log,
    municipality: config.municipality,
    county: config.county,
    nodeId: config.nodeId,
    hubId: config.hub.nodeId,
    hubKeys,
  });
  const down = createDownHandler({ db, inbox, service, clock, log, hubId: config.hub.nodeId, hubKey, county: config.county, onDirectory, packages, sharing, batch, onContact: () => link.touch() });
  const commits = new GroupCommit(db);
  const accessServer = new AccessServer({ db, sharing, identity, audit, clock, log, municipality: config.municipality, county: config.county, hubId: config.hub.nodeId, hubKeys, commits });
  const accessTransport = new AccessServerTransport(accessServer, config.municipality, config.county, log);
  const accessClient = new AccessClient({
    link: natsHubLink(link),
    sharing,
    identity,
    boxKeys,
    directory,
    audit,
    clock,
    municipality: config.municipality,
    county: config.county,
    nodeId: config.nodeId,
    hubId: config.hub.nodeId,
    hubKeys,
    commits,
    resourceItems: (id) => (store.getView(id)?.content['dataItems'] as { code: string; identifier?: string | null }[] | undefined) ?? null,
  });
  const consumer = new ConsumerLoop(
    link,
    {
      stream: streamNames(config.municipality).down,
      durable: config.nodeId,
      filterSubjects: downFilterSubjects(config.municipality, config.county),
      handle: down.handle,
      // With NATS permissions the hub creates this node's consumer (hub/app.ts ensureNodeConsumers).
      bindOnly: natsAuth !== undefined,
    },
    log,
  );
  const antiEntropy = new AntiEntropyClient({
    link,
    identity,
    store,
    service,
    outbox,
    log,
    municipality: config.municipality,
    county: config.county,
    hubId: config.hub.nodeId,
    hubKey,
    intervalMs: config.antiEntropyMs,
  });

  const status = (): NodeStatus => {
    const o = outbox.depth();
    return {
      nodeId: config.nodeId,
      county: config.county,
      municipality: config.municipality,
      nats: { connected: link.state.connected, connectedAt: link.state.connectedAt },
      hub: { lastContactAt: link.state.lastContactAt },
      outbox: { ...o, lagMs: o.oldest ? Math.max(0, clock.now().getTime() - Date.parse(o.oldest)) : 0, published: publisher.published, lastAckAt: publisher.lastAckAt },
      inbound: { ...down.stats },
      antiEntropy: { last: antiEntropy.lastReport, lastError: antiEntropy.lastError },
      catalog: store.stats(),
    };
  };

  const pruneInbox = () => {
    log.info({ event: 'inbox.pruned', rows: inbox.prune(clock.now(), INBOX_RETENTION_DAYS) }, 'inbox pruned');
    log.info({ event: 'frontend.rejects_purged', ...purgeRejects(db, clock.now(), config.rejectsRetentionDays) }, 'old import rejects purged');
  };
  pruneInbox();
  const pruneTimer = setInterval(pruneInbox, 6 * 3_600_000);
  pruneTimer.unref();

  const app = createNodeApp({
    db,
    service,
    departments,
    accounts: new AccountStore(db),
    clock,
    status,
    log,
    maxBodyBytes: config.maxBodyBytes,
    audit,
    sharing: { sharing, access: accessClient, batch },
    login: config.login,
  });
  // Audit retention comes from the policy preset (Jiyuan §28: ≥ 6 months; Hebi §13: ≥ 3 years); the
  // chain head goes to the hub signed, so history cannot be rewritten unnoticed.
  const auditDuties = startAuditMaintenance({
    audit,
    retentionDays: policy.auditRetentionDays,
    archiveDir: join(dir, 'audit-archive'),
    clock,
    log,
    signer: identity,
    checkpointMs: config.auditCheckpointMinutes * 60_000,
    onCheckpoint: (cp) => outbox.add(upSubject(config.municipality, config.county, 'audit.checkpoint'), 'audit.checkpoint', cp, clock.now()),
  });
  link.onConnect(() => {
    auditDuties.checkpointNow();
    if (link.connection) accessTransport.listen(link.connection);
  });
  http.attach(app.fetch);
  const url = http.url;

  // The WAN side starts after HTTP is serving: a node works locally whether or not the hub is reachable.
  link.start();
  publisher.start();
  consumer.start();
  antiEntropy.start();
  packageScheduler?.start();
  batch.start();
  log.info({ event: 'node.started', nodeId: config.nodeId, county: config.county, url }, 'county node started');

  return {
    config,
    url,
    log,
    db,
    service,
    departments,
    audit,
    packages,
    packager,
    packageScheduler,
    grantPackager,
    sharing,
    accessServer,
    accessClient,
    checkpointAudit: () => auditDuties.checkpointNow(),
    directory,
    routes: app.routes,
    antiEntropy,
    link,
    status,
    async close() {
      antiEntropy.stop();
      accessTransport.close();
      auditDuties.stop();
      await packageScheduler?.stop();
      await batch.stop();
      clearInterval(pruneTimer);
      await http.close();
      await consumer.stop();
      await publisher.stop();
      await link.close();
      commits.close();
      db.close();
      lock.release();
      log.info({ event: 'node.stopped' }, 'county node stopped');
    },
  };
}
