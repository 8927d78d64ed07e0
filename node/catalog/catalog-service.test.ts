/** @module Domain tests of the county node's catalog service: no NATS, no HTTP; temp SQLite, fixed clock. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as Y from 'yjs';
import { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import { openDatabase, type Db } from '../../engine/storage/db.ts';
import { AppError, type ErrorCode } from '../../engine/errors.ts';
import { Outbox } from '../../engine/storage/outbox.ts';
import { CONTENT_ROOT, docStateVector, encodeEntryState, loadEntryDoc, readRoot, REVIEW_ROOT, writeRoot } from '../../protocol/catalog-doc.ts';
import type { CatalogContent } from '../../protocol/catalog-entry.ts';
import { sampleCatalogContents } from '../../test/helpers/catalog-samples.ts';
import { ENTRY_ID_RE, type CatalogUpdate } from '../../protocol/messages.ts';
import { fromBase64, loadSodium, toBase64 } from '../../protocol/sodium.ts';
import { upSubject } from '../../protocol/subjects.ts';
import type { Department } from '../storage/departments.ts';
import { NODE_MIGRATIONS } from '../storage/migrations.ts';
import { CatalogService } from './catalog-service.ts';
import { thrownWithCode } from '../../test/helpers/errors.ts';
import { loadPolicy, type Policy } from '../../protocol/policy.ts';

const MUNI = '410800';
const A = '410802';
const B = '410803';
const NOW = new Date('2024-05-01T08:00:00.000Z');
const NODE_CLIENT = 4242;
const HUB_CLIENT = 1;

const POLICE: Department = { code: 'jc-gaj', name: '晋城市公安局' };
const MARKET: Department = { code: 'jc-scjgj', name: '晋城市市场监督管理局' };
/** 人口基础信息 (police) and 法人基础信息 (market). */
const population = (): CatalogContent => sampleCatalogContents()[0]!;
const legalEntity = (): CatalogContent => sampleCatalogContents()[1]!;

const appError = (fn: () => unknown, code: ErrorCode): AppError => thrownWithCode(fn, AppError, code);

