/**
 * @module The county node's catalog domain: departments edit their own entries; every change is a
 * Yjs update stored with the entry and queued in the outbox in one transaction; updates from the
 * hub are applied without being re-published (no echo).
 */
import * as Y from 'yjs';
import { CatalogContent, CatalogContentPatch } from '../../protocol/catalog-entry.ts';
import { CONTENT_ROOT, docStateVector, encodeEntryState, encodeStateVectorText, loadEntryDoc, readRoot, writeRoot } from '../../protocol/catalog-doc.ts';
import type { EntryView } from '../../protocol/catalog-view.ts';
import { chunkUpdates, countyOfEntry, MAX_UPDATE_PAYLOAD_BYTES, type EntryUpdate } from '../../protocol/messages.ts';
import { fromBase64, toBase64 } from '../../protocol/sodium.ts';
import { upSubject } from '../../protocol/subjects.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { uuidv7 } from '../../protocol/uuid7.ts';
import type { CatalogStore, SearchQuery, SearchResult } from '../../engine/catalog/catalog-store.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import { validate } from '../../engine/validate.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import type { Department } from '../storage/departments.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import { catalogPolicyIssues } from '../../protocol/catalog-policy.ts';
import type { Policy } from '../../protocol/policy.ts';

export interface CatalogServiceDeps {
  db: Db;
  store: CatalogStore;
  outbox: Outbox;
  clock: Clock;
  municipality: string;
  county: string;
  /** This node's stable Yjs client id (see ARCHITECTURE.md: never shared by two replicas). */
  clientId: number;
  /** Every change and every refused attempt is recorded here, in the change's own transaction. */
  audit?: AuditLog;
  /** City rules on catalog content (catalogPolicyIssues, e.g. Yaohai §13); absent: none checked. */
  policy?: Pick<Policy, 'sharingFlow'>;
}

/** Who acts: the department, and the account acting for it (defaults to the department's operator account). */
export type Actor = Department & { account?: string; role?: string };

export class CatalogService {
  constructor(private readonly d: CatalogServiceDeps) {}

  /** Create entries for a department in one transaction (one outbox message). */
  create(dept: Actor, inputs: unknown[]): EntryView[] {
    const contents = inputs.map((input, i) => {
      try {
        return this.checkPolicy(validate(CatalogContent, input, 'INVALID_ENTRY'));
      } catch (err) {
        throw inputs.length > 1 && err instanceof AppError ? prefixFields(err, `${i}`) : err;
      }
    });
    const now = this.d.clock.now();
    return this.guarded(dept, 'catalog.create', null, () =>
      this.d.db.transaction(() => {
        for (const c of contents) this.assertOwnDepartment(dept, c.provider.code);
        const updates: EntryUpdate[] = [];
        const views = contents.map((content) => {
          const id = `${this.d.county}-${uuidv7(now.getTime())}`;
          const doc = loadEntryDoc(this.d.clientId);
          const update = writeRoot(doc, CONTENT_ROOT, content as Record<string, unknown>);
          updates.push({ entryId: id, update: toBase64(update!) });
          this.record(dept, 'catalog.create', id, Object.keys(content));
          return this.d.store.saveDoc(id, doc, now);
        });
        this.queue(updates, now);
        return views;
      })(),
    );
  }

  /** Change fields of an own entry; the merged content must still be a valid entry. */
  update(dept: Actor, id: string, patchInput: unknown): EntryView {
    // JSON has no undefined: a field set to null in the patch clears an optional field.
    const cleared = isRecord(patchInput) ? Object.keys(patchInput).filter((k) => patchInput[k] === null) : [];
    const patch = validate(CatalogContentPatch, isRecord(patchInput) ? Object.fromEntries(Object.entries(patchInput).filter(([, v]) => v !== null)) : patchInput, 'INVALID_ENTRY');
    const now = this.d.clock.now();
    const action = isRecord(patchInput) && patchInput.withdrawn === true ? 'catalog.withdraw' : 'catalog.update';
    return this.guarded(dept, action, id, () =>
      this.d.db.transaction(() => {
        const doc = this.loadOwn(dept, id);
        const current = readRoot(doc, CONTENT_ROOT);
        const next: Record<string, unknown> = { ...current, ...patch };
        for (const k of cleared) delete next[k];
        const merged = this.checkPolicy(validate(CatalogContent, next, 'INVALID_ENTRY'));
        this.assertOwnDepartment(dept, merged.provider.code);
        const removed = Object.fromEntries(
          Object.keys(current)
            .filter((k) => !(k in merged))
            .map((k) => [k, null]),
        );
        const update = writeRoot(doc, CONTENT_ROOT, { ...removed, ...(merged as Record<string, unknown>) });
        if (!update) return this.get(id);
        this.queue([{ entryId: id, update: toBase64(update) }], now);
        this.record(dept, action, id, [...Object.keys(patch), ...cleared]);
        return this.d.store.saveDoc(id, doc, now);
      })(),
    );
  }

