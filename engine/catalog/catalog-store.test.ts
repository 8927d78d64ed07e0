/** @module Tests of CatalogStore: documents, views, the FTS row, anti-entropy ranges and stats. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CONTENT_ROOT, docStateVector, encodeEntryState, loadEntryDoc, readRoot, REVIEW_ROOT, writeRoot } from '../../protocol/catalog-doc.ts';
import { sampleCatalogContents } from '../../test/helpers/catalog-samples.ts';
import { entryView, type EntryView } from '../../protocol/catalog-view.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { CatalogStore, type StoredDoc } from './catalog-store.ts';
import { ENGINE_TEST_MIGRATIONS as NODE_MIGRATIONS } from '../../test/helpers/migrations.ts';
import { openDatabase, type Db } from '../storage/db.ts';

const T0 = '2024-05-01T08:00:00.000Z';
const T1 = '2024-05-02T08:00:00.000Z';

/** Entry id `n` of county 410802; ids sort in the order of n. */
const idOf = (n: number) => `410802-${String(n).padStart(8, '0')}-0000-4000-8000-000000000000`;

/** A real entry document with sample content `i`, as a view and its stored form. */
function entry(id: string, i = 0, overrides: Record<string, unknown> = {}): { view: EntryView; doc: StoredDoc } {
  const ydoc = loadEntryDoc(42);
  const base = sampleCatalogContents()[i % 8]!;
  writeRoot(ydoc, CONTENT_ROOT, { ...base, ...overrides });
  return {
    view: entryView(id, readRoot(ydoc, CONTENT_ROOT), readRoot(ydoc, REVIEW_ROOT)),
    doc: { state: encodeEntryState(ydoc), sv: docStateVector(ydoc) },
  };
}

