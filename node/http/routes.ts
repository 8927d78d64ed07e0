/** @module The county node's HTTP API (hono). Routes translate; the catalog service decides. */
import { Hono } from 'hono';
import { z } from 'zod';
import { ENTRY_STATUSES } from '../../protocol/catalog-view.ts';
import { AppError } from '../../engine/errors.ts';
import { bearerToken, installErrorHandling, jsonBody, validate } from '../../engine/http.ts';
import type { Logger } from '../../engine/log.ts';
import type { CatalogService } from '../catalog/service.ts';
import type { Department, DepartmentStore } from '../storage/departments.ts';
import { nodeOpenApi } from './openapi.ts';

export const ListQuery = z
  .object({
    q: z.string().max(200).optional(),
    county: z.string().regex(/^[0-9]{6}$/).optional(),
    dept: z.string().max(32).optional(),
    status: z.enum(ENTRY_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(20),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

export const BatchBody = z.object({ entries: z.array(z.unknown()).min(1).max(1000) }).strict();

export interface NodeRouteDeps {
  service: CatalogService;
  departments: DepartmentStore;
  status: () => unknown;
  log: Logger;
  maxBodyBytes: number;
}

type Env = { Variables: { dept: Department } };

export function createNodeApp(d: NodeRouteDeps): Hono<Env> {
  const app = new Hono<Env>();
  installErrorHandling(app, d.log, d.maxBodyBytes);

  app.get('/api/v1/health', (c) => c.json({ ok: true }));
  app.get('/api/v1/openapi.json', (c) => c.json(nodeOpenApi()));

  app.use('/api/v1/*', async (c, next) => {
    const dept = d.departments.byToken(bearerToken(c));
    if (!dept) throw new AppError('UNAUTHENTICATED', '访问令牌无效', 'invalid access token');
    c.set('dept', dept);
    await next();
  });

  app.get('/api/v1/status', (c) => c.json(d.status()));

  app.get('/api/v1/catalog/entries', (c) => {
    const q = validate(ListQuery, c.req.query());
    return c.json(d.service.search(q));
  });

  app.get('/api/v1/catalog/entries/:id', (c) => c.json(d.service.get(c.req.param('id'))));

  app.post('/api/v1/catalog/entries', async (c) => {
    const body = await jsonBody(c, z.unknown());
    const [entry] = d.service.create(c.get('dept'), [body]);
    return c.json(entry, 201);
  });

  app.post('/api/v1/catalog/batch', async (c) => {
    const body = await jsonBody(c, BatchBody);
    return c.json({ entries: d.service.create(c.get('dept'), body.entries) }, 201);
  });

  app.patch('/api/v1/catalog/entries/:id', async (c) => {
    const body = await jsonBody(c, z.unknown());
    return c.json(d.service.update(c.get('dept'), c.req.param('id'), body));
  });

  app.delete('/api/v1/catalog/entries/:id', (c) => c.json(d.service.withdraw(c.get('dept'), c.req.param('id'))));

  return app;
}
