import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { pino } from 'pino';
import { AccountStore } from '../../engine/accounts/store.ts';
import { AuditLog } from '../../engine/audit/log.ts';
import { openDatabase, type Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import { RouteBook, type AuthEnv } from '../../engine/http/auth.ts';
import { installErrorHandling } from '../../engine/http/app.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { breakCheckChar, citizenIdFor, fixedClock, FRONTEND_TEST_MIGRATIONS, PERSON_ITEMS, personValues } from '../../test/helpers/frontend.ts';
import type { EntryContentLike } from './entry-items.ts';
import { registerFrontendRoutes } from './http.ts';
import { FRONTEND_AUDIT_ACTIONS } from './importer.ts';
import { frontendTableName } from './table-schema.ts';

const OWN = '410602-0195aaaa-0000-7000-8000-000000000001';
const API_ONLY = '410602-0195aaaa-0000-7000-8000-000000000002';
const OTHERS = '410602-0195aaaa-0000-7000-8000-000000000003';
const ENTRIES: Record<string, EntryContentLike> = {
  [OWN]: { provider: { code: 'GA' }, sharingMethods: ['table', 'api'], dataItems: PERSON_ITEMS },
  [API_ONLY]: { provider: { code: 'GA' }, sharingMethods: ['api'], dataItems: PERSON_ITEMS },
  [OTHERS]: { provider: { code: 'MZ' }, sharingMethods: ['file'], dataItems: PERSON_ITEMS },
};

let dir: string;
let db: Db;
let app: Hono<AuthEnv>;
const tokens: Record<string, string> = {};

before(async () => {
  await loadSodium();
  dir = mkdtempSync(join(tmpdir(), 'jilian-fe-http-'));
  db = openDatabase(join(dir, 'node.db'), FRONTEND_TEST_MIGRATIONS);
  const clock = fixedClock();
  const accounts = new AccountStore(db);
  for (const [name, role, department] of [
    ['ga-op', 'dept_operator', 'GA'],
    ['ga-reader', 'dept_reader', 'GA'],
    ['mz-op', 'dept_operator', 'MZ'],
  ] as const) {
    const a = accounts.create({ name, role, department }, clock.now());
    tokens[name] = accounts.issueToken(a.id, clock.now());
  }
  app = new Hono<AuthEnv>();
  installErrorHandling(app, pino({ level: 'silent' }), 1 << 30);
  const book = new RouteBook(app, accounts);
  registerFrontendRoutes(book, {
    db,
    clock,
    audit: new AuditLog(db, clock, { actions: FRONTEND_AUDIT_ACTIONS }),
    entryContent: (id) => {
      const c = ENTRIES[id];
      if (!c) throw new AppError('NOT_FOUND', '没有该目录条目', 'no such entry');
      return c;
    },
    batchSize: 3,
  });
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const csvBody = (rows: string[][]) => `${PERSON_ITEMS.map((i) => i.name).join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`;
const post = (entry: string, body: string, who = 'ga-op', type = 'text/csv', query = '') =>
  app.request(`/api/v1/frontend/${entry}/import${query}`, { method: 'POST', headers: { authorization: `Bearer ${tokens[who]}`, 'content-type': type }, body });

describe('front-end import over HTTP', () => {
  it('streams a CSV into an own entry and answers with the summary; status and rejects are readable after', async () => {
    const bad = personValues(3);
    bad[0] = breakCheckChar(bad[0]!);
    const res = await post(OWN, csvBody([personValues(0), personValues(1), personValues(2), bad, personValues(4)]));
    assert.equal(res.status, 200, await res.clone().text());
    const s = (await res.json()) as Record<string, unknown>;
    assert.deepEqual([s.read, s.inserted, s.rejected, s.batches], [5, 4, 1, 2]);
    assert.equal(
      db
        .prepare(`SELECT COUNT(*) FROM "${frontendTableName(OWN)}"`)
        .pluck()
        .get(),
      4,
    );

    const auth = { authorization: `Bearer ${tokens['ga-op']}` };
    const status = (await (await app.request(`/api/v1/frontend/imports/${s.importId}`, { headers: auth })).json()) as Record<string, unknown>;
    assert.equal(status.status, 'done');
    assert.equal(status.committedRows, 5);
    const report = await app.request(s.rejectsUrl as string, { headers: auth });
    assert.equal(report.headers.get('content-type'), 'text/csv; charset=utf-8');
    // Response.text() would drop the BOM: read the bytes.
    const text = Buffer.from(await report.arrayBuffer()).toString('utf8');
    assert.match(text, /^\uFEFFrow,column,reason_zh,reason_en\n5,id_no,校验码错误.*,wrong check character/);
    assert.equal(text.trim().split('\n').length, 2);
  });

  it('takes NDJSON by Content-Type, with deletes', async () => {
    const body = [JSON.stringify({ _delete: true, id_no: citizenIdFor(0) }), JSON.stringify(Object.fromEntries(PERSON_ITEMS.map((it, i) => [it.code, personValues(9)[i]])))].join('\n');
    const res = await post(OWN, body, 'ga-op', 'application/x-ndjson');
    assert.equal(res.status, 200, await res.clone().text());
    const s = (await res.json()) as Record<string, unknown>;
    assert.deepEqual([s.deleted, s.inserted], [1, 1]);
  });

  it('refuses other departments’ entries, readers, entries not shared by table or file, and unknown formats', async () => {
    const body = csvBody([personValues(0)]);
    assert.equal((await post(OTHERS, body)).status, 403);
    assert.equal((await post(OWN, body, 'mz-op')).status, 403);
    assert.equal((await post(OWN, body, 'ga-reader')).status, 403);
    const apiOnly = await post(API_ONLY, body);
    assert.equal(apiOnly.status, 400);
    assert.match(((await apiOnly.json()) as { error: { message: { en: string } } }).error.message.en, /not shared by table or file/);
    assert.equal((await post(OWN, body, 'ga-op', 'application/octet-stream')).status, 415);
    assert.equal((await post('410602-nope', body)).status, 404);
    const badHeader = await post(OWN, 'id_no,籍贯\n1,x\n');
    assert.equal(badHeader.status, 400);
    assert.match(((await badHeader.json()) as { error: { message: { 'zh-CN': string } } }).error.message['zh-CN'], /未知列：籍贯/);
  });

  it('another department cannot read an import’s status or rejects', async () => {
    const res = await post(OWN, csvBody([personValues(5)]), 'ga-op', 'text/csv', '?importId=ga-import-1');
    assert.equal(res.status, 200);
    const other = { authorization: `Bearer ${tokens['mz-op']}` };
    assert.equal((await app.request('/api/v1/frontend/imports/ga-import-1', { headers: other })).status, 403);
    assert.equal((await app.request('/api/v1/frontend/imports/ga-import-1/rejects', { headers: other })).status, 403);
  });
});
