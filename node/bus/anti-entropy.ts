/**
 * @module Anti-entropy, node side (PROTOCOL.md §Anti-entropy). Pages the id space, compares range
 * digests with the hub, and for a differing range pulls what the hub has that this node lacks and
 * pushes (through the outbox) what of its own entries the hub lacks. Repairs anything the transport
 * lost, e.g. a wiped stream. Runs on every (re)connect and periodically.
 */
import { covers, parseStateVector } from '../../protocol/catalog-doc.ts';
import { isType, verifyEnvelope } from '../../protocol/envelope.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { countyOfEntry, type PayloadOf } from '../../protocol/messages.ts';
import { rpcSubject } from '../../protocol/subjects.ts';
import { rangeDigest } from '../../protocol/sync.ts';
import type { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import type { NatsLink } from '../../engine/nats/link.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import type { CatalogService } from '../catalog/catalog-service.ts';

export interface AntiEntropyDeps {
  link: NatsLink;
  identity: Identity;
  store: CatalogStore;
  service: CatalogService;
  /** Entries with an update still queued here are not pushed again (they are on their way). */
  outbox?: Pick<Outbox, 'queuedEntryIds'>;
  log: Logger;
  municipality: string;
  county: string;
  hubId: string;
  hubKey: Uint8Array;
  intervalMs: number;
  pageSize?: number;
  requestTimeoutMs?: number;
}

export interface SyncReport {
  ranges: number;
  mismatched: number;
  pulled: number;
  pushed: number;
  /** Own entries the hub lacks whose update still waits in the outbox: left to it, not queued again. */
  deferred: number;
  /**
   * The hub had not yet applied everything this county sent (error SYNC_BUSY): the round stopped,
   * since whatever is still queued there would look lost. The next round compares again.
   */
  hubBusy: boolean;
  at: string;
}

/** The hub's answer while it still holds unapplied messages of this county (hub/sync/sync-server.ts). */
const SYNC_BUSY = 'SYNC_BUSY';

class HubBusy extends Error {}

export class AntiEntropyClient {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<SyncReport> | null = null;
  lastReport: SyncReport | null = null;
  lastError: string | null = null;

  constructor(private readonly d: AntiEntropyDeps) {}

  start(): void {
    // Background rounds: a failure is logged in trigger() and retried next round.
    const background = () => void this.trigger().catch(() => undefined);
    this.d.link.onConnect(background);
    this.timer = setInterval(background, this.d.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Run one round unless one is already running (then wait for that one). */
  trigger(): Promise<SyncReport> {
    this.inFlight ??= this.runOnce()
      .then((r) => ((this.lastReport = r), (this.lastError = null), r))
      .catch((err) => {
        this.lastError = String(err);
        this.d.log.warn({ event: 'sync.failed', err: String(err) }, 'anti-entropy round failed');
        throw err;
      })
      .finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async runOnce(): Promise<SyncReport> {
    const report: SyncReport = { ranges: 0, mismatched: 0, pulled: 0, pushed: 0, deferred: 0, hubBusy: false, at: '' };
    try {
      await this.compare(report);
    } catch (err) {
      if (!(err instanceof HubBusy)) throw err;
      report.hubBusy = true;
      this.d.log.info({ event: 'sync.deferred', reason: err.message }, "anti-entropy round deferred: the hub is still applying this county's messages");
    }
    report.at = new Date().toISOString();
    return report;
  }

  private async compare(report: SyncReport): Promise<void> {
    // Read once a round, at the first difference: after an outage the outbox holds what the hub lacks,
    // and queuing it again would double the outbox (and again every round until it drained).
    let queued: Set<string> | null = null;
    const isQueued = (id: string) => (queued ??= this.d.outbox?.queuedEntryIds() ?? new Set()).has(id);
    const starts = this.d.store.pageStarts(this.d.pageSize ?? 500);
    for (let i = 0; i < starts.length; i++) {
      let from = starts[i]!;
      const to = starts[i + 1] ?? null;
      report.ranges++;
      const mine = this.d.store.vectorsInRange(from, to);
      const reply = await this.request('catalog.sync.digest', { from, to, count: mine.length, digest: rangeDigest(mine) });
      if (reply.match) continue;
      report.mismatched++;
      let page = reply;
      for (;;) {
        const upper = page.next ?? to;
        await this.reconcile(this.d.store.vectorsInRange(from, upper), page.entries, report, isQueued);
        if (page.next === null) break;
        from = page.next;
        page = await this.request('catalog.sync.digest', { from, to, count: 0, digest: '0'.repeat(64) });
      }
    }
  }

  private async reconcile(mine: { id: string; sv: string }[], theirs: { id: string; sv: string }[], report: SyncReport, isQueued: (id: string) => boolean): Promise<void> {
    const mineById = new Map(mine.map((e) => [e.id, e.sv]));
    const theirsById = new Map(theirs.map((e) => [e.id, e.sv]));
    const pull: { id: string; sv: string }[] = [];
    for (const [id, sv] of theirsById) {
      const local = mineById.get(id);
      if (local === undefined || !covers(parseStateVector(local), parseStateVector(sv))) pull.push({ id, sv: local ?? '' });
    }
    for (const [id, sv] of mineById) {
      if (countyOfEntry(id) !== this.d.county) continue;
      const remote = theirsById.get(id);
      if (remote === undefined || !covers(parseStateVector(remote), parseStateVector(sv))) {
        // Whatever the queued update does not cover is pushed by the first round after it was delivered.
        if (isQueued(id)) {
          report.deferred++;
          continue;
        }
        try {
          if (this.d.service.pushMissing(id, remote ?? '')) report.pushed++;
        } catch (err) {
          this.d.log.error({ event: 'sync.push_failed', entryId: id, err: String(err) }, 'could not queue an entry for the hub');
        }
      }
    }
    for (let i = 0; i < pull.length; i += 200) {
      const reply = await this.request('catalog.sync.pull', { entries: pull.slice(i, i + 200) });
      report.pulled += this.d.service.applyRemote(reply.updates);
    }
  }

  private async request<T extends 'catalog.sync.digest' | 'catalog.sync.pull'>(type: T, payload: PayloadOf<T>): Promise<PayloadOf<`${T}.reply`>> {
    const nc = this.d.link.connection;
    if (!nc) throw new Error('NATS not connected');
    const bytes = this.d.identity.seal(type, Date.now(), payload, new Date());
    const msg = await nc.request(rpcSubject(this.d.municipality, this.d.county, 'catalog.sync'), bytes, { timeout: this.d.requestTimeoutMs ?? 10_000 });
    const env = verifyEnvelope(msg.data, (id) => (id === this.d.hubId ? this.d.hubKey : undefined));
    this.d.link.touch();
    if (env.type === 'error') {
      const e = env.payload;
      if (e.code === SYNC_BUSY) throw new HubBusy(e.message);
      throw new ProtocolError('MESSAGE_INVALID', `hub refused ${type}: ${e.code} ${e.message}`);
    }
    if (!isType(env, `${type}.reply` as const)) throw new ProtocolError('MESSAGE_UNKNOWN_TYPE', `unexpected reply ${env.type}`);
    return env.payload;
  }
}
