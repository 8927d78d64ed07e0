/**
 * @module Roles. The three administrators are separated (三员分立: 系统管理员, 安全管理员, 安全审计员;
 * Jincheng §38 requires user permissions, access control and log audit at every party): none can do
 * another's job, and an account has exactly one role. Department roles act only on their own
 * department's data. `reviewer` exists only at the hub (catalog review, Jincheng §13).
 */
export const ROLES = ['sysadmin', 'secadmin', 'auditor', 'dept_operator', 'dept_reader', 'reviewer'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  sysadmin: '系统管理员 / system administrator: accounts, departments, node status',
  secadmin: '安全管理员 / security administrator: tokens, keys, enrollment, revocation, rejected messages',
  auditor: '安全审计员 / security auditor: reads and verifies the audit log, changes nothing',
  dept_operator: '部门操作员 / department operator: edits its own department’s catalog and data',
  dept_reader: '部门查阅员 / department reader: searches and reads the catalog',
  reviewer: '目录审核员 / catalog reviewer (hub): reviews entries and assigns codes',
};

/** Roles that must be bound to a department. */
export const DEPARTMENT_ROLES: ReadonlySet<Role> = new Set(['dept_operator', 'dept_reader']);
