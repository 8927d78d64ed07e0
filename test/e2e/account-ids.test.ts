/**
 * @module Issue 10: account ids in URL paths are parsed strictly. `Number('0x7')` is 7, so `0x7`,
 * `7.0`, ` 7` or `1e1` used to reach account 7 (or 10); now every such id is 400 INVALID_REQUEST
 * naming `id`, and nothing changes. Through the county node's real routes.
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
import { loadSodium } from '../../protocol/sodium.ts';
import { CatalogService } from '../../node/catalog/catalog-service.ts';
import { createNodeApp } from '../../node/http/routes.ts';
import { DepartmentStore } from '../../node/storage/departments.ts';
import { NODE_MIGRATIONS } from '../../node/storage/migrations.ts';

/** Spellings `Number()` turns into 7 or 10, and other non-canonical ids (percent-encoded in the path). */
const BAD = ['0x7', '7.0', '%207', '7%20', '1e1', '07', '+7', '-7', '0', '0b111', '7n', '9007199254740993', '99999999999999999999', 'abc'];

describe('account ids from users are parsed strictly (issue 10)', () => {
  let dir: string;
  let db: Db;
  let accounts: AccountStore;
  let app: ReturnType<typeof createNodeApp>;
  let sys = '';
  let sec = '';
  let sevenToken = '';
  const call = (method: string, path: string, token: string) => app.request(path, { method, headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    await loadSodium();
    dir = mkdtempSync(join(tmpdir(), 'jilian-account-ids-'));
    db = openDatabase(join(dir, 'node.db'), NODE_MIGRATIONS);
    const clock = { now: () => new Date() };
    const audit = new AuditLog(db, clock);
    accounts = new AccountStore(db);
    const departments = new DepartmentStore(db);
    departments.issue('jc-gaj', '晋城市公安局', new Date());
    sys = accounts.issueToken(accounts.create({ name: 'sys', role: 'sysadmin' }, new Date()).id, new Date());
    sec = accounts.issueToken(accounts.create({ name: 'sec', role: 'secadmin' }, new Date()).id, new Date());
    while (accounts.list().length < 10) accounts.create({ name: `reader-${accounts.list().length + 1}`, role: 'dept_reader', department: 'jc-gaj' }, new Date());
    assert.ok(accounts.byId(7) && accounts.byId(10));
    sevenToken = accounts.issueToken(7, new Date());
    const service = new CatalogService({ db, store: new CatalogStore(db), outbox: new Outbox(db), clock, municipality: '410800', county: '410802', clientId: 4244, audit });
    app = createNodeApp({ db, service, departments, accounts, clock, status: () => ({}), log: pino({ level: 'silent' }), maxBodyBytes: 1 << 20, audit });
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [method, route, who] of [
    ['POST', '/api/v1/accounts/:id/disable', 'sys'],
    ['POST', '/api/v1/accounts/:id/tokens', 'sec'],
    ['DELETE', '/api/v1/accounts/:id/tokens', 'sec'],
  ] as const) {
    it(`${method} ${route}: non-canonical ids are 400 INVALID_REQUEST at id, and change nothing`, async () => {
      const tokensBefore = (db.prepare('SELECT COUNT(*) AS n FROM api_tokens WHERE revoked_at IS NULL').get() as { n: number }).n;
      for (const bad of BAD) {
        const res = await call(method, route.replace(':id', bad), who === 'sys' ? sys : sec);
        const body = (await res.json()) as { error: { code: string; fields: { path: string }[] } };
        assert.equal(res.status, 400, `${bad}: ${JSON.stringify(body)}`);
        assert.equal(body.error.code, 'INVALID_REQUEST', bad);
        assert.deepEqual(
          body.error.fields.map((f) => f.path),
          ['id'],
          bad,
        );
      }
      assert.equal(accounts.byId(7)!.disabledAt, null, 'account 7 still enabled');
      assert.equal(accounts.byId(10)!.disabledAt, null, 'account 10 still enabled');
      assert.equal((await call('GET', '/api/v1/catalog/entries', sevenToken)).status, 200, 'account 7 still signs in with its token');
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM api_tokens WHERE revoked_at IS NULL').get() as { n: number }).n, tokensBefore, 'no token issued or revoked');
    });
  }

  it('the canonical id still works, and an unknown one is 404', async () => {
    assert.equal((await call('POST', '/api/v1/accounts/999999/disable', sys)).status, 404);
    const res = await call('POST', '/api/v1/accounts/7/disable', sys);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { id: number }).id, 7);
    assert.notEqual(accounts.byId(7)!.disabledAt, null);
  });
  it('an account for a department the node has not registered is refused (404 at department), and none is created', async () => {
    const before = accounts.list().length;
    const res = await app.request('/api/v1/accounts', {
      method: 'POST',
      headers: { authorization: `Bearer ${sys}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'reader-nosuch', role: 'dept_reader', department: 'nosuch' }),
    });
    const body = (await res.json()) as { error: { code: string; fields: { path: string }[] } };
    assert.equal(res.status, 404, JSON.stringify(body));
    assert.equal(body.error.code, 'NOT_FOUND');
    assert.deepEqual(
      body.error.fields.map((f) => f.path),
      ['department'],
    );
    assert.equal(accounts.list().length, before);
    const ok = await app.request('/api/v1/accounts', {
      method: 'POST',
      headers: { authorization: `Bearer ${sys}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'reader-gaj', role: 'dept_reader', department: 'jc-gaj' }),
    });
    assert.equal(ok.status, 201, 'a registered department still works');
  });
});
