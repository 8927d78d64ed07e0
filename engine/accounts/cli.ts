/** @module `jilian node|hub account …`: local account administration (whoever runs this owns the database file). */
import type { Command } from 'commander';
import type { Db } from '../storage/db.ts';
import { CliError, printJson } from '../cli/support.ts';
import { userInfo } from 'node:os';
import { AuditLog } from '../audit/log.ts';
import { systemClock } from '../clock.ts';
import { AccountStore } from './store.ts';
import { DEPARTMENT_ROLES, ROLE_LABELS, ROLES, type Role } from './roles.ts';

export interface AccountCommandOptions {
  /** Whether `code` is a department of this side (the node: registered with `dept add`); absent = not checked. */
  departmentExists?: (db: Db, code: string) => boolean;
}

export function registerAccountCommands(cmd: Command, openDb: (dir: string) => Db, options: AccountCommandOptions = {}): void {
  const account = cmd.command('account').description('账号与角色（三员分立）/ accounts and roles (separation of the three administrators)');
  account
    .command('add')
    .description(`新建账号并签发令牌（只显示一次）/ create an account and issue its token (shown once). Roles: ${ROLES.join(', ')}`)
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .requiredOption('--name <name>', '账号名 / account name')
    .requiredOption(
      '--role <role>',
      Object.entries(ROLE_LABELS)
        .map(([r, l]) => `${r}: ${l}`)
        .join('; '),
    )
    .option('--dept <code>', '部门代码（部门角色必填）/ department code (department roles)')
    .option('--password <password>', '登录密码（可选，至少12位）/ login password (optional, ≥ 12 characters)')
    .action(async (o) => {
      if (!ROLES.includes(o.role)) throw new CliError('INVALID_REQUEST', `未知角色 ${o.role}：可用 ${ROLES.join(', ')}`, `unknown role ${o.role}: use one of ${ROLES.join(', ')}`);
      if (DEPARTMENT_ROLES.has(o.role) && !o.dept) throw new CliError('INVALID_REQUEST', `角色 ${o.role} 须用 --dept 指定部门`, `role ${o.role} needs --dept <department code>`);
      if (!DEPARTMENT_ROLES.has(o.role) && o.dept)
        throw new CliError('INVALID_REQUEST', `管理角色 ${o.role} 不能指定部门（去掉 --dept）`, `administrative role ${o.role} has no department (drop --dept)`);
      if (o.password !== undefined && String(o.password).length < 12) throw new CliError('INVALID_REQUEST', '密码至少12位', 'password must have at least 12 characters');
      const db = openDb(o.dir);
      try {
        if (o.dept && options.departmentExists && !options.departmentExists(db, o.dept)) {
          throw new CliError('NOT_FOUND', `部门 ${o.dept} 不存在：请先用 dept add 登记`, `department ${o.dept} does not exist: register it first with dept add`);
        }
        const store = new AccountStore(db);
        const created = store.create({ name: o.name, role: o.role as Role, department: o.dept ?? null }, new Date());
        if (o.password) await store.setPassword(created.id, o.password);
        const token = store.issueToken(created.id, new Date());
        new AuditLog(db, systemClock).append({
          actor: `os:${userInfo().username}`,
          actorRole: 'os',
          action: 'account.create',
          resource: created.name,
          result: 'ok',
          detail: { role: created.role, department: created.department, via: 'cli' },
        });
        console.log(token);
        console.error(`已创建 / created ${created.name} (${created.role}${created.department ? `, ${created.department}` : ''})`);
      } finally {
        db.close();
      }
    });
  account
    .command('list')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .action((o) => {
      const db = openDb(o.dir);
      printJson(new AccountStore(db).list());
      db.close();
    });
}
