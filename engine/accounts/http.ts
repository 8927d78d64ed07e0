/**
 * @module Account routes shared by node and hub: password login (throttled), account list and
 * creation (system administrator), disabling (system administrator), token issue and revocation
 * (security administrator). The administrator accounts themselves are created with the local CLI.
 * Login is throttled per (name, client address), the address being the socket peer unless that is a
 * trusted proxy; its password hash passes the process-wide hashing gate (429 when saturated). Account
 * ids in paths are parsed strictly (decimal digits only), anything else is 400 at `id`.
 */
import { z } from 'zod';
import { parseAccountId, type Account, type AccountStore } from './store.ts';
import { LoginConfig, TrustedProxies } from './client-address.ts';
import { configurePasswordHashing, HashingBusy } from './password.ts';
import type { AuditLog } from '../audit/log.ts';
import type { FailureLimiter } from './rate-limit.ts';
import { ROLES, type Role } from './roles.ts';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import type { RouteBook } from '../http/auth.ts';
import { jsonBody } from '../http/app.ts';

const LoginBody = z.object({ name: z.string().min(1).max(100), password: z.string().min(1).max(200) }).strict();
const CreateBody = z
  .object({
    name: z.string().regex(/^[\p{L}\p{N}._-]{2,64}$/u),
    role: z.enum(ROLES),
    department: z.string().max(32).nullish(),
    password: z.string().min(12).max(200).nullish(),
  })
  .strict();

export interface AccountRouteDeps {
  accounts: AccountStore;
  limiter: FailureLimiter;
  clock: Clock;
  /** Roles the system administrator may create over the API (never the administrator roles). */
  creatableRoles: readonly Role[];
  onLogin?: (name: string, ok: boolean) => void;
  /** Records every change of access (account created or disabled, token issued or revoked). */
  audit?: AuditLog;
  /** Config `login`: trusted proxies for `X-Forwarded-For`, password hashing limits (process-wide). */
  login?: LoginConfig | undefined;
  /** Whether `code` is a department of this side (the node: registered with `dept add`); absent = not checked. */
  departmentExists?: (code: string) => boolean;
}

const accountId = (raw: string | undefined): number => parseAccountId(raw, 'id');

export function registerAccountRoutes(book: RouteBook, d: AccountRouteDeps): void {
  const login = LoginConfig.parse(d.login ?? {});
  const proxies = new TrustedProxies(login.trustedProxies);
  configurePasswordHashing({ concurrency: login.hashConcurrency, queue: login.hashQueue });
  const record = (by: Account, action: string, resource: string, detail: Record<string, string | number | null>) =>
    d.audit?.append({ actor: by.name, actorRole: by.role, department: by.department, action, resource, result: 'ok', detail });
  book.add({ method: 'POST', path: '/api/v1/login', roles: 'public', summary: 'Password login → API token (throttled)' }, async (c) => {
    const body = await jsonBody(c, LoginBody);
    // The socket peer, not a header the client wrote (X-Forwarded-For only from a trusted proxy).
    const key = `${body.name}|${proxies.clientAddress(c)}`;
    const wait = d.limiter.retryAfterMs(key);
    if (wait > 0) {
      c.header('Retry-After', String(Math.ceil(wait / 1000)));
      throw new AppError('TOO_MANY_ATTEMPTS', '登录失败次数过多，请稍后再试', 'too many failed logins; try again later');
    }
    let account: Account | undefined;
    try {
      account = await d.accounts.login(body.name, body.password);
    } catch (err) {
      // Too many hashes running and waiting: refused at once, not counted as a failure.
      if (err instanceof HashingBusy) c.header('Retry-After', String(err.retryAfterSeconds));
      throw err;
    }
    d.onLogin?.(body.name, Boolean(account));
    if (!account) {
      d.limiter.fail(key);
      throw new AppError('UNAUTHENTICATED', '账号或密码错误', 'wrong account name or password');
    }
    d.limiter.succeed(key);
    return c.json({ token: d.accounts.issueToken(account.id, d.clock.now()), account }, 201);
  });

  book.add({ method: 'GET', path: '/api/v1/accounts', roles: ['sysadmin', 'secadmin'], summary: 'List accounts' }, (c) => c.json({ accounts: d.accounts.list() }));

  book.add({ method: 'POST', path: '/api/v1/accounts', roles: ['sysadmin'], summary: 'Create an account of a non-administrative role' }, async (c) => {
    const body = await jsonBody(c, CreateBody);
    if (!d.creatableRoles.includes(body.role)) {
      throw new AppError('FORBIDDEN', `管理员角色（${body.role}）只能在本机命令行创建`, `administrator roles (${body.role}) are created only with the local CLI`);
    }
    if (body.department && d.departmentExists && !d.departmentExists(body.department)) {
      throw new AppError('NOT_FOUND', `部门 ${body.department} 不存在：请先用 dept add 登记`, `department ${body.department} does not exist: register it first with dept add`, [
        { path: 'department', code: 'not_found', message: '部门未登记 / department not registered' },
      ]);
    }
    const account = d.accounts.create({ name: body.name, role: body.role, department: body.department ?? null }, d.clock.now());
    if (body.password) await d.accounts.setPassword(account.id, body.password);
    record(c.get('account'), 'account.create', account.name, { role: account.role, department: account.department });
    return c.json(account, 201);
  });

  book.add({ method: 'POST', path: '/api/v1/accounts/:id/disable', roles: ['sysadmin'], summary: 'Disable an account' }, (c) => {
    const id = accountId(c.req.param('id'));
    if (id === c.get('account').id) throw new AppError('CONFLICT', '不能停用自己的账号', 'you cannot disable your own account');
    if (!d.accounts.disable(id, d.clock.now())) throw new AppError('NOT_FOUND', '账号不存在或已停用', 'no such enabled account');
    record(c.get('account'), 'account.disable', d.accounts.byId(id)!.name, {});
    return c.json(d.accounts.byId(id));
  });

  book.add({ method: 'POST', path: '/api/v1/accounts/:id/tokens', roles: ['secadmin'], summary: 'Issue an API token for an account (shown once)' }, (c) => {
    const account = d.accounts.byId(accountId(c.req.param('id')));
    if (!account || account.disabledAt) throw new AppError('NOT_FOUND', '账号不存在或已停用', 'no such enabled account');
    const token = d.accounts.issueToken(account.id, d.clock.now());
    record(c.get('account'), 'token.issue', account.name, {});
    return c.json({ token }, 201);
  });

  book.add({ method: 'DELETE', path: '/api/v1/accounts/:id/tokens', roles: ['secadmin'], summary: 'Revoke all tokens of an account' }, (c) => {
    const id = accountId(c.req.param('id'));
    const target = d.accounts.byId(id);
    if (!target) throw new AppError('NOT_FOUND', '账号不存在', 'no such account');
    const revoked = d.accounts.revokeTokens(id, d.clock.now());
    record(c.get('account'), 'token.revoke', target.name, { revoked });
    return c.json({ revoked });
  });
}
