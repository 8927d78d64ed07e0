/**
 * Every HTTP route of node and hub, called with every role (and with no token): allowed roles get
 * past the guard, others get 403, no token gets 401, public routes need none. Also the separation of
 * the three administrators (三员分立), account administration, and throttled password login.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROLES, type Role } from '../../engine/accounts/roles.ts';
import type { RouteSpec } from '../../engine/http/auth.ts';
import { api, Cluster, deptOf } from '../helpers/cluster.ts';

const A = '410802';
const NODE_ROLES: Role[] = ROLES.filter((r) => r !== 'reviewer');
const HUB_ROLES: Role[] = ROLES.filter((r) => r !== 'dept_operator' && r !== 'dept_reader');

/** A path with harmless parameters: ids that exist nowhere, so allowed calls end in 400/404, never in a change. */
function concrete(path: string): string {
  const id = path.startsWith('/api/v1/catalog') ? `${A}-00000000-0000-7000-8000-000000000000` : path.startsWith('/api/v1/nodes') ? 'county-999999' : '999999';
  return path.replace(':id', id);
}

describe('role × route matrix', () => {
  let c: Cluster;
  before(async () => {
    c = await Cluster.start([A]);
  });
  after(async () => {
    await c.stop();
  });

  const walk = async (side: 'hub' | string, base: string, routes: RouteSpec[], roles: Role[]) => {
    const seen: string[] = [];
    for (const route of routes) {
      const path = concrete(route.path);
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : {};
      const anon = await api(base, '', route.method, path, body);
      if (route.roles === 'public') {
        assert.ok(anon.status !== 401 && anon.status !== 403, `${side} ${route.method} ${route.path} is public but answered ${anon.status}`);
        continue;
      }
      assert.equal(anon.status, 401, `${side} ${route.method} ${route.path} without a token`);
      for (const role of roles) {
        const token = c.token(side, role, role.startsWith('dept_') ? deptOf(A) : undefined);
        const res = await api(base, token, route.method, path, body);
        const allowed = route.roles.includes(role);
        if (allowed) assert.ok(res.status !== 401 && res.status !== 403, `${side} ${route.method} ${route.path} as ${role}: expected allowed, got ${res.status} ${JSON.stringify(res.body)}`);
        else assert.equal(res.status, 403, `${side} ${route.method} ${route.path} as ${role}: expected 403`);
        seen.push(`${route.method} ${route.path} ${role} ${allowed ? 'allow' : 'deny'}`);
      }
    }
    return seen;
  };

  it('county node: every route with every role', async () => {
    const n = c.node(A).running!;
    const checked = await walk(A, n.url, n.routes, NODE_ROLES);
    assert.ok(checked.length >= n.routes.filter((r) => r.roles !== 'public').length * NODE_ROLES.length);
  });

  it('hub: every route with every role', async () => {
    const checked = await walk('hub', c.hub!.url, c.hub!.routes, HUB_ROLES);
    assert.ok(checked.length > 0);
  });

  it('三员分立: the system administrator cannot create administrators or read rejections; the auditor changes nothing', async () => {
    const sys = c.token('hub', 'sysadmin');
    const mk = await api(c.hub!.url, sys, 'POST', '/api/v1/accounts', { name: 'new-sec', role: 'secadmin' });
    assert.equal(mk.status, 403);
    assert.match(mk.body.error.message.en, /only with the local CLI/);
    assert.equal((await api(c.hub!.url, sys, 'GET', '/api/v1/rejections')).status, 403);
    const auditor = c.token('hub', 'auditor');
    assert.equal((await api(c.hub!.url, auditor, 'POST', '/api/v1/join-tokens', { county: A })).status, 403);
    assert.equal((await api(c.hub!.url, auditor, 'GET', '/api/v1/rejections')).status, 200);
  });

  it('accounts: sysadmin creates a reader, secadmin issues and revokes its token, login is throttled', async () => {
    const node = c.node(A).running!;
    const sys = c.token(A, 'sysadmin');
    const sec = c.token(A, 'secadmin');
    const created = await api(node.url, sys, 'POST', '/api/v1/accounts', { name: 'reader-1', role: 'dept_reader', department: deptOf(A), password: 'correct horse battery' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const issued = await api(node.url, sec, 'POST', `/api/v1/accounts/${created.body.id}/tokens`);
    assert.equal(issued.status, 201);
    assert.equal((await api(node.url, issued.body.token, 'GET', '/api/v1/catalog/entries')).status, 200);
    assert.equal((await api(node.url, issued.body.token, 'POST', '/api/v1/catalog/entries', {})).status, 403, 'a reader cannot write');
    assert.equal((await api(node.url, sec, 'DELETE', `/api/v1/accounts/${created.body.id}/tokens`)).status, 200);
    assert.equal((await api(node.url, issued.body.token, 'GET', '/api/v1/catalog/entries')).status, 401, 'revoked token refused');

    const login = await api(node.url, '', 'POST', '/api/v1/login', { name: 'reader-1', password: 'correct horse battery' });
    assert.equal(login.status, 201);
    assert.equal((await api(node.url, login.body.token, 'GET', '/api/v1/catalog/entries')).status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await api(node.url, '', 'POST', '/api/v1/login', { name: 'reader-1', password: 'wrong password!!' })).status, 401);
    const throttled = await api(node.url, '', 'POST', '/api/v1/login', { name: 'reader-1', password: 'correct horse battery' });
    assert.equal(throttled.status, 429, 'even the right password is refused while throttled');
    assert.equal(throttled.body.error.code, 'TOO_MANY_ATTEMPTS');
  });
});
