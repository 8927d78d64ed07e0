/**
 * @module A department's sharing API at its own node: apply for another department's resource, answer
 * applications for its own resources, see grants, and use them — query or cross-verify a resource held
 * at another county, through the hub (cascaded access). Every call acts for the caller's department only.
 */
import { z } from 'zod';
import { jsonBody } from '../../engine/http/app.ts';
import type { AuthEnv, RouteBook } from '../../engine/http/auth.ts';
import { AppError } from '../../engine/errors.ts';
import type { AccessClient } from './access-client.ts';
import type { BatchReceiver } from './received-packages.ts';
import type { DeptActor, NodeSharing } from './node-sharing.ts';

const READERS = ['dept_operator', 'dept_reader'] as const;
const OPERATORS = ['dept_operator'] as const;

function actor(account: AuthEnv['Variables']['account']): DeptActor {
  if (!account.department) throw new AppError('FORBIDDEN', '该账号不属于任何部门', 'this account belongs to no department');
  return { id: account.name, role: account.role, department: account.department };
}

export function registerSharingRoutes(book: RouteBook, d: { sharing: NodeSharing; access: AccessClient; batch: BatchReceiver }): void {
  book.add({ method: 'POST', path: '/api/v1/sharing/applications', roles: OPERATORS, summary: 'Apply to use a resource (sent to the hub)' }, async (c) =>
    c.json(d.sharing.apply(actor(c.get('account')), await jsonBody(c, z.unknown())), 202),
  );
  book.add({ method: 'GET', path: '/api/v1/sharing/applications', roles: READERS, summary: 'Applications of the caller’s department, as consumer or provider' }, (c) =>
    c.json({ applications: d.sharing.list(actor(c.get('account')).department) }),
  );
  book.add({ method: 'GET', path: '/api/v1/sharing/applications/:id', roles: READERS, summary: 'One application' }, (c) =>
    c.json(d.sharing.get(c.req.param('id')!, actor(c.get('account')).department)),
  );
  book.add({ method: 'POST', path: '/api/v1/sharing/applications/:id/decision', roles: OPERATORS, summary: 'Provider’s answer, or the consumer’s withdrawal' }, async (c) =>
    c.json(d.sharing.decide(actor(c.get('account')), c.req.param('id')!, await jsonBody(c, z.unknown())), 202),
  );
  book.add({ method: 'GET', path: '/api/v1/sharing/grants', roles: READERS, summary: 'Grants the department uses or provides' }, (c) =>
    c.json({ grants: d.sharing.grants(actor(c.get('account')).department) }),
  );
  book.add({ method: 'POST', path: '/api/v1/sharing/grants/:id/query', roles: READERS, summary: 'Query a resource under a grant (cascaded through the hub)' }, async (c) =>
    c.json(await d.access.query(actor(c.get('account')), c.req.param('id')!, await jsonBody(c, z.record(z.string(), z.unknown())))),
  );
  book.add({ method: 'POST', path: '/api/v1/sharing/grants/:id/verify', roles: READERS, summary: 'Cross-verify claimed values under a grant (match / no match only)' }, async (c) =>
    c.json(await d.access.verify(actor(c.get('account')), c.req.param('id')!, await jsonBody(c, z.record(z.string(), z.unknown())))),
  );
  book.add({ method: 'GET', path: '/api/v1/sharing/grants/:id/packages', roles: READERS, summary: 'Packages received under a batch grant' }, (c) =>
    c.json({ packages: d.batch.list(actor(c.get('account')), c.req.param('id')!) }),
  );
  book.add({ method: 'GET', path: '/api/v1/sharing/grants/:id/packages/:packageId/rows', roles: READERS, summary: 'Rows of a received package as the grant allows (NDJSON)' }, async (c) => {
    const rows = d.batch.rows(actor(c.get('account')), c.req.param('id')!, c.req.param('packageId')!);
    const first = await rows.next(); // checks and audit happen here, so refusals are proper JSON errors
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(ctrl) {
        if (!first.done) ctrl.enqueue(enc.encode(JSON.stringify(first.value) + '\n'));
        else ctrl.close();
      },
      async pull(ctrl) {
        const r = await rows.next();
        if (r.done) ctrl.close();
        else ctrl.enqueue(enc.encode(JSON.stringify(r.value) + '\n'));
      },
      async cancel() {
        await rows.return(undefined);
      },
    });
    return new Response(stream, { headers: { 'content-type': 'application/x-ndjson; charset=utf-8' } });
  });
}
