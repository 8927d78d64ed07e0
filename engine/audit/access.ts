/** @module Access events for the audit log: refused calls (no token, wrong role) and password logins. */
import type { Context } from 'hono';
import type { Account } from '../accounts/store.ts';
import type { RouteSpec } from '../http/auth.ts';
import type { AuditLog } from './log.ts';

/** `RouteBook` denial hook: one `access.denied` record per refused call. */
export function auditDenials(audit: AuditLog): (c: Context, spec: RouteSpec, account: Account | null) => void {
  return (c, spec, account) => {
    audit.append({
      actor: account?.name ?? 'anonymous',
      actorRole: account?.role ?? 'anonymous',
      department: account?.department ?? null,
      action: 'access.denied',
      resource: `${spec.method} ${c.req.path}`,
      result: 'denied',
      detail: { reason: account ? 'role not allowed' : 'missing or invalid token' },
    });
  };
}

/** Login hook: every attempt, successful or not, is an `access.login` record. */
export function auditLogins(audit: AuditLog): (name: string, ok: boolean) => void {
  return (name, ok) => audit.append({ actor: name.slice(0, 200), actorRole: 'anonymous', action: 'access.login', result: ok ? 'ok' : 'denied' });
}
