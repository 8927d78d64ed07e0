/**
 * @module Every HTTP route declares who may call it. `RouteBook` registers a route with its roles
 * and keeps the list, so the role × route matrix can be tested and documented; the guard answers
 * 401 without a valid token and 403 (and reports the denial) for a role not on the list.
 */
import type { Context, Handler, Hono } from 'hono';
import type { Account, AccountStore } from '../accounts/store.ts';
import type { Role } from '../accounts/roles.ts';
import { AppError } from '../errors.ts';
import { bearerToken } from './app.ts';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RouteSpec {
  method: Method;
  path: string;
  /** Who may call it; 'public' needs no token. */
  roles: readonly Role[] | 'public';
  summary: string;
}

export type AuthEnv = { Variables: { account: Account } };

export class RouteBook {
  readonly routes: RouteSpec[] = [];

  constructor(
    private readonly app: Hono<AuthEnv>,
    private readonly accounts: AccountStore,
    private readonly onDenied: (c: Context, spec: RouteSpec, account: Account | null) => void = () => undefined,
  ) {}

  add(spec: RouteSpec, handler: Handler<AuthEnv>): void {
    this.routes.push(spec);
    if (spec.roles === 'public') {
      this.app.on(spec.method, spec.path, handler);
      return;
    }
    const roles = spec.roles;
    this.app.on(
      spec.method,
      spec.path,
      async (c, next) => {
        const account = this.accounts.authenticate(bearerToken(c));
        if (!account) {
          this.onDenied(c, spec, null);
          throw new AppError('UNAUTHENTICATED', '访问令牌无效或已吊销', 'invalid or revoked access token');
        }
        if (!roles.includes(account.role)) {
          this.onDenied(c, spec, account);
          throw new AppError('FORBIDDEN', `角色 ${account.role} 无权执行此操作`, `role ${account.role} may not do this`);
        }
        c.set('account', account);
        await next();
      },
      handler,
    );
  }
}
