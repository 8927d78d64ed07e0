/** @module Domain tests of the hub's total catalog: merge under ownership rules, review and codes; no NATS, no HTTP. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as Y from 'yjs';
import { CatalogStore } from '../engine/catalog/catalog-store.ts';
import { openDatabase, type Db } from '../engine/storage/db.ts';
import { AppError, type ErrorCode } from '../engine/errors.ts';
import { Outbox } from '../engine/storage/outbox.ts';
import { CONTENT_ROOT, docStateVector, encodeEntryState, loadEntryDoc, readRoot, REVIEW_ROOT, writeRoot } from '../protocol/catalog-doc.ts';
import { CatalogEntryView, type CatalogContent } from '../protocol/catalog-entry.ts';
import { sampleCatalogContents } from './helpers/catalog-samples.ts';
import { contentHash } from '../protocol/catalog-view.ts';
import { ProtocolError, type ProtocolErrorCode } from '../protocol/errors.ts';
import type { CatalogUpdate, EntryUpdate } from '../protocol/messages.ts';
import { fromBase64, loadSodium, toBase64 } from '../protocol/sodium.ts';
import { downBroadcastSubject } from '../protocol/subjects.ts';
import { CatalogService } from '../node/catalog/catalog-service.ts';
import { NODE_MIGRATIONS } from '../node/storage/migrations.ts';
import { HUB_MIGRATIONS } from '../hub/storage/migrations.ts';
import { CodeAllocator, DEFAULT_CODE_TEMPLATE } from '../hub/catalog/code-template.ts';
import { TotalCatalog } from '../hub/catalog/total-catalog.ts';
import { thrownWithCode } from './helpers/errors.ts';

const MUNI = '410800';
const A = '410802';
const B = '410803';
const NOW = new Date('2024-05-01T08:00:00.000Z');
const HUB_CLIENT = 1;
const POLICE = { code: 'jc-gaj', name: '晋城市公安局' };
const population = (): CatalogContent => sampleCatalogContents()[0]!;

const protocolError = (fn: () => unknown, code: ProtocolErrorCode): ProtocolError => thrownWithCode(fn, ProtocolError, code);

const appError = (fn: () => unknown, code: ErrorCode): AppError => thrownWithCode(fn, AppError, code);

describe('TotalCatalog (hub)', () => {
  let dir: string;
  let n = 0;
  const open: Db[] = [];

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-total-catalog-'));
  });
  after(() => {
    for (const db of open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function openDb(migrations: typeof HUB_MIGRATIONS): Db {
    const db = openDatabase(join(dir, `db-${n++}.db`), migrations);
    open.push(db);
    return db;
  }

  /** A hub and a county node (A by default), wired only by handing payloads across. */
  function setup(county = A) {
    const hubDb = openDb(HUB_MIGRATIONS);
    const store = new CatalogStore(hubDb);
    const outbox = new Outbox(hubDb);
    const clock = { now: () => NOW };
    const catalog = new TotalCatalog({ db: hubDb, store, outbox, clock, codes: new CodeAllocator(hubDb, DEFAULT_CODE_TEMPLATE), municipality: MUNI, clientId: HUB_CLIENT });
    const nodeDb = openDb(NODE_MIGRATIONS);
    const nodeOutbox = new Outbox(nodeDb);
    const nodeStore = new CatalogStore(nodeDb);
    const node = new CatalogService({ db: nodeDb, store: nodeStore, outbox: nodeOutbox, clock, municipality: MUNI, county, clientId: 5000 + n });
    /** Take (and remove) what the node queued for the hub. */
    const drainNode = (): EntryUpdate[] => {
      const rows = nodeOutbox.peek(0, 100);
      for (const r of rows) nodeOutbox.remove(r.seq);
      return rows.flatMap((r) => (r.payload as CatalogUpdate).updates);
    };
    const broadcasts = () => outbox.peek(0, 100);
    /** As the UP handler does: merge inside a transaction. */
    const fromCounty = (c: string, updates: EntryUpdate[]) => hubDb.transaction(() => catalog.applyFromCounty(c, updates))();
    return { hubDb, store, outbox, catalog, node, nodeStore, drainNode, broadcasts, fromCounty };
  }

  /** A hub holding one entry created at county A (broadcasts cleared). */
  function withEntry() {
    const s = setup();
    const [view] = s.node.create(POLICE, [population()]);
    assert.equal(s.fromCounty(A, s.drainNode()), 1);
    for (const r of s.broadcasts()) s.outbox.remove(r.seq);
    return { ...s, id: view!.id };
  }

  describe('applyFromCounty', () => {
    it("stores a node's outbox payload and queues one broadcast of it", () => {
      const s = setup();
      const [view] = s.node.create(POLICE, [population()]);
      const updates = s.drainNode();
      assert.equal(s.fromCounty(A, updates), 1);

      const stored = s.catalog.get(view!.id);
      assert.equal(stored.status, 'pending');
      assert.equal(stored.county, A);
      assert.deepEqual(stored.content, population());
      assert.equal(s.store.getDoc(view!.id)!.sv, s.nodeStore.getDoc(view!.id)!.sv);
      assert.ok(CatalogEntryView.safeParse({ ...stored, review: { status: 'pending' } }).success);

      const out = s.broadcasts();
      assert.equal(out.length, 1);
      assert.equal(out[0]!.subject, downBroadcastSubject(MUNI, 'catalog.update'));
      assert.equal(out[0]!.type, 'catalog.update');
      assert.deepEqual(out[0]!.payload, { origin: A, updates });
      assert.equal(s.catalog.search({ q: '人口', limit: 10, offset: 0 }).total, 1);
    });

    it('the same update again changes nothing and broadcasts nothing', () => {
      const s = setup();
      s.node.create(POLICE, [population()]);
      const updates = s.drainNode();
      assert.equal(s.fromCounty(A, updates), 1);
      const state = s.store.getDoc(updates[0]!.entryId);
      assert.equal(s.fromCounty(A, updates), 0);
      assert.equal(s.broadcasts().length, 1);
      assert.deepEqual(s.store.getDoc(updates[0]!.entryId), state);
    });

    it("an update for another county's entry → UPDATE_FORBIDDEN, and nothing of the message is stored", () => {
      const s = setup(B);
      s.node.create(POLICE, [population()]);
      const updates = s.drainNode();
      protocolError(() => s.fromCounty(A, updates), 'UPDATE_FORBIDDEN');
      // All or nothing: one foreign entry refuses a message that also carries a valid own entry.
      const own = setup();
      own.node.create(POLICE, [population()]);
      const mixed = [...own.drainNode(), ...updates];
      protocolError(() => own.fromCounty(A, mixed), 'UPDATE_FORBIDDEN');
      assert.equal(own.store.stats().entries, 0);
      assert.deepEqual(own.broadcasts(), []);
    });

    it('an update that writes `review` (as any client) → UPDATE_FORBIDDEN, nothing stored', () => {
      const s = withEntry();
      const before = s.store.getDoc(s.id)!;
      const forged = loadEntryDoc(31337, before.state);
      const update = writeRoot(forged, REVIEW_ROOT, { status: 'approved', code: 'FORGED-1' })!;
      const err = protocolError(() => s.fromCounty(A, [{ entryId: s.id, update: toBase64(update) }]), 'UPDATE_FORBIDDEN');
      assert.equal(err.detail.root, REVIEW_ROOT);
      // Content and review together in one update: still refused.
      const both = loadEntryDoc(31338, before.state);
      const u2 = Y.mergeUpdates([writeRoot(both, CONTENT_ROOT, { abstract: 'x' })!, writeRoot(both, REVIEW_ROOT, { status: 'approved', code: 'F-2' })!]);
      protocolError(() => s.fromCounty(A, [{ entryId: s.id, update: toBase64(u2) }]), 'UPDATE_FORBIDDEN');
      assert.deepEqual(s.store.getDoc(s.id), before);
      assert.equal(s.catalog.get(s.id).status, 'pending');
      assert.deepEqual(s.broadcasts(), []);
    });

    it("content written as the hub's client id, or a root other than content/review → UPDATE_FORBIDDEN", () => {
      const s = withEntry();
      const before = s.store.getDoc(s.id)!;
      const asHub = loadEntryDoc(HUB_CLIENT, before.state);
      const u1 = writeRoot(asHub, CONTENT_ROOT, { abstract: 'impersonating the hub' })!;
      protocolError(() => s.fromCounty(A, [{ entryId: s.id, update: toBase64(u1) }]), 'UPDATE_FORBIDDEN');
      const extra = loadEntryDoc(31339, before.state);
      extra.getMap('notes').set('x', 1);
      const u2 = encodeEntryState(extra, Y.encodeStateVectorFromUpdate(before.state));
      protocolError(() => s.fromCounty(A, [{ entryId: s.id, update: toBase64(u2) }]), 'UPDATE_FORBIDDEN');
      assert.deepEqual(s.store.getDoc(s.id), before);
    });

    it('content that fails CatalogContent → UPDATE_INVALID with issues, nothing stored', () => {
      const s = withEntry();
      const before = s.store.getDoc(s.id)!;
      const county = loadEntryDoc(4242, before.state);
      const bad = writeRoot(county, CONTENT_ROOT, { grading: 'L1' })!; // sensitive items need L3+
      const err = protocolError(() => s.fromCounty(A, [{ entryId: s.id, update: toBase64(bad) }]), 'UPDATE_INVALID');
      assert.deepEqual(
        (err.detail.issues as { path: string }[]).map((i) => i.path),
        ['grading'],
      );
      // A brand-new entry with partial content is not a catalog entry either.
      const fresh = loadEntryDoc(4243);
      const partial = writeRoot(fresh, CONTENT_ROOT, { name: '只有名称' })!;
      protocolError(() => s.fromCounty(A, [{ entryId: `${A}-00000000-0000-4000-8000-0000000000aa`, update: toBase64(partial) }]), 'UPDATE_INVALID');
      assert.deepEqual(s.store.getDoc(s.id), before);
      assert.equal(s.store.stats().entries, 1);
      assert.deepEqual(s.broadcasts(), []);
    });

    it('bytes that are not a Yjs update → UPDATE_INVALID', () => {
      const s = withEntry();
      protocolError(() => s.fromCounty(A, [{ entryId: s.id, update: toBase64(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x01)) }]), 'UPDATE_INVALID');
    });

    it('an update that arrives before its dependencies → UPDATE_MISSING_DEPENDENCIES; it merges once they arrive', () => {
      const s = setup();
      const [view] = s.node.create(POLICE, [population()]);
      const create = s.drainNode();
      s.node.update(POLICE, view!.id, { abstract: '第二版' });
      const edit = s.drainNode();
      protocolError(() => s.fromCounty(A, edit), 'UPDATE_MISSING_DEPENDENCIES');
      assert.equal(s.store.stats().entries, 0);
      assert.equal(s.fromCounty(A, create), 1);
      assert.equal(s.fromCounty(A, edit), 1);
      assert.equal(s.catalog.get(view!.id).content.abstract, '第二版');
      assert.equal(s.store.getDoc(view!.id)!.sv, s.nodeStore.getDoc(view!.id)!.sv);
    });

    it('two updates of one entry in one message are both kept', () => {
      // BUG (total-catalog.ts applyFromCounty): every update is applied to a doc loaded from the *stored*
      // state, not to the doc the previous update of the same entry in this message produced, and all are
      // persisted after the loop. Two writers (a node and its restored self): the later persist overwrites
      // the earlier, so the hub stores v0+u2 and loses u1 while broadcasting both. One writer: u2 continues
      // u1's clock, so it is refused as UPDATE_MISSING_DEPENDENCIES and the whole message is dropped.
      const s = withEntry();
      const base = s.store.getDoc(s.id)!;
      const before = loadEntryDoc(9001, base.state);
      const after = loadEntryDoc(9002, base.state);
      const u1 = writeRoot(before, CONTENT_ROOT, { abstract: '摘要一' })!;
      const u2 = writeRoot(after, CONTENT_ROOT, { name: '名称二' })!;
      s.fromCounty(A, [
        { entryId: s.id, update: toBase64(u1) },
        { entryId: s.id, update: toBase64(u2) },
      ]);
      const content = s.catalog.get(s.id).content;
      assert.deepEqual({ abstract: content.abstract, name: content.name }, { abstract: '摘要一', name: '名称二' }, 'two writers');

      const u3 = writeRoot(before, CONTENT_ROOT, { updateCycle: 'weekly' })!;
      const u4 = writeRoot(before, CONTENT_ROOT, { grading: 'L4' })!;
      assert.ok(
        s.fromCounty(A, [
          { entryId: s.id, update: toBase64(u3) },
          { entryId: s.id, update: toBase64(u4) },
        ]) > 0,
        'one writer, two edits',
      );
      const c2 = s.catalog.get(s.id).content;
      assert.deepEqual({ updateCycle: c2.updateCycle, grading: c2.grading }, { updateCycle: 'weekly', grading: 'L4' });
      const merged = loadEntryDoc(1, base.state);
      for (const u of [u1, u2, u3, u4]) Y.applyUpdate(merged, u);
      assert.equal(s.store.getDoc(s.id)!.sv, docStateVector(merged));
    });
  });

  describe('review', () => {
    it('approve assigns a code by the template; a second approve keeps it', () => {
      const s = withEntry();
      const approved = s.catalog.review(s.id, { decision: 'approve', reviewer: 'admin' });
      assert.equal(approved.status, 'approved');
      assert.equal(approved.code, '410800-410802-J-jc-gaj-000001');
      assert.deepEqual(approved.review, {
        status: 'approved',
        reviewer: 'admin',
        reviewedAt: NOW.toISOString(),
        code: '410800-410802-J-jc-gaj-000001',
        contentHash: contentHash(population()),
      });
      assert.equal(approved.reviewStale, false);
      assert.deepEqual(s.catalog.get(s.id), approved);
      assert.ok(CatalogEntryView.safeParse(approved).success);

      const out = s.broadcasts();
      assert.equal(out.length, 1);
      const payload = out[0]!.payload as CatalogUpdate;
      assert.equal(payload.origin, 'hub');
      assert.deepEqual(
        payload.updates.map((u) => u.entryId),
        [s.id],
      );

      const again = s.catalog.review(s.id, { decision: 'approve', reviewer: 'admin2' });
      assert.equal(again.code, approved.code);
      assert.equal(again.review.reviewer, 'admin2');
      // The counter was not consumed by the second approval.
      const [other] = s.node.create(POLICE, [{ ...population(), name: '流动人口信息' }]);
      s.fromCounty(A, s.drainNode());
      assert.equal(s.catalog.review(other!.id, { decision: 'approve', reviewer: 'admin' }).code, '410800-410802-J-jc-gaj-000002');
    });

    it("the hub's review reaches the node, which applies it without echoing it", () => {
      const s = withEntry();
      s.catalog.review(s.id, { decision: 'approve', reviewer: 'admin' });
      const out = s.broadcasts();
      assert.equal(s.node.applyRemote((out[0]!.payload as CatalogUpdate).updates), 1);
      assert.equal(s.node.get(s.id).code, '410800-410802-J-jc-gaj-000001');
      assert.deepEqual(s.drainNode(), []);
      assert.equal(s.nodeStore.getDoc(s.id)!.sv, s.store.getDoc(s.id)!.sv);
    });

    it('reject needs a reason (AppError), and stores it when given', () => {
      const s = withEntry();
      const before = s.store.getDoc(s.id);
      for (const reason of [undefined, '', '   ']) {
        const err = appError(() => s.catalog.review(s.id, { decision: 'reject', reviewer: 'admin', ...(reason === undefined ? {} : { reason }) }), 'INVALID_REQUEST');
        assert.deepEqual(
          err.fields.map((f) => f.path),
          ['reason'],
        );
      }
      assert.deepEqual(s.store.getDoc(s.id), before);
      assert.deepEqual(s.broadcasts(), []);
      const rejected = s.catalog.review(s.id, { decision: 'reject', reason: '缺少共享依据', reviewer: 'admin' });
      assert.equal(rejected.status, 'rejected');
      assert.equal(rejected.review.reason, '缺少共享依据');
      assert.equal(rejected.code, null);
      assert.equal(s.broadcasts().length, 1);
    });

    it('an approval after a rejection clears the reason', () => {
      const s = withEntry();
      s.catalog.review(s.id, { decision: 'reject', reason: '缺少共享依据', reviewer: 'admin' });
      const approved = s.catalog.review(s.id, { decision: 'approve', reviewer: 'admin' });
      assert.equal(approved.review.reason, undefined);
      assert.equal(readRoot(loadEntryDoc(HUB_CLIENT, s.store.getDoc(s.id)!.state), REVIEW_ROOT).reason, undefined);
    });

    it('reviewStale becomes true when the county changes content after approval, and false after a new decision', () => {
      const s = withEntry();
      s.catalog.review(s.id, { decision: 'approve', reviewer: 'admin' });
      s.node.applyRemote((s.broadcasts()[0]!.payload as CatalogUpdate).updates);
      assert.equal(s.node.get(s.id).reviewStale, false);

      s.node.update(POLICE, s.id, { abstract: '审核后修改的摘要' });
      assert.equal(s.node.get(s.id).reviewStale, true, 'the node sees it at once');
      assert.equal(s.fromCounty(A, s.drainNode()), 1);
      const stale = s.catalog.get(s.id);
      assert.equal(stale.reviewStale, true);
      assert.equal(stale.status, 'approved');

      const again = s.catalog.review(s.id, { decision: 'approve', reviewer: 'admin' });
      assert.equal(again.reviewStale, false);
      assert.equal(again.code, '410800-410802-J-jc-gaj-000001');
    });

    it('a withdrawn entry cannot be reviewed (CONFLICT); an unknown one is NOT_FOUND', () => {
      const s = withEntry();
      s.node.withdraw(POLICE, s.id);
      s.fromCounty(A, s.drainNode());
      assert.equal(s.catalog.get(s.id).status, 'withdrawn');
      appError(() => s.catalog.review(s.id, { decision: 'approve', reviewer: 'admin' }), 'CONFLICT');
      appError(() => s.catalog.review(`${A}-00000000-0000-4000-8000-0000000000bb`, { decision: 'approve', reviewer: 'admin' }), 'NOT_FOUND');
      appError(() => s.catalog.get(`${A}-00000000-0000-4000-8000-0000000000bb`), 'NOT_FOUND');
    });
  });

  describe('diffFor', () => {
    it('returns what a replica with a given state vector lacks, or null for an unknown entry', () => {
      const s = withEntry();
      const before = s.store.getDoc(s.id)!;
      s.catalog.review(s.id, { decision: 'approve', reviewer: 'admin' });
      const diff = s.catalog.diffFor(s.id, before.sv)!;
      const replica = loadEntryDoc(7, before.state);
      Y.applyUpdate(replica, fromBase64(diff));
      assert.equal(docStateVector(replica), s.store.getDoc(s.id)!.sv);
      assert.equal(readRoot(replica, REVIEW_ROOT).status, 'approved');
      const full = loadEntryDoc(8);
      Y.applyUpdate(full, fromBase64(s.catalog.diffFor(s.id, '')!));
      assert.deepEqual(readRoot(full, CONTENT_ROOT), population());
      assert.equal(s.catalog.diffFor(`${A}-00000000-0000-4000-8000-0000000000cc`, ''), null);
    });
  });
});