describe('CatalogService (county node)', () => {
  let dir: string;
  let n = 0;
  const open: Db[] = [];

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-node-service-'));
  });
  after(() => {
    for (const db of open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function setup(county = A, policy?: Policy) {
    const db = openDatabase(join(dir, `node-${n++}.db`), NODE_MIGRATIONS);
    open.push(db);
    const store = new CatalogStore(db);
    const outbox = new Outbox(db);
    const service = new CatalogService({ db, store, outbox, clock: { now: () => NOW }, municipality: MUNI, county, clientId: NODE_CLIENT, ...(policy ? { policy } : {}) });
    const rows = () => outbox.peek(0, 100);
    return { db, store, outbox, service, rows };
  }

  describe('city rules (catalogPolicyIssues)', () => {
    // A thematic resource of the police, catalogued as not shared.
    const thematicNotShared = (): CatalogContent => ({
      ...population(),
      classification: 'thematic',
      baseCategory: undefined,
      sharing: { attribute: 'not_shared', legalBasis: '《中华人民共和国保守国家秘密法》第二条' },
    });
    const clean = (c: CatalogContent): CatalogContent => JSON.parse(JSON.stringify(c)) as CatalogContent;

    it('Yaohai §13: a thematic resource may not be created or changed to not shared; nothing is stored or queued', () => {
      const { service, rows } = setup(A, loadPolicy('yaohai'));
      const e = appError(() => service.create(POLICE, [clean(thematicNotShared())]), 'INVALID_ENTRY');
      assert.deepEqual(
        e.fields.map((f) => [f.path, f.code]),
        [['sharing.attribute', 'thematic_must_be_shared']],
      );
      assert.match(e.zh, /瑶海 §13/);
      assert.equal(rows().length, 0);
      const [ok] = service.create(POLICE, [clean({ ...thematicNotShared(), sharing: { attribute: 'conditional', conditions: '仅限公安业务', legalBasis: '《居民身份证法》' } })]);
      appError(() => service.update(POLICE, ok!.id, { sharing: { attribute: 'not_shared', legalBasis: '《保守国家秘密法》' } }), 'INVALID_ENTRY');
      assert.equal((service.get(ok!.id).content as CatalogContent).sharing.attribute, 'conditional');
    });

    it('under Jincheng the same entry is accepted (no such article)', () => {
      const { service } = setup(A, loadPolicy('jincheng'));
      const [view] = service.create(POLICE, [clean(thematicNotShared())]);
      assert.equal((view!.content as CatalogContent).sharing.attribute, 'not_shared');
    });
  });

  describe('create', () => {
    it('stores the entry and queues exactly one outbox message carrying its Yjs update', () => {
      const { service, store, rows } = setup();
      const [view] = service.create(POLICE, [population()]);
      assert.ok(view);
      assert.match(view.id, ENTRY_ID_RE);
      assert.ok(view.id.startsWith(`${A}-`));
      assert.equal(view.county, A);
      assert.equal(view.status, 'pending');
      assert.equal(view.code, null);
      assert.deepEqual(view.content, population());
      assert.deepEqual(store.getView(view.id), { ...view, updatedAt: NOW.toISOString() });

      const out = rows();
      assert.equal(out.length, 1);
      const row = out[0]!;
      assert.equal(row.subject, upSubject(MUNI, A, 'catalog.update'));
      assert.equal(row.type, 'catalog.update');
      assert.equal(row.createdAt, NOW.toISOString());
      const payload = row.payload as CatalogUpdate;
      assert.equal(payload.origin, A);
      assert.deepEqual(
        payload.updates.map((u) => u.entryId),
        [view.id],
      );
      // What the hub receives rebuilds exactly the stored document.
      const remote = loadEntryDoc(HUB_CLIENT);
      Y.applyUpdate(remote, fromBase64(payload.updates[0]!.update));
      assert.deepEqual(readRoot(remote, CONTENT_ROOT), view.content);
      assert.equal(docStateVector(remote), store.getDoc(view.id)!.sv);
      assert.match(store.getDoc(view.id)!.sv, new RegExp(`^${NODE_CLIENT}:\\d+$`));
    });

    it('several entries in one call share one transaction and one outbox message', () => {
      const { service, rows } = setup();
      const views = service.create(POLICE, [population(), { ...population(), name: '流动人口信息' }]);
      assert.equal(views.length, 2);
      assert.notEqual(views[0]!.id, views[1]!.id);
      const out = rows();
      assert.equal(out.length, 1);
      assert.deepEqual(
        (out[0]!.payload as CatalogUpdate).updates.map((u) => u.entryId),
        views.map((v) => v.id),
      );
    });

    it('invalid content → INVALID_ENTRY with field paths (prefixed by index for several), nothing stored or queued', () => {
      const { service, store, rows } = setup();
      const one = appError(() => service.create(POLICE, [{ ...population(), grading: 'L9' }]), 'INVALID_ENTRY');
      assert.deepEqual(
        one.fields.map((f) => f.path),
        ['grading'],
      );
      const many = appError(() => service.create(POLICE, [population(), { ...population(), grading: 'L1', extra: 1 }]), 'INVALID_ENTRY');
      assert.deepEqual(many.fields.map((f) => f.path).sort(), ['1.extra', '1.grading']);
      assert.deepEqual(rows(), []);
      assert.equal(store.stats().entries, 0);
    });

    it("another department's content → FORBIDDEN, nothing stored or queued", () => {
      const { service, store, rows } = setup();
      const err = appError(() => service.create(POLICE, [population(), legalEntity()]), 'FORBIDDEN');
      assert.deepEqual(
        err.fields.map((f) => f.path),
        ['provider.code'],
      );
      assert.deepEqual(rows(), []);
      assert.equal(store.stats().entries, 0);
    });
  });

  describe('update', () => {
    it('changes fields and queues one message whose update applies on top of the created state', () => {
      const { service, store, rows, outbox } = setup();
      const [created] = service.create(POLICE, [population()]);
      const before = store.getDoc(created!.id)!;
      outbox.remove(rows()[0]!.seq);

      const updated = service.update(POLICE, created!.id, { abstract: '新的摘要', updateCycle: 'daily' });
      assert.equal(updated.content.abstract, '新的摘要');
      assert.equal(updated.content.updateCycle, 'daily');
      assert.equal(updated.content.name, '人口基础信息', 'other fields are kept');
      assert.deepEqual(store.getView(created!.id)!.content, updated.content);

      const out = rows();
      assert.equal(out.length, 1);
      const replica = loadEntryDoc(HUB_CLIENT, before.state);
      Y.applyUpdate(replica, fromBase64((out[0]!.payload as CatalogUpdate).updates[0]!.update));
      assert.deepEqual(readRoot(replica, CONTENT_ROOT), updated.content);
      assert.equal(docStateVector(replica), store.getDoc(created!.id)!.sv);
    });

    it('a no-op update adds no outbox row and leaves the state unchanged', () => {
      const { service, store, rows } = setup();
      const [created] = service.create(POLICE, [population()]);
      const before = store.getDoc(created!.id)!;
      const same = service.update(POLICE, created!.id, { abstract: population().abstract, grading: 'L3' });
      service.update(POLICE, created!.id, {});
      assert.equal(rows().length, 1, 'only the create');
      assert.deepEqual(same.content, created!.content);
      assert.deepEqual(store.getDoc(created!.id), before);
    });

    it('by another department → FORBIDDEN, nothing queued', () => {
      const { service, store, rows } = setup();
      const [created] = service.create(POLICE, [population()]);
      const err = appError(() => service.update(MARKET, created!.id, { abstract: 'x' }), 'FORBIDDEN');
      assert.deepEqual(
        err.fields.map((f) => f.path),
        ['provider.code'],
      );
      assert.equal(rows().length, 1);
      assert.equal(store.getView(created!.id)!.content.abstract, population().abstract);
    });

    it('moving an entry to another department → FORBIDDEN', () => {
      const { service, rows } = setup();
      const [created] = service.create(POLICE, [population()]);
      appError(() => service.update(POLICE, created!.id, { provider: { code: 'jc-scjgj', name: '晋城市市场监督管理局' } }), 'FORBIDDEN');
      assert.equal(rows().length, 1);
    });

    it("of another county's entry → FORBIDDEN, even when the replica holds it", () => {
      const { service, store, rows } = setup();
      const other = `${B}-00000000-0000-4000-8000-000000000001`;
      const doc = loadEntryDoc(77);
      const update = writeRoot(doc, CONTENT_ROOT, population())!;
      assert.equal(service.applyRemote([{ entryId: other, update: toBase64(update) }]), 1);
      assert.ok(store.getView(other));
      appError(() => service.update(POLICE, other, { abstract: 'x' }), 'FORBIDDEN');
      appError(() => service.withdraw(POLICE, other), 'FORBIDDEN');
      assert.deepEqual(rows(), []);
    });

    it('of an unknown own entry → NOT_FOUND', () => {
      const { service } = setup();
      appError(() => service.update(POLICE, `${A}-00000000-0000-4000-8000-000000000009`, { abstract: 'x' }), 'NOT_FOUND');
    });

    it('an invalid patch → INVALID_ENTRY with field paths; an invalid merge → the cross-field paths', () => {
      const { service, rows } = setup();
      const [created] = service.create(POLICE, [population()]);
      const id = created!.id;
      assert.deepEqual(
        appError(() => service.update(POLICE, id, { grading: 'L9' }), 'INVALID_ENTRY').fields.map((f) => f.path),
        ['grading'],
      );
      assert.deepEqual(
        appError(() => service.update(POLICE, id, { colour: 'red' }), 'INVALID_ENTRY').fields.map((f) => f.path),
        ['colour'],
      );
      assert.deepEqual(
        appError(() => service.update(POLICE, id, { dataItems: [] }), 'INVALID_ENTRY').fields.map((f) => f.path),
        ['dataItems'],
      );
      // Each field is valid alone, the merged entry is not: a base entry must be shared unconditionally, with a basis.
      const merged = appError(() => service.update(POLICE, id, { sharing: { attribute: 'conditional' } }), 'INVALID_ENTRY');
      assert.deepEqual(merged.fields.map((f) => f.path).sort(), ['sharing.attribute', 'sharing.legalBasis', 'sharing.scope']);
      // Sensitive items need grade L3 or above.
      assert.deepEqual(
        appError(() => service.update(POLICE, id, { grading: 'L2' }), 'INVALID_ENTRY').fields.map((f) => f.path),
        ['grading'],
      );
      assert.equal(rows().length, 1, 'only the create');
    });

    it('withdraw marks the entry withdrawn and queues it', () => {
      const { service, rows } = setup();
      const [created] = service.create(POLICE, [population()]);
      const view = service.withdraw(POLICE, created!.id);
      assert.equal(view.status, 'withdrawn');
      assert.equal(view.content.withdrawn, true);
      assert.equal(rows().length, 2);
      service.withdraw(POLICE, created!.id);
      assert.equal(rows().length, 2, 'withdrawing again changes nothing');
    });
  });

  describe('applyRemote', () => {
    it('applies hub updates without queueing them (no echo) and counts only real changes', () => {
      const { service, store, rows, outbox } = setup();
      const [created] = service.create(POLICE, [population()]);
      outbox.remove(rows()[0]!.seq);
      const hub = loadEntryDoc(HUB_CLIENT, store.getDoc(created!.id)!.state);
      const review = writeRoot(hub, REVIEW_ROOT, { status: 'approved', code: '410800-410802-J-jc-gaj-000001', reviewer: 'admin' }, 'hub')!;

      assert.equal(service.applyRemote([{ entryId: created!.id, update: toBase64(review) }]), 1);
      assert.deepEqual(rows(), []);
      const view = service.get(created!.id);
      assert.equal(view.status, 'approved');
      assert.equal(view.code, '410800-410802-J-jc-gaj-000001');
      assert.equal(store.getDoc(created!.id)!.sv, docStateVector(hub));

      assert.equal(service.applyRemote([{ entryId: created!.id, update: toBase64(review) }]), 0, 'a duplicate changes nothing');
      assert.deepEqual(rows(), []);
    });

    it("stores other counties' entries as they arrive, and the node keeps writing as its own client", () => {
      const { service, store, rows } = setup();
      const other = `${B}-00000000-0000-4000-8000-000000000002`;
      const doc = loadEntryDoc(77);
      const u1 = writeRoot(doc, CONTENT_ROOT, legalEntity())!;
      const u2 = writeRoot(doc, CONTENT_ROOT, { abstract: '更新' })!;
      assert.equal(
        service.applyRemote([
          { entryId: other, update: toBase64(u1) },
          { entryId: other, update: toBase64(u2) },
        ]),
        2,
      );
      assert.equal(store.getView(other)!.content.abstract, '更新');
      assert.deepEqual(store.getDoc(other), { state: encodeEntryState(doc), sv: docStateVector(doc) });
      assert.deepEqual(rows(), []);

      // Own edits after remote history still carry only this node's client id.
      const [mine] = service.create(POLICE, [population()]);
      service.update(POLICE, mine!.id, { abstract: 'x' });
      assert.match(store.getDoc(mine!.id)!.sv, new RegExp(`^${NODE_CLIENT}:\\d+$`));
    });

    it('an update that arrives before its dependencies for an unknown entry does not surface as an entry without content', () => {
      // BUG (service.ts applyRemote): `if (docStateVector(doc) === before && stored) continue;` persists an
      // unknown entry even when nothing integrated (all structs pending), so get/search serve a view with
      // content {} (not a valid CatalogEntryView) until anti-entropy brings the content.
      const { service, store } = setup();
      const other = `${B}-00000000-0000-4000-8000-000000000003`;
      const county = loadEntryDoc(77);
      writeRoot(county, CONTENT_ROOT, legalEntity());
      const hub = loadEntryDoc(HUB_CLIENT, encodeEntryState(county));
      writeRoot(hub, REVIEW_ROOT, { status: 'approved', code: 'C-1' }, 'hub');
      const second = writeRoot(hub, REVIEW_ROOT, { status: 'rejected', reason: '缺少依据' }, 'hub')!;

      service.applyRemote([{ entryId: other, update: toBase64(second) }]);
      const listed = store.search({ limit: 10, offset: 0 }).items;
      assert.deepEqual(
        listed.filter((v) => Object.keys(v.content).length === 0).map((v) => v.id),
        [],
        'no contentless entry is listed',
      );
    });
  });

  describe('pushMissing', () => {
    it('queues what the hub lacks of an own entry, and refuses entries of other counties', () => {
      const { service, store, rows, outbox } = setup();
      const [created] = service.create(POLICE, [population()]);
      const atHub = store.getDoc(created!.id)!;
      service.update(POLICE, created!.id, { abstract: '补发' });
      for (const r of rows()) outbox.remove(r.seq);

      assert.equal(service.pushMissing(created!.id, atHub.sv), true);
      const out = rows();
      assert.equal(out.length, 1);
      const hub = loadEntryDoc(HUB_CLIENT, atHub.state);
      Y.applyUpdate(hub, fromBase64((out[0]!.payload as CatalogUpdate).updates[0]!.update));
      assert.equal(readRoot(hub, CONTENT_ROOT).abstract, '补发');
      assert.equal(hub.store.pendingStructs, null);
      assert.equal(docStateVector(hub), store.getDoc(created!.id)!.sv);
      assert.equal(service.pushMissing(`${B}-00000000-0000-4000-8000-000000000004`, ''), false);
      assert.equal(service.pushMissing(`${A}-00000000-0000-4000-8000-000000000004`, ''), false);
      assert.equal(rows().length, 1);
    });
  });
});
