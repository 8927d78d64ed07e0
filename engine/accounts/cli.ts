/** @module `jilian node|hub account …`: local account administration (whoever runs this owns the database file). */
import type { Command } from 'commander';
import type { Db } from '../db.ts';
import { printJson } from '../cli-support.ts';
import { userInfo } from 'node:os';
import { AuditLog } from '../audit/log.ts';
import { systemClock } from '../clock.ts';
import { AccountStore } from './store.ts';
import { ROLE_LABELS, ROLES, type Role } from './roles.ts';

export function registerAccountCommands(cmd: Command, openDb: (dir: string) => Db): void {
  const account = cmd.command('account').description('账号与角色（三员分立）/ accounts and roles (separation of the three administrators)');
  account
    .command('add')
    .description(`新建账号并签发令牌（只显示一次）/ create an account and issue its token (shown once). Roles: ${ROLES.join(', ')}`)
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .requiredOption('--name <name>', '账号名 / account name')
    .requiredOption('--role <role>', Object.entries(ROLE_LABELS).map(([r, l]) => `${r}: ${l}`).join('; '))
    .option('--dept <code>', '部门代码（部门角色必填）/ department code (department roles)')
    .option('--password <password>', '登录密码（可选，至少12位）/ login password (optional, ≥ 12 characters)')
    .action(async (o) => {
      if (o.password !== undefined && String(o.password).length < 12) throw new Error('password must have at least 12 characters / 密码至少12位');
      const db = openDb(o.dir);
      const store = new AccountStore(db);
      const created = store.create({ name: o.name, role: o.role as Role, department: o.dept ?? null }, new Date());
      if (o.password) await store.setPassword(created.id, o.password);
      const token = store.issueToken(created.id, new Date());
      new AuditLog(db, systemClock).append({ actor: `os:${userInfo().username}`, actorRole: 'os', action: 'account.create', resource: created.name, result: 'ok', detail: { role: created.role, department: created.department, via: 'cli' } });
      db.close();
      console.log(token);
      console.error(`已创建 / created ${created.name} (${created.role}${created.department ? `, ${created.department}` : ''})`);
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
