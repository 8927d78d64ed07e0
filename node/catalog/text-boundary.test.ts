/**
 * @module Issue 10 at the county node's HTTP boundary: catalog content with a lone UTF-16 surrogate (JSON
 * `"\uD800"`) is refused with 400 naming the field, for POST and PATCH, and nothing is written or queued.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { AccountStore } from '../../engine/accounts/store.ts';
import { AuditLog } from '../../engine/audit/log.ts';
import { CatalogStore } from '../../engine/catalog/catalog-store.ts';
import { openDatabase, type Db } from '../../engine/storage/db.ts';
import { Outbox } from '../../engine/storage/outbox.ts';
import { sampleCatalogContents } from '../../test/helpers/catalog-samples.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { createNodeApp } from '../http/routes.ts';
import { DepartmentStore } from '../storage/departments.ts';
import { NODE_MIGRATIONS } from '../storage/migrations.ts';
import { CatalogService } from './catalog-service.ts';

const NOW = new Date('2024-05-01T08:00:00.000Z');

describe('node HTTP: lone surrogates in catalog content', () => {
  let dir: string;
  let db: Db;
  let outbox: Outbox;
  let app: ReturnType<typeof createNodeApp>;
  let token = '';
  const content = () => ({ ...sampleCatalogContents()[0]!, provider: { code: 'jc-gaj', name: '晋城市公安局' } });
  // JSON text, as a client sends it: the escape is what JSON.parse turns into a lone surrogate.
  const raw = (body: unknown, name: string) => JSON.stringify(body).replace('"@@LONE@@"', JSON.stringify(name));
  const send = (method: string, path: string, body: string) => app.request(path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-node-text-'));
    db = openDatabase(join(dir, 'node.db'), NODE_MIGRATIONS);
    const clock = { now: () => NOW };
    const store = new CatalogStore(db);
    outbox = new Outbox(db);
    const audit = new AuditLog(db, clock);
    const service = new CatalogService({ db, store, outbox, clock, municipality: '410800', county: '410802', clientId: 4242, audit });
    const departments = new DepartmentStore(db);
    token = departments.issue('jc-gaj', '晋城市公安局', NOW);
    app = createNodeApp({ db, service, departments, accounts: new AccountStore(db), clock, status: () => ({}), log: pino({ level: 'silent' }), maxBodyBytes: 1 << 20, audit });
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('POST with "\\uD800" in the name → 400 INVALID_ENTRY naming the field, nothing queued', async () => {
    const body = raw({ ...content(), name: '@@LONE@@' }, '人口\uD800');
    assert.match(body, /\\ud800/);
    const res = await send('POST', '/api/v1/catalog/entries', body);
    assert.equal(res.status, 400, await res.clone().text());
    const err = ((await res.json()) as { error: { code: string; message: { 'zh-CN': string; en: string }; fields: { path: string; message: string }[] } }).error;
    assert.equal(err.code, 'INVALID_ENTRY');
    assert.deepEqual(
      err.fields.map((f) => f.path),
      ['name'],
    );
    assert.match(err.fields[0]!.message, /代理项/);
    assert.match(err.fields[0]!.message, /lone UTF-16 surrogate/);
    assert.equal(outbox.peek(0, 10).length, 0);
  });

  it('a nested field (a data item description) and a PATCH are refused the same way; well-formed astral text passes', async () => {
    const c = content();
    c.dataItems = c.dataItems.map((it, i) => (i === 1 ? { ...it, description: '@@LONE@@' } : it));
    const nested = await send('POST', '/api/v1/catalog/entries', raw(c, '说明\uDFFF'));
    assert.equal(nested.status, 400);
    assert.deepEqual(
      ((await nested.json()) as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path),
      ['dataItems.1.description'],
    );

    const ok = await send('POST', '/api/v1/catalog/entries', JSON.stringify({ ...content(), abstract: '含扩展B区汉字𠀀与表情😀' }));
    assert.equal(ok.status, 201, await ok.clone().text());
    const id = ((await ok.json()) as { id: string }).id;
    const queued = outbox.peek(0, 10).length;
    const patch = await send('PATCH', `/api/v1/catalog/entries/${id}`, raw({ abstract: '@@LONE@@' }, '\uD83D摘要'));
    assert.equal(patch.status, 400);
    assert.deepEqual(
      ((await patch.json()) as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path),
      ['abstract'],
    );
    assert.equal(outbox.peek(0, 10).length, queued, 'nothing more queued');
  });
});
