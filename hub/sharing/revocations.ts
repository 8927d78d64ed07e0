/**
 * @module Revocations of the hub's grants (`grant_revocations`) and the signed revocation list
 * (`revocation_lists`, hub migration 7). A revocation or suspension (Jiyuan §36), its lifting, and the
 * withdrawal of grants unused for `policy.revokeUnusedAfterDays` (Jincheng §31: 超过三个月不使用的 …
 * 可视情收回授权) are audited and publish the complete list, signed, serial + 1, broadcast as
 * `grant.revocations` through the outbox; it is also republished hourly (protocol/grant.ts FRESHNESS
 * RULE: nextUpdate = issuedAt + 24 h). The only module with SQL on these tables; the grants themselves
 * are read through `GrantLookup` (grants.ts).
 */
import type Database from 'better-sqlite3';
import { signRevocationList, type RevocationList, type SignedRevocationList } from '../../protocol/grant.ts';
import type { Policy } from '../../protocol/policy.ts';
import { downBroadcastSubject } from '../../protocol/subjects.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import type { Identity } from '../../engine/identity.ts';
import type { Logger } from '../../engine/log.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import type { GrantLookup } from './grants.ts';

/** Revocation lists promise a successor within this time (protocol/grant.ts REVOCATION_NEXT_UPDATE_MS). */
const NEXT_UPDATE_MS = 24 * 3_600_000;
/** The list is republished when the latest is this old. */
const REPUBLISH_MS = 3_600_000;
/** Lists kept besides the latest. */
const KEEP_LISTS = 100;

export type RevocationKind = 'revoked' | 'suspended' | 'expired_unused';

export interface RevocationsDeps {
  db: Db;
  grants: GrantLookup;
  outbox: Outbox;
  /** The hub's signing key. */
  identity: Identity;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  policy: Policy;
  municipality: string;
}

const SQL = {
  kind: 'SELECT kind FROM grant_revocations WHERE grant_id = ?',
  of: 'SELECT kind, reason, at FROM grant_revocations WHERE grant_id = ?',
  put: 'INSERT INTO grant_revocations (grant_id, kind, reason, actor, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (grant_id) DO UPDATE SET kind = excluded.kind, reason = excluded.reason, actor = excluded.actor, at = excluded.at',
  liftSuspension: "DELETE FROM grant_revocations WHERE grant_id = ? AND kind = 'suspended'",
  all: 'SELECT grant_id AS grantId, kind, reason, at FROM grant_revocations ORDER BY at',
  latestList: 'SELECT signed FROM revocation_lists ORDER BY serial DESC LIMIT 1',
  maxSerial: 'SELECT MAX(serial) AS s FROM revocation_lists',
  insertList: 'INSERT INTO revocation_lists (serial, signed, issued_at) VALUES (?, ?, ?)',
  pruneLists: 'DELETE FROM revocation_lists WHERE serial < ?',
} as const;

export class Revocations {
  private listCache: SignedRevocationList | undefined;
  private readonly stmts: { [K in keyof typeof SQL]: Database.Statement<unknown[]> };