  /** Refuses content the city's policy forbids, as INVALID_ENTRY with field paths. */
  private checkPolicy(content: CatalogContent): CatalogContent {
    const issues = this.d.policy ? catalogPolicyIssues(content, this.d.policy) : [];
    if (issues.length === 0) return content;
    throw new AppError(
      'INVALID_ENTRY',
      issues.map((i) => i.zh).join('；'),
      issues.map((i) => i.en).join('; '),
      issues.map((i) => ({ path: i.path, code: i.code, message: i.en })),
    );
  }

  /** Withdraw (soft-delete) an own entry: it stays in the catalog marked withdrawn (Jincheng §19). */
  withdraw(dept: Actor, id: string): EntryView {
    return this.update(dept, id, { withdrawn: true });
  }

  get(id: string): EntryView {
    return this.d.store.requireView(id);
  }

  search(query: SearchQuery): SearchResult {
    return this.d.store.search(query);
  }

  /** Apply updates that came from the hub. They are never queued again (origin is the hub). */
  applyRemote(updates: EntryUpdate[]): number {
    const now = this.d.clock.now();
    let changed = 0;
    this.d.db.transaction(() => {
      for (const u of updates) {
        const stored = this.d.store.getDoc(u.entryId);
        const doc = loadEntryDoc(this.d.clientId, stored?.state);
        const before = stored?.sv ?? '';
        try {
          Y.applyUpdate(doc, fromBase64(u.update), 'hub');
        } catch (cause) {
          throw new ProtocolError('UPDATE_INVALID', `update of ${u.entryId} from the hub could not be applied`, { entryId: u.entryId }, { cause });
        }
        const after = docStateVector(doc);
        // Unchanged, or an unknown entry whose update is all waiting for dependencies: store nothing; anti-entropy repairs it.
        if (after === before && (stored || after === '')) continue;
        this.d.store.saveDoc(u.entryId, doc, now);
        changed++;
      }
    })();
    return changed;
  }

  /** Queue, for the hub, whatever of an own entry the hub's state vector lacks (anti-entropy push). */
  pushMissing(id: string, hubSv: string): boolean {
    if (countyOfEntry(id) !== this.d.county) return false;
    const stored = this.d.store.getDoc(id);
    if (!stored) return false;
    const doc = loadEntryDoc(this.d.clientId, stored.state);
    const diff = encodeEntryState(doc, encodeStateVectorText(hubSv));
    this.d.db.transaction(() => this.queue([{ entryId: id, update: toBase64(diff) }], this.d.clock.now()))();
    return true;
  }

  private loadOwn(dept: Department, id: string): Y.Doc {
    if (countyOfEntry(id) !== this.d.county) {
      throw new AppError('FORBIDDEN', '只能修改本县（区）节点的目录条目', 'only entries of this county node can be changed here');
    }
    const stored = this.d.store.getDoc(id);
    if (!stored) throw new AppError('NOT_FOUND', `目录条目 ${id} 不存在`, `catalog entry ${id} not found`);
    const doc = loadEntryDoc(this.d.clientId, stored.state);
    const provider = readRoot(doc, CONTENT_ROOT).provider as { code?: string } | undefined;
    this.assertOwnDepartment(dept, provider?.code ?? '');
    return doc;
  }

  /** Audit one change (inside its transaction). */
  private record(actor: Actor, action: string, resource: string, fields: string[]): void {
    this.d.audit?.append({ actor: actor.account ?? `dept-${actor.code}`, actorRole: actor.role ?? 'dept_operator', department: actor.code, action, resource, fields, result: 'ok' });
  }

  /** Run a change; a refusal (FORBIDDEN) is audited after its transaction rolled back, then rethrown. */
  private guarded<T>(actor: Actor, action: string, resource: string | null, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof AppError && err.code === 'FORBIDDEN') {
        this.d.audit?.append({
          actor: actor.account ?? `dept-${actor.code}`,
          actorRole: actor.role ?? 'dept_operator',
          department: actor.code,
          action,
          resource,
          result: 'denied',
          detail: { reason: err.en },
        });
      }
      throw err;
    }
  }

  private assertOwnDepartment(dept: Department, providerCode: string): void {
    if (providerCode !== dept.code) {
      throw new AppError('FORBIDDEN', `部门 ${dept.code} 只能编制和修改本部门的目录`, `department ${dept.code} may only catalog its own data`, [
        { path: 'provider.code', code: 'forbidden', message: 'not your department' },
      ]);
    }
  }

  /** Queue updates as one or more messages, each small enough for the 1 MiB envelope limit. */
  private queue(updates: EntryUpdate[], now: Date): void {
    for (const u of updates) {
      if (u.update.length > MAX_UPDATE_PAYLOAD_BYTES) {
        throw new AppError('PAYLOAD_TOO_LARGE', `目录条目 ${u.entryId} 的变更过大，无法同步`, `the change to entry ${u.entryId} is too large to replicate`);
      }
    }
    for (const chunk of chunkUpdates(updates)) {
      this.d.outbox.add(upSubject(this.d.municipality, this.d.county, 'catalog.update'), 'catalog.update', { origin: this.d.county, updates: chunk }, now);
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function prefixFields(err: AppError, prefix: string): AppError {
  return new AppError(
    err.code,
    err.zh,
    err.en,
    err.fields.map((f) => ({ ...f, path: f.path ? `${prefix}.${f.path}` : prefix })),
  );
}
