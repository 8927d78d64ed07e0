/** @module The hub operator's HTTP API: total catalog, review decisions, registered nodes, rejected messages. */
import { Hono } from 'hono';
import { z } from 'zod';
import { CatalogListQuery } from '../../engine/catalog/catalog-store.ts';
import { installErrorHandling, jsonBody } from '../../engine/http/app.ts';
import { validate } from '../../engine/validate.ts';
import { FailureLimiter } from '../../engine/accounts/rate-limit.ts';
import type { AccountStore } from '../../engine/accounts/store.ts';
import type { LoginConfig } from '../../engine/accounts/client-address.ts';
import type { Clock } from '../../engine/clock.ts';
import { registerAccountRoutes } from '../../engine/accounts/http.ts';
import { RouteBook, type AuthEnv, type RouteSpec } from '../../engine/http/auth.ts';
import type { JoinTokens } from '../enroll/join-tokens.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import { registerAuditRoutes } from '../../engine/audit/http.ts';
import { auditDenials, auditLogins } from '../../engine/audit/access.ts';
import type { Logger } from '../../engine/log.ts';
import type { TotalCatalog } from '../catalog/total-catalog.ts';
import type { Enrollment } from '../enroll/enrollment.ts';
import type { KeyDirectoryService } from '../keys/directory.ts';
import { EnrollRequest } from '../../protocol/enrollment.ts';
import type { NodeRegistry } from '../storage/registry.ts';
import type { RejectionLog } from '../bus/rejections.ts';
import type { SharingService } from '../sharing/sharing-service.ts';
import { registerSharingRoutes } from '../sharing/http.ts';

const ReviewBody = z
  .object({
    decision: z.enum(['approve', 'reject']),
    reason: z.string().max(2000).optional(),
  })
  .strict();

export interface HubRouteDeps {
  catalog: TotalCatalog;
  enrollment: Enrollment;
  directory: KeyDirectoryService;
  joinTokens: JoinTokens;
  accounts: AccountStore;
  registry: NodeRegistry;
  rejections: RejectionLog;
  clock: Clock;
  status: () => unknown;
  log: Logger;
  maxBodyBytes: number;
  audit: AuditLog;
  sharing?: SharingService;
  /** Config `login` (trusted proxies, password hashing limits). */
  login?: LoginConfig | undefined;
}

const JoinTokenBody = z
  .object({
    county: z.string().regex(/^[1-9][0-9]{5}$/),
    ttlHours: z
      .number()
      .positive()
      .max(24 * 30)
      .default(24),
  })
  .strict();

export function createHubApp(d: HubRouteDeps): Hono<AuthEnv> & { routes: RouteSpec[] } {
  const app = new Hono<AuthEnv>();
  installErrorHandling(app, d.log, d.maxBodyBytes);
  const book = new RouteBook(app, d.accounts, auditDenials(d.audit));
  book.add({ method: 'GET', path: '/api/v1/health', roles: 'public', summary: 'Liveness' }, (c) => c.json({ ok: true }));
  // Enrollment authenticates with the one-time join token in the body, not an account token.
  book.add({ method: 'POST', path: '/api/v1/enroll', roles: 'public', summary: 'Enroll a county node with a join token' }, async (c) =>
    c.json(d.enrollment.enroll(await jsonBody(c, EnrollRequest)), 201),
  );
  registerAccountRoutes(book, {
    accounts: d.accounts,
    limiter: new FailureLimiter(d.clock),
    clock: d.clock,
    creatableRoles: ['reviewer'],
    onLogin: auditLogins(d.audit),
    audit: d.audit,
    login: d.login,
  });
  registerAuditRoutes(book, d.audit);
  if (d.sharing) registerSharingRoutes(book, d.sharing);

  book.add({ method: 'GET', path: '/api/v1/status', roles: ['sysadmin'], summary: 'Hub status' }, (c) => c.json(d.status()));
  book.add({ method: 'GET', path: '/api/v1/nodes', roles: ['sysadmin', 'secadmin'], summary: 'Registered nodes' }, (c) => c.json({ nodes: d.registry.list() }));
  book.add({ method: 'GET', path: '/api/v1/keys/directory', roles: ['sysadmin', 'secadmin'], summary: 'The current key directory' }, (c) => c.json(d.directory.current()));
  book.add({ method: 'POST', path: '/api/v1/join-tokens', roles: ['secadmin'], summary: 'Issue a one-time join token for a county' }, async (c) => {
    const body = await jsonBody(c, JoinTokenBody);
    const issued = d.joinTokens.create(body.county, body.ttlHours * 3_600_000);
    const by = c.get('account');
    d.audit.append({ actor: by.name, actorRole: by.role, action: 'enroll.token', resource: body.county, result: 'ok', detail: { expiresAt: issued.expiresAt } });
    return c.json(issued, 201);
  });
  book.add({ method: 'POST', path: '/api/v1/nodes/:id/revoke', roles: ['secadmin'], summary: 'Revoke a node' }, async (c) => {
    const body = await jsonBody(c, z.object({ reason: z.string().min(1).max(1000) }).strict());
    return c.json(d.directory.revoke(c.req.param('id')!, body.reason, c.get('account').name));
  });
  book.add({ method: 'GET', path: '/api/v1/rejections', roles: ['secadmin', 'auditor'], summary: 'Refused wire messages' }, (c) => c.json({ rejections: d.rejections.recent(200) }));
  book.add({ method: 'GET', path: '/api/v1/catalog/entries', roles: ['reviewer'], summary: 'Search the total catalog' }, (c) => c.json(d.catalog.search(validate(CatalogListQuery, c.req.query()))));
  book.add({ method: 'GET', path: '/api/v1/catalog/entries/:id', roles: ['reviewer'], summary: 'One entry' }, (c) => c.json(d.catalog.get(c.req.param('id')!)));
  book.add({ method: 'POST', path: '/api/v1/catalog/entries/:id/review', roles: ['reviewer'], summary: 'Approve or reject an entry' }, async (c) => {
    const body = await jsonBody(c, ReviewBody);
    return c.json(d.catalog.review(c.req.param('id')!, { ...body, reviewer: c.get('account').name }));
  });
  return Object.assign(app, { routes: book.routes });
}
