/** The node's sent-package store: states, spool lifetime, and the histories the packagers choose by. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from '../../engine/storage/db.ts';
import { NODE_MIGRATIONS } from '../storage/migrations.ts';
import { SentPackageStore, type NewSentPackage } from './sent-packages-store.ts';

const R = '410802-0190a5e2-7c4b-7def-8123-456789abcde1';
const at = (s: number) => new Date(Date.UTC(2025, 2, 1, 0, 0, s));
const pkg = (packageId: string, o: Partial<NewSentPackage> = {}): NewSentPackage => ({
  packageId,
  resource: R,
  newVersion: 1,
  kind: 'snapshot',
  baseVersion: null,
  generation: 1,
  schemaHash: 'h',
  grantId: null,
  ...o,
});

function fresh(): SentPackageStore {
  return new SentPackageStore(openDatabase(join(mkdtempSync(join(tmpdir(), 'jl-sent-')), 'node.db'), NODE_MIGRATIONS));
}

describe('SentPackageStore', () => {
  it('keeps the spool of an offered package until the hub answers, and takes one answer only', () => {
    const s = fresh();
    s.begin(pkg('p1'), at(0));
    s.spool('p1', [
      { index: 0, bytes: new Uint8Array([1, 2]) },
      { index: 1, bytes: new Uint8Array([3]) },
    ]);
    assert.deepEqual(s.state('p1'), { state: 'building', code: null });
    s.offered('p1', 7);
    assert.deepEqual([...s.spooled('p1', 1)!], [3]);
    assert.equal(s.answered('p1', 'refused', 'PACKAGE_STALE', at(1)), true);
    assert.deepEqual(s.state('p1'), { state: 'refused', code: 'PACKAGE_STALE' });
    assert.equal(s.spooled('p1', 0), undefined, 'spool dropped');
    assert.equal(s.answered('p1', 'stored', null, at(2)), false, 'a late answer changes nothing');
    assert.equal(s.summary('p1')!.row_count, 7);
  });

  it('abandons only packages still building', () => {
    const s = fresh();
    s.begin(pkg('p1'), at(0));
    s.begin(pkg('p2', { newVersion: 2 }), at(1));
    s.offered('p2', 1);
    s.spool('p1', [{ index: 0, bytes: new Uint8Array([1]) }]);
    assert.equal(s.abandonBuilding(at(2)), 1);
    assert.equal(s.state('p1')!.state, 'abandoned');
    assert.equal(s.spooled('p1', 0), undefined);
    s.abandon('p2', at(3));
    assert.equal(s.state('p2')!.state, 'offered', 'an offered package is not abandoned');
  });

  it('keeps grant packages out of the resource’s own chain', () => {
    const s = fresh();
    s.begin(pkg('own', { newVersion: 3 }), at(0));
    s.offered('own', 1);
    s.begin(pkg('g1', { newVersion: 9, grantId: 'grant-1' }), at(1));
    assert.deepEqual(
      s.resourceHistory(R).map((r) => r.package_id),
      ['own'],
    );
    assert.deepEqual(
      s.grantHistory('grant-1').map((r) => r.package_id),
      ['g1'],
    );
    assert.deepEqual(s.buildingOfGrant('grant-1'), ['g1']);
    assert.equal(s.newestOwnVersion(R), 3);
    assert.equal(s.lastPackagedAt(R), at(0).toISOString());
    s.answered('own', 'refused', 'X', at(2));
    assert.equal(s.lastPackagedAt(R), undefined, 'a refused package does not count for the cycle');
    assert.equal(s.newestOwnVersion(R), null);
  });
});
