/** @module The county node's HTTP API (hono). Every route declares its roles; routes translate, the catalog service decides. */
import { Hono } from 'hono';
import type { NodeSharing } from '../sharing/node-sharing.ts';
import type { AccessClient } from '../sharing/access-client.ts';
import type { BatchReceiver } from '../sharing/received-packages.ts';
import { registerSharingRoutes } from '../sharing/http.ts';
import { z } from 'zod';
import { CatalogListQuery } from '../../engine/catalog/catalog-store.ts';
import { FailureLimiter } from '../../engine/accounts/rate-limit.ts';
import type { AccountStore } from '../../engine/accounts/store.ts';
import type { LoginConfig } from '../../engine/accounts/client-address.ts';
import type { Clock } from '../../engine/clock.ts';
import { AppError } from '../../engine/errors.ts';
import { registerAccountRoutes } from '../../engine/accounts/http.ts';
import { RouteBook, type AuthEnv, type RouteSpec } from '../../engine/http/auth.ts';
import { installErrorHandling, jsonBody } from '../../engine/http/app.ts';
import { validate } from '../../engine/validate.ts';
import type { Logger } from '../../engine/log.ts';
import type { CatalogService } from '../catalog/catalog-service.ts';
import type { DepartmentStore } from '../storage/departments.ts';
import type { Actor } from '../catalog/catalog-service.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import { registerAuditRoutes } from '../../engine/audit/http.ts';
import { auditDenials, auditLogins } from '../../engine/audit/access.ts';
import { nodeOpenApi } from './openapi.ts';
import { registerFrontendRoutes } from '../staging/http.ts';
import type { Db } from '../../engine/storage/db.ts';

export const BatchBody = z.object({ entries: z.array(z.unknown()).min(1).max(1000) }).strict();

export interface NodeRouteDeps {
  db: Db;
  service: CatalogService;
  departments: DepartmentStore;
  accounts: AccountStore;
  clock: Clock;
  status: () => unknown;
  log: Logger;
  maxBodyBytes: number;
  audit: AuditLog;
  /** Config `login` (trusted proxies, password hashing limits). */
  login?: LoginConfig | undefined;
  /** The sharing API (applications, grants, cascaded access). */
  sharing?: { sharing: NodeSharing; access: AccessClient; batch: BatchReceiver };
}

const READERS = ['dept_operator', 'dept_reader'] as const;
const OPERATORS = ['dept_operator'] as const;

export function createNodeApp(d: NodeRouteDeps): Hono<AuthEnv> & { routes: RouteSpec[] } {
  const app = new Hono<AuthEnv>();
  installErrorHandling(app, d.log, d.maxBodyBytes, [/^\/api\/v1\/frontend\/[^/]+\/import$/]);
  const book = new RouteBook(app, d.accounts, auditDenials(d.audit));
  const dept = (account: AuthEnv['Variables']['account']): Actor => {
    const code = account.department;
    if (!code) throw new AppError('FORBIDDEN', '该账号不属于任何部门', 'this account belongs to no department');
    return { ...(d.departments.get(code) ?? { code, name: code }), account: account.name, role: account.role };
  };

  book.add({ method: 'GET', path: '/api/v1/health', roles: 'public', summary: 'Liveness' }, (c) => c.json({ ok: true }));
  book.add({ method: 'GET', path: '/api/v1/openapi.json', roles: 'public', summary: 'This API as OpenAPI 3.1' }, (c) => c.json(nodeOpenApi()));
  registerAccountRoutes(book, {
    accounts: d.accounts,
    limiter: new FailureLimiter(d.clock),
    clock: d.clock,
    creatableRoles: ['dept_operator', 'dept_reader'],
    onLogin: auditLogins(d.audit),
    audit: d.audit,
    login: d.login,
    departmentExists: (code) => d.departments.get(code) !== undefined,
  });
  registerAuditRoutes(book, d.audit);
  if (d.sharing) registerSharingRoutes(book, d.sharing);

  book.add({ method: 'GET', path: '/api/v1/status', roles: ['sysadmin'], summary: 'Replication status' }, (c) => c.json(d.status()));
  book.add({ method: 'GET', path: '/api/v1/catalog/entries', roles: READERS, summary: 'List and search the catalog' }, (c) => c.json(d.service.search(validate(CatalogListQuery, c.req.query()))));
  book.add({ method: 'GET', path: '/api/v1/catalog/entries/:id', roles: READERS, summary: 'One entry' }, (c) => c.json(d.service.get(c.req.param('id')!)));
  book.add({ method: 'POST', path: '/api/v1/catalog/entries', roles: OPERATORS, summary: 'Create an entry of the caller’s department' }, async (c) => {
    const [entry] = d.service.create(dept(c.get('account')), [await jsonBody(c, z.unknown())]);
    return c.json(entry, 201);
  });
  book.add({ method: 'POST', path: '/api/v1/catalog/batch', roles: OPERATORS, summary: 'Create up to 1000 entries' }, async (c) => {
    const body = await jsonBody(c, BatchBody);
    return c.json({ entries: d.service.create(dept(c.get('account')), body.entries) }, 201);
  });
  book.add({ method: 'PATCH', path: '/api/v1/catalog/entries/:id', roles: OPERATORS, summary: 'Change an own entry' }, async (c) =>
    c.json(d.service.update(dept(c.get('account')), c.req.param('id')!, await jsonBody(c, z.unknown()))),
  );
  book.add({ method: 'DELETE', path: '/api/v1/catalog/entries/:id', roles: OPERATORS, summary: 'Withdraw an own entry' }, (c) =>
    c.json(d.service.withdraw(dept(c.get('account')), c.req.param('id')!)),
  );
  // Front-end repository imports (streaming body), only into the caller's own entries.
  registerFrontendRoutes(book, { db: d.db, clock: d.clock, audit: d.audit, entryContent: (id) => d.service.get(id).content });
  return Object.assign(app, { routes: book.routes });
}
