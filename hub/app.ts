/** @module Wires the municipal hub: SQLite, total catalog, streams, UP consumer, outbox publisher (DOWN), sync server, HTTP. */
import { join } from 'node:path';
import { loadSodium } from '../protocol/sodium.ts';
import { downFilterSubjects, downStreamSubjects, pkgStreamSubjects, streamNames, upStreamSubjects } from '../protocol/subjects.ts';
import { PackageReceiver } from './packages/receiver.ts';
import { JetStreamChunkSource } from './bus/package-chunks.ts';
import { CatalogStore } from '../engine/catalog/catalog-store.ts';
import { systemClock, type Clock } from '../engine/clock.ts';
import { readConfig } from '../engine/cli/config-file.ts';
import { openDatabase, type Db } from '../engine/storage/db.ts';
import { Identity, readBoxKeyFile, readKeyFile } from '../engine/identity.ts';
import { encodePublicKey } from '../protocol/keys.ts';
import { Enrollment } from './enroll/enrollment.ts';
import { JoinTokens } from './enroll/join-tokens.ts';
import { KeyDirectoryService } from './keys/directory.ts';
import { Inbox, INBOX_RETENTION_DAYS } from '../engine/storage/inbox.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { createLogger, type Logger } from '../engine/log.ts';
import { lockDataDir, type DataDirLock } from '../engine/storage/data-dir-lock.ts';
import { listenHttp, type HttpListener } from '../engine/http/listen.ts';
import { NatsLink } from '../engine/nats/link.ts';
import { Outbox } from '../engine/storage/outbox.ts';
import { OutboxPublisher } from '../engine/nats/publisher.ts';
import { ensureConsumer, ensureStream, isNotFound } from '../engine/nats/streams.ts';
import type { JetStreamManager } from '@nats-io/jetstream';
import { nkeyConnectOptions, publicKeyOfSeed, readSeedFile } from '../engine/nats/auth.ts';
import { NatsConfigSync } from './nats-config-sync.ts';
import { CodeAllocator } from './catalog/code-template.ts';
import { TotalCatalog } from './catalog/total-catalog.ts';
import { HubConfig } from './config.ts';
import { createHubApp } from './http/routes.ts';
import { HUB_MIGRATIONS } from './storage/migrations.ts';
import { OperatorStore } from './storage/operators.ts';
import { AccountStore } from '../engine/accounts/store.ts';
import { AuditLog } from '../engine/audit/log.ts';
import { CheckpointStore } from '../engine/audit/checkpoint.ts';
import { startAuditMaintenance } from '../engine/audit/maintenance.ts';
import { loadPolicy } from '../protocol/policy.ts';
import { StatutoryCalendar } from '../engine/calendar/working-days.ts';
import { loadCalendarOverrides } from '../engine/calendar/overrides.ts';
import { SHARING_AUDIT_ACTIONS, SharingService } from './sharing/sharing-service.ts';
import { AccessRouter } from './sharing/access-router.ts';
import { PackageFallback } from './sharing/package-fallback.ts';
import { AccessTransport, NatsForwarder } from './bus/access-transport.ts';
import { ChunkServer } from './bus/chunk-server.ts';
import { BatchDistributor } from './sharing/batch-grants.ts';
import { GroupCommit } from '../engine/storage/group-commit.ts';
import type { RouteSpec } from '../engine/http/auth.ts';
import { NodeRegistry } from './storage/registry.ts';
import { RejectionLog } from './bus/rejections.ts';
import { SyncServer } from './bus/sync-server.ts';
import { createUpHandler } from './bus/up-handler.ts';
import { UpConsumers } from './bus/up-consumers.ts';
import { PackageStore } from './packages/package-store.ts';

export interface StartHubOptions {
  clock?: Clock;
  log?: Logger;
  httpPort?: number;
}

export interface RunningHub {
  config: HubConfig;
  /** The process log (JSON lines). */
  log: Logger;
  url: string;
  db: Db;
  catalog: TotalCatalog;
  registry: NodeRegistry;
  joinTokens: JoinTokens;
  directory: KeyDirectoryService;
  routes: RouteSpec[];
  operators: OperatorStore;
  rejections: RejectionLog;
  audit: AuditLog;
  checkpoints: CheckpointStore;
  packages: PackageReceiver;
  sharing: SharingService;
  batch: BatchDistributor;
  /** Run the sharing deadline check now (tests with an injected clock). */
  sharingTick(): void;
  link: NatsLink;
  status(): unknown;
  close(): Promise<void>;
}

