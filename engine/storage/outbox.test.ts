/** @module Tests of the durable outbox: transactional add, ordered peek, remove, depth and wake-ups. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { openDatabase, type Db } from './db.ts';
import { Outbox } from './outbox.ts';
import { ENGINE_TEST_MIGRATIONS as NODE_MIGRATIONS } from '../../test/helpers/migrations.ts';

const T0 = new Date('2024-05-01T08:00:00.000Z');
const T1 = new Date('2024-05-01T09:00:00.000Z');
const T2 = new Date('2024-05-01T10:00:00.000Z');

/** Let queued microtasks (the outbox's listener calls) run. */
const flushMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Outbox', () => {
  let dir: string;
  let db: Db;
  let outbox: Outbox;
  let n = 0;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jilian-outbox-'));
  });
  beforeEach(() => {
    db?.close();
    db = openDatabase(join(dir, `outbox-${n++}.db`), NODE_MIGRATIONS);
    outbox = new Outbox(db);
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an add inside a rolled-back transaction leaves nothing', () => {
    assert.throws(
      () =>
        db.transaction(() => {
          outbox.add('jl.410800.up.410802.catalog.update', 'catalog.update', { x: 1 }, T0);
          throw new Error('the change failed');
        })(),
      /the change failed/,
    );
    assert.deepEqual(outbox.peek(0, 10), []);
    assert.deepEqual(outbox.depth(), { depth: 0, oldest: null });
  });

  it('an add inside a committed transaction is kept with its payload, subject, type and time', () => {
    const seq = db.transaction(() => outbox.add('s.a', 'catalog.update', { origin: '410802', updates: [{ entryId: 'e', update: 'AA==' }] }, T0))();
    assert.deepEqual(outbox.peek(0, 10), [{ seq, subject: 's.a', type: 'catalog.update', payload: { origin: '410802', updates: [{ entryId: 'e', update: 'AA==' }] }, createdAt: T0.toISOString() }]);
  });

  it('peek returns rows after a seq in seq order, up to a limit', () => {
    const seqs = [T0, T1, T2, T1].map((t, i) => outbox.add(`s.${i}`, 't', { i }, t));
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'seqs increase',
    );
    assert.deepEqual(
      outbox.peek(0, 10).map((r) => r.payload),
      [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }],
    );
    assert.deepEqual(
      outbox.peek(0, 2).map((r) => r.seq),
      seqs.slice(0, 2),
    );
    assert.deepEqual(
      outbox.peek(seqs[1]!, 10).map((r) => r.seq),
      seqs.slice(2),
    );
    assert.deepEqual(outbox.peek(seqs[3]!, 10), []);
  });

  it('remove deletes one row; seqs are never reused, even after the outbox empties', () => {
    const a = outbox.add('s', 't', 1, T0);
    const b = outbox.add('s', 't', 2, T0);
    outbox.remove(a);
    assert.deepEqual(
      outbox.peek(0, 10).map((r) => r.seq),
      [b],
    );
    outbox.remove(a);
    assert.equal(outbox.depth().depth, 1, 'removing twice is harmless');
    outbox.remove(b);
    assert.deepEqual(outbox.peek(0, 10), []);
    // The seq is part of the JetStream message id: a reused one would be dropped as a duplicate.
    const c = outbox.add('s', 't', 3, T0);
    assert.ok(c > b, `seq ${c} after ${b}`);
  });

  it('depth counts rows and reports the oldest creation time', () => {
    assert.deepEqual(outbox.depth(), { depth: 0, oldest: null });
    const a = outbox.add('s', 't', 1, T1);
    outbox.add('s', 't', 2, T0);
    outbox.add('s', 't', 3, T2);
    assert.deepEqual(outbox.depth(), { depth: 3, oldest: T0.toISOString() });
    outbox.remove(a);
    assert.deepEqual(outbox.depth(), { depth: 2, oldest: T0.toISOString() });
  });

  it('onAdd listeners fire asynchronously after each add, until unsubscribed', async () => {
    let calls = 0;
    const off = outbox.onAdd(() => calls++);
    outbox.add('s', 't', 1, T0);
    assert.equal(calls, 0, 'not called inside add (the transaction may still be open)');
    await flushMicrotasks();
    assert.equal(calls, 1);
    outbox.add('s', 't', 2, T0);
    outbox.add('s', 't', 3, T0);
    await flushMicrotasks();
    assert.equal(calls, 3);
    off();
    outbox.add('s', 't', 4, T0);
    await flushMicrotasks();
    assert.equal(calls, 3);
  });

  it('queuedEntryIds lists the entries queued catalog updates carry, until their rows are removed', () => {
    assert.deepEqual(outbox.queuedEntryIds(), new Set());
    const a = outbox.add(
      'jl.410800.up.410802.catalog.update',
      'catalog.update',
      {
        origin: '410802',
        updates: [
          { entryId: 'e1', update: 'AA' },
          { entryId: 'e2', update: 'AA' },
        ],
      },
      T0,
    );
    outbox.add('jl.410800.up.410802.catalog.update', 'catalog.update', { origin: '410802', updates: [{ entryId: 'e2', update: 'AB' }] }, T0);
    outbox.add('jl.410800.up.410802.audit.checkpoint', 'audit.checkpoint', { updates: [{ entryId: 'not-an-entry' }] }, T0);
    outbox.add('jl.410800.up.410802.package.offer', 'package.offer', { header: 'x' }, T0);
    assert.deepEqual(outbox.queuedEntryIds(), new Set(['e1', 'e2']));
    outbox.remove(a);
    assert.deepEqual(outbox.queuedEntryIds(), new Set(['e2']));
  });
});
