/** @module The hub operator's HTTP API: total catalog, review decisions, registered nodes, rejected messages. */
import { Hono } from 'hono';
import { z } from 'zod';
import { ENTRY_STATUSES } from '../../protocol/catalog-view.ts';
import { AppError } from '../../engine/errors.ts';
import { bearerToken, installErrorHandling, jsonBody, validate } from '../../engine/http.ts';
import type { Logger } from '../../engine/log.ts';
import type { TotalCatalog } from '../catalog/total-catalog.ts';
import type { Enrollment } from '../enroll/enrollment.ts';
import type { KeyDirectoryService } from '../keys/directory.ts';
import { EnrollRequest } from '../../protocol/enrollment.ts';
import type { OperatorStore } from '../storage/operators.ts';
import type { NodeRegistry } from '../storage/registry.ts';
import type { RejectionLog } from '../sync/rejections.ts';

const ListQuery = z
  .object({
    q: z.string().max(200).optional(),
    county: z.string().regex(/^[0-9]{6}$/).optional(),
    dept: z.string().max(32).optional(),
    status: z.enum(ENTRY_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(20),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

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
  operators: OperatorStore;
  registry: NodeRegistry;
  rejections: RejectionLog;
  status: () => unknown;
  log: Logger;
  maxBodyBytes: number;
}

type Env = { Variables: { operator: string } };

export function createHubApp(d: HubRouteDeps): Hono<Env> {
  const app = new Hono<Env>();
  installErrorHandling(app, d.log, d.maxBodyBytes);
  app.get('/api/v1/health', (c) => c.json({ ok: true }));
  // Enrollment authenticates with the one-time join token in the body, not an operator token.
  app.post('/api/v1/enroll', async (c) => c.json(d.enrollment.enroll(await jsonBody(c, EnrollRequest)), 201));
  app.use('/api/v1/*', async (c, next) => {
    const op = d.operators.byToken(bearerToken(c));
    if (!op) throw new AppError('UNAUTHENTICATED', '访问令牌无效', 'invalid access token');
    c.set('operator', op.name);
    await next();
  });
  app.get('/api/v1/status', (c) => c.json(d.status()));
  app.get('/api/v1/nodes', (c) => c.json({ nodes: d.registry.list() }));
  app.get('/api/v1/keys/directory', (c) => c.json(d.directory.current()));
  app.post('/api/v1/nodes/:id/revoke', async (c) => {
    const body = await jsonBody(c, z.object({ reason: z.string().min(1).max(1000) }).strict());
    return c.json(d.directory.revoke(c.req.param('id'), body.reason));
  });
  app.get('/api/v1/rejections', (c) => c.json({ rejections: d.rejections.recent(200) }));
  app.get('/api/v1/catalog/entries', (c) => c.json(d.catalog.search(validate(ListQuery, c.req.query()))));
  app.get('/api/v1/catalog/entries/:id', (c) => c.json(d.catalog.get(c.req.param('id'))));
  app.post('/api/v1/catalog/entries/:id/review', async (c) => {
    const body = await jsonBody(c, ReviewBody);
    return c.json(d.catalog.review(c.req.param('id'), { ...body, reviewer: c.get('operator') }));
  });
  return app;
}
