/** The package schedule: update cycles (Jincheng §9 更新周期) decide when, requests are carried out in order. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { UpdateCycle } from '../../protocol/catalog-entry.ts';
import { openDatabase, type Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import { createLogger } from '../../engine/log.ts';
import { fixedClock } from '../../test/helpers/frontend.ts';
import { NODE_MIGRATIONS } from '../storage/migrations.ts';
import { ensureTable } from '../staging/table-schema.ts';
import type { Packager, PackageRunResult } from './packager.ts';
import { nextDue, PackageScheduler, queuePackageRequest } from './schedule.ts';

const log = createLogger('test', { level: 'error' });
const E1 = '410802-0190a5e2-7c4b-7def-8123-456789abcde1';
const E2 = '410802-0190a5e2-7c4b-7def-8123-456789abcde2';

describe('nextDue', () => {
  const at = new Date('2025-01-31T02:00:00.000Z');
  it('adds one period per cycle, months clamped to the month end', () => {
    assert.equal(nextDue('realtime', at)!.toISOString(), at.toISOString());
    assert.equal(nextDue('daily', at)!.toISOString(), '2025-02-01T02:00:00.000Z');
    assert.equal(nextDue('weekly', at)!.toISOString(), '2025-02-07T02:00:00.000Z');
    assert.equal(nextDue('monthly', at)!.toISOString(), '2025-02-28T02:00:00.000Z');
    assert.equal(nextDue('quarterly', at)!.toISOString(), '2025-04-30T02:00:00.000Z');
    assert.equal(nextDue('yearly', new Date('2024-02-29T00:00:00Z'))!.toISOString(), '2025-02-28T00:00:00.000Z');
    assert.equal(nextDue('irregular', at), null);
  });
});

/** A packager that records what it was asked and "sends" by writing packages_sent as the real one does. */
function fakePackager(db: Db, clock: { now(): Date }, answer: (entry: string) => PackageRunResult | Error) {
  const calls: { entry: string; forceSnapshot: boolean; actor: string | undefined }[] = [];
  const packager = {
    async run(entry: string, o: { forceSnapshot?: boolean; actor?: string } = {}): Promise<PackageRunResult> {
      calls.push({ entry, forceSnapshot: o.forceSnapshot === true, actor: o.actor });
      const a = answer(entry);
      if (a instanceof Error) throw a;
      if (a.status === 'sent') {
        db.prepare("INSERT INTO packages_sent (package_id, resource, new_version, state, created_at) VALUES (?, ?, ?, 'stored', ?)").run(a.packageId, entry, a.newVersion, clock.now().toISOString());
      }
      return a;
    },
  } as unknown as Packager;
  return { packager, calls };
}

function setup(cycles: Record<string, UpdateCycle>) {
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'jl-sched-')), 'node.db'), NODE_MIGRATIONS);
  const clock = fixedClock('2025-03-03T01:00:00.000Z');
  const items = [{ name: '代码', code: 'id', type: 'string' as const, length: 10, primaryKey: true }];
  for (const e of Object.keys(cycles)) {
    const t = ensureTable(db, e, items).table;
    db.prepare(`INSERT INTO "${t.tableName}" (id, _version, _updated_at) VALUES ('a', 1, '2025-01-01')`).run();
  }
  let n = 0;
  const fake = fakePackager(db, clock, () => ({ status: 'sent', packageId: `p${++n}`, kind: 'snapshot', baseVersion: null, newVersion: n, rows: 1, chunks: 1 }));
  const scheduler = new PackageScheduler({ db, packager: fake.packager, updateCycle: (id) => cycles[id] ?? null, clock, log, scheduleMs: 0 });
  return { db, clock, scheduler, calls: fake.calls };
}

describe('PackageScheduler', () => {
  it('a daily resource is packaged once per day, an irregular one never by itself', async () => {
    const s = setup({ [E1]: 'daily', [E2]: 'irregular' });
    await s.scheduler.tick();
    assert.deepEqual(
      s.calls.map((c) => c.entry),
      [E1],
      'first package at once; irregular waits for a request',
    );
    s.clock.set('2025-03-04T00:59:59.000Z');
    await s.scheduler.tick();
    assert.equal(s.calls.length, 1, 'not yet a day');
    s.clock.set('2025-03-04T01:00:00.000Z');
    await s.scheduler.tick();
    assert.deepEqual(
      s.calls.map((c) => c.entry),
      [E1, E1],
    );
    assert.equal(s.calls[1]!.actor, 'system');
  });

  it('a withdrawn or unknown entry is not packaged; an empty table that was never sent is not either', async () => {
    const s = setup({ [E1]: 'daily' });
    const empty = ensureTable(s.db, E2, [{ name: '代码', code: 'id', type: 'string', length: 10, primaryKey: true }]).table;
    assert.ok(empty);
    const fake = fakePackager(s.db, s.clock, () => new Error('must not run'));
    // E1 holds a row but its entry is withdrawn or unknown (null); E2 is daily but empty and never sent.
    const sched = new PackageScheduler({ db: s.db, packager: fake.packager, updateCycle: (id) => (id === E2 ? 'daily' : null), clock: s.clock, log, scheduleMs: 0 });
    await sched.tick();
    assert.deepEqual(fake.calls, []);
  });

  it('requests are carried out in order with the requester as actor; failures keep their code', async () => {
    const s = setup({});
    const db = s.db;
    const r1 = queuePackageRequest(db, E1, { snapshot: true, requestedBy: 'cli:alice', at: s.clock.now() });
    const r2 = queuePackageRequest(db, E2, { requestedBy: 'cli:bob', at: s.clock.now() });
    const fake = fakePackager(db, s.clock, (e) =>
      e === E1 ? { status: 'sent', packageId: 'px', kind: 'snapshot', baseVersion: null, newVersion: 9, rows: 3, chunks: 1 } : new AppError('NOT_FOUND', '没有前置库表', 'no front-end table'),
    );
    const sched = new PackageScheduler({ db, packager: fake.packager, updateCycle: () => null, clock: s.clock, log, scheduleMs: 0 });
    await sched.tick();
    assert.deepEqual(fake.calls, [
      { entry: E1, forceSnapshot: true, actor: 'cli:alice' },
      { entry: E2, forceSnapshot: false, actor: 'cli:bob' },
    ]);
    const get = db.prepare('SELECT state, package_id, result_json FROM package_requests WHERE id = ?');
    assert.deepEqual({ ...(get.get(r1) as object), result_json: undefined }, { state: 'done', package_id: 'px', result_json: undefined });
    const failed = get.get(r2) as { state: string; result_json: string };
    assert.equal(failed.state, 'failed');
    assert.equal(JSON.parse(failed.result_json).code, 'NOT_FOUND');
  });

  it('a request waits while the previous package of the resource is unanswered', async () => {
    const s = setup({});
    let inFlight = true;
    const fake = fakePackager(s.db, s.clock, () => (inFlight ? { status: 'in_flight', packageId: 'p0' } : { status: 'unchanged', version: 4 }));
    const sched = new PackageScheduler({ db: s.db, packager: fake.packager, updateCycle: () => null, clock: s.clock, log, scheduleMs: 0 });
    const id = queuePackageRequest(s.db, E1, { requestedBy: 'cli:alice', at: s.clock.now() });
    await sched.tick();
    const state = () => (s.db.prepare('SELECT state FROM package_requests WHERE id = ?').get(id) as { state: string }).state;
    assert.equal(state(), 'queued');
    inFlight = false;
    await sched.tick();
    assert.equal(state(), 'done');
  });
});
