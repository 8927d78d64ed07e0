/**
 * @module The hub's total catalog (总目录): merges county updates under the ownership rules,
 * records review decisions and codes, and broadcasts every accepted change to all nodes through the
 * outbox in the same transaction.
 */
import type * as Y from 'yjs';
import { CatalogContent, CatalogReview } from '../../protocol/catalog-entry.ts';
import { applyChecked, CONTENT_ROOT, encodeEntryState, encodeStateVectorText, loadEntryDoc, readRoot, REVIEW_ROOT, writeRoot } from '../../protocol/catalog-doc.ts';
import { contentHash, type EntryView } from '../../protocol/catalog-view.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { chunkUpdates, countyOfEntry, type EntryUpdate } from '../../protocol/messages.ts';
import { fromBase64, toBase64 } from '../../protocol/sodium.ts';
import { downBroadcastSubject } from '../../protocol/subjects.ts';
import { formatZodIssues } from '../../protocol/validation-error.ts';
import type { CatalogStore, SearchQuery, SearchResult } from '../../engine/catalog/catalog-store.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import { validate } from '../../engine/validate.ts';
import type { Outbox } from '../../engine/storage/outbox.ts';
import type { CodeAllocator } from './code-template.ts';
import type { AuditLog } from '../../engine/audit/log.ts';
import { catalogPolicyIssues } from '../../protocol/catalog-policy.ts';
import type { Policy } from '../../protocol/policy.ts';

export interface TotalCatalogDeps {
  db: Db;
  store: CatalogStore;
  outbox: Outbox;
  clock: Clock;
  codes: CodeAllocator;
  municipality: string;
  clientId: number;
  audit?: AuditLog;
  /** City rules checked before an approval (catalogPolicyIssues, e.g. Yaohai §13); absent: none. */
  policy?: Pick<Policy, 'sharingFlow'>;
}

export interface ReviewDecision {
  decision: 'approve' | 'reject';
  reason?: string;
  reviewer: string;
}

const COUNTY_ROOTS: ReadonlySet<string> = new Set([CONTENT_ROOT]);

function decodeUpdate(u: EntryUpdate): Uint8Array {
  try {
    return fromBase64(u.update);
  } catch (cause) {
    throw new ProtocolError('UPDATE_INVALID', `update of ${u.entryId} is not valid base64`, { entryId: u.entryId }, { cause });
  }
}

export class TotalCatalog {
  private readonly hubClients: ReadonlySet<number>;

  constructor(private readonly d: TotalCatalogDeps) {
    this.hubClients = new Set([d.clientId]);
  }

  /**
   * Merge updates sent by `county`. All-or-nothing per message: one offending entry rejects the
   * whole message (ProtocolError), nothing is stored. Returns how many entries changed.
   * Call inside a transaction (the caller records the inbox entry in the same one).
   */
  applyFromCounty(county: string, updates: EntryUpdate[]): number {
    const now = this.d.clock.now();
    // One working copy per entry for the whole message: a message may carry several updates of one entry.
    const docs = new Map<string, Y.Doc>();
    const changed = new Set<string>();
    const relayed: EntryUpdate[] = [];
    for (const u of updates) {
      if (countyOfEntry(u.entryId) !== county) {
        throw new ProtocolError('UPDATE_FORBIDDEN', `county ${county} may not change entry ${u.entryId} of another county`, { entryId: u.entryId });
      }
      let doc = docs.get(u.entryId);
      if (!doc) docs.set(u.entryId, (doc = loadEntryDoc(this.d.clientId, this.d.store.getDoc(u.entryId)?.state)));
      const { changedRoots } = applyChecked(doc, decodeUpdate(u), COUNTY_ROOTS, this.hubClients, county);
      if (changedRoots.size === 0) continue;
      changed.add(u.entryId);
      relayed.push(u);
    }
    for (const id of changed) {
      const parsed = CatalogContent.safeParse(readRoot(docs.get(id)!, CONTENT_ROOT));
      if (!parsed.success) {
        throw new ProtocolError('UPDATE_INVALID', `entry ${id} would not be a valid catalog entry`, { entryId: id, issues: formatZodIssues(parsed.error).slice(0, 10) });
      }
    }
    for (const id of changed) this.d.store.saveDoc(id, docs.get(id)!, now);
    if (relayed.length) this.broadcast(county, relayed, now);
    return changed.size;
  }

