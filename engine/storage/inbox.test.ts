/** @module Tests of receive-side de-duplication: seen/record, pruning by an injected time, and the floor. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { openDatabase, type Db } from './db.ts';
import { Inbox } from './inbox.ts';
import { ENGINE_TEST_MIGRATIONS as NODE_MIGRATIONS } from '../../test/helpers/migrations.ts';

const DAY = 86_400_000;
const T0 = new Date('2024-05-01T00:00:00.000Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY);

describe('Inbox', () => {
  let dir: string;
  let db: Db;
  let inbox: Inbox;
  let n = 0;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jilian-inbox-'));
  });
  beforeEach(() => {
    db?.close();
    db = openDatabase(join(dir, `inbox-${n++}.db`), NODE_MIGRATIONS);
    inbox = new Inbox(db);
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seen is true exactly for recorded (sender, seq) pairs', () => {
    assert.equal(inbox.seen('hub', 1), false);
    inbox.record('hub', 1, T0);
    inbox.record('hub', 3, T0);
    assert.equal(inbox.seen('hub', 1), true);
    assert.equal(inbox.seen('hub', 2), false);
    assert.equal(inbox.seen('hub', 3), true);
    assert.equal(inbox.seen('410802', 1), false, 'per sender');
    inbox.record('hub', 1, at(5));
    assert.equal(inbox.seen('hub', 1), true, 'recording twice is harmless');
  });

  it('a record inside a rolled-back transaction is not kept', () => {
    assert.throws(() =>
      db.transaction(() => {
        inbox.record('hub', 7, T0);
        throw new Error('apply failed');
      })(),
    );
    assert.equal(inbox.seen('hub', 7), false, 'the message will be applied again on redelivery');
  });

  it('prune drops records older than the retention and returns how many', () => {
    inbox.record('hub', 1, at(0));
    inbox.record('hub', 2, at(10));
    inbox.record('410802', 1, at(1));
    assert.equal(inbox.prune(at(30), 30), 0, 'nothing is older than 30 days yet (cutoff is exclusive)');
    assert.equal(inbox.prune(at(31.5), 30), 2);
    const left = db.prepare('SELECT sender, seq FROM inbox_seen ORDER BY sender, seq').all();
    assert.deepEqual(left, [{ sender: 'hub', seq: 2 }]);
  });

  it('after pruning, every seq at or below the highest pruned seq of a sender counts as seen', () => {
    inbox.record('hub', 1, at(0));
    inbox.record('hub', 3, at(0));
    inbox.record('hub', 6, at(20));
    inbox.record('410802', 9, at(0));
    inbox.prune(at(31), 30);
    assert.equal(inbox.seen('hub', 1), true);
    assert.equal(inbox.seen('hub', 2), true, 'never recorded, but below the floor');
    assert.equal(inbox.seen('hub', 3), true, 'the floor itself');
    assert.equal(inbox.seen('hub', 4), false, 'above the floor and never recorded');
    assert.equal(inbox.seen('hub', 6), true, 'still recorded');
    assert.equal(inbox.seen('410802', 9), true);
    assert.equal(inbox.seen('410802', 10), false);
    assert.equal(inbox.seen('410803', 1), false, 'no floor for an unknown sender');
  });

  it('the floor only rises', () => {
    inbox.record('hub', 10, at(0));
    inbox.prune(at(31), 30);
    // A straggler with a lower seq, recorded later and pruned later, must not lower the floor.
    inbox.record('hub', 12, at(40));
    inbox.record('hub', 4, at(40));
    inbox.prune(at(71), 30);
    assert.equal(inbox.seen('hub', 11), true, 'floor is now 12');
    assert.equal(inbox.seen('hub', 13), false);
    inbox.record('hub', 2, at(80));
    inbox.prune(at(111), 30);
    assert.equal(inbox.seen('hub', 12), true, 'a prune of only lower seqs keeps the floor at 12');
    assert.equal((db.prepare("SELECT seq FROM inbox_floor WHERE sender = 'hub'").get() as { seq: number }).seq, 12);
  });
});