describe('CatalogStore', () => {
  let dir: string;
  let db: Db;
  let store: CatalogStore;
  let n = 0;

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-store-'));
  });
  beforeEach(() => {
    db?.close();
    db = openDatabase(join(dir, `store-${n++}.db`), NODE_MIGRATIONS);
    store = new CatalogStore(db);
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('put then getDoc / getView round-trips the document and the view', () => {
    const id = idOf(1);
    const { view, doc } = entry(id);
    store.put(view, doc, T0);

    const stored = store.getDoc(id);
    assert.ok(stored);
    assert.deepEqual(stored.state, doc.state);
    assert.equal(stored.sv, doc.sv);
    assert.match(stored.sv, /^42:\d+$/);
    const reloaded = loadEntryDoc(7, stored.state);
    assert.deepEqual(readRoot(reloaded, CONTENT_ROOT), view.content);

    assert.deepEqual(store.getView(id), { ...view, updatedAt: T0 });
    assert.equal(store.getDoc(idOf(2)), undefined);
    assert.equal(store.getView(idOf(2)), undefined);
  });

  it('re-putting an entry replaces its document, view and search row', () => {
    const id = idOf(1);
    const first = entry(id, 0);
    store.put(first.view, first.doc, T0);
    assert.equal(store.search({ q: '人口', limit: 10, offset: 0 }).total, 1);

    const second = entry(id, 0, { name: '婚育服务信息', abstract: '生育登记服务。', dataItems: [{ name: '登记编号', code: 'reg_no', type: 'string', sensitive: false, identifier: null }] });
    store.put(second.view, second.doc, T1);
    assert.equal(store.search({ q: '人口', limit: 10, offset: 0 }).total, 0, 'old text no longer matches');
    assert.equal(store.search({ q: '公民身份', limit: 10, offset: 0 }).total, 0, 'old item names no longer match');
    const hits = store.search({ q: '婚育', limit: 10, offset: 0 });
    assert.deepEqual(
      hits.items.map((v) => v.id),
      [id],
    );
    assert.equal((hits.items[0] as EntryView & { updatedAt?: string }).updatedAt, T1, 'search rows carry updatedAt (not in the SearchResult type)');

    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    assert.equal(count('SELECT COUNT(*) AS n FROM entries'), 1);
    assert.equal(count('SELECT COUNT(*) AS n FROM entries_fts'), 1);
    assert.equal(count('SELECT COUNT(*) AS n FROM entry_docs'), 1);
    assert.equal(store.getDoc(id)!.sv, second.doc.sv);
    assert.equal(store.getView(id)!.content.name, '婚育服务信息');
  });

  it('search without a query lists newest first and applies filters', () => {
    for (let i = 0; i < 4; i++) {
      const { view, doc } = entry(idOf(i), i);
      store.put(view, doc, `2024-05-0${i + 1}T00:00:00.000Z`);
    }
    const all = store.search({ limit: 10, offset: 0 });
    assert.equal(all.total, 4);
    assert.deepEqual(
      all.items.map((v) => v.id),
      [idOf(3), idOf(2), idOf(1), idOf(0)],
    );
    assert.deepEqual(
      store.search({ limit: 2, offset: 2 }).items.map((v) => v.id),
      [idOf(1), idOf(0)],
    );
    assert.deepEqual(
      store.search({ dept: 'jc-scjgj', limit: 10, offset: 0 }).items.map((v) => v.id),
      [idOf(2), idOf(1)],
    );
    assert.equal(store.search({ status: 'approved', limit: 10, offset: 0 }).total, 0);
    assert.equal(store.search({ county: '410803', limit: 10, offset: 0 }).total, 0);
  });

  it('filters by theme (主题, Jincheng §27; Hebi §19), alone and with a full-text query', () => {
    store.put(entry(idOf(0), 0, { themes: ['社会保障', '民生服务'] }).view, entry(idOf(0), 0, { themes: ['社会保障', '民生服务'] }).doc, T0);
    store.put(entry(idOf(1), 1, { themes: ['市场监管'] }).view, entry(idOf(1), 1, { themes: ['市场监管'] }).doc, T0);
    store.put(entry(idOf(2), 2).view, entry(idOf(2), 2).doc, T1);
    assert.deepEqual(
      store.search({ theme: '社会保障', limit: 10, offset: 0 }).items.map((v) => v.id),
      [idOf(0)],
    );
    assert.equal(store.search({ theme: '社会', limit: 10, offset: 0 }).total, 0, 'a theme matches whole, not by prefix');
    assert.equal(store.search({ theme: '民生服务', q: '人口', limit: 10, offset: 0 }).total, 1);
    assert.equal(store.search({ theme: '市场监管', q: '人口', limit: 10, offset: 0 }).total, 0);
  });

  it('vectorsInRange: from is inclusive, to exclusive, null to is open', () => {
    const docs = [1, 2, 3, 4].map((i) => entry(idOf(i), i));
    docs.forEach(({ view, doc }) => store.put(view, doc, T0));
    const ids = (from: string, to: string | null) => store.vectorsInRange(from, to).map((v) => v.id);

    assert.deepEqual(ids('', null), [idOf(1), idOf(2), idOf(3), idOf(4)]);
    assert.deepEqual(ids(idOf(2), idOf(4)), [idOf(2), idOf(3)]);
    assert.deepEqual(ids(idOf(2), null), [idOf(2), idOf(3), idOf(4)]);
    assert.deepEqual(ids('', idOf(1)), []);
    assert.deepEqual(ids(idOf(3), idOf(3)), []);
    assert.deepEqual(ids(idOf(5), null), []);
    assert.deepEqual(store.vectorsInRange(idOf(1), idOf(2)), [{ id: idOf(1), sv: docs[0]!.doc.sv }]);
  });

  describe('pageStarts', () => {
    const fill = (count: number) => {
      for (let i = 0; i < count; i++) {
        const { view, doc } = entry(idOf(i), i);
        store.put(view, doc, T0);
      }
    };
    /** Every id falls in exactly one page [starts[k], starts[k+1]). */
    const assertPartition = (starts: string[], count: number, size: number) => {
      const seen: string[] = [];
      starts.forEach((from, k) => {
        const page = store.vectorsInRange(from, starts[k + 1] ?? null).map((v) => v.id);
        assert.ok(page.length <= size, `page ${k} has ${page.length} > ${size}`);
        seen.push(...page);
      });
      assert.deepEqual(
        seen,
        Array.from({ length: count }, (_, i) => idOf(i)),
      );
    };

    it('0 entries: one open page', () => {
      assert.deepEqual(store.pageStarts(3), ['']);
      assertPartition(store.pageStarts(3), 0, 3);
    });
    it('1 entry: one page', () => {
      fill(1);
      assert.deepEqual(store.pageStarts(3), ['']);
      assertPartition(store.pageStarts(3), 1, 3);
    });
    it('exactly N entries: one page', () => {
      fill(3);
      assert.deepEqual(store.pageStarts(3), ['']);
      assertPartition(store.pageStarts(3), 3, 3);
    });
    it('N+1 entries: a second page starting at the (N+1)th id', () => {
      fill(4);
      assert.deepEqual(store.pageStarts(3), ['', idOf(3)]);
      assertPartition(store.pageStarts(3), 4, 3);
    });
    it('2N+1 entries with page size 1 … N', () => {
      fill(7);
      assert.deepEqual(store.pageStarts(3), ['', idOf(3), idOf(6)]);
      assert.equal(store.pageStarts(1).length, 7);
      for (const size of [1, 2, 3, 7, 100]) assertPartition(store.pageStarts(size), 7, size);
    });
  });

  it('stats counts entries and the bytes of their stored state', () => {
    assert.deepEqual(store.stats(), { entries: 0, stateBytes: 0 });
    const a = entry(idOf(1), 1);
    const b = entry(idOf(2), 2);
    store.put(a.view, a.doc, T0);
    store.put(b.view, b.doc, T0);
    assert.deepEqual(store.stats(), { entries: 2, stateBytes: a.doc.state.byteLength + b.doc.state.byteLength });
    const a2 = entry(idOf(1), 5);
    store.put(a2.view, a2.doc, T1);
    assert.deepEqual(store.stats(), { entries: 2, stateBytes: a2.doc.state.byteLength + b.doc.state.byteLength }, 're-put replaces, never adds');
  });
});