  constructor(private readonly d: RevocationsDeps) {
    this.stmts = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, d.db.prepare(sql)])) as never;
  }

  /** The grant's revocation or suspension, or null. */
  of(grantId: string): { kind: string; reason: string; at: string } | null {
    return (this.stmts.of.get(grantId) as { kind: string; reason: string; at: string } | undefined) ?? null;
  }

  /** Revoke or suspend (Jiyuan §36: misuse) a grant; effective at providers with the next list (published now). */
  revoke(grantId: string, kind: RevocationKind, reason: string, actor: string): void {
    if (!this.d.grants.get(grantId)) throw new AppError('NOT_FOUND', `没有授权 ${grantId}`, `no grant ${grantId}`);
    if (!reason.trim()) throw new AppError('INVALID_REQUEST', '撤销或暂停须说明理由', 'a revocation or suspension needs a reason');
    this.d.db.transaction(() => {
      const held = this.stmts.kind.get(grantId) as { kind: string } | undefined;
      if (held && held.kind !== 'suspended') throw new AppError('CONFLICT', `授权 ${grantId} 已被撤销`, `grant ${grantId} is already revoked`);
      this.stmts.put.run(grantId, kind, reason, actor, this.d.clock.now().toISOString());
      this.d.audit.append({
        actor,
        actorRole: actor === 'system' ? 'system' : 'reviewer',
        action: 'sharing.revoke',
        resource: this.d.grants.get(grantId)!.grant.resource,
        result: 'ok',
        detail: { grantId, kind, reason },
      });
      this.publish();
    })();
  }

  /** Lift a suspension. */
  reinstate(grantId: string, actor: string): void {
    this.d.db.transaction(() => {
      const r = this.stmts.liftSuspension.run(grantId);
      if (!r.changes) throw new AppError('CONFLICT', `授权 ${grantId} 未被暂停`, `grant ${grantId} is not suspended`);
      this.d.audit.append({ actor, actorRole: 'reviewer', action: 'sharing.revoke', resource: this.d.grants.get(grantId)!.grant.resource, result: 'ok', detail: { grantId, kind: 'reinstated' } });
      this.publish();
    })();
  }

  latestList(): SignedRevocationList | undefined {
    if (this.listCache && !this.d.db.inTransaction) return this.listCache;
    const r = this.stmts.latestList.get() as { signed: string } | undefined;
    const list = r ? (JSON.parse(r.signed) as SignedRevocationList) : undefined;
    if (!this.d.db.inTransaction) this.listCache = list;
    return list;
  }

  /** Sign and broadcast the complete list (serial + 1); in the caller's transaction. Expired grants drop off. */
  publish(): SignedRevocationList {
    const now = this.d.clock.now();
    const at = now.toISOString();
    const entries = (this.stmts.all.all() as RevocationList['entries']).filter((e) => {
      const until = this.d.grants.validUntil(e.grantId);
      return until !== undefined && until > at;
    });
    const serial = ((this.stmts.maxSerial.get() as { s: number | null }).s ?? 0) + 1;
    const signed = signRevocationList({ issuer: this.d.identity.nodeId, serial, issuedAt: at, nextUpdate: new Date(now.getTime() + NEXT_UPDATE_MS).toISOString(), entries }, this.d.identity);
    this.stmts.insertList.run(serial, JSON.stringify(signed), at);
    this.listCache = undefined;
    this.stmts.pruneLists.run(serial - KEEP_LISTS);
    this.d.outbox.add(downBroadcastSubject(this.d.municipality, 'grant.revocations'), 'grant.revocations', { list: signed }, now);
    return signed;
  }

  /** The hourly list: published (in its own transaction) when there is none or the latest is an hour old. */
  publishIfStale(): void {
    const last = this.latestList();
    if (!last || this.d.clock.now().getTime() - Date.parse(last.list.issuedAt) >= REPUBLISH_MS) this.d.db.transaction(() => this.publish())();
  }

  /** Jincheng §31: grants not used for `revokeUnusedAfterDays` are withdrawn, with notice. */
  revokeUnused(): number {
    const cutoff = new Date(this.d.clock.now().getTime() - this.d.policy.revokeUnusedAfterDays * 86_400_000);
    const stale = this.d.grants.unusedSince(this.d.clock.now(), cutoff).filter((id) => this.stmts.kind.get(id) === undefined);
    for (const id of stale) {
      this.revoke(
        id,
        'expired_unused',
        `超过 ${this.d.policy.revokeUnusedAfterDays} 天未使用，收回授权（晋城 §31） / unused for ${this.d.policy.revokeUnusedAfterDays} days, withdrawn (Jincheng §31)`,
        'system',
      );
      this.d.log.info({ event: 'sharing.notify', grantId: id, to: 'consumer' }, '授权因长期未使用被收回 / grant withdrawn after long non-use');
    }
    return stale.length;
  }
}
