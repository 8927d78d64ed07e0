/**
 * @module Issue 10: a lone UTF-16 surrogate in catalog content must not reach the replicas. Yjs's own
 * encoder turns one into U+FFFD (so the writer's in-memory document and every replica would differ), and
 * a legacy ContentJSON struct carries it through intact: the hub refuses such an update (rule 7,
 * UPDATE_INVALID naming the field) and stores nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as Y from 'yjs';
import { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import { openDatabase, type Db } from '../../engine/storage/db.ts';
import { Outbox } from '../../engine/storage/outbox.ts';
import { CONTENT_ROOT, loadEntryDoc, readRoot, writeRoot } from '../../protocol/catalog-doc.ts';
import { CatalogContent } from '../../protocol/catalog-entry.ts';
import { sampleCatalogContents } from '../../test/helpers/catalog-samples.ts';
import { AppError } from '../../engine/errors.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { loadSodium, toBase64 } from '../../protocol/sodium.ts';
import { LONE_SURROGATE_MESSAGE } from '../../protocol/text.ts';
import { HUB_MIGRATIONS } from '../storage/migrations.ts';
import { CodeAllocator, DEFAULT_CODE_TEMPLATE } from './code-template.ts';
import { TotalCatalog } from './total-catalog.ts';

const A = '410802';
const NOW = new Date('2024-05-01T08:00:00.000Z');
const ENTRY = `${A}-01950000-0000-7000-8000-0000000000aa`;

const utf8 = (s: string) => new TextEncoder().encode(s);
const varString = (s: string) => {
  const b = utf8(s);
  assert.ok(b.length < 128);
  return [b.length, ...b];
};

/**
 * Rewrite the one ContentAny struct `content.<key> = marker` of a Yjs v1 update (a new key: no origin, so
 * info 0x28 = parentSub | ContentAny, then parent "content", the key, 1 value, string tag 119) into a
 * ContentJSON struct (info 0x22) holding `JSON.stringify(value)`: what a hand-made or legacy encoder may
 * send. JSON keeps the escape, so `value` arrives exactly, lone surrogate included.
 */
function asContentJson(update: Uint8Array, key: string, marker: string, value: string): Uint8Array {
  const from = [0x28, 1, ...varString(CONTENT_ROOT), ...varString(key), 1, 119, ...varString(marker)];
  const to = [0x22, 1, ...varString(CONTENT_ROOT), ...varString(key), 1, ...varString(JSON.stringify(value))];
  const bytes = [...update];
  const at = bytes.findIndex((_, i) => from.every((b, j) => bytes[i + j] === b));
  assert.ok(at >= 0, 'the ContentAny struct is where expected');
  bytes.splice(at, from.length, ...to);
  return Uint8Array.from(bytes);
}

describe('hub: lone surrogates in incoming catalog updates', () => {
  let dir: string;
  const open: Db[] = [];
  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-hub-text-'));
  });
  after(() => {
    for (const db of open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function hub() {
    const db = openDatabase(join(dir, `hub-${open.length}.db`), HUB_MIGRATIONS);
    open.push(db);
    const store = new CatalogStore(db);
    const outbox = new Outbox(db);
    const catalog = new TotalCatalog({ db, store, outbox, clock: { now: () => NOW }, codes: new CodeAllocator(db, DEFAULT_CODE_TEMPLATE), municipality: '410800', clientId: 1 });
    return { db, store, outbox, catalog, fromCounty: (updates: { entryId: string; update: string }[]) => db.transaction(() => catalog.applyFromCounty(A, updates))() };
  }

  /** A county's two updates of a new entry: everything but `name`, then `name` (as a crafted ContentJSON value). */
  function crafted(name: string): { entryId: string; update: string }[] {
    const { name: _n, ...rest } = CatalogContent.parse(sampleCatalogContents()[0]);
    const doc = loadEntryDoc(4242);
    const u1 = writeRoot(doc, CONTENT_ROOT, rest)!;
    const u2 = asContentJson(writeRoot(doc, CONTENT_ROOT, { name: 'MARKER' })!, 'name', 'MARKER', name);
    // The crafted bytes are a valid update carrying the value exactly.
    const probe = new Y.Doc();
    Y.applyUpdate(probe, u1);
    Y.applyUpdate(probe, u2);
    assert.equal(readRoot(probe, CONTENT_ROOT)['name'], name);
    return [
      { entryId: ENTRY, update: toBase64(u1) },
      { entryId: ENTRY, update: toBase64(u2) },
    ];
  }

  it('a well-formed value sent the same way is accepted (the vector itself is sound)', () => {
    const h = hub();
    assert.equal(h.fromCounty(crafted('人口基础信息😀')), 1);
    assert.equal(h.store.getView(ENTRY)?.content['name'], '人口基础信息😀');
  });

  it('a value with a lone surrogate → UPDATE_INVALID naming the field; nothing stored or relayed', () => {
    const h = hub();
    let err: unknown;
    try {
      h.fromCounty(crafted('人口\uD800基础信息'));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ProtocolError, String(err));
    assert.equal(err.code, 'UPDATE_INVALID');
    const issues = err.detail.issues as { path: string; message: string }[];
    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [['name', LONE_SURROGATE_MESSAGE]],
    );
    assert.equal(h.store.getDoc(ENTRY), undefined);
    assert.deepEqual(h.outbox.peek(0, 10), []);
  });

  it('a review reason with a lone surrogate is a 400 INVALID_REQUEST at reason, and nothing is written', () => {
    const h = hub();
    h.fromCounty(crafted('人口基础信息'));
    for (const r of h.outbox.peek(0, 10)) h.outbox.remove(r.seq);
    const before = h.store.getDoc(ENTRY);
    let err: unknown;
    try {
      h.catalog.review(ENTRY, { decision: 'reject', reason: '材料不全\uD800', reviewer: 'reviewer-1' });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, 'INVALID_REQUEST');
    assert.deepEqual(
      err.fields.map((f) => f.path),
      ['reason'],
    );
    assert.deepEqual(h.store.getDoc(ENTRY), before);
    assert.deepEqual(h.outbox.peek(0, 10), []);
  });
});
