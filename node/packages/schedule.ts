/**
 * @module When packages are built: on request (`jilian node package`, queued in `package_requests` by
 * the CLI or the API and carried out here, so it works whether or not the CLI can reach NATS), and on
 * the schedule the entry's update cycle (更新周期, Jincheng §9) sets.
 *
 * A cycle is "at least one package per period" counted from the last package: realtime = whenever rows
 * changed (checked every scheduler pass), daily, weekly, monthly, quarterly, yearly; irregular (不定期)
 * = only on request. A due resource whose rows did not change gets no package (the packager reports
 * `unchanged`); a table that was never packaged and holds no rows is not packaged either.
 */
import type { UpdateCycle } from '../../protocol/catalog-entry.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import type { Logger } from '../../engine/log.ts';
import { listTables, q } from '../staging/table-schema.ts';
import type { Packager, PackageRunResult } from './packager.ts';
import { PackageRequestStore, type PackageRequestRow } from './package-requests.ts';
import { SentPackageStore } from './sent-packages-store.ts';

export { queuePackageRequest, type PackageRequestRow } from './package-requests.ts';

/** The instant one update-cycle period after `from`; null for cycles with no schedule. */
export function nextDue(cycle: UpdateCycle, from: Date): Date | null {
  const d = new Date(from.getTime());
  switch (cycle) {
    case 'realtime':
      return d;
    case 'daily':
      return new Date(d.getTime() + 86_400_000);
    case 'weekly':
      return new Date(d.getTime() + 7 * 86_400_000);
    case 'monthly':
      return addMonths(d, 1);
    case 'quarterly':
      return addMonths(d, 3);
    case 'yearly':
      return addMonths(d, 12);
    case 'irregular':
      return null;
  }
}

/** `months` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb, not 2/3 Mar). */
function addMonths(from: Date, months: number): Date {
  const d = new Date(from.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}

export interface SchedulerDeps {
  db: Db;
  packager: Packager;
  /** The entry's update cycle, or null when the entry is unknown or withdrawn. */
  updateCycle(entryId: string): UpdateCycle | null;
  clock: Clock;
  log: Logger;
  /** How often queued requests are looked at (default 1 s). */
  requestPollMs?: number;
  /** How often the update-cycle schedule is evaluated (default 60 s). */
  scheduleMs?: number;
  /** Grant packages (node/sharing/grant-packages.ts) follow the resource packages: looked at every pass. */
  grantPackager?: { run(): Promise<unknown> };
  /** Forced-package requests (default: the store on `db`). */
  requests?: RequestQueue;
  /** When each resource was last packaged (default: the sent-package store on `db`). */
  sent?: PackagedAt;
}

/** What the scheduler needs of the request store (package-requests.ts). */
export interface RequestQueue {
  queued(): PackageRequestRow[];
  finish(id: number, state: 'done' | 'failed', packageId: string | null, result: unknown, at: Date): void;
}

/** What the scheduler needs of the sent-package store (sent-packages-store.ts). */
export interface PackagedAt {
  /** When the resource's latest package that counts for its cycle was built (ISO), if any. */
  lastPackagedAt(resource: string): string | undefined;
}

export class PackageScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastSchedule = 0;
  private readonly requests: RequestQueue;
  private readonly sent: PackagedAt;

  constructor(private readonly d: SchedulerDeps) {
    this.requests = d.requests ?? new PackageRequestStore(d.db);
    this.sent = d.sent ?? new SentPackageStore(d.db);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.d.requestPollMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass: queued requests first, then (at most every `scheduleMs`) the update-cycle schedule. */
  tick(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    try {
      await this.serveRequests();
      const now = this.d.clock.now().getTime();
      if (now - this.lastSchedule >= (this.d.scheduleMs ?? 60_000)) {
        this.lastSchedule = now;
        await this.runSchedule();
      }
      await this.d.grantPackager?.run();
    } catch (err) {
      this.d.log.warn({ event: 'package.schedule_failed', err: String(err) }, 'package scheduling paused until the next pass');
    }
  }

  private async serveRequests(): Promise<void> {
    const queued = this.requests.queued();
    for (const r of queued) {
      let result: PackageRunResult;
      try {
        result = await this.d.packager.run(r.resource, { forceSnapshot: r.snapshot === 1, actor: r.requested_by, actorRole: 'operator' });
      } catch (err) {
        const e = err instanceof AppError ? { code: err.code, zh: err.zh, en: err.en } : { code: 'INTERNAL', zh: '打包失败', en: String(err) };
        this.finish(r.id, 'failed', null, e);
        continue;
      }
      if (result.status === 'in_flight') continue; // the previous package is still unanswered: try again next pass
      this.finish(r.id, 'done', result.status === 'sent' ? result.packageId : null, result);
    }
  }

  private finish(id: number, state: 'done' | 'failed', packageId: string | null, result: unknown): void {
    this.requests.finish(id, state, packageId, result, this.d.clock.now());
  }

  private async runSchedule(): Promise<void> {
    const tables = listTables(this.d.db);
    const now = this.d.clock.now();
    for (const t of tables) {
      const cycle = this.d.updateCycle(t.entryId);
      if (!cycle) continue;
      const prev = this.sent.lastPackagedAt(t.entryId);
      if (prev) {
        const due = nextDue(cycle, new Date(prev));
        if (!due || due > now) continue;
      } else {
        if (cycle === 'irregular') continue;
        if (!this.d.db.prepare(`SELECT 1 FROM ${q(t.tableName)} WHERE "_deleted" = 0 LIMIT 1`).get()) continue;
      }
      try {
        const r = await this.d.packager.run(t.entryId, { actor: 'system', actorRole: 'scheduler' });
        if (r.status === 'sent') this.d.log.info({ event: 'package.scheduled', resource: t.entryId, cycle, packageId: r.packageId }, 'scheduled package sent');
      } catch (err) {
        this.d.log.warn({ event: 'package.schedule_failed', resource: t.entryId, err: String(err) }, 'scheduled package failed');
      }
    }
  }
}