export async function startHub(dir: string, options: StartHubOptions = {}): Promise<RunningHub> {
  await loadSodium();
  const config = readConfig(dir, HubConfig);
  const log = options.log ?? createLogger(config.nodeId, { file: config.logFile ? join(dir, config.logFile) : undefined });
  // One process per data directory, and the HTTP port bound before the database is opened or written.
  let lock: DataDirLock | undefined;
  let http: HttpListener | undefined;
  try {
    lock = lockDataDir(dir, { role: 'hub', nodeId: config.nodeId });
    http = await listenHttp(config.http.host, options.httpPort ?? config.http.port);
    lock.update({ url: http.url });
    return await wireHub(dir, options, config, log, lock, http);
  } catch (err) {
    await http?.close();
    lock?.release();
    log.error({ event: 'hub.start_failed', code: (err as { code?: string }).code, err: String(err) }, 'municipal hub did not start');
    throw err;
  }
}

async function wireHub(dir: string, options: StartHubOptions, config: HubConfig, log: Logger, lock: DataDirLock, http: HttpListener): Promise<RunningHub> {
  const clock = options.clock ?? systemClock;
  const db = openDatabase(join(dir, config.database), HUB_MIGRATIONS);
  const identity = new Identity(config.nodeId, readKeyFile(join(dir, config.keyFile)));
  const store = new CatalogStore(db);
  const outbox = new Outbox(db);
  const inbox = new Inbox(db);
  const registry = new NodeRegistry(db, clock);
  const operators = new OperatorStore(db);
  const policy = loadPolicy(config.policy, config.policyOverrides);
  const audit = new AuditLog(db, clock, { signer: identity, actions: SHARING_AUDIT_ACTIONS });
  // Working days on the statutory calendar (Asia/Shanghai); a year without data warns loudly and counts weekends only.
  const calendar = new StatutoryCalendar({
    overrides: config.calendarOverridesFile ? loadCalendarOverrides(join(dir, config.calendarOverridesFile)) : undefined,
    warn: (w) => log.warn({ event: w.event, year: w.year, en: w.en }, w.zh),
  });
  const checkpoints = new CheckpointStore(db);
  const rejections = new RejectionLog(db, log, audit);
  const catalog = new TotalCatalog({ db, store, outbox, clock, codes: new CodeAllocator(db, config.codeTemplate), municipality: config.municipality, clientId: config.yjsClientId, audit, policy });

  const encryption = readBoxKeyFile(join(dir, config.encryptionKeyFile));
  const joinTokens = new JoinTokens(db, clock);
  const hubKeys = { nodeId: config.nodeId, signingKey: identity.publicKey, encryptionKey: encodePublicKey(encryption.publicKey) };
  const directory = new KeyDirectoryService({ db, registry, outbox, clock, municipality: config.municipality, hub: hubKeys, graceMs: config.keyGraceHours * 3_600_000, audit });
  const enrollment = new Enrollment(
    db,
    joinTokens,
    registry,
    clock,
    {
      municipality: config.municipality,
      municipalityName: config.municipalityName,
      nodeId: config.nodeId,
      signingKey: identity.publicKey,
      encryptionKey: encodePublicKey(encryption.publicKey),
      nats: config.publicNats ?? config.nats,
    },
    (req) => {
      audit.append({ actor: req.nodeId, actorRole: 'node', department: req.county, action: 'key.register', resource: req.nodeId, result: 'ok', detail: { signingKey: req.signingKey, via: 'enroll' } });
      directory.publish();
    },
  );
  // Every start and every hour the current directory goes out again, so a node that missed one catches up.
  db.transaction(() => directory.publish())();
  const directoryTimer = setInterval(() => db.transaction(() => directory.republish())(), 3_600_000);
  directoryTimer.unref();
  const names = streamNames(config.municipality);
  const maxAgeMs = config.streamMaxAgeDays * 86_400_000;
  const link = new NatsLink(config.nats, config.nodeId, log, config.natsSeedFile ? nkeyConnectOptions(readSeedFile(join(dir, config.natsSeedFile))) : undefined);
  const streamSpecs = [
    {
      name: names.up,
      subjects: upStreamSubjects(config.municipality),
      maxAgeMs,
      duplicateWindowMs: 120_000,
      limits: { maxBytes: config.upStreamMaxBytes, maxMsgsPerSubject: config.upStreamMaxMsgsPerSubject, discard: 'old' as const },
    },
    {
      name: names.down,
      subjects: downStreamSubjects(config.municipality),
      maxAgeMs,
      duplicateWindowMs: 120_000,
      limits: { maxBytes: config.downStreamMaxBytes, maxMsgsPerSubject: config.downStreamMaxMsgsPerSubject, discard: 'old' as const },
    },
    {
      name: names.pkg,
      subjects: pkgStreamSubjects(config.municipality),
      maxAgeMs,
      duplicateWindowMs: 120_000,
      perSubjectOne: true,
      limits: { maxBytes: config.pkgStreamMaxBytes, maxMsgsPerSubject: 1, discard: 'old' as const },
    },
  ];
  const doEnsureStreams = async () => {
    const jsm = link.jsm;
    if (!jsm) return;
    for (const spec of streamSpecs) {
      const created = await ensureStream(jsm, spec, (fields) => log.info({ event: 'stream.updated', stream: spec.name, fields }, 'stream limits updated'));
      if (created) log.info({ event: 'stream.created', stream: spec.name }, 'stream created');
    }
    await ensureNodeConsumers(jsm);
    await upConsumers.ensure(jsm);
  };
  // One check at a time: the connect listener, the timer and every consumer's re-bind share it (two
  // at once would both create a missing stream and log it twice).
  let ensuring: Promise<void> | null = null;
  const ensureStreams = () => (ensuring ??= doEnsureStreams().finally(() => (ensuring = null)));
  // Streams checked since the last (re)connect: the publisher waits for it, so nothing is published
  // before the stream exists (JetStream would answer "no responders", reported as JetStreamNotEnabled).
  let ready: Promise<void> | null = null;
  const streamsReady = (): Promise<void> => {
    if (!link.jsm) return Promise.reject(new Error('NATS not connected'));
    return (ready ??= ensureStreams().catch((err) => {
      ready = null;
      throw err;
    }));
  };
  /**
   * The hub creates every active node's DOWN consumer (with its county's filter) and deletes revoked
   * nodes' consumers: under NATS permissions a node may only bind to its own consumer, never choose a filter.
   */
  const ensureNodeConsumers = async (jsm: JetStreamManager) => {
    for (const n of registry.list()) {
      if (n.status === 'active') {
        const want = downFilterSubjects(config.municipality, n.county);
        try {
          const info = await jsm.consumers.info(names.down, n.nodeId);
          // A node re-registered under another county must not keep reading the old county's messages.
          if (JSON.stringify(info.config.filter_subjects ?? []) !== JSON.stringify(want)) await jsm.consumers.update(names.down, n.nodeId, { filter_subjects: want });
        } catch (err) {
          if (!isNotFound(err)) throw err;
          await ensureConsumer(jsm, names.down, n.nodeId, want);
        }
      } else {
        await jsm.consumers.delete(names.down, n.nodeId).catch((err) => {
          if (!isNotFound(err)) throw err;
        });
      }
    }
  };
  const sharing = new SharingService({ db, store, outbox, identity, audit, clock, log, policy, calendar, municipality: config.municipality, verifyRatePerMinute: config.verifyRatePerMinute });
  // One package store for the receiver, the fallback and batch distribution (each through its own interface).
  const packageStore = new PackageStore(db);
  const packages = new PackageReceiver({
    db,
    store: packageStore,
    chunks: new JetStreamChunkSource(link, config.municipality),
    registry,
    outbox,
    rejections,
    audit,
    clock,
    log,
    municipality: config.municipality,
    hubBoxKeys: encryption,
    grant: (id) => sharing.grant(id)?.grant,
  });
  const commits = new GroupCommit(db);
  const forwarder = new NatsForwarder();
  const router = new AccessRouter({
    sharing,
    registry,
    identity,
    audit,
    rejections,
    clock,
    log,
    municipality: config.municipality,
    forwarder,
    fallback: new PackageFallback({ db, store, chain: packageStore, packages, registry, identity, hubBoxKeys: encryption, clock }),
    forwardTimeoutMs: config.accessForwardTimeoutMs,
    commits,
  });
  const access = new AccessTransport(router, forwarder, config.municipality, log);
  const batch = new BatchDistributor({ db, chains: packageStore, sharing, packages, registry, store, outbox, identity, clock, log, municipality: config.municipality });
  const chunkServer = new ChunkServer(batch, config.municipality, log);
  const up = createUpHandler({ db, registry, inbox, catalog, directory, checkpoints, packages, sharing, rejections, clock, municipality: config.municipality });
  const upConsumers = new UpConsumers({
    link,
    log,
    municipality: config.municipality,
    stream: names.up,
    hubId: config.nodeId,
    counties: () => registry.list().map((n) => n.county),
    handle: up.handle,
    beforeBind: ensureStreams,
    onPoison: (msg, err) => rejections.record(new ProtocolError('MESSAGE_UNPROCESSABLE', `gave up after repeated failures: ${String(err)}`), msg.subject, null, clock.now()),
  });
  // Inbox records older than the retention are folded into per-sender floors (engine/inbox.ts).
  const pruneInbox = () => log.info({ event: 'inbox.pruned', rows: inbox.prune(clock.now(), INBOX_RETENTION_DAYS) }, 'inbox pruned');
  pruneInbox();
  const pruneTimer = setInterval(pruneInbox, 6 * 3_600_000);
  pruneTimer.unref();
  const publisher = new OutboxPublisher(outbox, link, identity, log, { ready: streamsReady });
  const syncServer = new SyncServer({ store, catalog, registry, identity, rejections, clock, log, municipality: config.municipality, upBacklog: (county) => upConsumers.backlog(county) });

  link.onConnect(() => {
    if (link.connection) {
      syncServer.listen(link.connection);
      access.listen(link.connection);
      chunkServer.listen(link.connection);
    }
    ready = null;
    streamsReady().catch((err) => log.warn({ event: 'stream.ensure_failed', err: String(err) }, 'could not ensure streams'));
  });
  // Enrolments and revocations (API or CLI) reach nats-server's authorization within one check.
  const natsSync =
    config.natsAuthFile && config.natsSeedFile
      ? new NatsConfigSync({
          registry,
          municipality: config.municipality,
          hubNkey: publicKeyOfSeed(readSeedFile(join(dir, config.natsSeedFile))),
          file: config.natsAuthFile,
          reloadCommand: config.natsReloadCommand,
          log,
        })
      : null;
  const syncNats = () => natsSync?.sync().catch((err) => log.error({ event: 'nats.config_failed', err: String(err) }, 'could not update the NATS authorization'));
  await syncNats();
  const streamTimer = setInterval(() => {
    void syncNats();
    // A check still under way (e.g. hanging on a link that just dropped) reports its own failure once.
    if (!ensuring) ensureStreams().catch((err) => log.warn({ event: 'stream.ensure_failed', err: String(err) }, 'could not ensure streams'));
  }, config.streamCheckMs);
  streamTimer.unref();

  const status = () => ({
    nodeId: config.nodeId,
    municipality: config.municipality,
    nats: { ...link.state },
    outbox: { ...outbox.depth(), published: publisher.published, lastAckAt: publisher.lastAckAt },
    inbound: { ...up.stats },
    rejected: { ...rejections.counts },
    syncRequests: syncServer.requests,
    catalog: store.stats(),
    nodes: registry.list().length,
  });

  const accounts = new AccountStore(db);
  const app = createHubApp({ catalog, enrollment, directory, joinTokens, accounts, registry, rejections, clock, status, log, maxBodyBytes: config.maxBodyBytes, audit, sharing, login: config.login });
  const sharingTick = () => {
    try {
      sharing.tick();
    } catch (err) {
      log.error({ event: 'sharing.tick_failed', err: String(err) }, 'sharing deadlines not checked');
    }
  };
  sharingTick();
  const sharingTimer = setInterval(sharingTick, config.sharingTickSeconds * 1000);
  sharingTimer.unref();
  const batchTimer = setInterval(() => {
    try {
      batch.distribute();
    } catch (err) {
      log.error({ event: 'package.grant_failed', err: String(err) }, 'packages not sent to batch grantees');
    }
  }, config.batchDistributeSeconds * 1000);
  batchTimer.unref();
  // Retention from the policy preset (Jiyuan §28, Hebi §13); records past it are archived, then purged.
  const auditDuties = startAuditMaintenance({ audit, retentionDays: policy.auditRetentionDays, archiveDir: join(dir, 'audit-archive'), clock, log, signer: identity, checkpointMs: 3_600_000 });
  http.attach(app.fetch);
  const url = http.url;

  link.start();
  packages.start();
  publisher.start();
  log.info({ event: 'hub.started', nodeId: config.nodeId, url }, 'municipal hub started');

  return {
    config,
    url,
    log,
    db,
    catalog,
    registry,
    joinTokens,
    directory,
    routes: app.routes,
    operators,
    rejections,
    audit,
    checkpoints,
    packages,
    batch,
    sharing,
    sharingTick,
    link,
    status,
    async close() {
      clearInterval(streamTimer);
      clearInterval(sharingTimer);
      clearInterval(batchTimer);
      access.close();
      chunkServer.close();
      packages.stop();
      clearInterval(directoryTimer);
      auditDuties.stop();
      clearInterval(pruneTimer);
      await http.close();
      syncServer.close();
      await upConsumers.stop();
      await publisher.stop();
      await link.close();
      commits.close();
      db.close();
      lock.release();
      log.info({ event: 'hub.stopped' }, 'municipal hub stopped');
    },
  };
}
