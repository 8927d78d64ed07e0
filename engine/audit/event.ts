/** @module What callers log: the action list, the validated event, and the auditor's search query. */
import { z } from 'zod';

/**
 * Actions the log accepts. Extend here (one line) or per instance with `AuditLogOptions.actions`;
 * names are `<area>.<verb>`.
 */
export const AUDIT_ACTIONS = [
  'catalog.create',
  'catalog.update',
  'catalog.withdraw',
  'catalog.review',
  'access.login',
  'access.denied',
  'key.register',
  'key.revoke',
  'key.rotate',
  'account.create',
  'account.disable',
  'token.issue',
  'token.revoke',
  'enroll.token',
  'wire.rejected',
  'data.provide',
  'data.use',
  'audit.search',
  'audit.export',
  'audit.purge',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_RESULTS = ['ok', 'denied', 'rejected', 'failed'] as const;

const text = (max: number) => z.string().min(1).max(max);

/** One event as callers describe it: who (actor, role, department), what (action, resource, fields), why, outcome. */
export const AuditEvent = z
  .object({
    actor: text(200),
    actorRole: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/),
    department: text(200).nullish(),
    action: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/),
    resource: text(500).nullish(),
    fields: z.array(text(200)).max(1000).default([]),
    purpose: z.string().max(2000).nullish(),
    result: z.enum(AUDIT_RESULTS),
    detail: z.record(z.string(), z.json()).default({}),
  })
  .strict();
/** Input of `append`; `action` autocompletes the known list but admits registered extensions. */
export type AuditEventInput = Omit<z.input<typeof AuditEvent>, 'action'> & { action: AuditAction | (string & {}) };

/** Filters of `search`; `from` inclusive, `to` exclusive. Query-string friendly (coerces numbers and dates). */
export const AuditQuery = z
  .object({
    actor: text(200).optional(),
    department: text(200).optional(),
    resource: text(500).optional(),
    action: text(100).optional(),
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();
export type AuditQuery = z.input<typeof AuditQuery>;
