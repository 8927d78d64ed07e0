/**
 * @module One-time, expiring join tokens (`jilian hub token create`). Only a SHA-256 hash is stored;
 * a token is bound to one county and consumed atomically by the enrollment that uses it.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import { hashToken } from '../../engine/http/app.ts';
import { formatShanghaiTime } from '../../engine/calendar/shanghai-time.ts';

export class JoinTokens {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Issue a token for `county`, valid for `ttlMs`; returned once, never stored in clear. */
  create(county: string, ttlMs: number): { token: string; expiresAt: string } {
    const now = this.clock.now();
    const token = `jlj_${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
    this.db.prepare('INSERT INTO join_tokens (token_hash, county, created_at, expires_at) VALUES (?, ?, ?, ?)').run(hashToken(token), county, now.toISOString(), expiresAt);
    return { token, expiresAt };
  }

  /**
   * Consume a token for `county` on behalf of `nodeId`. Call inside the transaction that registers
   * the node, so a failed registration leaves the token unused.
   */
  consume(token: string, county: string, nodeId: string): void {
    const row = this.db.prepare('SELECT county, expires_at, used_at FROM join_tokens WHERE token_hash = ?').get(hashToken(token)) as
      | { county: string; expires_at: string; used_at: string | null }
      | undefined;
    if (!row) throw new AppError('TOKEN_INVALID', '加入令牌无效', 'unknown join token');
    if (row.used_at)
      throw new AppError(
        'TOKEN_USED',
        `加入令牌已于 ${formatShanghaiTime(row.used_at)} 使用过，每个令牌只能使用一次`,
        `join token was already used at ${formatShanghaiTime(row.used_at)}; a token works once`,
      );
    const now = this.clock.now();
    if (Date.parse(row.expires_at) <= now.getTime()) {
      throw new AppError(
        'TOKEN_EXPIRED',
        `加入令牌已于 ${formatShanghaiTime(row.expires_at)} 过期，请向市级枢纽重新申请`,
        `join token expired at ${formatShanghaiTime(row.expires_at)}; ask the hub operator for a new one`,
      );
    }
    if (row.county !== county) {
      throw new AppError('TOKEN_WRONG_COUNTY', `该令牌签发给 ${row.county}，不能用于 ${county}`, `token was issued for county ${row.county}, not ${county}`, [
        { path: 'county', code: 'mismatch', message: 'county does not match the token' },
      ]);
    }
    this.db.prepare('UPDATE join_tokens SET used_at = ?, used_by = ? WHERE token_hash = ?').run(now.toISOString(), nodeId, hashToken(token));
  }
}

/** Parse a TTL such as 30m, 24h, 7d. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*(m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`invalid TTL "${text}": use e.g. 30m, 24h or 7d`);
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}