  /** Approve (assigning the unified code on first approval) or reject with a reason. */
  review(id: string, decision: ReviewDecision): EntryView {
    if (decision.decision === 'reject' && !decision.reason?.trim()) {
      throw new AppError('INVALID_REQUEST', '驳回必须说明理由', 'a rejection needs a reason', [{ path: 'reason', code: 'required', message: 'required when rejecting' }]);
    }
    const now = this.d.clock.now();
    return this.d.db.transaction(() => {
      const stored = this.d.store.getDoc(id);
      if (!stored) throw new AppError('NOT_FOUND', `目录条目 ${id} 不存在`, `catalog entry ${id} not found`);
      const doc = loadEntryDoc(this.d.clientId, stored.state);
      const content = readRoot(doc, CONTENT_ROOT);
      if (content.withdrawn === true) throw new AppError('CONFLICT', '条目已撤回，不能审核', 'entry is withdrawn and cannot be reviewed');
      const previous = readRoot(doc, REVIEW_ROOT);
      const c = CatalogContent.parse(content);
      const forbidden = decision.decision === 'approve' && this.d.policy ? catalogPolicyIssues(c, this.d.policy) : [];
      if (forbidden.length > 0) {
        // e.g. Yaohai §13: a thematic resource catalogued as not shared is not approved; the reviewer rejects it with the reason.
        throw new AppError(
          'CONFLICT',
          `不能通过审核：${forbidden.map((i) => i.zh).join('；')}`,
          `cannot approve: ${forbidden.map((i) => i.en).join('; ')}`,
          forbidden.map((i) => ({ path: i.path, code: i.code, message: i.en })),
        );
      }
      const code =
        decision.decision === 'approve'
          ? typeof previous.code === 'string'
            ? previous.code
            : this.d.codes.next({ muni: this.d.municipality, county: countyOfEntry(id), dept: c.provider.code, classification: c.classification, year: now.getUTCFullYear() })
          : (previous.code ?? null);
      // Validated as input (400 with field paths): the reason is operator text, refused e.g. with a lone surrogate.
      const review = validate(
        CatalogReview,
        {
          status: decision.decision === 'approve' ? 'approved' : 'rejected',
          reason: decision.reason ?? undefined,
          reviewer: decision.reviewer,
          reviewedAt: now.toISOString(),
          code: code ?? undefined,
          contentHash: contentHash(content),
        },
        'INVALID_REQUEST',
      );
      const update = writeRoot(doc, REVIEW_ROOT, { reason: null, ...review }, 'hub');
      if (update) this.broadcast('hub', [{ entryId: id, update: toBase64(update) }], now);
      this.d.audit?.append({
        actor: decision.reviewer,
        actorRole: 'reviewer',
        department: c.provider.code,
        action: 'catalog.review',
        resource: id,
        fields: ['status', 'code', 'reason'],
        result: 'ok',
        detail: { decision: decision.decision, code: typeof code === 'string' ? code : null },
      });
      return this.d.store.saveDoc(id, doc, now);
    })();
  }

  get(id: string): EntryView {
    return this.d.store.requireView(id);
  }

  search(query: SearchQuery): SearchResult {
    return this.d.store.search(query);
  }

  /** What a replica with state vector `sv` (canonical text) lacks of entry `id`; null if the hub has no such entry. */
  diffFor(id: string, sv: string): string | null {
    const stored = this.d.store.getDoc(id);
    if (!stored) return null;
    return toBase64(encodeEntryState(loadEntryDoc(this.d.clientId, stored.state), encodeStateVectorText(sv)));
  }

  private broadcast(origin: string, updates: EntryUpdate[], now: Date): void {
    for (const chunk of chunkUpdates(updates)) {
      this.d.outbox.add(downBroadcastSubject(this.d.municipality, 'catalog.update'), 'catalog.update', { origin, updates: chunk }, now);
    }
  }
}
