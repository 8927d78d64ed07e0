/**
 * @module The hub's sharing API: the data authority's reviewer sees every application with its
 * deadline in working days, decides compliance reviews and coordinations, and revokes, suspends or
 * reinstates grants (Jiyuan §36; Jincheng §31, §40).
 */
import { z } from 'zod';
import { ApplicationEvent, APPLICATION_STATES } from '../../protocol/application.ts';
import { jsonBody } from '../../engine/http/app.ts';
import { validate } from '../../engine/validate.ts';
import type { RouteBook } from '../../engine/http/auth.ts';
import type { SharingService } from './sharing-service.ts';

const ListQuery = z.strictObject({
  state: z.enum(APPLICATION_STATES).optional(),
  county: z
    .string()
    .regex(/^[1-9][0-9]{5}$/)
    .optional(),
});
const RevokeBody = z.strictObject({ kind: z.enum(['revoked', 'suspended']), reason: z.string().min(1).max(500) });

export function registerSharingRoutes(book: RouteBook, sharing: SharingService): void {
  book.add({ method: 'GET', path: '/api/v1/sharing/applications', roles: ['reviewer', 'auditor'], summary: 'Sharing applications with deadlines' }, (c) => {
    const q = validate(ListQuery, c.req.query());
    return c.json({ applications: sharing.list(q).map((a) => sharing.describe(a)) });
  });
  book.add({ method: 'GET', path: '/api/v1/sharing/applications/:id', roles: ['reviewer', 'auditor'], summary: 'One application' }, (c) =>
    c.json(sharing.describe(sharing.require(c.req.param('id')!))),
  );
  book.add({ method: 'POST', path: '/api/v1/sharing/applications/:id/decision', roles: ['reviewer'], summary: 'Compliance review or coordination decision' }, async (c) => {
    const event = await jsonBody(c, ApplicationEvent);
    const by = c.get('account');
    return c.json(sharing.describe(sharing.decide(c.req.param('id')!, event, { id: by.name, role: by.role })));
  });
  book.add({ method: 'GET', path: '/api/v1/sharing/grants', roles: ['reviewer', 'auditor', 'secadmin'], summary: 'Grants and their revocation state' }, (c) => {
    const q = validate(ListQuery.pick({ county: true }), c.req.query());
    return c.json({ grants: sharing.grants(q) });
  });
  book.add({ method: 'POST', path: '/api/v1/sharing/grants/:id/revoke', roles: ['reviewer'], summary: 'Revoke or suspend a grant' }, async (c) => {
    const body = await jsonBody(c, RevokeBody);
    sharing.revoke(c.req.param('id')!, body.kind, body.reason, c.get('account').name);
    return c.json({ ok: true, revocations: sharing.latestList()!.list.serial });
  });
  book.add({ method: 'POST', path: '/api/v1/sharing/grants/:id/reinstate', roles: ['reviewer'], summary: 'Lift a suspension' }, (c) => {
    sharing.reinstate(c.req.param('id')!, c.get('account').name);
    return c.json({ ok: true, revocations: sharing.latestList()!.list.serial });
  });
}
