/** @module The auditor's API (node and hub): search the audit log and verify its chain. Searches are audited too. */
import type { AuditLog } from './log.ts';
import { AuditQuery } from './log.ts';
import type { RouteBook } from '../http/auth.ts';
import { validate } from '../validate.ts';

export function registerAuditRoutes(book: RouteBook, audit: AuditLog): void {
  book.add({ method: 'GET', path: '/api/v1/audit', roles: ['auditor'], summary: 'Search the audit log by person, department, resource, action and time' }, (c) => {
    const q = validate(AuditQuery, c.req.query());
    const result = audit.search(q);
    const account = c.get('account');
    audit.append({ actor: account.name, actorRole: account.role, action: 'audit.search', result: 'ok', detail: JSON.parse(JSON.stringify(q)) });
    return c.json(result);
  });
  book.add({ method: 'GET', path: '/api/v1/audit/verify', roles: ['auditor'], summary: 'Verify the audit hash chain' }, (c) => c.json(audit.verify()));
}
