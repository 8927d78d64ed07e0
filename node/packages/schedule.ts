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
import type { Db } from '../../engine/db.ts';
import { AppError } from '../../engine/errors.ts';
import type { Logger } from '../../engine/log.ts';
import { q } from '../frontend/table-schema.ts';
import type { Packager, PackageRunResult } from './packager.ts';

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
}

export interface PackageRequestRow {
  id: number;
  resource: string;
  snapshot: number;
  requested_by: string;
  state: 'queued' | 'done' | 'failed';
  package_id: string | null;
  result_json: string | null;
}

/** Queue a forced package; the running node carries it out. Returns the request id. */
export function queuePackageRequest(db: Db, resource: string, opts: { snapshot?: boolean; requestedBy: string; at: Date }): number {
  const r = db
    .prepare('INSERT INTO package_requests (resource, snapshot, requested_by, requested_at) VALUES (?, ?, ?, ?)')
    .run(resource, opts.snapshot ? 1 : 0, opts.requestedBy, opts.at.toISOString());
  return Number(r.lastInsertRowid);
}

export class PackageScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastSchedule = 0;

  constructor(private readonly d: SchedulerDeps) {}

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
    const queued = this.d.db.prepare("SELECT * FROM package_requests WHERE state = 'queued' ORDER BY id").all() as PackageRequestRow[];
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
    this.d.db
      .prepare('UPDATE package_requests SET state = ?, package_id = ?, result_json = ?, finished_at = ? WHERE id = ?')
      .run(state, packageId, JSON.stringify(result), this.d.clock.now().toISOString(), id);
  }

  private async runSchedule(): Promise<void> {
    const tables = this.d.db.prepare('SELECT entry_id AS entryId, table_name AS tableName FROM frontend_tables ORDER BY entry_id').all() as { entryId: string; tableName: string }[];
    const last = this.d.db.prepare("SELECT created_at AS at FROM packages_sent WHERE resource = ? AND grant_id IS NULL AND state IN ('building', 'offered', 'stored') ORDER BY created_at DESC LIMIT 1");
    const now = this.d.clock.now();
    for (const t of tables) {
      const cycle = this.d.updateCycle(t.entryId);
      if (!cycle) continue;
      const prev = last.get(t.entryId) as { at: string } | undefined;
      if (prev) {
        const due = nextDue(cycle, new Date(prev.at));
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
