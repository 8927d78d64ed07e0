/**
 * @module Accounts and their API tokens, shared by node and hub. Tokens are random 256-bit values
 * stored only as SHA-256 hashes; passwords (optional) only as scrypt hashes.
 */
import { randomBytes } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { Db } from '../storage/db.ts';
import { AppError } from '../errors.ts';
import { hashToken } from '../http/app.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { DEPARTMENT_ROLES, ROLES, type Role } from './roles.ts';

export interface Account {
  id: number;
  name: string;
  role: Role;
  department: string | null;
  disabledAt: string | null;
  createdAt: string;
}

const COLUMNS = 'id, name, role, department, disabled_at AS disabledAt, created_at AS createdAt';

const ACCOUNT_ID_RE = /^[1-9][0-9]*$/;

/**
 * An account id as a user typed it (URL path, CLI option): decimal digits only, no sign, leading zero,
 * space, fraction, exponent or hex (`Number('0x7')` is 7), and a safe integer. Anything else is 400
 * INVALID_REQUEST naming `path`.
 */
export function parseAccountId(raw: unknown, path = 'id'): number {
  const id = typeof raw === 'string' && ACCOUNT_ID_RE.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id)) {
    throw new AppError(
      'INVALID_REQUEST',
      `账号编号不合法：${path} 须为正整数（十进制，无符号、空格或前导零）`,
      `invalid account id: ${path} must be a positive decimal integer (no sign, spaces or leading zeros)`,
      [{ path, code: 'invalid', message: 'positive decimal integer' }],
    );
  }
  return id;
}

/** Guard for ids reaching the store from code: a positive safe integer, nothing coerced. */
function checkId(id: number): number {
  if (!Number.isSafeInteger(id) || id < 1) throw new AppError('INVALID_REQUEST', '账号编号不合法', 'invalid account id', [{ path: 'id', code: 'invalid', message: 'positive integer' }]);
  return id;
}

export class AccountStore {
  private authStmt: Statement | undefined;

  constructor(private readonly db: Db) {}

  create(input: { name: string; role: Role; department?: string | null; password?: string | null }, now: Date, passwordHash?: string): Account {
    if (!ROLES.includes(input.role)) throw new AppError('INVALID_REQUEST', `未知角色 ${input.role}`, `unknown role ${input.role}`, [{ path: 'role', code: 'invalid', message: ROLES.join(', ') }]);
    if (DEPARTMENT_ROLES.has(input.role) !== Boolean(input.department)) {
      throw new AppError('INVALID_REQUEST', '部门角色必须指定部门，管理角色不能指定部门', 'department roles need a department; administrative roles must not have one', [
        { path: 'department', code: 'invalid', message: 'department required exactly for dept_operator / dept_reader' },
      ]);
    }
    if (this.byName(input.name)) throw new AppError('CONFLICT', `账号 ${input.name} 已存在`, `account ${input.name} already exists`, [{ path: 'name', code: 'taken', message: 'taken' }]);
    const id = Number(
      this.db
        .prepare('INSERT INTO accounts (name, role, department, password_hash, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(input.name, input.role, input.department ?? null, passwordHash ?? null, now.toISOString()).lastInsertRowid,
    );
    return this.byId(id)!;
  }

  /** Issue a new API token for an account; shown once. */
  issueToken(accountId: number, now: Date): string {
    checkId(accountId);
    const token = `jl_${randomBytes(32).toString('base64url')}`;
    this.db.prepare('INSERT INTO api_tokens (token_hash, account_id, created_at) VALUES (?, ?, ?)').run(hashToken(token), accountId, now.toISOString());
    return token;
  }

  /** Revoke every token of an account (security administrator). */
  revokeTokens(accountId: number, now: Date): number {
    return this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL').run(now.toISOString(), checkId(accountId)).changes;
  }

  /** The enabled account a token belongs to, if the token is valid. */
  authenticate(token: string): Account | undefined {
    // Prepared once: this runs on every authenticated request.
    this.authStmt ??= this.db.prepare(
      `SELECT ${COLUMNS.split(', ')
        .map((c) => `a.${c}`)
        .join(', ')} FROM api_tokens t JOIN accounts a ON a.id = t.account_id
       WHERE t.token_hash = ? AND t.revoked_at IS NULL AND a.disabled_at IS NULL`,
    );
    return this.authStmt.get(hashToken(token)) as Account | undefined;
  }

  /**
   * Password login; returns the account or undefined (callers throttle failures). The hash, real or
   * dummy, passes the process-wide hashing gate, so it may throw HashingBusy (429) under a flood.
   */
  async login(name: string, password: string): Promise<Account | undefined> {
    const row = this.db.prepare('SELECT id, password_hash AS hash FROM accounts WHERE name = ? AND disabled_at IS NULL').get(name) as { id: number; hash: string | null } | undefined;
    // Compare against a dummy hash when the account is unknown, so timing does not reveal which names exist.
    const ok = await verifyPassword(password, row?.hash ?? DUMMY_HASH);
    return ok && row?.hash ? this.byId(row.id) : undefined;
  }

  async setPassword(accountId: number, password: string): Promise<void> {
    checkId(accountId);
    this.db.prepare('UPDATE accounts SET password_hash = ? WHERE id = ?').run(await hashPassword(password), accountId);
  }

  disable(accountId: number, now: Date): boolean {
    return this.db.prepare('UPDATE accounts SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL').run(now.toISOString(), checkId(accountId)).changes > 0;
  }

  byId(id: number): Account | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM accounts WHERE id = ?`).get(checkId(id)) as Account | undefined;
  }

  byName(name: string): Account | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM accounts WHERE name = ?`).get(name) as Account | undefined;
  }

  list(): Account[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM accounts ORDER BY id`).all() as Account[];
  }
}

const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
