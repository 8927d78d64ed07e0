/** The hub's package store: chunk bookkeeping and the chains the access router and batch grants read. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from '../../engine/storage/db.ts';
import { HUB_MIGRATIONS } from '../storage/migrations.ts';
import { PackageStore, type NewPackage } from './package-store.ts';

const R = '410802-0190a5e2-7c4b-7def-8123-456789abcde1';
const at = (s: number) => new Date(Date.UTC(2025, 2, 1, 0, 0, s));

function fresh(): PackageStore {
  return new PackageStore(openDatabase(join(mkdtempSync(join(tmpdir(), 'jl-pkgs-')), 'hub.db'), HUB_MIGRATIONS));
}

/** A pending package; only `header.schemaHash` of the signed header is read by the queries tested here. */
function offer(s: PackageStore, id: string, o: { v: number; kind?: string; grantId?: string; schema?: string; store?: boolean }): void {
  const p: NewPackage = {
    packageId: id,
    resource: R,
    sender: 'county-410802',
    county: '410802',
    kind: o.kind ?? 'delta',
    baseVersion: null,
    newVersion: o.v,
    signed: { header: { schemaHash: o.schema ?? 'h1' } } as never,
    grantId: o.grantId ?? null,
  };
  s.addPending(p, at(o.v));
  if (o.store !== false) s.markStored(id, at(o.v));
}

describe('PackageStore', () => {
  it('stores each chunk once and drops them with a refusal', () => {
    const s = fresh();
    offer(s, 'p1', { v: 1, store: false });
    assert.equal(s.has('p1'), true);
    const seen: number[] = [];
    s.putChunks(
      'p1',
      [
        { i: 0, data: new Uint8Array([1]) },
        { i: 2, data: new Uint8Array([2]) },
      ],
      (c) => seen.push(c.i),
    );
    s.putChunks(
      'p1',
      [
        { i: 0, data: new Uint8Array([9]) },
        { i: 1, data: new Uint8Array([3]) },
      ],
      (c) => seen.push(c.i),
    );
    assert.deepEqual(seen, [0, 2, 1]);
    assert.deepEqual([...s.iterateChunkIndices('p1')], [0, 1, 2]);
    assert.deepEqual([...s.chunk('p1', 0)!], [1], 'the first copy stays');
    s.markRefused('p1', 'PACKAGE_HASH_MISMATCH');
    assert.deepEqual([...s.chunkIndices('p1')], []);
    assert.equal(s.stored('p1'), undefined);
  });

  it('gives the resource’s own chain from its latest snapshot on, without grant packages', () => {
    const s = fresh();
    assert.deepEqual(s.ownChain(R), []);
    offer(s, 'a', { v: 1, kind: 'snapshot' });
    offer(s, 'b', { v: 2 });
    offer(s, 'c', { v: 3, kind: 'snapshot' });
    offer(s, 'd', { v: 4 });
    offer(s, 'g', { v: 5, kind: 'snapshot', grantId: 'grant-1' });
    offer(s, 'e', { v: 6, store: false });
    assert.deepEqual(
      s.ownChain(R).map((p) => [p.id, p.v]),
      [
        ['c', 3],
        ['d', 4],
      ],
    );
    assert.equal(s.latestStoredVersion(R, null), 4);
    assert.equal(s.latestStoredVersion(R, 'grant-1'), 5);
  });

  it('gives a batch grant its chain, only packages built with the current items when asked', () => {
    const s = fresh();
    offer(s, 'old', { v: 1, kind: 'snapshot', schema: 'h0' });
    offer(s, 'snap', { v: 2, kind: 'snapshot', schema: 'h1' });
    offer(s, 'delta', { v: 3, schema: 'h1' });
    offer(s, 'g1', { v: 7, kind: 'snapshot', grantId: 'grant-1' });
    assert.deepEqual(s.grantableChain({ resource: R, grantId: null, schemaHash: 'h1' }), ['snap', 'delta']);
    assert.deepEqual(s.grantableChain({ resource: R, grantId: null, schemaHash: 'h0' }), ['old']);
    assert.deepEqual(s.grantableChain({ resource: R, grantId: 'grant-1', schemaHash: null }), ['g1']);
    assert.deepEqual(s.grantableChain({ resource: R, grantId: 'grant-2', schemaHash: null }), []);
  });
});
